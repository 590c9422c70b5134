/**
 * One of each kind of AWS call Serval's functions make, through the clients they use
 * (functions/adapters/aws-clients.ts), with the answers and typed errors they read, and the
 * primed reads of the inference function's init. bundled-sdk.test.ts
 * runs it twice against the same stand-ins, from source and from a bundle built as a function is
 * built (lib/constructs/function-bundle.ts, which rewrites parts of the SDK as it bundles them), and
 * expects the same results.
 */
import {
  ConditionalCheckFailedException,
  ResourceNotFoundException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, QueueDoesNotExist, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { documentClient, s3Client } from '../../functions/adapters/aws-clients.js';
import { DynamoRegistryStore } from '../../functions/adapters/dynamo-registry.js';
import { S3ArtifactStore } from '../../functions/adapters/s3-artifacts.js';
import { sqsClient } from '../../functions/adapters/sqs-client.js';

export interface ProbeTargets {
  /** A table keyed by pk and sk (strings). */
  readonly table: string;
  readonly bucket: string;
  readonly queueUrl: string;
  /** Keys and partitions start with it, so that runs do not meet; results leave it out. */
  readonly prefix: string;
}

/** An error as Serval's code tells them apart: its name, its class, its status, what it carries. */
function described(err: unknown, classes: Record<string, abstract new (...args: never[]) => unknown>) {
  const e = err as {
    name?: string;
    $metadata?: { httpStatusCode?: number };
    CancellationReasons?: { Code?: string }[];
  };
  return {
    name: e.name,
    status: e.$metadata?.httpStatusCode,
    instanceOf: Object.keys(classes).filter((k) => err instanceof (classes[k] as abstract new () => unknown)),
    reasons: e.CancellationReasons?.map((r) => r.Code ?? 'None'),
  };
}

async function failure(
  call: () => Promise<unknown>,
  classes: Record<string, abstract new (...args: never[]) => unknown>,
) {
  try {
    await call();
  } catch (err) {
    return described(err, classes);
  }
  throw new Error('the call was expected to fail');
}

export async function probeSdk(t: ProbeTargets): Promise<Record<string, unknown>> {
  const s3 = s3Client();
  const db = documentClient();
  const sqs = sqsClient();
  const key = (k: string) => `${t.prefix}/${k}`;
  const unprefixed = (k: string | undefined) => k?.slice(t.prefix.length + 1);
  const out: Record<string, unknown> = {};

  // Priming (functions/adapters/sdk-priming.ts): whether each client takes the answer it is given
  // in place of a request, for the reads the inference function primes at init.
  out.primed = {
    getItem: await new DynamoRegistryStore(db, { registry: t.table, audit: t.table }).prime(key('model')),
    getObject: await new S3ArtifactStore(s3, t.bucket).prime(key('a.json')),
  };

  // S3: REST and XML.
  await s3.send(
    new PutObjectCommand({
      Bucket: t.bucket,
      Key: key('a.json'),
      Body: '{"x":[1,2,3]}',
      ContentType: 'application/json',
      Metadata: { sha256: 'abc' },
    }),
  );
  const got = await s3.send(new GetObjectCommand({ Bucket: t.bucket, Key: key('a.json') }));
  out.s3Get = {
    body: await got.Body?.transformToString(),
    contentType: got.ContentType,
    metadata: got.Metadata,
    length: got.ContentLength,
  };
  await s3.send(
    new CopyObjectCommand({
      Bucket: t.bucket,
      Key: key('b.json'),
      CopySource: `${t.bucket}/${key('a.json')}`,
    }),
  );
  await s3.send(
    new PutObjectTaggingCommand({
      Bucket: t.bucket,
      Key: key('b.json'),
      Tagging: { TagSet: [{ Key: 'serval-deleted', Value: 'true' }] },
    }),
  );
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: t.bucket, Prefix: `${t.prefix}/` }));
  out.s3List = { keys: listed.Contents?.map((o) => unprefixed(o.Key)), count: listed.KeyCount };
  await s3.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: key('b.json') }));
  out.s3Missing = await failure(
    () => s3.send(new GetObjectCommand({ Bucket: t.bucket, Key: key('b.json') })),
    {
      NoSuchKey,
    },
  );

  // DynamoDB: JSON 1.0, through the document client.
  const pk = key('model');
  await db.send(
    new PutCommand({ TableName: t.table, Item: { pk, sk: 'v1', n: 1, tags: ['a'], m: { x: 1.5 } } }),
  );
  await db.send(
    new BatchWriteCommand({
      RequestItems: { [t.table]: [{ PutRequest: { Item: { pk, sk: 'v2', n: 2 } } }] },
    }),
  );
  const item = (i: Record<string, unknown> | undefined) => i && { ...i, pk: unprefixed(i.pk as string) };
  out.dbGet = item((await db.send(new GetCommand({ TableName: t.table, Key: { pk, sk: 'v1' } }))).Item);
  const updated = await db.send(
    new UpdateCommand({
      TableName: t.table,
      Key: { pk, sk: 'v1' },
      UpdateExpression: 'SET n = n + :one',
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'ALL_NEW',
    }),
  );
  out.dbUpdate = item(updated.Attributes);
  const queried = await db.send(
    new QueryCommand({
      TableName: t.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ScanIndexForward: false,
    }),
  );
  out.dbQuery = { sks: queried.Items?.map((i) => i.sk), count: queried.Count };
  const batch = await db.send(
    new BatchGetCommand({ RequestItems: { [t.table]: { Keys: [{ pk, sk: 'v2' }] } } }),
  );
  out.dbBatchGet = batch.Responses?.[t.table]?.map(item);
  out.dbConditionFailed = await failure(
    () =>
      db.send(
        new PutCommand({
          TableName: t.table,
          Item: { pk, sk: 'v1' },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    { ConditionalCheckFailedException, TransactionCanceledException },
  );
  out.dbTransactionCanceled = await failure(
    () =>
      db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: t.table, Item: { pk, sk: 'v3' } } },
            {
              ConditionCheck: {
                TableName: t.table,
                Key: { pk, sk: 'v2' },
                ConditionExpression: 'n = :n',
                ExpressionAttributeValues: { ':n': 99 },
              },
            },
          ],
        }),
      ),
    { ConditionalCheckFailedException, TransactionCanceledException },
  );
  out.dbNoTable = await failure(
    () => db.send(new GetCommand({ TableName: `${t.table}-missing`, Key: { pk, sk: 'v1' } })),
    { ResourceNotFoundException, ConditionalCheckFailedException },
  );
  await db.send(new DeleteCommand({ TableName: t.table, Key: { pk, sk: 'v2' } }));

  // SQS: JSON 1.0.
  const sent = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: t.queueUrl,
      Entries: [
        { Id: '0', MessageBody: '{"a":1}' },
        { Id: '1', MessageBody: 'é ✓' },
      ],
    }),
  );
  out.sqsSent = { ids: sent.Successful?.map((s) => s.Id).sort(), failed: sent.Failed ?? [] };
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: t.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  out.sqsAttributes = Object.keys(attributes.Attributes ?? {});
  out.sqsNoQueue = await failure(
    () =>
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: `${t.queueUrl}-missing`,
          Entries: [{ Id: '0', MessageBody: 'x' }],
        }),
      ),
    { QueueDoesNotExist },
  );
  return out;
}
