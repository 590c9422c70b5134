/**
 * When a delivery is retried, and when it is given up.
 *
 * Attempt n (1-based) that fails in a retryable way is retried after
 * min(900, 10 * 2^(n-1)) seconds — 10, 20, 40, 80, 160, 320, 640 — minus up to 20 % of jitter.
 * After 8 attempts the delivery is given up: about 21 minutes (at least 17) from the first
 * attempt. 900 s is also SQS's largest DelaySeconds, which is how the delay is carried out.
 *
 * The jitter only ever shortens a delay, and by at most 20 %, so successive delays still grow
 * (each is at least 1.6 times the previous base): a receiver that is down gets more and more
 * room to recover, while deliveries that failed together (one outage, many events) are spread
 * out rather than retried in lock-step. "Full" jitter (anywhere in 0..base) would spread them
 * more, but could retry attempt 5 seconds after attempt 4.
 *
 * Verdicts: 2xx delivered; 408, 429, 5xx, timeouts and network errors retried; every other
 * status (other 4xx, and 3xx: redirects are not followed) is a permanent failure, not retried.
 */

export const MAX_ATTEMPTS = 8;
export const BASE_DELAY_SECONDS = 10;
export const MAX_DELAY_SECONDS = 900;
/** Largest share of a delay the jitter may take off. */
export const JITTER = 0.2;
/** How long one attempt may take before it counts as a (retryable) timeout. */
export const ATTEMPT_TIMEOUT_MS = 10_000;

export type Verdict = 'delivered' | 'retry' | 'permanent';

export function classifyStatus(status: number): Verdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'permanent';
}

/** The un-jittered delay (seconds) after failed attempt `attempt` (1-based). */
export function backoffSeconds(attempt: number): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError('attempts are counted from 1');
  return Math.min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** Math.min(attempt - 1, 30));
}

export interface RetryOptions {
  /** Multiplies every delay (tests use e.g. 0.1 to run a schedule in seconds); default 1. */
  readonly scale?: number;
  /** Uniform in [0, 1); default Math.random. */
  readonly random?: () => number;
}

/**
 * Whole seconds (SQS DelaySeconds) to wait before retrying after failed attempt `attempt`, or
 * undefined when that was the last attempt.
 */
export function retryDelaySeconds(attempt: number, options: RetryOptions = {}): number | undefined {
  if (attempt >= MAX_ATTEMPTS) return undefined;
  const scale = options.scale ?? 1;
  if (!(scale >= 0) || !Number.isFinite(scale)) throw new RangeError('the backoff scale is a number >= 0');
  const r = Math.min(Math.max((options.random ?? Math.random)(), 0), 1);
  const seconds = backoffSeconds(attempt) * scale * (1 - JITTER * r);
  return Math.min(MAX_DELAY_SECONDS, Math.ceil(seconds));
}
