/**
 * The local limiter (local/rate-limit.ts) against an injected clock: exact token-bucket refill,
 * retry-after that admits a client who waits it, the daily quota, and configuration from the
 * environment with the CDK usage plan's defaults.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_QUOTA, DEFAULT_THROTTLE } from '../../functions/contract/limits.js';
import { RateLimiter, rateLimitConfigFromEnv, TokenBucket } from '../../local/rate-limit.js';

/** A clock the test moves by hand (milliseconds). */
function manualClock(start = 0) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe('TokenBucket', () => {
  it('starts full: burst requests pass at once, the next waits exactly 1/rate s', () => {
    const b = new TokenBucket(5, 10, 0);
    for (let i = 0; i < 10; i++) expect(b.take(0), `request ${i}`).toBe(0);
    expect(b.take(0)).toBe(200);
    expect(b.tokens(0)).toBe(0);
  });

  it('refills rate tokens per second, to no more than burst', () => {
    const b = new TokenBucket(5, 10, 0);
    for (let i = 0; i < 10; i++) b.take(0);
    expect(b.tokens(199)).toBeCloseTo(0.995, 12);
    expect(b.take(199)).toBe(1); // 5 milli-tokens short at 5 tokens/s: 1 ms
    expect(b.take(200)).toBe(0);
    expect(b.take(200)).toBe(200);
    expect(b.tokens(1200)).toBe(5);
    expect(b.tokens(60_000)).toBe(10);
  });

  it.each([
    ['a refused take costs nothing', [2, 1, 0], [0, 0, 100, 499, 500], [0, 500, 400, 1, 0]],
    ['fractional rates: 0.5/s means a token every 2 s', [0.5, 1, 0], [0, 0, 1000, 2000], [0, 2000, 1000, 0]],
    ['a clock stepping backwards mints no tokens', [10, 1, 1000], [1000, 500, 1050, 1100], [0, 100, 50, 0]],
  ] as const)('%s', (_name, [rate, burst, start], at, waits) => {
    const b = new TokenBucket(rate, burst, start);
    expect(at.map((t) => b.take(t))).toEqual(waits);
  });

  it.each([
    [0, 1],
    [-1, 1],
    [Number.NaN, 1],
    [1, 0],
    [1, 1.5],
  ])('rejects rate %s, burst %s', (rate, burst) => {
    expect(() => new TokenBucket(rate, burst, 0)).toThrow(RangeError);
  });
});

describe('RateLimiter', () => {
  it('refuses past the burst with a 429 rate_limited body and retry-after, per principal', () => {
    const clock = manualClock(1_000_000);
    const limiter = new RateLimiter({ throttle: { rate: 5, burst: 10 } }, clock.now);
    for (let i = 0; i < 10; i++) expect(limiter.admit('alice', '127.0.0.1')).toBeUndefined();
    const refused = limiter.admit('alice', '127.0.0.1');
    expect(refused).toEqual({
      status: 429,
      body: {
        error: {
          code: 'rate_limited',
          message: expect.stringContaining('5 per second with bursts of 10'),
          details: { rateLimit: 5, burstLimit: 10, retryAfterSeconds: 1 },
        },
      },
      headers: { 'retry-after': '1' },
    });
    // Another principal, and the same IP without a principal, have their own buckets.
    expect(limiter.admit('bob', '127.0.0.1')).toBeUndefined();
    expect(limiter.admit(undefined, '127.0.0.1')).toBeUndefined();
    clock.advance(200);
    expect(limiter.admit('alice', '127.0.0.1')).toBeUndefined();
    expect(limiter.admit('alice', '127.0.0.1')).toBeDefined();
  });

  it('retry-after rounds the wait up to whole seconds, and waiting it is enough', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ throttle: { rate: 0.25, burst: 1 } }, clock.now);
    expect(limiter.admit('k', 'ip')).toBeUndefined();
    clock.advance(1);
    const refused = limiter.admit('k', 'ip')!;
    // 4 s per token, 1 ms of it already passed: 3.999 s rounds up to 4.
    expect(refused.headers['retry-after']).toBe('4');
    expect(refused.body.error.details).toMatchObject({ retryAfterSeconds: 4 });
    clock.advance(3998);
    expect(limiter.admit('k', 'ip')?.headers['retry-after']).toBe('1');
    clock.advance(1);
    expect(limiter.admit('k', 'ip')).toBeUndefined();
  });

  it('public routes are limited per source IP, separately from principals', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ throttle: { rate: 1, burst: 1 } }, clock.now);
    expect(limiter.admit(undefined, '10.0.0.1')).toBeUndefined();
    expect(limiter.admit(undefined, '10.0.0.1')?.status).toBe(429);
    expect(limiter.admit(undefined, '10.0.0.2')).toBeUndefined();
    // A principal whose id happens to equal an IP is still a different caller.
    expect(limiter.admit('10.0.0.1', '10.0.0.1')).toBeUndefined();
  });

  it('daily quota: refused until 00:00 UTC with retry-after to then; throttled requests do not count', () => {
    const dayMs = 86_400_000;
    const clock = manualClock(20_000 * dayMs + dayMs - 10_500); // 10.5 s before midnight UTC
    const limiter = new RateLimiter({ throttle: { rate: 1, burst: 2 }, quotaPerDay: 3 }, clock.now);
    expect(limiter.admit('k', 'ip')).toBeUndefined();
    expect(limiter.admit('k', 'ip')).toBeUndefined();
    expect(limiter.admit('k', 'ip')?.body.error.details).toMatchObject({ burstLimit: 2 }); // throttled
    clock.advance(1000);
    expect(limiter.admit('k', 'ip')).toBeUndefined(); // third counted request
    clock.advance(5000);
    const refused = limiter.admit('k', 'ip')!;
    expect(refused.body.error.code).toBe('rate_limited');
    expect(refused.body.error.details).toEqual({ quotaPerDay: 3, retryAfterSeconds: 5 }); // 4.5 s → 5
    expect(refused.headers['retry-after']).toBe('5');
    // Refused for quota does not drain the bucket: at midnight both tokens are there.
    clock.advance(4500);
    expect(limiter.admit('k', 'ip')).toBeUndefined();
    expect(limiter.admit('k', 'ip')).toBeUndefined();
    expect(limiter.admit('k', 'ip')?.body.error.details).toMatchObject({ rateLimit: 1 });
  });

  it('without throttle or quota it admits everything', () => {
    const limiter = new RateLimiter({}, () => 0);
    for (let i = 0; i < 1000; i++) expect(limiter.admit('k', 'ip')).toBeUndefined();
  });

  it('forgets callers at rest once it tracks many, and keeps the others', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ throttle: { rate: 1, burst: 1 } }, clock.now);
    expect(limiter.admit('busy', 'ip')).toBeUndefined();
    for (let i = 0; i < 10_000; i++) limiter.admit(undefined, `10.${i}`);
    // Every other caller is still empty (at t=0): nothing to forget yet, state is exact.
    expect(limiter.admit('busy', 'ip')?.status).toBe(429);
    clock.advance(10_000);
    limiter.admit('newcomer', 'ip'); // triggers the sweep: all the IP callers are full again
    const size = (limiter as unknown as { callers: Map<string, unknown> }).callers.size;
    expect(size).toBeLessThan(10);
  });

  it('rejects an invalid configuration when built', () => {
    expect(() => new RateLimiter({ quotaPerDay: 0 })).toThrow(RangeError);
    expect(() => new RateLimiter({ throttle: { rate: 1, burst: 0 } })).toThrow(RangeError);
  });
});

describe('rateLimitConfigFromEnv', () => {
  it('defaults to the CDK usage plan (functions/contract/limits.ts); its quota applies when it is per day', () => {
    expect(DEFAULT_QUOTA.period).toBe('DAY');
    expect(rateLimitConfigFromEnv({})).toEqual({
      throttle: { rate: DEFAULT_THROTTLE.rateLimit, burst: DEFAULT_THROTTLE.burstLimit },
      quotaPerDay: DEFAULT_QUOTA.limit,
    });
  });

  it('reads SERVAL_RATE_LIMIT, SERVAL_RATE_BURST and SERVAL_QUOTA_PER_DAY', () => {
    expect(
      rateLimitConfigFromEnv({
        SERVAL_RATE_LIMIT: '0.5',
        SERVAL_RATE_BURST: '3',
        SERVAL_QUOTA_PER_DAY: '1000',
      }),
    ).toEqual({ throttle: { rate: 0.5, burst: 3 }, quotaPerDay: 1000 });
    expect(rateLimitConfigFromEnv({ SERVAL_RATE_LIMIT: '5' })).toEqual({
      throttle: { rate: 5, burst: DEFAULT_THROTTLE.burstLimit },
      quotaPerDay: DEFAULT_QUOTA.limit,
    });
  });

  it('off (or 0) switches the throttle or the quota off', () => {
    expect(rateLimitConfigFromEnv({ SERVAL_RATE_LIMIT: 'off', SERVAL_QUOTA_PER_DAY: '0' })).toEqual({
      throttle: undefined,
      quotaPerDay: undefined,
    });
    expect(rateLimitConfigFromEnv({ SERVAL_RATE_LIMIT: '0', SERVAL_QUOTA_PER_DAY: 'OFF' })).toEqual({
      throttle: undefined,
      quotaPerDay: undefined,
    });
  });

  it.each([
    ['SERVAL_RATE_LIMIT', 'fast'],
    ['SERVAL_RATE_LIMIT', '-2'],
    ['SERVAL_RATE_BURST', '2.5'],
    ['SERVAL_RATE_BURST', '0'],
    ['SERVAL_QUOTA_PER_DAY', '-1'],
    ['SERVAL_QUOTA_PER_DAY', '1e3.5'],
  ])('rejects %s=%s in one sentence naming the variable', (name, value) => {
    expect(() => rateLimitConfigFromEnv({ [name]: value })).toThrow(name);
  });
});
