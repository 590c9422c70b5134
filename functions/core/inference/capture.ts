/**
 * Captured predictions leave the hot path through this buffer: `add` only keeps a reference to
 * the request's instances and the response's predictions (nothing is copied or serialised), and a
 * flush sends them to the capture queue in the background. Where the process may be frozen after
 * the response (Lambda), the entry point has `flush()` run after the answer by a Lambda extension
 * (or awaits it before answering without one); see docs/inference.md, "Capture".
 *
 * Capture never fails a prediction: when the queue refuses, the buffer keeps a bounded backlog,
 * retries after the flush delay, and drops (and counts) the oldest beyond the bound.
 */
import type { CaptureMessage, CaptureQueue } from './ports.js';

export interface CaptureBufferOptions {
  /** Messages that trigger an immediate flush. */
  readonly flushAt?: number;
  /** Longest a message waits for a batch to fill, in ms. */
  readonly maxDelayMs?: number;
  /** Messages kept while the queue is failing; the oldest go first beyond this. */
  readonly maxBacklog?: number;
  readonly onError?: (err: unknown, messages: number) => void;
}

export class CaptureBuffer {
  private pending: CaptureMessage[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private immediate: ReturnType<typeof setImmediate> | undefined;
  /** The one drain loop, while it runs: adds meanwhile join its next send, never a new loop. */
  private draining: Promise<void> | undefined;
  /** The last send failed: wait for the timer instead of retrying on every add. */
  private backingOff = false;
  private readonly flushAt: number;
  private readonly maxDelayMs: number;
  private readonly maxBacklog: number;
  /** Messages dropped because the backlog was full. */
  dropped = 0;
  sent = 0;

  constructor(
    private readonly queue: CaptureQueue,
    private readonly options: CaptureBufferOptions = {},
  ) {
    // Messages are packed into SQS messages by the queue, so a flush of 200 is still one or a few
    // SQS calls; locally that keeps the queue's HTTP work out of most requests' way.
    this.flushAt = options.flushAt ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 50;
    this.maxBacklog = options.maxBacklog ?? 5_000;
  }

  add(message: CaptureMessage): void {
    this.pending.push(message);
    if (this.pending.length > this.maxBacklog) {
      const over = this.pending.length - this.maxBacklog;
      this.pending.splice(0, over);
      this.dropped += over;
    }
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
    return this.pending.length;
  }

  /**
   * Sends everything pending, in rounds, one send at a time; resolves when the buffer is empty or
   * the queue refused (the refused messages stay pending), never rejects.
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

  private async drain(): Promise<void> {
    this.backingOff = false;
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.queue.send(batch);
        this.sent += batch.length;
      } catch (err) {
        // Put them back in front of anything added meanwhile; the bound applies on the next add.
        this.pending = batch.concat(this.pending);
        this.options.onError?.(err, batch.length);
        this.backingOff = true;
        this.schedule();
        return;
      }
    }
  }

  private schedule(): void {
    if (this.timer || this.pending.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.maxDelayMs);
    this.timer.unref?.();
  }
}
