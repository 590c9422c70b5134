/**
 * EventBridge schedules, locally: each SCHEDULES entry invokes its target function with a real
 * ScheduledEvent at its rate. As with EventBridge's asynchronous invocation, a slow or failing
 * target never delays or stops the next firing; failures are reported and the loop goes on.
 */
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import { type FunctionId, SCHEDULES, type ScheduleDef } from '../functions/contract/resources.js';

export type ScheduleInvoker = (target: FunctionId, event: ScheduledEvent) => Promise<void>;

export interface SchedulerOptions {
  /** Defaults to SCHEDULES from functions/contract/resources.ts. */
  readonly schedules?: Readonly<Record<string, ScheduleDef>>;
  readonly invoke: ScheduleInvoker;
  /** One period for every schedule, in place of its rate (tests). */
  readonly intervalMs?: number;
  /**
   * Factor applied to every rate (0.001 turns an hourly schedule into one every 3.6 s). Defaults to
   * the SERVAL_SCHEDULE_SCALE environment variable, else 1. Ignored when intervalMs is given.
   */
  readonly scale?: number;
  /** Rule names are `<prefix>-<schedule id>`, as in the resources of the event. Default "serval". */
  readonly rulePrefix?: string;
  /** Receives invocation failures of timer firings. Default: console.error. */
  readonly onError?: (scheduleId: string, error: unknown) => void;
}

export interface Scheduler {
  /** The period in milliseconds each schedule fires at. */
  readonly periods: Readonly<Record<string, number>>;
  /**
   * Fires a schedule (by SCHEDULES key or by its id) now, as if its period had elapsed; unlike
   * timer firings, rejects if the target fails.
   */
  fireNow(id: string): Promise<void>;
  /** Stops the timers and waits for invocations still running. */
  stop(): Promise<void>;
}

export const SCHEDULE_SCALE_ENV = 'SERVAL_SCHEDULE_SCALE';

/** Shortest period allowed, so a tiny scale cannot turn the scheduler into a busy loop. */
const MIN_PERIOD_MS = 10;
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

export function startScheduler(options: SchedulerOptions): Scheduler {
  const schedules: Readonly<Record<string, ScheduleDef>> = options.schedules ?? SCHEDULES;
  const scale = options.scale ?? scaleFromEnv();
  const rulePrefix = options.rulePrefix ?? 'serval';
  const onError =
    options.onError ??
    ((id: string, error: unknown) => console.error(`[schedule ${id}] invocation failed:`, error));

  const periods: Record<string, number> = {};
  for (const [id, def] of Object.entries(schedules)) {
    const period = options.intervalMs ?? def.rateMinutes * 60_000 * scale;
    if (!Number.isFinite(period) || period <= 0) {
      throw new Error(
        `Schedule ${id} would fire every ${period} ms; give a positive rate, interval or scale.`,
      );
    }
    periods[id] = Math.max(MIN_PERIOD_MS, period);
  }

  const inFlight = new Set<Promise<void>>();
  const fire = (id: string): Promise<void> => {
    // Either the SCHEDULES key or the schedule's own id (its rule name) names it.
    const def = schedules[id] ?? Object.values(schedules).find((s) => s.id === id);
    if (!def) return Promise.reject(new Error(`There is no schedule named ${id}.`));
    const ruleArn = `arn:aws:events:${REGION}:${ACCOUNT}:rule/${rulePrefix}-${def.id}`;
    const invocation = Promise.resolve()
      .then(() => options.invoke(def.target, scheduledEvent(ruleArn)))
      .finally(() => inFlight.delete(invocation));
    inFlight.add(invocation);
    return invocation;
  };

  const timers = Object.entries(periods).map(([id, period]) => {
    const timer = setInterval(() => {
      fire(id).catch((error: unknown) => onError(id, error));
    }, period);
    // The scheduler alone should not keep a process alive; the local runtime's servers do.
    timer.unref();
    return timer;
  });

  return {
    periods,
    fireNow: fire,
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}

/** The event EventBridge sends for a scheduled rule (its time has second precision). */
export function scheduledEvent(ruleArn: string, time: Date = new Date()): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ruleArn.split(':')[4] ?? ACCOUNT,
    time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: ruleArn.split(':')[3] ?? REGION,
    resources: [ruleArn],
    detail: {},
  };
}

function scaleFromEnv(): number {
  const raw = process.env[SCHEDULE_SCALE_ENV];
  if (raw === undefined || raw === '') return 1;
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new Error(`${SCHEDULE_SCALE_ENV} must be a positive number (for example 0.001), not "${raw}".`);
  }
  return scale;
}
