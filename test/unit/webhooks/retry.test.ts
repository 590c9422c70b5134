import { describe, expect, it } from 'vitest';
import {
  backoffSeconds,
  classifyStatus,
  MAX_ATTEMPTS,
  retryDelaySeconds,
} from '../../../functions/core/webhooks/retry.js';

describe('webhook retry policy', () => {
  it('backs off 10, 20, 40 … seconds, capped at 900', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 50].map(backoffSeconds)).toEqual([
      10, 20, 40, 80, 160, 320, 640, 900, 900, 900, 900,
    ]);
    expect(() => backoffSeconds(0)).toThrow(RangeError);
    expect(() => backoffSeconds(1.5)).toThrow(RangeError);
  });

  it('gives up after 8 attempts', () => {
    expect(MAX_ATTEMPTS).toBe(8);
    expect(retryDelaySeconds(7, { random: () => 0 })).toBe(640);
    expect(retryDelaySeconds(8)).toBeUndefined();
    expect(retryDelaySeconds(9)).toBeUndefined();
    // The whole schedule without jitter: about 21 minutes from the first attempt to the last.
    const total = [1, 2, 3, 4, 5, 6, 7].reduce((s, n) => s + retryDelaySeconds(n, { random: () => 0 })!, 0);
    expect(total).toBe(1270);
  });

  it('jitter takes off at most 20 %, so delays still grow', () => {
    for (let n = 1; n < MAX_ATTEMPTS; n++) {
      const hi = retryDelaySeconds(n, { random: () => 0 })!;
      const lo = retryDelaySeconds(n, { random: () => 0.999999 })!;
      expect(hi).toBe(backoffSeconds(n));
      expect(lo).toBeGreaterThanOrEqual(Math.floor(backoffSeconds(n) * 0.8));
      expect(lo).toBeLessThanOrEqual(hi);
      if (n > 1) expect(lo).toBeGreaterThan(retryDelaySeconds(n - 1, { random: () => 0 })!);
    }
    const seen = new Set(Array.from({ length: 200 }, () => retryDelaySeconds(6)));
    expect(seen.size).toBeGreaterThan(10);
    for (const d of seen) expect(d! >= 256 && d! <= 320).toBe(true);
  });

  it('scales for tests and returns whole seconds for SQS', () => {
    expect(retryDelaySeconds(1, { scale: 0.1, random: () => 0 })).toBe(1);
    expect(retryDelaySeconds(2, { scale: 0.1, random: () => 0 })).toBe(2);
    expect(retryDelaySeconds(2, { scale: 0.1, random: () => 0.9 })).toBe(2);
    expect(retryDelaySeconds(1, { scale: 0 })).toBe(0);
    expect(retryDelaySeconds(7, { scale: 100 })).toBe(900);
    expect(() => retryDelaySeconds(1, { scale: -1 })).toThrow(RangeError);
    expect(() => retryDelaySeconds(1, { scale: Number.NaN })).toThrow(RangeError);
  });

  it('2xx delivered; 408, 429, 5xx retried; other statuses permanent', () => {
    const cases: [number, string][] = [
      [200, 'delivered'],
      [201, 'delivered'],
      [204, 'delivered'],
      [299, 'delivered'],
      [301, 'permanent'],
      [302, 'permanent'],
      [400, 'permanent'],
      [401, 'permanent'],
      [404, 'permanent'],
      [408, 'retry'],
      [410, 'permanent'],
      [413, 'permanent'],
      [429, 'retry'],
      [500, 'retry'],
      [502, 'retry'],
      [503, 'retry'],
      [504, 'retry'],
    ];
    for (const [status, verdict] of cases) expect(classifyStatus(status), String(status)).toBe(verdict);
  });
});
