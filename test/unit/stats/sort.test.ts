/**
 * The radix sort against the built-in comparison sort (an independent oracle), on data that
 * stresses the bit tricks: negatives, ±0, duplicates, subnormals, extreme magnitudes.
 */
import { describe, expect, it } from 'vitest';
import { sortFloat64 } from '../../../functions/core/stats/sort.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function sameOrder(actual: Float64Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      throw new Error(`index ${i}: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

describe('sortFloat64', () => {
  const rnd = lcg(42);
  const generators: Record<string, (n: number) => number> = {
    'normal-ish': () => (rnd() + rnd() + rnd() - 1.5) * 3,
    'all positive': () => rnd() * 1e6,
    'all negative': () => -rnd() * 1e-3,
    'few distinct integers with ±0': () => [0, -0, 1, -1, 2, 7][Math.floor(rnd() * 6)]!,
    'extremes and subnormals': () =>
      [Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, 1e-310, -1e-310, 1e300, 0][
        Math.floor(rnd() * 8)
      ]! * (rnd() < 0.5 ? 1 : 0.5),
    constant: () => 3.25,
  };

  for (const [name, gen] of Object.entries(generators)) {
    for (const n of [1, 100, 4095, 4096, 50_000]) {
      it(`${name}, n=${n}`, () => {
        const x = Float64Array.from({ length: n }, gen);
        const expected = x.slice().sort();
        sameOrder(sortFloat64(x.slice()), expected);
      });
    }
  }

  it('sorts a subarray view without touching the rest of the buffer', () => {
    const buf = Float64Array.from({ length: 10_000 }, (_, i) => 10_000 - i);
    const view = buf.subarray(1000, 9000);
    const expected = view.slice().sort();
    sameOrder(sortFloat64(view), expected);
    expect(buf[0]).toBe(10_000);
    expect(buf[9999]).toBe(1);
  });
});
