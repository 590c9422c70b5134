import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { documentClient, s3Client } from '../../../functions/adapters/aws-clients.js';
import { sqsClient } from '../../../functions/adapters/sqs-client.js';
import { BUCKETS, QUEUES, TABLES } from '../../../functions/contract/resources.js';
import { provision } from '../../../local/provision.js';
import { LOCAL_CREDENTIALS, localDynamoClient } from '../../../local/services/clients.js';
import { processAlive } from '../../support/processes.js';
import { createHashKeyTable, type Standins, startStandins } from '../../support/standins.js';

describe('the local AWS stand-ins', () => {
  let standins: Standins;

  beforeAll(async () => {
    standins = await startStandins();
    // The shared SDK factories read these, exactly as handlers will.
    for (const [name, value] of Object.entries(standins.env)) vi.stubEnv(name, value);
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await standins?.stop();
  });

  it('exposes endpoints, region, credentials and every resource variable', () => {
    const { env, resources, endpoints, prefix } = standins;
    expect(env.AWS_ENDPOINT_URL_DYNAMODB).toBe(endpoints.dynamodb);
    expect(env.AWS_ENDPOINT_URL_S3).toBe(endpoints.s3);
    expect(env.AWS_ENDPOINT_URL_SQS).toBe(endpoints.sqs);
    for (const url of Object.values(endpoints)) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(env.AWS_REGION).toBe('us-east-1');
    expect(env.AWS_ACCESS_KEY_ID).toBe(LOCAL_CREDENTIALS.accessKeyId);
    expect(env.SERVAL_TABLE_REGISTRY).toBe(`${prefix}-registry`);
    for (const def of Object.values(TABLES)) expect(env[def.env]).toMatch(new RegExp(`^${prefix}-`));
    for (const def of Object.values(BUCKETS)) expect(env[def.env]).toBe(resources.buckets.artifacts);
    for (const [id, def] of Object.entries(QUEUES)) {
      const queue = resources.queues[id as keyof typeof QUEUES];
      expect(env[def.env]).toBe(queue.url);
      expect(env[`${def.env}_DLQ`]).toBe(queue.dlqUrl);
    }
  });

  it('creates tables as defined: keys, global indexes, on-demand billing, TTL', async () => {
    const client = localDynamoClient(standins.endpoints.dynamodb);
    try {
      const { Table } = await client.send(
        new DescribeTableCommand({ TableName: standins.resources.tables.audit }),
      );
      expect(Table?.KeySchema).toEqual([
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ]);
      expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      const indexes = Table?.GlobalSecondaryIndexes ?? [];
      expect(indexes.map((i) => i.IndexName).sort()).toEqual(['byActor', 'byTime']);
      for (const index of indexes) expect(index.Projection?.ProjectionType).toBe('ALL');

      const ttl = await client.send(
        new DescribeTimeToLiveCommand({ TableName: standins.resources.tables.idempotency }),
      );
      expect(ttl.TimeToLiveDescription).toMatchObject({
        TimeToLiveStatus: 'ENABLED',
        AttributeName: 'expiration',
      });
    } finally {
      client.destroy();
    }
  });

  it('creates each queue with its dead-letter queue and redrive policy', async () => {
    const sqs = sqsClient();
    const queue = standins.resources.queues.integrity;
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['All'] }),
    );
    expect(Attributes?.VisibilityTimeout).toBe(String(QUEUES.integrity.visibilityTimeoutSeconds));
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: queue.dlqArn,
      maxReceiveCount: QUEUES.integrity.maxReceiveCount,
    });
    expect(queue.dlqUrl).toMatch(/-integrity-dlq$/);
    sqs.destroy();
  });

  it('serves the shared SDK factories unchanged (DynamoDB, S3, SQS)', async () => {
    const ddb = documentClient();
    await ddb.send(
      new PutCommand({ TableName: standins.resources.tables.keys, Item: { keyId: 'k1', role: 'admin' } }),
    );
    const { Item } = await ddb.send(
      new GetCommand({ TableName: standins.resources.tables.keys, Key: { keyId: 'k1' } }),
    );
    expect(Item).toEqual({ keyId: 'k1', role: 'admin' });

    const s3 = s3Client();
    await s3.send(
      new PutObjectCommand({ Bucket: standins.resources.buckets.artifacts, Key: 'a/b.txt', Body: 'hello' }),
    );
    const object = await s3.send(
      new GetObjectCommand({ Bucket: standins.resources.buckets.artifacts, Key: 'a/b.txt' }),
    );
    expect(await object.Body?.transformToString()).toBe('hello');
    s3.destroy();
    ddb.destroy();
  });

  it('runs transactions: a failing ConditionCheck cancels the whole TransactWriteItems', async () => {
    const ddb = documentClient();
    const table = standins.resources.tables.registry;
    await ddb.send(
      new PutCommand({ TableName: table, Item: { pk: 'MODEL#m', sk: 'META', stage: 'staging' } }),
    );
    const attempt = ddb.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            ConditionCheck: {
              TableName: table,
              Key: { pk: 'MODEL#m', sk: 'META' },
              ConditionExpression: 'stage = :want',
              ExpressionAttributeValues: { ':want': 'production' },
            },
          },
          { Put: { TableName: table, Item: { pk: 'MODEL#m', sk: 'V#1', note: 'must not be written' } } },
        ],
      }),
    );
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect((error as TransactionCanceledException).CancellationReasons?.map((r) => r.Code)).toEqual([
      'ConditionalCheckFailed',
      'None',
    ]);
    const { Item } = await ddb.send(new GetCommand({ TableName: table, Key: { pk: 'MODEL#m', sk: 'V#1' } }));
    expect(Item).toBeUndefined();
    ddb.destroy();
  });

  it('provisions idempotently: a second run returns the same resources and keeps their contents', async () => {
    const ddb = documentClient();
    const s3 = s3Client();
    const sqs = sqsClient();
    const { tables, buckets, queues } = standins.resources;
    await ddb.send(
      new PutCommand({ TableName: tables.audit, Item: { pk: 'p', sk: 's', actor: 'a', feed: 'f' } }),
    );
    await s3.send(new PutObjectCommand({ Bucket: buckets.artifacts, Key: 'kept', Body: 'still here' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.integrity.url, MessageBody: 'queued' }));

    const again = await provision(standins.endpoints, standins.prefix);

    expect(again).toEqual(standins.resources);
    const { Item } = await ddb.send(new GetCommand({ TableName: tables.audit, Key: { pk: 'p', sk: 's' } }));
    expect(Item).toMatchObject({ actor: 'a' });
    const object = await s3.send(new GetObjectCommand({ Bucket: buckets.artifacts, Key: 'kept' }));
    expect(await object.Body?.transformToString()).toBe('still here');
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queues.integrity.url, WaitTimeSeconds: 1 }),
    );
    expect(received.Messages?.map((m) => m.Body)).toEqual(['queued']);
    ddb.destroy();
    s3.destroy();
    sqs.destroy();
  });

  it('adds a global index that an existing table lacks, and refuses a table whose keys differ', async () => {
    const client = localDynamoClient(standins.endpoints.dynamodb);
    try {
      // As if the data directory predates gsi1 in functions/contract/resources.ts.
      await client.send(
        new CreateTableCommand({
          TableName: 'old-registry',
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
        }),
      );
      await createHashKeyTable(client, 'bad-registry', 'id');

      await provision(standins.endpoints, 'old');
      const { Table } = await client.send(new DescribeTableCommand({ TableName: 'old-registry' }));
      expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(['gsi1']);

      await expect(provision(standins.endpoints, 'bad')).rejects.toThrow(
        /bad-registry has a different key schema than functions\/contract\/resources\.ts declares/,
      );
      await expect(provision(standins.endpoints, 'Bad_Prefix')).rejects.toThrow(
        /lower-case letters, digits or hyphens/,
      );
    } finally {
      client.destroy();
    }
  });

  it('stops cleanly: the DynamoDB Local JVM is gone and the endpoints refuse connections', async () => {
    const pid = standins.dynamodbPid;
    expect(processAlive(pid)).toBe(true);
    await standins.stop();
    expect(processAlive(pid)).toBe(false);
    for (const endpoint of Object.values(standins.endpoints)) {
      await expect(fetch(endpoint, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    }
    // A second stop (afterAll) is harmless.
    await standins.stop();
  });
});
