/**
 * Work that must not delay an answer: shadow runs (service.ts). Like the capture buffer, `add`
 * only keeps the job; `flush()` runs what is pending and is called where capture is flushed, after
 * the answer is out (the Lambda extension's post-response hook; functions/handlers/inference-api.ts).
 * Where nothing calls flush after each answer (the local runtime), a timer runs the jobs shortly
 * after. A job never fails its caller: jobs handle their own errors, and anything that escapes is
 * swallowed here. Beyond maxPending jobs new ones are dropped and counted: a shadow is best effort,
 * and an unbounded queue would let a slow shadow exhaust the container's memory.
 */
export interface DeferredWorkOptions {
  /** Run pending jobs this long after the first one is added; undefined: only on flush(). */
  readonly autoFlushMs?: number;
  readonly maxPending?: number;
  readonly onDropped?: (dropped: number) => void;
}

export class DeferredWork {
  private jobs: (() => Promise<void>)[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private readonly maxPending: number;
  dropped = 0;

  constructor(private readonly options: DeferredWorkOptions = {}) {
    this.maxPending = options.maxPending ?? 1_000;
  }

  get pending(): number {
    return this.jobs.length;
  }

  add(job: () => Promise<void>): void {
    if (this.jobs.length >= this.maxPending) {
      this.dropped++;
      try {
        this.options.onDropped?.(this.dropped);
      } catch {
        // Reporting must not fail the request.
      }
      return;
    }
    this.jobs.push(job);
    this.schedule();
  }

  /** Runs every pending job (and those added meanwhile), one at a time; never rejects. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
      this.schedule();
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.jobs.length > 0) {
      const batch = this.jobs;
      this.jobs = [];
      for (const job of batch) await job().catch(() => undefined);
    }
  }

  private schedule(): void {
    if (this.options.autoFlushMs === undefined || this.timer || this.running || this.jobs.length === 0)
      return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.autoFlushMs);
    this.timer.unref?.();
  }
}
