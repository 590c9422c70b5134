/**
 * PSI alone (binnedNumericalMetrics on raw columns) selects the reference's quantiles from a
 * histogram of order-preserving keys instead of sorting it. The sorting path (a prepared
 * SortedSample goes through psiInnerEdges and binCountsSorted) is the oracle: every metric must
 * be bit-identical, on data that stresses the keys (signs, ±0, ties, subnormals, extremes).
 */
import { describe, expect, it } from 'vitest';
import { binnedNumericalMetrics, leastFrom, selectRank } from '../../../functions/core/stats/numerical.js';
import { prepareNumeric } from '../../../functions/core/stats/samples.js';
import { sortFloat64 } from '../../../functions/core/stats/sort.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const rnd = lcg(7);
const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
const GENERATORS: Record<string, () => number> = {
  normal,
  'shifted normal, mostly positive': () => normal() + 3,
  'all negative, tiny': () => -rnd() * 1e-3,
  'few distinct with ±0': () => [0, -0, 1, -1, 2, 7][Math.floor(rnd() * 6)]!,
  'integers 0..3': () => Math.floor(rnd() * 4),
  'extremes and subnormals': () =>
    [Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, 1e-310, -1e-310, 1e300, 0][
      Math.floor(rnd() * 8)
    ]! * (rnd() < 0.5 ? 1 : 0.5),
  'one bucket of close values': () => 1 + rnd() * 1e-9,
  constant: () => 3.25,
};

function same(reference: Float64Array | (number | null)[], current: Float64Array | (number | null)[]) {
  const fast = binnedNumericalMetrics(reference, current);
  const oracle = binnedNumericalMetrics(prepareNumeric(reference, 'reference'), current);
  expect(Object.is(fast.psi, oracle.psi)).toBe(true);
  expect(Object.is(fast.jsDistance, oracle.jsDistance)).toBe(true);
  expect(Object.is(fast.jsDistanceRaw, oracle.jsDistanceRaw)).toBe(true);
}

describe('PSI alone by selection', () => {
  for (const [name, gen] of Object.entries(GENERATORS)) {
    for (const n of [4096, 5001, 60_000]) {
      it(`${name}, n = ${n}: bit-identical to the sorting path`, () => {
        const ref = Float64Array.from({ length: n }, gen);
        const cur = Float64Array.from({ length: Math.ceil(n * 0.7) }, gen);
        same(ref, cur);
      });
    }
  }

  it('sorted, reversed and organ-pipe references (the selection pivots cannot degrade)', () => {
    const base = Float64Array.from({ length: 50_000 }, () => 1 + rnd() * 0.05);
    const sorted = sortFloat64(base.slice());
    const reversed = sorted.slice().reverse();
    const pipe = Float64Array.from(sorted, (_, i) =>
      i % 2 === 0 ? sorted[i >> 1]! : sorted[sorted.length - 1 - (i >> 1)]!,
    );
    for (const ref of [sorted, reversed, pipe]) same(ref, base);
  });

  it('columns with nulls and NaN, typed or not, as before', () => {
    const values = Array.from({ length: 9000 }, (_, i) => (i % 13 === 0 ? null : normal()));
    same(values, values.slice(0, 5000));
    const withNan = Float64Array.from(values, (v) => v ?? Number.NaN);
    same(withNan, withNan.subarray(0, 5000));
    same(Float64Array.from({ length: 9000 }, normal), withNan);
    expect(() =>
      binnedNumericalMetrics(
        Float64Array.from({ length: 9000 }, (_, i) => (i === 5 ? Infinity : i)),
        [1],
      ),
    ).toThrow(/infinite/);
    expect(() =>
      binnedNumericalMetrics(Float64Array.from({ length: 9000 }, normal), [1, Number.NEGATIVE_INFINITY]),
    ).toThrow(/infinite/);
  });

  it('a selection leaves its array ordered around the rank, so the next rank is the least after it', () => {
    for (const budget of [undefined, 0, 1]) {
      for (const n of [2, 7, 600, 5000]) {
        const values = Float64Array.from({ length: n }, () => Math.round(normal() * 50) / 10);
        const sorted = Float64Array.from(values).sort();
        for (const k of [0, Math.floor(n / 3), n - 2]) {
          const a = values.slice();
          expect(selectRank(a, k, budget)).toBe(sorted[k]);
          expect(a.every((v, i) => (i < k ? v <= a[k]! : v >= a[k]!))).toBe(true);
          // The other half of a linear quantile, as selectedReferenceBins asks for it.
          expect(leastFrom(a, k + 1)).toBe(sorted[k + 1]);
        }
      }
    }
  });

  it('costs well under one sort of the reference (it used to sort it)', () => {
    const n = 1_000_000;
    const ref = Float64Array.from({ length: n }, normal);
    const cur = Float64Array.from({ length: n }, () => normal() + 0.05);
    const median = (fn: () => void) => {
      const times: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t = performance.now();
        fn();
        times.push(performance.now() - t);
      }
      return times.sort((a, b) => a - b)[3]!;
    };
    median(() => binnedNumericalMetrics(ref, cur));
    const sort = median(() => sortFloat64(ref.slice()));
    const psi = median(() => binnedNumericalMetrics(ref, cur));
    // Before: the PSI call included that very sort (ratio > 1).
    expect(psi / sort).toBeLessThan(0.6);
  });
});
