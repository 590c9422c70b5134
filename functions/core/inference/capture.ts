/**
 * Captured predictions leave the hot path through this buffer: `add` only keeps a reference to
 * the request's instances and the response's predictions (nothing is copied or serialised), and a
 * flush sends them to the capture queue in the background. Where the process may be frozen after
 * the response (Lambda), the entry point awaits `flush()` once the answer is built; see
 * docs/inference.md, "Capture".
 *
 * Capture never fails a prediction: when the queue refuses, the buffer keeps a bounded backlog,
 * retries on the next flush, and drops (and counts) the oldest beyond the bound.
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
  private inFlight: Promise<void> | undefined;
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
    if (this.pending.length >= this.flushAt) {
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.maxDelayMs);
      this.timer.unref?.();
    }
  }

  get size(): number {
    return this.pending.length;
  }

  /** Sends everything pending (one send at a time); resolves when done, never rejects. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.inFlight) await this.inFlight;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.inFlight = this.queue.send(batch).then(
      () => {
        this.sent += batch.length;
      },
      (err: unknown) => {
        // Put them back in front of anything added meanwhile; the bound applies on the next add.
        this.pending = batch.concat(this.pending);
        this.options.onError?.(err, batch.length);
      },
    );
    try {
      await this.inFlight;
    } finally {
      this.inFlight = undefined;
    }
  }
}
