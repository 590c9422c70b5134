/**
 * Lambda's SQS event source mapping, locally: long-poll a queue, hand each batch to the worker
 * handler as a real SQSEvent, and delete what succeeded. Like Lambda, which scales pollers up
 * while a queue has a backlog, several batches are in flight at once (`concurrency`, default
 * DEFAULT_CONCURRENCY, or the function's reserved concurrency): one loop at a time drained a
 * capture backlog of 5,800 messages in about 40 minutes. ReportBatchItemFailures semantics:
 * messages named in `batchItemFailures` stay in the queue; a handler that throws (or answers with
 * an identifier that is not in the batch, which Lambda treats the same way) fails the whole batch.
 * Failed messages reappear after the visibility timeout, and SQS's own redrive policy moves them
 * to the dead-letter queue after maxReceiveCount receives — exactly as on AWS, because it is SQS
 * (the stand-in) that does it, not this loop.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './lambda-context.js';

// biome-ignore lint/suspicious/noConfusingVoidType: aws-lambda's SQSHandler result, so that `async () => {}` fits.
export type SqsWorkerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface QueuePollerOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  /**
   * Messages per invocation, as in the event source mapping. Up to 10 come from one receive;
   * more are gathered over maxBatchingWindowSeconds.
   */
  readonly batchSize: number;
  /**
   * Lambda's MaximumBatchingWindowInSeconds: after the first message, keep receiving until
   * batchSize messages, MAX_BATCH_PAYLOAD_BYTES of bodies, or this many seconds. Default 0.
   */
  readonly maxBatchingWindowSeconds?: number;
  readonly handler: SqsWorkerHandler;
  /** Long-poll wait; 20 s (SQS's maximum, and what Lambda uses) by default. */
  readonly waitTimeSeconds?: number;
  /**
   * Receives every failure: a handler that threw, an invalid batch response, SQS unreachable, a
   * failed delete. Default: console.error.
   */
  readonly onError?: (error: unknown) => void;
  /**
   * Batches in flight at once, as Lambda's concurrent invocations of one function; the
   * function's reserved concurrency where it has one. Default DEFAULT_CONCURRENCY.
   */
  readonly concurrency?: number;
  /** For the Lambda context handed to the handler. */
  readonly functionName?: string;
  readonly timeoutSeconds?: number;
}

export interface QueuePoller {
  /** Ends the long poll at once, lets a running invocation finish, and resolves when the loop has stopped. */
  stop(): Promise<void>;
}

/** Pause after a failed receive so an unreachable SQS is not hammered. */
const RECEIVE_RETRY_MS = 1000;
/** Lambda invokes with at most 6 MB of event: a gathered batch stops growing there. */
export const MAX_BATCH_PAYLOAD_BYTES = 6 * 1024 * 1024 - 64 * 1024;
/** Pause between receives that found nothing while a batching window is open. */
const GATHER_PAUSE_MS = 50;

/** Batches in flight per queue locally, where a function declares no reserved concurrency. */
export const DEFAULT_CONCURRENCY = 4;

export function startQueuePoller(options: QueuePollerOptions): QueuePoller {
  const { client, queueUrl, queueArn, handler } = options;
  const batchSize = Math.max(1, Math.floor(options.batchSize));
  const maxMessages = Math.min(batchSize, 10);
  const windowMs = Math.max(0, (options.maxBatchingWindowSeconds ?? 0) * 1000);
  const waitTimeSeconds = options.waitTimeSeconds ?? 20;
  const onError = options.onError ?? ((error: unknown) => console.error(`[sqs ${queueArn}]`, error));
  const region = queueArn.split(':')[3] ?? 'us-east-1';
  const abort = new AbortController();

  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));

  /**
   * While the queue is idle one loop long-polls it; the others rest until a receive finds
   * messages, then all receive again. With every loop in a long poll of its own, an idle
   * `npm start` spent about a tenth of a core on receives: 32 loops over eight queues, each held
   * by local-aws-sqs, which looks at the queue every 10 ms while it holds a receive. A loop rests
   * only while another one is receiving, so however long the others' batches take, one loop is
   * always there to take the next message.
   */
  let receiving = 0;
  let wake: (() => void) | undefined;
  let woken: Promise<void> | undefined;
  const rest = () => {
    // After a stop, a loop does not rest: the abort woke only the loops resting at that moment.
    if (abort.signal.aborted) return Promise.resolve();
    woken ??= new Promise<void>((resolve) => {
      wake = () => {
        woken = undefined;
        wake = undefined;
        resolve();
      };
    });
    return woken;
  };
  abort.signal.addEventListener('abort', () => wake?.(), { once: true });

  const loop = async (): Promise<void> => {
    // After a receive that found nothing, the next one long-polls straight away.
    let foundNothing = false;
    while (!abort.signal.aborted) {
      let messages: Message[];
      receiving++;
      try {
        messages = await gather(await receiveBatch(foundNothing));
      } catch (error) {
        if (abort.signal.aborted) return;
        onError(error);
        await sleep(RECEIVE_RETRY_MS, undefined, { signal: abort.signal }).catch(() => {});
        continue;
      } finally {
        receiving--;
      }
      foundNothing = messages.length === 0;
      if (foundNothing) {
        if (receiving > 0) {
          await rest();
          // Woken because a receive found messages: there may be a backlog to take at once.
          foundNothing = false;
        }
        continue;
      }
      wake?.();
      const records = messages.map((m) => toRecord(m, queueArn, region));
      const succeeded = await invoke(records);
      if (succeeded.length === 0) continue;
      try {
        await deleteMessages(succeeded);
      } catch (error) {
        // Undeleted messages come back after the visibility timeout: a duplicate, never a loss.
        onError(error);
      }
    }
  };

  const receive = async (max: number, wait: number): Promise<Message[]> => {
    const answer = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: wait,
        MessageSystemAttributeNames: ['All'],
        // The deprecated spelling too: SQS accepts both, local-aws-sqs only this one.
        AttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: abort.signal },
    );
    return answer.Messages ?? [];
  };

  /**
   * While there is a backlog, one receive of a whole batch without waiting (skipped when this
   * loop's last receive found nothing). Otherwise long-polls for one message, then tops the batch
   * up without waiting: SQS answers a long poll as soon as
   * it has any message, but local-aws-sqs holds it open until it has MaxNumberOfMessages or the
   * wait ends — a lone message would sit there for the full wait, and one whose visibility
   * timeout lapses meanwhile comes back twice in the same answer. This way both deliver at once.
   */
  const receiveBatch = async (longPollFirst: boolean): Promise<Message[]> => {
    if (!longPollFirst) {
      const ready = await receive(maxMessages, 0);
      if (ready.length > 0) return ready;
    }
    const first = await receive(1, waitTimeSeconds);
    if (first.length === 0 || maxMessages === 1) return first;
    let rest: Message[] = [];
    try {
      rest = await receive(maxMessages - 1, 0);
    } catch (error) {
      if (abort.signal.aborted) throw error;
      onError(error);
    }
    // A batch never holds one message twice; the latest receipt handle is the one that counts.
    const byId = new Map<string | undefined, Message>();
    for (const message of [...first, ...rest]) byId.set(message.MessageId, message);
    return [...byId.values()];
  };

  /** A batch grown, within the batching window, towards batchSize and the payload limit. */
  const gather = async (first: Message[]): Promise<Message[]> => {
    if (windowMs === 0 || first.length === 0 || first.length >= batchSize) return first;
    const byId = new Map<string | undefined, Message>();
    let bytes = 0;
    const add = (ms: Message[]) => {
      for (const m of ms) {
        if (!byId.has(m.MessageId)) bytes += Buffer.byteLength(m.Body ?? '');
        byId.set(m.MessageId, m);
      }
    };
    add(first);
    const deadline = Date.now() + windowMs;
    while (byId.size < batchSize && bytes < MAX_BATCH_PAYLOAD_BYTES && Date.now() < deadline) {
      if (abort.signal.aborted) break;
      let more: Message[] = [];
      try {
        more = await receive(Math.min(10, batchSize - byId.size), 0);
      } catch (error) {
        // What was gathered is still handed over; the next loop reports a lasting failure.
        if (abort.signal.aborted) break;
        onError(error);
        break;
      }
      if (more.length === 0)
        await sleep(GATHER_PAUSE_MS, undefined, { signal: abort.signal }).catch(() => {});
      add(more);
    }
    return [...byId.values()];
  };

  /** The records whose messages may be deleted. */
  const invoke = async (records: SQSRecord[]): Promise<SQSRecord[]> => {
    let response: SQSBatchResponse | undefined;
    try {
      response = (await handler(
        { Records: records },
        lambdaContext(options.functionName ?? 'serval-local', { timeoutSeconds: options.timeoutSeconds }),
      )) as SQSBatchResponse | undefined;
    } catch (error) {
      onError(error);
      return [];
    }
    const failures = response?.batchItemFailures ?? [];
    const failed = new Set(failures.map((f) => f.itemIdentifier));
    const ids = new Set(records.map((r) => r.messageId));
    const invalid = failures.filter(
      (f) => typeof f.itemIdentifier !== 'string' || !ids.has(f.itemIdentifier),
    );
    if (invalid.length > 0) {
      onError(
        new Error(
          `The handler reported batch item failures that are not message ids of this batch (${JSON.stringify(invalid)}); ` +
            'as Lambda does, the whole batch is treated as failed.',
        ),
      );
      return [];
    }
    return records.filter((r) => !failed.has(r.messageId));
  };

  const deleteMessages = async (records: SQSRecord[]): Promise<void> => {
    for (let i = 0; i < records.length; i += 10) {
      const chunk = records.slice(i, i + 10);
      const answer = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
        }),
      );
      if (answer.Failed?.length) {
        throw new Error(
          `SQS could not delete ${answer.Failed.length} processed message(s): ${JSON.stringify(answer.Failed)}`,
        );
      }
    }
  };

  const running = Promise.all(Array.from({ length: concurrency }, () => loop()));
  return {
    async stop() {
      abort.abort();
      await running;
    },
  };
}

function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const a = message.Attributes ?? {};
  const attributes: SQSRecord['attributes'] = {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
    SentTimestamp: a.SentTimestamp ?? '',
    SenderId: a.SenderId ?? '',
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? '',
  };
  for (const name of [
    'AWSTraceHeader',
    'SequenceNumber',
    'MessageGroupId',
    'MessageDeduplicationId',
    'DeadLetterQueueSourceArn',
  ] as const) {
    const value = a[name];
    if (value !== undefined) attributes[name] = value;
  }
  const record: SQSRecord = {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes,
    messageAttributes: toMessageAttributes(message.MessageAttributes),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
  if (message.MD5OfMessageAttributes) record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return record;
}

/** SDK shape (PascalCase, bytes) → Lambda event shape (camelCase, base64), as Lambda delivers it. */
function toMessageAttributes(
  attributes: Record<string, MessageAttributeValue> | undefined,
): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    out[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
    };
  }
  return out;
}
