/**
 * No answered prediction vanishes while the capture queue is away. The inference's SQS client is
 * pointed at a TCP proxy in front of the SQS stand-in, which under steady traffic first swallows
 * SQS's answers (a stalled endpoint that still accepts the messages: the worst case for
 * duplicates), then resets every connection (refused), then forwards again. Every predictionId
 * answered must then be in S3 exactly once and counted exactly once in the model's stats, through
 * whichever path it took: the queue and the capture worker, or the inference's spill.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { BUCKETS, QUEUES } from '../../../functions/contract/resources.js';
import { createHandler as createWorker } from '../../../functions/handlers/capture-worker.js';
import { buildInferenceApi } from '../../../functions/handlers/inference-api.js';
import { functionEnv } from '../../../local/runtime.js';
import { localS3Client } from '../../../local/services/clients.js';
import { churnEvent, churnStandinsForFile } from '../../support/churn-rig.js';
import type { Standins } from '../../support/standins.js';

let aws: Standins;
let sqs: SQSClient;

type Mode = 'up' | 'stall' | 'refuse';

/** A TCP proxy to SQS whose mode can be switched under traffic. */
async function flakyProxy(
  target: URL,
): Promise<{ url: string; set(mode: Mode): void; close(): Promise<void> }> {
  let mode: Mode = 'up';
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (mode === 'refuse') {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (d) => upstream.write(d));
    // Stalled: SQS gets the request (and keeps the messages), the caller never hears back.
    upstream.on('data', (d) => {
      if (mode === 'up') client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    set(next) {
      mode = next;
      // Connections held open by a stall (or kept alive into a refusal) go, as they would.
      if (next !== 'stall') for (const s of sockets) s.destroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const predictEvent = (i: number) =>
  churnEvent(`r${i}`, { body: { version: '1.0.0', instances: [[i % 7, 2, 3]] } });

/** What Lambda's event source would do: every queued capture through the real worker. */
async function drainQueue(): Promise<void> {
  const worker = createWorker(functionEnv('captureWorker', aws.env));
  const queueUrl = aws.env[QUEUES.captures.env] as string;
  for (;;) {
    const res = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (!res.Messages?.length) return;
    const event = {
      Records: res.Messages.map((m) => ({
        messageId: m.MessageId,
        receiptHandle: m.ReceiptHandle,
        body: m.Body,
        attributes: { ApproximateReceiveCount: '1' },
        messageAttributes: {},
      })),
    } as unknown as SQSEvent;
    const out = (await worker(event, {} as Context)) as { batchItemFailures?: unknown[] } | undefined;
    expect(out?.batchItemFailures ?? []).toEqual([]);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: res.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}

/** Every predictionId in the capture objects of the model, with repeats. */
async function capturedIds(): Promise<string[]> {
  const s3 = localS3Client(aws.endpoints.s3);
  const bucket = aws.env[BUCKETS.artifacts.env];
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const list = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'captures/churn/', ContinuationToken: token }),
    );
    for (const o of list.Contents ?? []) {
      if (!o.Key?.endsWith('.jsonl.gz')) continue;
      const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
      const text = gunzipSync(await body.Body!.transformToByteArray()).toString('utf8');
      for (const line of text.split('\n'))
        if (line) ids.push((JSON.parse(line) as { predictionId: string }).predictionId);
    }
    token = list.IsTruncated ? list.NextContinuationToken : undefined;
  } while (token);
  s3.destroy();
  return ids;
}

churnStandinsForFile((standins, client) => {
  aws = standins;
  sqs = client;
});

describe('captures while the queue is away', () => {
  it('stores and counts every answered prediction exactly once through a stall and a refusal', async () => {
    const proxy = await flakyProxy(new URL(aws.endpoints.sqs));
    const saved = process.env.AWS_ENDPOINT_URL_SQS;
    process.env.AWS_ENDPOINT_URL_SQS = proxy.url;
    try {
      // The SDK sends to the queue URL's host, so the URL goes through the proxy too.
      const queueUrl = new URL(aws.env[QUEUES.captures.env] as string);
      const proxied = `${proxy.url}${queueUrl.pathname}`;
      const inference = buildInferenceApi(
        functionEnv('inference', { ...aws.env, [QUEUES.captures.env]: proxied }),
      );
      const answered: string[] = [];
      let stop = false;
      let n = 0;
      const client = async () => {
        while (!stop) {
          const res = await inference.api(predictEvent(n++), { awsRequestId: `r${n}` } as Context);
          expect(res.statusCode).toBe(200);
          answered.push(...(JSON.parse(res.body) as { predictionIds: string[] }).predictionIds);
          await new Promise((r) => setTimeout(r, 3));
        }
      };
      const traffic = Promise.all([client(), client(), client(), client()]);
      const phase = (mode: Mode, ms: number) => {
        proxy.set(mode);
        return new Promise((r) => setTimeout(r, ms));
      };
      await phase('up', 1000);
      // Long enough at this rate to outgrow the buffer's backlog (5,000 messages), as in the
      // reported outage where 6–41% of captures were dropped.
      await phase('stall', 8000);
      await phase('refuse', 5000);
      await phase('up', 1000);
      stop = true;
      await traffic;
      await inference.flush();
      expect(answered.length).toBeGreaterThan(6000);

      await drainQueue();
      const ids = await capturedIds();
      const missing = answered.filter((id) => !new Set(ids).has(id));
      expect({ missing: missing.length, duplicated: ids.length - new Set(ids).size }).toEqual({
        missing: 0,
        duplicated: 0,
      });
      expect(new Set(ids).size).toBe(answered.length);

      const stats = await inference.api(
        {
          ...predictEvent(0),
          resource: '/v1/models/{name}/stats',
          path: '/v1/models/churn/stats',
          httpMethod: 'GET',
          body: null,
        },
        { awsRequestId: 'stats' } as Context,
      );
      const report = JSON.parse(stats.body) as {
        total: { predictions: number; capture: { answered: number; captured: number; completeness: number } };
      };
      expect(report.total.predictions).toBe(answered.length);
      expect(report.total.capture).toMatchObject({ answered: answered.length, completeness: 1 });
    } finally {
      process.env.AWS_ENDPOINT_URL_SQS = saved;
      await proxy.close();
    }
  }, 240_000);
});
