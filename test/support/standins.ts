/**
 * The local AWS stand-ins for integration tests: one DynamoDB Local, S3 and SQS per call, with
 * Serval's resources provisioned under a unique prefix. Nothing global is touched; apply `env`
 * yourself (for example with vi.stubEnv) where the code under test reads the environment.
 *
 * DynamoDB Local is a JVM that takes a few seconds to start: start the stand-ins once per test
 * file (beforeAll) and stop them in afterAll.
 */
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type LocalAws, startLocalAws } from '../../local/services/index.js';

export interface StandinsOptions {
  /**
   * Keep DynamoDB and S3 data under this directory so a later start (with the same `prefix`) finds
   * it again. Omitted: DynamoDB in memory and S3 in a temporary directory removed by stop().
   */
  readonly persistentDir?: string;
  /** Resource name prefix; a fresh unique one when omitted. */
  readonly prefix?: string;
}

/** The started stand-ins (see LocalAws) and the prefix of their resource names. */
export interface Standins extends LocalAws {
  readonly prefix: string;
}

export async function startStandins(options: StandinsOptions = {}): Promise<Standins> {
  const prefix = options.prefix ?? `t${randomBytes(4).toString('hex')}`;
  const aws = await startLocalAws({ dataDir: options.persistentDir, prefix });
  return { ...aws, prefix };
}

/**
 * Points this process's SDK clients at the stand-ins (AWS_ENDPOINT_URL_*, region, credentials), as
 * the local runtime does; returns what puts the previous values back.
 */
export function useStandinsEnv(standins: Pick<Standins, 'env'>): () => void {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(standins.env)) {
    if (!k.startsWith('AWS_')) continue;
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = v;
    }
  };
}

/** Creates an on-demand table keyed by one string attribute (hash key only). */
export async function createHashKeyTable(client: DynamoDBClient, table: string, key: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
    }),
  );
}
