/**
 * On Lambda, captures leave after the answer: the inference entry registers an internal
 * extension with the Runtime API (a local stand-in of it here) and sends its capture buffer to
 * SQS (the local stand-in, through the real SDK) between answering and telling Lambda it is done.
 * Its CloudWatch EMF record is written after the answer too. Where registration is refused, the
 * buffer is sent before answering, as the only safe choice.
 */
import { ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeBody } from '../../../functions/adapters/sqs-capture-queue.js';
import { QUEUES } from '../../../functions/contract/resources.js';
import type { CaptureMessage } from '../../../functions/core/inference/ports.js';
import { createLambdaHandler } from '../../../functions/handlers/inference-api.js';
import { functionEnv } from '../../../local/runtime.js';
import { churnEvent, churnStandinsForFile } from '../../support/churn-rig.js';
import { type RuntimeApiStandin, startRuntimeApi } from '../../support/lambda-runtime-api.js';
import type { Standins } from '../../support/standins.js';

let aws: Standins;
let sqs: SQSClient;

const predictEvent = (requestId: string) =>
  churnEvent(requestId, { body: { version: '1.0.0', instances: [[1, 2, 3]] } });

/** Capture messages now in the queue (the capture worker is not running in this test). */
async function queued(): Promise<CaptureMessage[]> {
  const out: CaptureMessage[] = [];
  for (;;) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: aws.env[QUEUES.captures.env],
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    if (!res.Messages?.length) return out;
    for (const m of res.Messages) out.push(...(JSON.parse(decodeBody(m.Body ?? '[]')) as CaptureMessage[]));
  }
}

/** When each capture send started: observed on the real client, which still does the sending. */
function watchSends(): number[] {
  const starts: number[] = [];
  const send = SQSClient.prototype.send;
  vi.spyOn(SQSClient.prototype, 'send').mockImplementation(function (this: SQSClient, ...args: unknown[]) {
    if (args[0] instanceof SendMessageBatchCommand) starts.push(performance.now());
    return (send as (...a: unknown[]) => unknown).apply(this, args) as never;
  });
  return starts;
}

/** How many CloudWatch EMF records have been written to stdout since the call. */
function watchEmf(): { count: number } {
  const seen = { count: 0 };
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    if (String(chunk).includes('"CloudWatchMetrics"')) seen.count++;
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write);
  return seen;
}

afterEach(() => {
  vi.restoreAllMocks();
});

function lambdaEnv(runtimeApi: RuntimeApiStandin): Record<string, string> {
  return {
    ...functionEnv('inference', aws.env),
    AWS_LAMBDA_FUNCTION_NAME: 'serval-inference',
    AWS_LAMBDA_RUNTIME_API: runtimeApi.address,
  };
}

churnStandinsForFile((standins, client) => {
  aws = standins;
  sqs = client;
});

describe('capture on Lambda', () => {
  it('answers first, then sends the capture before telling Lambda the invocation is done', async () => {
    const runtime = await startRuntimeApi();
    try {
      const handler = await createLambdaHandler(lambdaEnv(runtime));
      expect(runtime.registrations).toEqual([{ name: 'serval-capture', events: ['INVOKE'] }]);
      // Init ends with the extension waiting for its first event.
      await expect.poll(() => runtime.polling).toBe(true);
      const sends = watchSends();
      const emf = watchEmf();
      for (const requestId of ['req-1', 'req-2']) {
        sends.length = 0;
        emf.count = 0;
        const released = runtime.invoke(requestId);
        const res = await handler(predictEvent(requestId), { awsRequestId: requestId });
        const answeredAt = performance.now();
        expect(res.statusCode).toBe(200);
        const { predictionIds } = JSON.parse(res.body) as { predictionIds: string[] };
        // Lambda would freeze the process here, were the extension not still busy; the request's
        // metric record is not written yet either.
        expect(runtime.polling).toBe(false);
        expect(emf.count).toBe(0);
        const releasedAt = await released;
        expect(releasedAt).toBeGreaterThanOrEqual(answeredAt);
        // The send started after the answer was out, and before the extension let go.
        expect(sends).toHaveLength(1);
        expect(sends[0]).toBeGreaterThan(answeredAt);
        expect(sends[0]).toBeLessThan(releasedAt);
        expect(emf.count).toBe(1);
        // By the time the extension lets go, the capture is in the queue.
        const messages = await queued();
        expect(messages.map((m) => m.predictionIds)).toEqual([predictionIds]);
        expect(messages[0]).toMatchObject({ model: 'churn', version: '1.0.0', outcome: 'ok' });
        // The instances went in as the request's text (shared-json.ts), the rows as sent.
        expect(messages[0]?.instances).toEqual([[1, 2, 3]]);
      }
    } finally {
      await runtime.stop();
    }
  });

  it('goes back to sending before answering once the Runtime API is gone', async () => {
    const runtime = await startRuntimeApi();
    const handler = await createLambdaHandler(lambdaEnv(runtime));
    await expect.poll(() => runtime.polling).toBe(true);
    await runtime.stop();
    const sends = watchSends();
    // The extension notices on its pending event/next; until then it still counts as active.
    await expect
      .poll(async () => {
        sends.length = 0;
        const res = await handler(predictEvent('req-x'), { awsRequestId: 'req-x' });
        expect(res.statusCode).toBe(200);
        return sends.length;
      })
      .toBe(1);
    const calledAt = performance.now();
    const res = await handler(predictEvent('req-4'), { awsRequestId: 'req-4' });
    const answeredAt = performance.now();
    expect(res.statusCode).toBe(200);
    const { predictionIds } = JSON.parse(res.body) as { predictionIds: string[] };
    expect(sends).toHaveLength(2);
    // Sent during the call, before its answer.
    expect(sends[1]).toBeGreaterThan(calledAt);
    expect(sends[1]).toBeLessThan(answeredAt);
    const messages = await queued();
    expect(messages.at(-1)?.predictionIds).toEqual(predictionIds);
  });

  it('sends the capture before answering when the Runtime API refuses the extension', async () => {
    const runtime = await startRuntimeApi({ refuse: true });
    try {
      const handler = await createLambdaHandler(lambdaEnv(runtime));
      expect(runtime.registrations).toEqual([]);
      const sends = watchSends();
      const res = await handler(predictEvent('req-3'), { awsRequestId: 'req-3' });
      const answeredAt = performance.now();
      expect(res.statusCode).toBe(200);
      expect(sends).toHaveLength(1);
      expect(sends[0]).toBeLessThan(answeredAt);
      const { predictionIds } = JSON.parse(res.body) as { predictionIds: string[] };
      // No waiting: the send happened before the answer.
      const messages = await queued();
      expect(messages.map((m) => m.predictionIds)).toEqual([predictionIds]);
    } finally {
      await runtime.stop();
    }
  });
});
