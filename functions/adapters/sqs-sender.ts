/**
 * The one place messages go to SQS: SendMessageBatch in chunks that respect both of SQS's batch
 * limits (10 entries, 256 KiB of bodies per call). A call that SQS answers with failed entries
 * stops the send with an error naming how many and why; earlier chunks stay sent, so callers
 * that retry must tolerate duplicates (every consumer does: messages are idempotent by id).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { QueueMessage } from '../contract/messages.js';
import type { QueueId } from '../contract/resources.js';

/** SQS's limit is 262,144 bytes per message and per batch; headroom for attributes and framing. */
export const MAX_BATCH_BYTES = 250_000;
/** SQS's limit on entries per SendMessageBatch. */
export const MAX_BATCH_ENTRIES = 10;
/** SQS's longest DelaySeconds. */
export const MAX_DELAY_SECONDS = 900;

export interface OutgoingBody {
  readonly body: string;
  /** Clamped to SQS's 0–900 s. */
  readonly delaySeconds?: number;
}

/** The subset of the SQS client the sender uses (tests pass a fake). */
export type SqsSend = Pick<SQSClient, 'send'>;

export class SqsSender {
  /** `what`: how failures name the messages, e.g. "webhook deliveries". */
  constructor(
    private readonly sqs: SqsSend,
    private readonly queueUrl: string,
    private readonly what: string,
  ) {}

  /** Sends bodies as they are, in as few calls as the limits allow; returns the count sent. */
  async sendBodies(bodies: readonly OutgoingBody[]): Promise<number> {
    let chunk: OutgoingBody[] = [];
    let bytes = 0;
    for (const entry of bodies) {
      const size = Buffer.byteLength(entry.body);
      if (chunk.length === MAX_BATCH_ENTRIES || (chunk.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
        await this.sendChunk(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(entry);
      bytes += size;
    }
    if (chunk.length) await this.sendChunk(chunk);
    return bodies.length;
  }

  private async sendChunk(chunk: readonly OutgoingBody[]): Promise<void> {
    // Loaded on the first send, not with this module: inference builds its senders at init and
    // sends only after its answers (sqs-deferred.ts). Where the client is loaded already, this
    // is the same module.
    const { SendMessageBatchCommand } = await import('@aws-sdk/client-sqs');
    const out = await this.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: chunk.map(({ body, delaySeconds }, i) => ({
          Id: String(i),
          MessageBody: body,
          ...(delaySeconds === undefined
            ? {}
            : { DelaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.round(delaySeconds))) }),
        })),
      }),
    );
    if (out.Failed?.length) {
      const codes = out.Failed.map((f) => f.Code).join(', ');
      throw new Error(`SQS refused ${out.Failed.length} of ${chunk.length} ${this.what} (${codes})`);
    }
  }
}

/** A sender of one queue's messages, typed by that queue's schema (functions/contract/messages.ts). */
export class QueueSender<Q extends QueueId> {
  private readonly sender: SqsSender;

  constructor(sqs: SqsSend, queueUrl: string, what: string) {
    this.sender = new SqsSender(sqs, queueUrl, what);
  }

  send(messages: readonly QueueMessage<Q>[]): Promise<number> {
    return this.sender.sendBodies(messages.map((m) => ({ body: JSON.stringify(m) })));
  }

  /** Each message made visible only after its delay (e.g. a retry's backoff). */
  sendDelayed(
    entries: readonly { readonly message: QueueMessage<Q>; readonly delaySeconds: number }[],
  ): Promise<number> {
    return this.sender.sendBodies(
      entries.map(({ message, delaySeconds }) => ({ body: JSON.stringify(message), delaySeconds })),
    );
  }
}
