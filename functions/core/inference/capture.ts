/**
 * Captured predictions leave the hot path through this buffer: `add` only keeps a reference to
 * the request's instances and the response's predictions (nothing is copied or serialised), and a
 * flush sends them to the capture queue in the background. Where the process may be frozen after
 * the response (Lambda), the entry point has `flush()` run after the answer by a Lambda extension
 * (or awaits it before answering without one); see docs/inference.md, "Capture".
 *
 * Capture never fails a prediction, and no answered prediction leaves without a trace. A send the
 * queue refuses, or does not answer within sendTimeoutMs (a stalled endpoint would otherwise hold
 * every later capture in memory), goes to the spill instead: the same records written straight to
 * the capture store. For a while after a failed send (queueRetryMs) every round goes to the spill
 * without trying the queue. Only when the spill fails too are batches kept, retried as they were
 * (so a batch that reached the queue in part is sent again in the same grouping, which the worker
 * records once), and beyond maxBacklog the oldest are given up: `dropped` counts them and onLost
 * reports them, so they show up as a metric, an alert and in the model's capture completeness.
 */
import type { CaptureMessage, CaptureQueue } from './ports.js';

export interface CaptureBufferOptions {
  /** Messages that trigger an immediate flush. */
  readonly flushAt?: number;
  /** Longest a message waits for a batch to fill, in ms. */
  readonly maxDelayMs?: number;
  /** Messages kept while both the queue and the spill are failing; the oldest go first beyond this. */
  readonly maxBacklog?: number;
  /**
   * Longest a send to the queue may take before the batch goes to the spill, in ms. Default 1000:
   * SQS answers in milliseconds, and at a thousand requests a second a longer wait alone fills
   * the backlog.
   */
  readonly sendTimeoutMs?: number;
  /** After a failed send, how long rounds go to the spill before the queue is tried again. Default 10 000. */
  readonly queueRetryMs?: number;
  /** The durable path when the queue fails; resolves once the messages are stored. */
  readonly spill?: (messages: readonly CaptureMessage[]) => Promise<void>;
  readonly onError?: (err: unknown, messages: number) => void;
  /** Messages given up (neither the queue nor the spill took them): must not throw. */
  readonly onLost?: (messages: readonly CaptureMessage[]) => void;
  readonly now?: () => number;
}

export class CaptureBuffer {
  private pending: CaptureMessage[] = [];
  /** Batches that neither the queue nor the spill took, oldest first, each retried as it was. */
  private retry: CaptureMessage[][] = [];
  private retrying = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private immediate: ReturnType<typeof setImmediate> | undefined;
  /** The one drain loop, while it runs: adds meanwhile join its next send, never a new loop. */
  private draining: Promise<void> | undefined;
  /** The last round failed everywhere: wait for the timer instead of retrying on every add. */
  private backingOff = false;
  /** Until then, rounds go to the spill without trying the queue. */
  private queueDownUntil = 0;
  private readonly flushAt: number;
  private readonly maxDelayMs: number;
  private readonly maxBacklog: number;
  private readonly sendTimeoutMs: number;
  private readonly queueRetryMs: number;
  private readonly now: () => number;
  /** Messages given up because neither path took them and the backlog was full. */
  dropped = 0;
  sent = 0;
  spilled = 0;

  constructor(
    private readonly queue: CaptureQueue,
    private readonly options: CaptureBufferOptions = {},
  ) {
    // Messages are packed into SQS messages by the queue, so a flush of 200 is still one or a few
    // SQS calls; locally that keeps the queue's HTTP work out of most requests' way.
    this.flushAt = options.flushAt ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 50;
    this.maxBacklog = options.maxBacklog ?? 5_000;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 1_000;
    this.queueRetryMs = options.queueRetryMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  add(message: CaptureMessage): void {
    this.pending.push(message);
    if (this.size > this.maxBacklog) this.shed();
    // A running drain sends this message on its next round; nothing to start.
    if (this.draining) return;
    if (this.pending.length >= this.flushAt && !this.backingOff) {
      // Not inside this add: serialising and sending a full batch takes milliseconds, which would
      // land on the response of the request that happened to fill it.
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        void this.flush();
      });
    } else this.schedule();
  }

  get size(): number {
    return this.pending.length + this.retrying;
  }

  /**
   * Sends everything pending, in rounds, one send at a time; resolves when the buffer is empty or
   * both paths failed (the refused messages stay), never rejects.
   */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      // Anything added between the last round and now has no round of its own yet.
      this.schedule();
    });
    return this.draining;
  }

  /**
   * Gives up the oldest messages beyond the bound, failed batches first, then pending ones; down
   * to 90% of it, so that a sustained overflow is reported in chunks, not message by message.
   */
  private shed(): void {
    let over = this.size - (this.maxBacklog - Math.floor(this.maxBacklog / 10));
    const lost: CaptureMessage[] = [];
    while (over > 0 && this.retry.length > 0) {
      const oldest = this.retry[0] as CaptureMessage[];
      if (oldest.length <= over) {
        this.retry.shift();
        this.retrying -= oldest.length;
        over -= oldest.length;
        lost.push(...oldest);
      } else {
        // Part of a failed batch: the rest keeps its grouping for the messages still in it.
        lost.push(...oldest.splice(0, over));
        this.retrying -= over;
        over = 0;
      }
    }
    if (over > 0) lost.push(...this.pending.splice(0, over));
    this.dropped += lost.length;
    try {
      this.options.onLost?.(lost);
    } catch {
      // Reporting a loss must not fail the request that caused it.
    }
  }

  private async drain(): Promise<void> {
    this.backingOff = false;
    while (this.retry.length > 0 || this.pending.length > 0) {
      let batch: CaptureMessage[];
      if (this.retry.length > 0) {
        batch = this.retry.shift() as CaptureMessage[];
        this.retrying -= batch.length;
      } else {
        batch = this.pending;
        this.pending = [];
      }
      if (this.now() >= this.queueDownUntil) {
        try {
          await this.sendInTime(batch);
          this.sent += batch.length;
          continue;
        } catch (err) {
          this.queueDownUntil = this.now() + this.queueRetryMs;
          this.options.onError?.(err, batch.length);
        }
      }
      if (this.options.spill) {
        try {
          await this.options.spill(batch);
          this.spilled += batch.length;
          continue;
        } catch (err) {
          this.options.onError?.(err, batch.length);
        }
      } else this.queueDownUntil = 0; // without a spill, the queue is the only way out
      // Neither took it: back in front, as it was, until the timer's retry.
      this.retry.unshift(batch);
      this.retrying += batch.length;
      if (this.size > this.maxBacklog) this.shed();
      this.backingOff = true;
      this.schedule();
      return;
    }
  }

  private sendInTime(batch: readonly CaptureMessage[]): Promise<void> {
    const sending = this.queue.send(batch);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`capture queue did not answer within ${this.sendTimeoutMs} ms`)),
        this.sendTimeoutMs,
      );
    });
    // The abandoned send may still settle (even succeed: the spill's grouping matches the queue's,
    // so the worker counts such a batch once); its outcome no longer matters here.
    sending.catch(() => {});
    return Promise.race([sending, late]).finally(() => clearTimeout(timer));
  }

  private schedule(): void {
    if (this.timer || this.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.maxDelayMs);
    this.timer.unref?.();
  }
}
