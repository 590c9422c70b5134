import { describe, expect, it } from 'vitest';
import { isoTime } from '../../../functions/core/kernel/iso-time.js';

describe('isoTime', () => {
  it('formats exactly as toISOString, across seconds, before 1970 and beyond year 9999', () => {
    const times = [
      0, 1, 9, 10, 99, 100, 999, 1000, 1001, -1, -999, -1000, -1001, 1_733_500_000_123, 1_733_500_000_999,
      1_733_500_001_000, 1_733_500_000_123, 253_402_300_799_999, 253_402_300_800_000, -62_198_755_200_001,
      8.64e15, -8.64e15,
    ];
    for (const t of times) expect(isoTime(new Date(t))).toBe(new Date(t).toISOString());
  });

  it('throws on an invalid date, as toISOString does', () => {
    expect(() => isoTime(new Date(Number.NaN))).toThrow(RangeError);
  });
});
