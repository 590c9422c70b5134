import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uncancellableReceives } from '../../../local/background.js';
import {
  DEFAULT_CONCURRENCY,
  type QueuePoller,
  type QueuePollerOptions,
  type SqsWorkerHandler,
  startQueuePoller,
} from '../../../local/event-source.js';
import { localSqsClient } from '../../../local/services/clients.js';
import { type SqsLocal, startSqsLocal } from '../../../local/services/sqs.js';

let server: SqsLocal;
let sqs: SQSClient;
const pollers: QueuePoller[] = [];

beforeAll(async () => {
  server = await startSqsLocal();
  sqs = localSqsClient(server.endpoint);
});

afterAll(async () => {
  await Promise.all(pollers.map((p) => p.stop()));
  sqs?.destroy();
  await server?.stop();
});

let queueCount = 0;
async function queueWithDlq(visibilityTimeout: number, maxReceiveCount: number) {
  const name = `q${++queueCount}`;
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
  const dlqArn = await arnOf(dlqUrl);
  const url = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          VisibilityTimeout: String(visibilityTimeout),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
        },
      }),
    )
  ).QueueUrl!;
  return { url, arn: await arnOf(url), dlqUrl };
}

async function arnOf(url: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return Attributes!.QueueArn!;
}

/**
 * Messages not yet deleted (or moved), visible or in flight. local-aws-sqs counts in-flight
 * messages in ApproximateNumberOfMessages too (SQS itself does not), so that attribute alone is it.
 */
async function depth(url: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages);
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(25);
  }
}

type PollOptions = Partial<Omit<QueuePollerOptions, 'queueUrl' | 'queueArn' | 'handler'>>;

/** A poller on `queue` with this file's defaults: the shared client, batches of 10, 20 s polls. */
function pollerFor(
  queue: { url: string; arn: string },
  handler: SqsWorkerHandler,
  options: PollOptions = {},
): QueuePoller {
  return startQueuePoller({
    client: sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    batchSize: 10,
    waitTimeSeconds: 20,
    onError: () => {},
    ...options,
    handler,
  });
}

/** The same, stopped after the file's tests whatever the test does. */
function poll(
  queue: { url: string; arn: string },
  handler: SqsWorkerHandler,
  options: PollOptions = {},
): QueuePoller {
  const poller = pollerFor(queue, handler, options);
  pollers.push(poller);
  return poller;
}

describe('the SQS event source', () => {
  it('drains a backlog with several batches in flight, as Lambda scales its pollers', async () => {
    const queue = await queueWithDlq(30, 3);
    for (let i = 0; i < 40; i += 10) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: `m${i + j}` })),
        }),
      );
    }
    let inFlight = 0;
    let most = 0;
    const seen = new Set<string>();
    const started = Date.now();
    const poller = poll(queue, async (event) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await sleep(300);
      for (const r of event.Records) seen.add(r.body);
      inFlight--;
    });
    await waitFor(() => seen.size === 40);
    const tookMs = Date.now() - started;
    await poller.stop();
    expect(most).toBe(DEFAULT_CONCURRENCY);
    // Four batches of 300 ms one after another would take 1.2 s at the least.
    expect(tookMs).toBeLessThan(1000);
  });

  it('holds one long poll while the queue is idle, and wakes every loop when messages come', async () => {
    // Every loop in a long poll of its own cost an idle `npm start` about a tenth of a core.
    const queue = await queueWithDlq(30, 3);
    const counted = localSqsClient(server.endpoint);
    let receiving = 0;
    let mostReceiving = 0;
    let receives = 0;
    counted.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'ReceiveMessageCommand') return next(args);
        receives++;
        receiving++;
        mostReceiving = Math.max(mostReceiving, receiving);
        try {
          return await next(args);
        } finally {
          receiving--;
        }
      },
      { step: 'initialize' },
    );
    let inFlight = 0;
    let most = 0;
    const seen = new Set<string>();
    const poller = poll(
      queue,
      async (event) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await sleep(300);
        for (const r of event.Records) seen.add(r.body);
        inFlight--;
      },
      { client: counted, waitTimeSeconds: 1 },
    );
    try {
      // At start every loop receives once (there may be a backlog); then one long-polls.
      await sleep(1200);
      mostReceiving = 0;
      receives = 0;
      await sleep(2500);
      expect(mostReceiving).toBe(1);
      // One-second long polls, one after another: three, or four at the edges.
      expect(receives).toBeLessThanOrEqual(4);
      for (let i = 0; i < 40; i += 10) {
        await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queue.url,
            Entries: Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: `m${i + j}` })),
          }),
        );
      }
      await waitFor(() => seen.size === 40);
      expect(most).toBeGreaterThan(1);
    } finally {
      await poller.stop();
      counted.destroy();
    }
  });

  it('takes a message that comes while another batch runs long, with the rest of the loops at rest', async () => {
    // A retraining job can hold its batch for minutes: the next job must not wait for it.
    const queue = await queueWithDlq(30, 3);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handled: string[] = [];
    const poller = poll(
      queue,
      async (event) => {
        const body = event.Records[0]!.body;
        if (body === 'long') await held;
        handled.push(body);
      },
      { batchSize: 1, waitTimeSeconds: 1 },
    );
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'long' }));
      // Long enough for the other loops to find nothing and rest.
      await sleep(2500);
      await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'next' }));
      await waitFor(() => handled.includes('next'), 5000);
      expect(handled).toEqual(['next']);
    } finally {
      release();
      await waitFor(() => handled.includes('long'));
      await poller.stop();
    }
  });

  it('stops while several loops are still in receives that a stop does not cut', async () => {
    // The local runtime lets a stop's receives run out (background.ts), so no message they took is
    // lost: a loop that finds nothing after the stop must end, not rest until a wake that never
    // comes (the runtime's stop then hung for good).
    const queue = await queueWithDlq(30, 3);
    let handled = 0;
    // Not stopped after the file: if this stop hangs, so would that one.
    const poller = pollerFor(
      queue,
      async (event) => {
        handled += event.Records.length;
      },
      { client: uncancellableReceives(sqs), waitTimeSeconds: 1 },
    );
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: `m${j}` })),
      }),
    );
    await waitFor(() => handled === 10);
    // Every loop was woken by that batch and is receiving again.
    const stopped = poller.stop().then(() => 'stopped');
    const late = sleep(5000).then(() => 'still running');
    expect(await Promise.race([stopped, late])).toBe('stopped');
  });

  it('gathers batches past 10 over the batching window, as the event source mapping does', async () => {
    const queue = await queueWithDlq(30, 3);
    const batches: number[] = [];
    const seen = new Set<string>();
    const poller = poll(
      queue,
      async (event) => {
        batches.push(event.Records.length);
        for (const r of event.Records) seen.add(r.body);
      },
      { batchSize: 100, maxBatchingWindowSeconds: 1.5, concurrency: 1 },
    );
    // 130 messages trickling in over ~0.5 s: a batch of 100 (batchSize), then the rest, which
    // waits for the window to close instead of leaving in tens.
    for (let i = 0; i < 130; i += 10) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: `m${i + j}` })),
        }),
      );
      await sleep(40);
    }
    await waitFor(() => seen.size === 130);
    await poller.stop();
    expect(batches).toEqual([100, 30]);
    await waitFor(async () => (await depth(queue.url)) === 0);
  });

  it('delivers a Lambda-shaped SQSEvent and deletes a batch that succeeded', async () => {
    const queue = await queueWithDlq(30, 3);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: '{"artifact":"a"}',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'integrity' } },
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: '{"artifact":"b"}' }));
    const records: SQSRecord[] = [];
    const poller = poll(queue, async (event) => {
      records.push(...event.Records);
    });
    await waitFor(() => records.length === 2);
    await poller.stop();

    const a = records.find((r) => r.body === '{"artifact":"a"}')!;
    expect(a).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: 'us-east-1',
      md5OfBody: createHash('md5').update('{"artifact":"a"}').digest('hex'),
      messageAttributes: { kind: { dataType: 'String', stringValue: 'integrity' } },
    });
    expect(a.messageId).toMatch(/\S/);
    expect(a.receiptHandle).toMatch(/\S/);
    expect(a.attributes.ApproximateReceiveCount).toBe('1');
    expect(Number(a.attributes.SentTimestamp)).toBeGreaterThan(Date.now() - 60_000);
    await waitFor(async () => (await depth(queue.url)) === 0, 3000);
  });

  it('leaves exactly the messages named in batchItemFailures', async () => {
    const queue = await queueWithDlq(2, 10);
    for (const body of ['ok-1', 'bad', 'ok-2']) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body }));
    }
    const seen = new Set<string>();
    // One loop: a stopped poller's long polls are cut on our side, but local-aws-sqs keeps them
    // open (20 s here) and hands them the failed message when it reappears, hiding it from the
    // check below for another visibility timeout each. Only the deletions are under test here.
    const poller = poll(
      queue,
      async (event) => {
        for (const r of event.Records) seen.add(r.body);
        return {
          batchItemFailures: event.Records.filter((r) => r.body === 'bad').map((r) => ({
            itemIdentifier: r.messageId,
          })),
        };
      },
      { concurrency: 1 },
    );
    await waitFor(() => seen.size === 3);
    await poller.stop();

    await waitFor(async () => (await depth(queue.url)) === 1, 3000);
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 4 }));
    expect(again.Messages?.map((m) => m.Body)).toEqual(['bad']);
  });

  it('keeps the whole batch when the handler throws, until SQS moves it to the dead-letter queue', async () => {
    const queue = await queueWithDlq(1, 2);
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'poison' }));
    const receiveCounts: string[] = [];
    const errors: unknown[] = [];
    const poller = poll(
      queue,
      async (event) => {
        for (const r of event.Records) receiveCounts.push(r.attributes.ApproximateReceiveCount);
        throw new Error('worker failed');
      },
      { onError: (error) => errors.push(error) },
    );
    await waitFor(async () => (await depth(queue.dlqUrl)) === 1);
    await poller.stop();

    expect(receiveCounts).toEqual(['1', '2']);
    expect(errors.map((e) => (e as Error).message)).toEqual(['worker failed', 'worker failed']);
    expect(await depth(queue.url)).toBe(0);
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.dlqUrl, WaitTimeSeconds: 1 }));
    expect(dead.Messages?.map((m) => m.Body)).toEqual(['poison']);
  });

  it('treats an answer naming a message outside the batch as a failed batch, as Lambda does', async () => {
    const queue = await queueWithDlq(30, 3);
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'x' }));
    let invoked = 0;
    const errors: unknown[] = [];
    const poller = poll(
      queue,
      async () => {
        invoked++;
        return { batchItemFailures: [{ itemIdentifier: 'not-a-message-id' }] };
      },
      { onError: (error) => errors.push(error) },
    );
    await waitFor(() => errors.length === 1);
    await poller.stop();
    expect(invoked).toBe(1);
    expect(String(errors[0])).toMatch(/not message ids of this batch/);
    expect(await depth(queue.url)).toBe(1);
  });

  it('delivers a lone message at once although a long poll lasts up to 20 s', async () => {
    const queue = await queueWithDlq(30, 3);
    let deliveredAt = 0;
    poll(queue, async () => {
      deliveredAt = Date.now();
    });
    await sleep(100);
    const sentAt = Date.now();
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'alone' }));
    await waitFor(() => deliveredAt > 0, 5000);
    expect(deliveredAt - sentAt).toBeLessThan(1000);
  });

  it('stops promptly in the middle of a long poll', async () => {
    const queue = await queueWithDlq(30, 3);
    const poller = poll(queue, async () => {});
    await sleep(200);
    const started = Date.now();
    await poller.stop();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
