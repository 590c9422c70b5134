/**
 * Reachability probes of the stores and queue depths, for GET /v1/health/detailed.
 *
 * Each probe has its own deadline: a store that accepts connections and never answers would
 * otherwise hold the request until API Gateway gives up (29 s, a 5xx), when it should simply
 * show up as not ok in a `degraded` answer.
 */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { HealthProbes, ProbeResult } from '../core/system/health.js';

/** Per probe, retries included: well under API Gateway's 29 s, well over a healthy answer. */
export const PROBE_TIMEOUT_MS = 3_000;

async function timed(
  name: string,
  kind: ProbeResult['kind'],
  timeoutMs: number,
  probe: (abortSignal: AbortSignal) => Promise<number | undefined>,
): Promise<ProbeResult> {
  const start = performance.now();
  try {
    const depth = await probe(AbortSignal.timeout(timeoutMs));
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

function probeTable(db: DynamoDBClient, name: string, table: string, ms: number): Promise<ProbeResult> {
  return timed(name, 'dynamodb', ms, async (abortSignal) => {
    await db.send(new DescribeTableCommand({ TableName: table }), { abortSignal });
    return undefined;
  });
}

function probeBucket(s3: S3Client, name: string, bucket: string, ms: number): Promise<ProbeResult> {
  return timed(name, 's3', ms, async (abortSignal) => {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal });
    return undefined;
  });
}

function probeQueue(sqs: SQSClient, name: string, url: string, ms: number): Promise<ProbeResult> {
  return timed(name, 'sqs', ms, async (abortSignal) => {
    const res = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
      { abortSignal },
    );
    return Number(res.Attributes?.ApproximateNumberOfMessages ?? 0);
  });
}

/** A probed resource: its name in the report, and its physical name (a queue's URL). */
export interface ProbeTarget {
  readonly name: string;
  readonly resource: string;
}

/** Every table, bucket and queue of one deployment, probed concurrently. */
export class AwsHealthProbes implements HealthProbes {
  constructor(
    private readonly clients: { readonly db: DynamoDBClient; readonly s3: S3Client; readonly sqs: SQSClient },
    private readonly targets: {
      readonly tables: readonly ProbeTarget[];
      readonly buckets: readonly ProbeTarget[];
      readonly queues: readonly ProbeTarget[];
    },
    private readonly timeoutMs: number = PROBE_TIMEOUT_MS,
  ) {}

  probeAll(): Promise<ProbeResult[]> {
    const { db, s3, sqs } = this.clients;
    const ms = this.timeoutMs;
    return Promise.all([
      ...this.targets.tables.map((t) => probeTable(db, t.name, t.resource, ms)),
      ...this.targets.buckets.map((b) => probeBucket(s3, b.name, b.resource, ms)),
      ...this.targets.queues.map((q) => probeQueue(sqs, q.name, q.resource, ms)),
    ]);
  }
}

/**
 * Liveness for GET /v1/health: whether the key store answers, since every authenticated call needs
 * it. One DescribeTable per `cacheMs` at most, however often the public route is polled, and a
 * short deadline so a hung store answers 503 quickly.
 */
export function keyStoreLiveness(
  db: DynamoDBClient,
  table: string,
  {
    cacheMs = 2_000,
    timeoutMs = 1_500,
    now = Date.now,
  }: { cacheMs?: number; timeoutMs?: number; now?: () => number } = {},
): () => Promise<ProbeResult> {
  let last: { at: number; result: Promise<ProbeResult> } | undefined;
  return () => {
    if (!last || now() - last.at >= cacheMs) {
      last = { at: now(), result: probeTable(db, 'table:keys', table, timeoutMs) };
    }
    return last.result;
  };
}
