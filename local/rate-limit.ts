/**
 * The local runtime's stand-in for API Gateway usage plans: a token bucket per caller (steady
 * rate and burst) and an optional daily quota, with the same defaults as the CDK usage plan
 * (functions/contract/limits.ts). A caller is the authorizer's principal, or the source IP on public routes.
 *
 * Buckets are kept in integer milli-tokens so the refill arithmetic is exact for whole-number
 * rates and millisecond clocks (the unit tests depend on that).
 */

import { DEFAULT_QUOTA, DEFAULT_THROTTLE } from '../functions/contract/limits.js';
import { type ErrorBody, errorBody } from '../functions/http/errors.js';

export interface RateLimitConfig {
  /** Token bucket per caller; absent: no throttling. */
  readonly throttle?: { readonly rate: number; readonly burst: number };
  /** Requests per caller per UTC day; absent: no quota. */
  readonly quotaPerDay?: number;
}

const MILLI = 1000;
const DAY_MS = 86_400_000;

/** One caller's bucket: holds up to `burst` tokens, refilled at `rate` tokens per second. */
export class TokenBucket {
  private level: number;
  private at: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be positive, got ${rate}`);
    if (!Number.isInteger(burst) || burst < 1)
      throw new RangeError(`burst must be an integer >= 1, got ${burst}`);
    this.level = burst * MILLI;
    this.at = now;
  }

  /** Takes a token and returns 0, or returns the milliseconds until one will be there. */
  take(now: number): number {
    this.refill(now);
    if (this.level >= MILLI) {
      this.level -= MILLI;
      return 0;
    }
    return Math.ceil((MILLI - this.level) / this.rate);
  }

  /** Tokens available now (fractional). */
  tokens(now: number): number {
    this.refill(now);
    return this.level / MILLI;
  }

  private refill(now: number): void {
    // A clock that steps backwards must not mint tokens, nor postpone the next refill.
    if (now <= this.at) return;
    this.level = Math.min(this.burst * MILLI, this.level + (now - this.at) * this.rate);
    this.at = now;
  }
}

export interface RateLimitRefusal {
  readonly status: 429;
  readonly body: ErrorBody;
  readonly headers: Record<string, string>;
}

interface CallerState {
  bucket?: TokenBucket;
  day: number;
  used: number;
}

/** Past this many callers, those back at rest (full bucket, no quota used today) are forgotten. */
const SWEEP_AT = 10_000;

export class RateLimiter {
  private readonly callers = new Map<string, CallerState>();

  constructor(
    readonly config: RateLimitConfig,
    private readonly now: () => number = Date.now,
  ) {
    const q = config.quotaPerDay;
    if (q !== undefined && (!Number.isInteger(q) || q < 1))
      throw new RangeError(`quotaPerDay must be an integer >= 1, got ${q}`);
    // Fail at construction, not on the first request.
    if (config.throttle) new TokenBucket(config.throttle.rate, config.throttle.burst, 0);
  }

  /**
   * Admits a request, or returns the 429 to answer. `principalId` is the authorizer's; without
   * one (public routes) the caller is its source IP.
   */
  admit(principalId: string | undefined, sourceIp: string): RateLimitRefusal | undefined {
    const key = principalId !== undefined ? `principal:${principalId}` : `ip:${sourceIp}`;
    const now = this.now();
    const day = Math.floor(now / DAY_MS);
    const state = this.state(key, now, day);
    const { throttle, quotaPerDay } = this.config;

    if (state.day !== day) {
      state.day = day;
      state.used = 0;
    }
    // Quota first, so a caller out of quota does not also drain its bucket.
    if (quotaPerDay !== undefined && state.used >= quotaPerDay) {
      return refusal(
        (day + 1) * DAY_MS - now,
        `the daily quota of ${quotaPerDay} requests is used up; it resets at 00:00 UTC`,
        { quotaPerDay },
      );
    }
    if (throttle && state.bucket) {
      const waitMs = state.bucket.take(now);
      if (waitMs > 0) {
        return refusal(
          waitMs,
          `too many requests: the limit is ${throttle.rate} per second with bursts of ${throttle.burst}`,
          { rateLimit: throttle.rate, burstLimit: throttle.burst },
        );
      }
    }
    state.used++;
    return undefined;
  }

  private state(key: string, now: number, day: number): CallerState {
    let state = this.callers.get(key);
    if (!state) {
      if (this.callers.size >= SWEEP_AT) this.sweep(now, day);
      const t = this.config.throttle;
      state = { bucket: t ? new TokenBucket(t.rate, t.burst, now) : undefined, day, used: 0 };
      this.callers.set(key, state);
    }
    return state;
  }

  private sweep(now: number, day: number): void {
    const { throttle, quotaPerDay } = this.config;
    for (const [key, s] of this.callers) {
      const bucketRested = !s.bucket || s.bucket.tokens(now) >= (throttle?.burst ?? 0);
      const quotaRested = quotaPerDay === undefined || s.day !== day || s.used === 0;
      if (bucketRested && quotaRested) this.callers.delete(key);
    }
  }
}

function refusal(waitMs: number, message: string, details: Record<string, unknown>): RateLimitRefusal {
  // retry-after is whole seconds (RFC 9110); rounding up means a client that waits it is admitted.
  const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
  return {
    status: 429,
    body: errorBody('rate_limited', message, { ...details, retryAfterSeconds }),
    headers: { 'retry-after': String(retryAfterSeconds) },
  };
}

export const RATE_LIMIT_ENV = {
  rate: 'SERVAL_RATE_LIMIT',
  burst: 'SERVAL_RATE_BURST',
  quota: 'SERVAL_QUOTA_PER_DAY',
} as const;

/**
 * The limits from the environment. Defaults are the CDK usage plan's (functions/contract/limits.ts); its quota
 * applies locally only when its period is a day, since the local limiter counts per UTC day.
 * `off` (or 0) switches the throttle or the quota off.
 */
export function rateLimitConfigFromEnv(env: Readonly<Record<string, string | undefined>>): RateLimitConfig {
  const read = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const off = (v: string | undefined) => v !== undefined && (v.toLowerCase() === 'off' || Number(v) === 0);

  const rateRaw = read(RATE_LIMIT_ENV.rate);
  const burstRaw = read(RATE_LIMIT_ENV.burst);
  const quotaRaw = read(RATE_LIMIT_ENV.quota);

  let throttle: RateLimitConfig['throttle'];
  if (!off(rateRaw)) {
    const rate = rateRaw === undefined ? DEFAULT_THROTTLE.rateLimit : Number(rateRaw);
    if (!Number.isFinite(rate) || rate <= 0) {
      throw new Error(
        `${RATE_LIMIT_ENV.rate} must be a positive number of requests per second, or off; got "${rateRaw}".`,
      );
    }
    const burst = burstRaw === undefined ? DEFAULT_THROTTLE.burstLimit : Number(burstRaw);
    if (!Number.isInteger(burst) || burst < 1) {
      throw new Error(`${RATE_LIMIT_ENV.burst} must be a whole number of requests >= 1; got "${burstRaw}".`);
    }
    throttle = { rate, burst };
  }

  let quotaPerDay: number | undefined;
  if (quotaRaw === undefined) {
    quotaPerDay = DEFAULT_QUOTA.period === 'DAY' ? DEFAULT_QUOTA.limit : undefined;
  } else if (!off(quotaRaw)) {
    quotaPerDay = Number(quotaRaw);
    if (!Number.isInteger(quotaPerDay) || quotaPerDay < 1) {
      throw new Error(
        `${RATE_LIMIT_ENV.quota} must be a whole number of requests >= 1, or off; got "${quotaRaw}".`,
      );
    }
  }
  return { throttle, quotaPerDay };
}

export function rateLimiterFromEnv(env: Readonly<Record<string, string | undefined>>): RateLimiter {
  return new RateLimiter(rateLimitConfigFromEnv(env));
}
