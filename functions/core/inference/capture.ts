/**
 * Captured predictions leave the hot path through this buffer: `add` keeps the request's
 * instances and the response's predictions without serialising them (a small message as a copy,
 * see withOwnArrays; a large one is sealed into its JSON once the next arrives, see
 * sealWaiting), and a flush sends them to the capture queue in the background. Where the process
 * may be frozen after the response (Lambda), the entry point has `flush()` run after the answer
 * by a Lambda extension (or awaits it before answering without one); see docs/inference.md,
 * "Capture".
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
import { worthSharing } from '../kernel/shared-json.js';
import type { BufferedCapture, CaptureMessage, CaptureQueue, SealedCapture } from './ports.js';

export function isSealed(capture: BufferedCapture): capture is SealedCapture {
  return 'sealed' in capture;
}

/** The predictions a buffered capture carries (for a loss report): its rows, or 0 for an error. */
export function predictionsIn(capture: BufferedCapture): number {
  if (isSealed(capture)) return capture.predictions;
  return capture.outcome === 'ok' ? (capture.predictionIds?.length ?? 0) : 0;
}

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
  readonly spill?: (messages: readonly BufferedCapture[]) => Promise<void>;
  readonly onError?: (err: unknown, messages: number) => void;
  /** Messages given up (neither the queue nor the spill took them): must not throw. */
  readonly onLost?: (messages: readonly BufferedCapture[]) => void;
  readonly now?: () => number;
}

/**
 * A small message as the buffer keeps it until the flush: a copy, with copies of its per-row
 * arrays, not the caller's objects. V8 allocates objects in the old generation from the start
 * when most of those made at the same place in the code have lived long (allocation-site
 * pretenuring). Held here until the flush, small requests' messages and arrays taught that to the
 * places that make them (the capture message literal, zod's copy of the instances, the decoded
 * probabilities, the prediction ids); a later 1000-row request then got an old message and old
 * arrays, which keep their thousand young rows alive through every young-generation collection
 * until a full one, even after the message is sealed. In the warm bench, after the batch-1 run,
 * that doubled the batch-1000 p99 (`node --no-allocation-site-pretenuring` made it go away too).
 * The copies die with the flush, the originals with the request. A large message needs none: it
 * is sealed into its JSON while it waits.
 */
function withOwnArrays(m: CaptureMessage): CaptureMessage {
  if (m.predictionIds === undefined) return m;
  return {
    ...m,
    predictionIds: m.predictionIds.slice(),
    instances: m.instances?.slice(),
    predictions: m.predictions?.slice(),
    probabilities: m.probabilities?.slice(),
  };
}

export class CaptureBuffer {
  private pending: BufferedCapture[] = [];
  /** How many of the pending messages sealWaiting has looked at (from the front). */
  private considered = 0;
  /** Batches that neither the queue nor the spill took, oldest first, each retried as it was. */
  private retry: BufferedCapture[][] = [];
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
    // The messages before this one have been answered (on Lambda none are left: each
    // invocation flushes), so their JSON is ready to share: seal them now (see sealWaiting).
    this.sealWaiting();
    this.pending.push(worthSharing(message.predictionIds ?? []) ? message : withOwnArrays(message));
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

  /**
   * Seals the messages of many rows that are waiting for a flush: their JSON is made now, and the
   * buffer keeps a few strings instead of the request's instances and the answer's arrays (two
   * small arrays per row). Held as they were, fifty 1000-row requests arriving before a flush
   * kept 100,000 objects alive, and each young-generation collection copied them all: pauses of
   * 9-23 ms in whichever requests triggered one. A message is sealed when the next one arrives,
   * not in its own request: on Lambda, where each invocation flushes, none waits, and no request
   * pays for it. The JSON costs little, because a large message's arrays share their JSON with
   * the answer (functions/core/kernel/shared-json.ts): the answer's were serialised once for
   * both, and the instances are the request's own text when it was written as JSON.stringify
   * writes it. A small message stays as it is: its JSON would cost more than collecting it; so
   * does one the queue declines to seal (too large for one queue message, it is split at the
   * send). Sealing that fails (a value JSON cannot hold) leaves the message as it was, to fail
   * where a send fails.
   */
  private sealWaiting(): void {
    if (this.queue.seal === undefined) return;
    for (; this.considered < this.pending.length; this.considered++) {
      const waiting = this.pending[this.considered] as BufferedCapture;
      if (isSealed(waiting) || !worthSharing(waiting.predictionIds ?? [])) continue;
      try {
        this.pending[this.considered] = this.queue.seal(waiting) ?? waiting;
      } catch {
        // Left as it was.
      }
    }
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
    const lost: BufferedCapture[] = [];
    while (over > 0 && this.retry.length > 0) {
      const oldest = this.retry[0] as BufferedCapture[];
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
    if (over > 0) {
      const shed = this.pending.splice(0, over);
      this.considered = Math.max(0, this.considered - shed.length);
      lost.push(...shed);
    }
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
      let batch: BufferedCapture[];
      if (this.retry.length > 0) {
        batch = this.retry.shift() as BufferedCapture[];
        this.retrying -= batch.length;
      } else {
        batch = this.pending;
        this.pending = [];
        this.considered = 0;
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

  private sendInTime(batch: readonly BufferedCapture[]): Promise<void> {
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
