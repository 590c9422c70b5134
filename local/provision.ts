/**
 * Creates Serval's tables, buckets and queues in the local stand-ins from functions/contract/resources.ts —
 * the same definitions the CDK stacks build from — so a laptop has exactly what AWS has.
 *
 * Idempotent: what already exists is kept with its data, so a restart on a persistent data
 * directory finds its tables and objects again. The exception is a table that lacks a global
 * index added to the definitions since it was created: the index is added (DynamoDB backfills it),
 * because queries against it would otherwise fail only locally.
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  BUCKETS,
  type BucketId,
  DLQ_SUFFIX,
  type IndexDef,
  type KeyDef,
  localName,
  QUEUES,
  type QueueDef,
  type QueueId,
  TABLES,
  type TableDef,
  type TableId,
} from '../functions/contract/resources.js';
import { localDynamoClient, localS3Client, localSqsClient } from './services/clients.js';

export interface LocalEndpoints {
  readonly dynamodb: string;
  readonly s3: string;
  readonly sqs: string;
}

export type { BucketId, QueueId, TableId };

export interface QueueResources {
  readonly url: string;
  readonly arn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
}

export interface LocalResources {
  readonly tables: Record<TableId, string>;
  readonly buckets: Record<BucketId, string>;
  readonly queues: Record<QueueId, QueueResources>;
}

/** Dead-letter queues keep messages for SQS's maximum (14 days) so nothing expires before someone looks. */
const DLQ_RETENTION_SECONDS = 1_209_600;

const PREFIX_PATTERN = /^[a-z0-9][a-z0-9-]{0,29}$/;

export async function provision(endpoints: LocalEndpoints, prefix: string): Promise<LocalResources> {
  // Bucket names are the strictest of the three (lower case, 3–63 characters).
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(
      `The resource name prefix "${prefix}" must be 1–30 lower-case letters, digits or hyphens, starting with a letter or digit.`,
    );
  }
  const dynamodb = localDynamoClient(endpoints.dynamodb);
  const s3 = localS3Client(endpoints.s3);
  const sqs = localSqsClient(endpoints.sqs);
  try {
    // allSettled, not all: on a failure the other services' requests are still let finish, so
    // nothing is left running against a stand-in that the caller may be about to stop.
    const [tables, buckets, queues] = await Promise.allSettled([
      mapDefinitions(TABLES, (def) => ensureTable(dynamodb, localName(prefix, def.id), def)),
      mapDefinitions(BUCKETS, (def) => ensureBucket(s3, localName(prefix, def.id))),
      mapDefinitions(QUEUES, (def) => ensureQueueWithDlq(sqs, localName(prefix, def.id), def)),
    ]);
    if (tables.status === 'rejected') throw tables.reason;
    if (buckets.status === 'rejected') throw buckets.reason;
    if (queues.status === 'rejected') throw queues.reason;
    return { tables: tables.value, buckets: buckets.value, queues: queues.value };
  } finally {
    dynamodb.destroy();
    s3.destroy();
    sqs.destroy();
  }
}

/** The environment through which functions find each resource: tables and buckets by name, queues by URL. */
export function resourceEnv(resources: LocalResources): Record<string, string> {
  const env: Record<string, string> = {};
  for (const id of keysOf(TABLES)) env[TABLES[id].env] = resources.tables[id];
  for (const id of keysOf(BUCKETS)) env[BUCKETS[id].env] = resources.buckets[id];
  for (const id of keysOf(QUEUES)) {
    env[QUEUES[id].env] = resources.queues[id].url;
    env[`${QUEUES[id].env}_DLQ`] = resources.queues[id].dlqUrl;
  }
  return env;
}

function keysOf<T extends object>(record: T): (keyof T)[] {
  return Object.keys(record) as (keyof T)[];
}

async function mapDefinitions<T extends object, R>(
  record: T,
  fn: (def: T[keyof T]) => Promise<R>,
): Promise<Record<keyof T, R>> {
  const ids = keysOf(record);
  const settled = await Promise.allSettled(ids.map((id) => fn(record[id])));
  const failure = settled.find((s) => s.status === 'rejected');
  if (failure) throw failure.reason;
  return Object.fromEntries(
    ids.map((id, i) => [id, (settled[i] as PromiseFulfilledResult<R>).value]),
  ) as Record<keyof T, R>;
}

// --- DynamoDB -----------------------------------------------------------------------------------

function keySchema(partitionKey: KeyDef, sortKey?: KeyDef): KeySchemaElement[] {
  return [
    { AttributeName: partitionKey.name, KeyType: 'HASH' },
    ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
}

function globalIndex(index: IndexDef): GlobalSecondaryIndex {
  return {
    IndexName: index.name,
    KeySchema: keySchema(index.partitionKey, index.sortKey),
    Projection: { ProjectionType: 'ALL' },
  };
}

function attributeDefinitions(keys: readonly (KeyDef | undefined)[]): AttributeDefinition[] {
  const types = new Map<string, KeyDef['type']>();
  for (const key of keys) {
    if (!key) continue;
    const seen = types.get(key.name);
    if (seen && seen !== key.type) {
      throw new Error(
        `Key attribute "${key.name}" is declared both as ${seen} and ${key.type} in functions/contract/resources.ts.`,
      );
    }
    types.set(key.name, key.type);
  }
  return [...types].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
}

function tableKeys(def: TableDef): (KeyDef | undefined)[] {
  return [def.partitionKey, def.sortKey, ...def.globalIndexes.flatMap((i) => [i.partitionKey, i.sortKey])];
}

async function ensureTable(client: DynamoDBClient, name: string, def: TableDef): Promise<string> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: keySchema(def.partitionKey, def.sortKey),
        AttributeDefinitions: attributeDefinitions(tableKeys(def)),
        GlobalSecondaryIndexes: def.globalIndexes.length ? def.globalIndexes.map(globalIndex) : undefined,
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    await reconcileTable(client, name, def);
  }
  if (def.ttlAttribute) await ensureTimeToLive(client, name, def.ttlAttribute);
  return name;
}

async function reconcileTable(client: DynamoDBClient, name: string, def: TableDef): Promise<void> {
  const { Table: table } = await client.send(new DescribeTableCommand({ TableName: name }));
  const want = keySchema(def.partitionKey, def.sortKey);
  const have = table?.KeySchema ?? [];
  const same =
    want.length === have.length &&
    want.every((k, i) => k.AttributeName === have[i]?.AttributeName && k.KeyType === have[i]?.KeyType);
  if (!same) {
    throw new Error(
      `The existing local table ${name} has a different key schema than functions/contract/resources.ts declares; ` +
        'delete the local data directory (or that table) to let it be re-created.',
    );
  }
  const existing = new Set((table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
  // DynamoDB accepts one index creation per UpdateTable call.
  for (const index of def.globalIndexes) {
    if (existing.has(index.name)) continue;
    await client.send(
      new UpdateTableCommand({
        TableName: name,
        AttributeDefinitions: attributeDefinitions([index.partitionKey, index.sortKey]),
        GlobalSecondaryIndexUpdates: [{ Create: globalIndex(index) }],
      }),
    );
  }
}

async function ensureTimeToLive(client: DynamoDBClient, name: string, attribute: string): Promise<void> {
  try {
    const { TimeToLiveDescription: ttl } = await client.send(
      new DescribeTimeToLiveCommand({ TableName: name }),
    );
    if (ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING') return;
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
      }),
    );
  } catch (error) {
    // An emulator without TTL still serves the table; items just never expire there, which code
    // must tolerate anyway (DynamoDB deletes expired items only eventually).
    if (isUnsupportedOperation(error)) return;
    throw error;
  }
}

function isUnsupportedOperation(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name ?? '';
  return name === 'UnknownOperationException' || name === 'NotImplementedException';
}

// --- S3 -----------------------------------------------------------------------------------------

async function ensureBucket(client: S3Client, name: string): Promise<string> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  } catch (error) {
    const code = (error as { name?: string }).name;
    if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
  }
  return name;
}

// --- SQS ----------------------------------------------------------------------------------------

async function ensureQueueWithDlq(client: SQSClient, name: string, def: QueueDef): Promise<QueueResources> {
  const dlq = await ensureQueue(client, `${name}${DLQ_SUFFIX}`, {
    MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS),
  });
  const main = await ensureQueue(client, name, {
    VisibilityTimeout: String(def.visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: def.maxReceiveCount }),
  });
  return { url: main.url, arn: main.arn, dlqUrl: dlq.url, dlqArn: dlq.arn };
}

async function ensureQueue(
  client: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
  let url: string | undefined;
  try {
    url = (await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (error) {
    if (!(error instanceof QueueDoesNotExist)) throw error;
  }
  url ??= (await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl;
  if (!url) throw new Error(`SQS returned no URL for queue ${name}.`);
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`SQS returned no ARN for queue ${name}.`);
  return { url, arn };
}
