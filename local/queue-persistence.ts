/**
 * local-aws-sqs keeps messages in memory only, and the capture worker can fall behind the API: a
 * stop would throw away whatever is still queued (captures, integrity checks, dead letters). So the
 * runtime, once its workers have stopped, takes every message still visible out of each queue into
 * `<dataDir>/sqs-pending.json`, and the next start sends them again before the workers poll.
 *
 * What it cannot reach: a message a worker received and failed is invisible until its visibility
 * timeout ends, and only its receipt handle (gone with the worker's batch) could bring it back;
 * those are counted, not saved. A re-sent message starts again at receive count 1.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  GetQueueAttributesCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

export const PENDING_FILE = 'sqs-pending.json';
const FORMAT = 1;

export interface NamedQueue {
  /** Stable across restarts (the resource id, e.g. `captures` or `captures-dlq`). */
  readonly name: string;
  readonly url: string;
}

interface SavedAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

interface SavedMessage {
  readonly queue: string;
  readonly body: string;
  readonly attributes?: Record<string, SavedAttribute>;
}

export interface SaveResult {
  readonly saved: Record<string, number>;
  /** Received by a worker and not deleted: invisible, so not saved. */
  readonly unreachable: Record<string, number>;
}

/**
 * The messages of each queue: visible, in flight (received, not deleted) and delayed. local-aws-sqs
 * counts a message as delayed until a timer just after its send, even without DelaySeconds, so one
 * sent a moment ago is in neither of the other two counts.
 */
export async function queueDepths(
  sqs: SQSClient,
  queues: readonly NamedQueue[],
): Promise<Record<string, { visible: number; inFlight: number; delayed: number }>> {
  const out: Record<string, { visible: number; inFlight: number; delayed: number }> = {};
  await Promise.all(
    queues.map(async (q) => {
      const res = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: q.url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      out[q.name] = {
        visible: Number(res.Attributes?.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
        delayed: Number(res.Attributes?.ApproximateNumberOfMessagesDelayed ?? 0),
      };
    }),
  );
  return out;
}

/**
 * Moves every visible message of `queues` into the pending file (adding to one a failed start left
 * behind). Call it only once nothing else receives from these queues.
 */
export async function saveQueuedMessages(
  sqs: SQSClient,
  queues: readonly NamedQueue[],
  dataDir: string,
): Promise<SaveResult> {
  const messages: SavedMessage[] = readPending(dataDir);
  const saved: Record<string, number> = {};
  const unreachable: Record<string, number> = {};
  for (const q of queues) {
    const before = (await queueDepths(sqs, [q]))[q.name]!;
    unreachable[q.name] = before.inFlight;
    let count = 0;
    // An empty queue needs no receive: local-aws-sqs holds even a receive that may not wait for
    // 40 ms, and with sixteen queues, mostly empty, those receives were most of a stop (0.7 s).
    for (let more = before.visible + before.delayed > 0; more; ) {
      const res = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: q.url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          // Long enough that nothing comes back while we read the rest; the queues die with us.
          VisibilityTimeout: 600,
          MessageAttributeNames: ['All'],
        }),
      );
      const batch = res.Messages ?? [];
      for (const m of batch) {
        messages.push({ queue: q.name, body: m.Body ?? '', attributes: saveAttributes(m.MessageAttributes) });
      }
      count += batch.length;
      more = batch.length > 0;
    }
    saved[q.name] = count;
  }
  if (messages.length > 0) {
    const path = join(dataDir, PENDING_FILE);
    const scratch = `${path}.tmp`;
    writeFileSync(scratch, `${JSON.stringify({ format: FORMAT, messages })}\n`, { mode: 0o600 });
    renameSync(scratch, path);
  }
  return { saved, unreachable };
}

/**
 * Sends the messages saved at the last stop to their queues and removes the file; a message whose
 * queue no longer exists is dropped with the count. Resolves with the count per queue.
 */
export async function restoreQueuedMessages(
  sqs: SQSClient,
  queues: readonly NamedQueue[],
  dataDir: string,
): Promise<{ restored: Record<string, number>; dropped: number }> {
  const messages = readPending(dataDir);
  const byName = new Map(queues.map((q) => [q.name, q.url]));
  const restored: Record<string, number> = {};
  let dropped = 0;
  const groups = new Map<string, SavedMessage[]>();
  for (const m of messages) {
    if (!byName.has(m.queue)) {
      dropped++;
      continue;
    }
    groups.set(m.queue, [...(groups.get(m.queue) ?? []), m]);
  }
  for (const [name, list] of groups) {
    const url = byName.get(name)!;
    for (let i = 0; i < list.length; i += 10) {
      const chunk = list.slice(i, i + 10);
      const res = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: chunk.map((m, j) => ({
            Id: String(j),
            MessageBody: m.body,
            ...(m.attributes ? { MessageAttributes: loadAttributes(m.attributes) } : {}),
          })),
        }),
      );
      if (res.Failed?.length) {
        // Keep the file: the next start tries again rather than losing them.
        throw new Error(
          `SQS refused ${res.Failed.length} saved message(s) for ${name}: ${res.Failed[0]?.Message}`,
        );
      }
    }
    restored[name] = list.length;
  }
  rmSync(join(dataDir, PENDING_FILE), { force: true });
  return { restored, dropped };
}

function readPending(dataDir: string): SavedMessage[] {
  const path = join(dataDir, PENDING_FILE);
  if (!existsSync(path)) return [];
  let parsed: { format?: number; messages?: SavedMessage[] };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new Error(
      `${path} (queued messages saved at the last stop) is not readable JSON; move it away to start without them.`,
    );
  }
  if (parsed.format !== FORMAT || !Array.isArray(parsed.messages)) {
    throw new Error(`${path} has a format this version of Serval does not understand; move it away.`);
  }
  return parsed.messages;
}

function saveAttributes(
  attributes: Record<string, MessageAttributeValue> | undefined,
): Record<string, SavedAttribute> | undefined {
  if (!attributes || Object.keys(attributes).length === 0) return undefined;
  const out: Record<string, SavedAttribute> = {};
  for (const [name, v] of Object.entries(attributes)) {
    out[name] = {
      DataType: v.DataType ?? 'String',
      ...(v.StringValue !== undefined ? { StringValue: v.StringValue } : {}),
      ...(v.BinaryValue !== undefined ? { BinaryValue: Buffer.from(v.BinaryValue).toString('base64') } : {}),
    };
  }
  return out;
}

function loadAttributes(attributes: Record<string, SavedAttribute>): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, v] of Object.entries(attributes)) {
    out[name] = {
      DataType: v.DataType,
      ...(v.StringValue !== undefined ? { StringValue: v.StringValue } : {}),
      ...(v.BinaryValue !== undefined ? { BinaryValue: Buffer.from(v.BinaryValue, 'base64') } : {}),
    };
  }
  return out;
}
