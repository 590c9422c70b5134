/**
 * The capture worker records a queue body (hundreds of capture messages) as one group: one S3
 * object per model, version and hour and one group marker in DynamoDB, not an object and a
 * transaction per capture message, which held the worker to ~100 requests/s and landed captures
 * minutes after the answer. A redelivered body changes nothing.
 */

import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CaptureMessage } from '../../../functions/core/inference/ports.js';
import { createHandler } from '../../../functions/handlers/capture-worker.js';
import { experimentStoreFor } from '../../../functions/handlers/serving-experiments.js';
import { predictionStore } from '../../../functions/handlers/shared.js';
import { functionEnv } from '../../../local/runtime.js';
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
