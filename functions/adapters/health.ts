/** Reachability probes of the stores and queue depths, for GET /v1/health/detailed. */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface ProbeResult {
  readonly name: string;
  readonly kind: 'dynamodb' | 's3' | 'sqs';
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly error?: string;
  readonly depth?: number;
}

async function timed(
  name: string,
  kind: ProbeResult['kind'],
  probe: () => Promise<number | undefined>,
): Promise<ProbeResult> {
  const start = performance.now();
  try {
    const depth = await probe();
    return { name, kind, ok: true, latencyMs: Math.round((performance.now() - start) * 10) / 10, depth };
  } catch (err) {
    // The error's name (e.g. ResourceNotFoundException) helps operators and reveals nothing secret.
    return {
      name,
      kind,
      ok: false,
      latencyMs: Math.round((performance.now() - start) * 10) / 10,
      error: (err as Error).name || 'Error',
    };
  }
}

export function probeTable(db: DynamoDBClient, name: string, table: string): Promise<ProbeResult> {
  return timed(name, 'dynamodb', async () => {
    await db.send(new DescribeTableCommand({ TableName: table }));
    return undefined;
  });
}

export function probeBucket(s3: S3Client, name: string, bucket: string): Promise<ProbeResult> {
  return timed(name, 's3', async () => {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return undefined;
  });
}

export function probeQueue(sqs: SQSClient, name: string, url: string): Promise<ProbeResult> {
  return timed(name, 'sqs', async () => {
    const res = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    return Number(res.Attributes?.ApproximateNumberOfMessages ?? 0);
  });
}
