/**
 * The capture worker records a queue body (hundreds of capture messages) as one group: one S3
 * object per model, version and hour and one group marker in DynamoDB, not an object and a
 * transaction per capture message, which held the worker to ~100 requests/s and landed captures
 * minutes after the answer. A redelivered body changes nothing.
 */

import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoPredictionStore } from '../../../functions/adapters/dynamo-predictions.js';
import { S3Captures } from '../../../functions/adapters/s3-captures.js';
import type { CaptureMessage } from '../../../functions/core/inference/ports.js';
import { createHandler } from '../../../functions/handlers/capture-worker.js';
import { experimentStoreFor } from '../../../functions/handlers/serving-experiments.js';
import { predictionStore } from '../../../functions/handlers/shared.js';
import { functionEnv } from '../../../local/runtime.js';
import { localS3Client } from '../../../local/services/clients.js';
import { type Standins, startStandins, useStandinsEnv } from '../../support/standins.js';

let aws: Standins;
let restoreEnv: (() => void) | undefined;

beforeAll(async () => {
  aws = await startStandins();
  restoreEnv = useStandinsEnv(aws);
}, 60_000);

afterAll(async () => {
  restoreEnv?.();
  await aws?.stop();
});

afterEach(() => {
  vi.restoreAllMocks();
});

function message(i: number): CaptureMessage {
  return {
    v: 1,
    id: `m-${i}`,
    model: 'churn',
    version: '1.0.0',
    at: new Date().toISOString(),
    latencyMs: 2,
    outcome: 'ok',
    kind: 'binary',
    features: ['a', 'b'],
    predictionIds: [`p-${i}`],
    instances: [[i, 1]],
    predictions: ['stay'],
    probabilities: [[0.7, 0.3]],
  };
}

describe('the capture worker', () => {
  it('records a body of 300 capture messages as one S3 object and one count, once over redeliveries', async () => {
    const worker = createHandler(functionEnv('captureWorker', aws.env));
    const body = JSON.stringify(Array.from({ length: 300 }, (_, i) => message(i)));
    const event = {
      Records: [{ messageId: 'sqs-1', receiptHandle: 'r', body, attributes: {}, messageAttributes: {} }],
    } as unknown as SQSEvent;
    const sends = vi.spyOn(S3Client.prototype, 'send');
    for (let delivery = 0; delivery < 2; delivery++) {
      const out = (await worker(event, {} as Context)) as { batchItemFailures?: unknown[] } | undefined;
      expect(out?.batchItemFailures ?? []).toEqual([]);
    }
    const objects = sends.mock.calls.filter(([c]) => c instanceof PutObjectCommand);
    // One object per delivery, the same key both times: the redelivery overwrote it.
    expect(objects).toHaveLength(2);
    const keys = new Set(objects.map(([c]) => (c as PutObjectCommand).input.Key));
    expect(keys.size).toBe(1);
    // Counted once across both deliveries (one group marker, not 300 transactions).
    const hours = await predictionStore(aws.env).aggregates(
      'churn',
      new Date(Date.now() - 3600_000),
      new Date(Date.now() + 3600_000),
    );
    expect(hours.reduce((s, h) => s + h.predictions, 0)).toBe(300);
    expect(hours.reduce((s, h) => s + h.requests, 0)).toBe(300);
  });

  it("writes a batch's bodies as one object, and reads a body stored twice (failed count, redelivered beside others) once", async () => {
    const worker = createHandler(functionEnv('captureWorker', aws.env));
    const model = `batchy-${Date.now()}`;
    const body = (b: number) =>
      JSON.stringify(
        Array.from({ length: 5 }, (_, i) => ({ ...message(5000 + b * 5 + i), model, id: `b${b}-${i}` })),
      );
    const record = (b: number) => ({
      messageId: `sqs-b${b}`,
      receiptHandle: 'r',
      body: body(b),
      attributes: {},
      messageAttributes: {},
    });
    const original = DynamoPredictionStore.prototype.recordGroup;
    let failed = false;
    vi.spyOn(DynamoPredictionStore.prototype, 'recordGroup').mockImplementation(async function (
      this: DynamoPredictionStore,
      groupId,
      batches,
    ) {
      if (!failed && batches[0]?.messageId === 'b7-0') {
        failed = true;
        throw new Error('throttled');
      }
      return original.call(this, groupId, batches);
    });
    const sends = vi.spyOn(S3Client.prototype, 'send');
    const puts = () => sends.mock.calls.filter(([c]) => c instanceof PutObjectCommand).length;

    const first = (await worker(
      { Records: Array.from({ length: 40 }, (_, b) => record(b)) } as unknown as SQSEvent,
      {} as Context,
    )) as { batchItemFailures: { itemIdentifier: string }[] };
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'sqs-b7' }]);
    expect(puts()).toBe(1);
    // The failed body comes back with new ones: stored again in a second object, counted once.
    const second = (await worker(
      { Records: [7, 40, 41, 42].map(record) } as unknown as SQSEvent,
      {} as Context,
    )) as { batchItemFailures: unknown[] };
    expect(second.batchItemFailures).toEqual([]);
    expect(puts()).toBe(2);

    const captures = new S3Captures(localS3Client(aws.endpoints.s3), aws.resources.buckets.artifacts);
    const from = new Date(Date.now() - 2 * 3600_000);
    const to = new Date(Date.now() + 3600_000);
    const ids: string[] = [];
    for (const p of await captures.partitions(model, ['1.0.0'], from, to)) {
      for await (const row of captures.rows(p)) ids.push(row.predictionId!);
    }
    expect(ids).toHaveLength(43 * 5);
    expect(new Set(ids).size).toBe(43 * 5);
    const hours = await predictionStore(aws.env).aggregates(model, from, to);
    expect(hours.reduce((s, h) => s + h.predictions, 0)).toBe(43 * 5);
  });

  it("counts an experiment's requests into it once over redeliveries", async () => {
    const worker = createHandler(functionEnv('captureWorker', aws.env));
    const experimentId = `exp-${Date.now()}`;
    const tagged = (i: number): CaptureMessage => ({
      ...message(1000 + i),
      experimentId,
      variant: i % 2 ? 'treatment' : 'control',
      epoch: 0,
      subject: `s-${i}`,
    });
    const body = JSON.stringify([tagged(0), tagged(1)]);
    const event = {
      Records: [{ messageId: 'sqs-2', receiptHandle: 'r', body, attributes: {}, messageAttributes: {} }],
    } as unknown as SQSEvent;
    for (let delivery = 0; delivery < 2; delivery++) {
      const out = (await worker(event, {} as Context)) as { batchItemFailures?: unknown[] } | undefined;
      expect(out?.batchItemFailures ?? []).toEqual([]);
    }
    // Every key the worker observed is taken: observing them again adds nothing.
    const again = await experimentStoreFor(aws.env).observe(
      experimentId,
      ['cap:m-1000', 'cap:m-1001', 'subj:0:s-0', 'subj:0:s-1'].map((key) => ({
        key,
        contributions: [{ variant: 'control', metric: 'error_rate', value: 0 }],
      })),
    );
    expect(again).toEqual({ accepted: 0, duplicates: 4 });
  });
});
