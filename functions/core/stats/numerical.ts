/**
 * Drift metrics for one numerical feature: KS (statistic and p-values), Wasserstein-1 (raw and
 * normalised by the reference's population std), and PSI / Jensen–Shannon over 10 quantile bins
 * of the reference. Each sample is sorted once; every metric then reads the sorted arrays.
 * Definitions: docs/drift-statistics.md.
 */

import { validationFailed } from '../kernel/errors.js';
import { type BinnedMetrics, binnedMetrics } from './binned.js';
import {
  type KsMethod,
  ksAsympPValue,
  ksAutoMethod,
  ksExactPValueFor,
  ksKolmogorovPValue,
  ksStatistic,
} from './ks.js';
import { asSortedSample, type NumericValue, type SortedSample } from './samples.js';

export const WASSERSTEIN_NORM_FLOOR = 0.001;
export const PSI_QUANTILE_BINS = 10;

/** What both the exact engine and the sketches report for a numerical feature. */
export interface NumericalDistances extends BinnedMetrics {
  readonly n1: number;
  readonly n2: number;
  readonly ksStatistic: number;
  readonly ksPValueAsymp: number;
  readonly ksPValueKolmogorov: number;
  readonly wasserstein: number;
  readonly wassersteinNorm: number;
}

export interface NumericalMetrics extends NumericalDistances {
  readonly ksPValueAuto: number;
  readonly ksMethodAuto: KsMethod;
}

/**
 * numpy.quantile(sorted, p) with the default 'linear' method, in numpy 1.24's order of float
 * operations (it interpolates from the nearer end), so edges are bit-identical.
 */
export function quantileLinear(sorted: Float64Array, p: number): number {
  const n = sorted.length;
  const v = (n - 1) * p;
  if (v >= n - 1) return sorted[n - 1]!;
  const lo = Math.floor(v);
  const g = v - lo;
  const a = sorted[lo]!;
  const b = sorted[lo + 1]!;
  const d = b - a;
  return g >= 0.5 ? b - d * (1 - g) : a + d * g;
}

/**
 * Inner PSI bin edges from the reference: its 10%…90% quantiles, ascending, exact duplicates
 * removed (the outer edges are ∓∞). Fewer than 9 edges remain for discrete data.
 */
export function psiInnerEdges(sortedRef: Float64Array, bins = PSI_QUANTILE_BINS): Float64Array {
  const qs: number[] = [];
  for (let k = 1; k < bins; k++) qs.push(quantileLinear(sortedRef, k / bins));
  qs.sort((a, b) => a - b);
  const out: number[] = [];
  for (const q of qs) if (out.length === 0 || q !== out[out.length - 1]) out.push(q);
  return Float64Array.from(out);
}

/**
 * PSI and JS alone. The reference is sorted (its quantiles and bin counts then cost a few
 * binary searches); the current sample is only binned, in one pass over the caller's values.
 */
export function binnedNumericalMetrics(
  reference: ArrayLike<NumericValue> | SortedSample,
  current: ArrayLike<NumericValue>,
): BinnedMetrics {
  const r = asSortedSample(reference, 'reference').sorted;
  const edges = psiInnerEdges(r);
  const cur = binCountsColumn(current, edges, 'current');
  return binnedMetrics(binCountsSorted(r, edges), r.length, cur.counts, cur.n);
}

/** First index whose value is ≥ x (number of values < x). */
export function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Counts per bin (−∞, e1), [e1, e2), …, [em, +∞) — left-closed, so a value equal to an edge goes
 * to the bin that starts there. On a sorted sample that is m binary searches.
 */
export function binCountsSorted(sorted: Float64Array, innerEdges: Float64Array): Float64Array {
  const m = innerEdges.length;
  const counts = new Float64Array(m + 1);
  let prev = 0;
  for (let k = 0; k < m; k++) {
    const idx = lowerBound(sorted, innerEdges[k]!);
    counts[k] = idx - prev;
    prev = idx;
  }
  counts[m] = sorted.length - prev;
  return counts;
}

/**
 * Bin a raw column in one pass, skipping nulls/NaN and rejecting other non-finite values (the
 * same rules as collectNumeric, without copying the column). With the usual ≤ 9 edges the bin
 * index is a branch-free sum of comparisons against edges padded with +∞ — ~10× faster than a
 * binary search, whose branches the CPU cannot predict on random data.
 */
export function binCountsColumn(
  values: ArrayLike<NumericValue>,
  innerEdges: Float64Array,
  label: string,
): { counts: Float64Array; n: number } {
  const m = innerEdges.length;
  const counts = new Float64Array(m + 1);
  const len = values.length;
  let n = 0;
  const bad = (i: number, v: unknown): never => {
    const what = typeof v === 'number' ? 'is infinite' : 'is not a number or null';
    throw validationFailed(`${label}: value at index ${i} ${what}`, { label, index: i });
  };
  if (m <= 9) {
    const e = new Float64Array(9).fill(Number.POSITIVE_INFINITY);
    e.set(innerEdges);
    const [e0, e1, e2, e3, e4, e5, e6, e7, e8] = e as unknown as number[];
    for (let i = 0; i < len; i++) {
      const x = values[i];
      if (typeof x !== 'number' || x - x !== 0) {
        if (x === null || x === undefined || Number.isNaN(x)) continue;
        bad(i, x);
      }
      const v = x as number;
      const idx =
        +(e0! <= v) +
        +(e1! <= v) +
        +(e2! <= v) +
        +(e3! <= v) +
        +(e4! <= v) +
        +(e5! <= v) +
        +(e6! <= v) +
        +(e7! <= v) +
        +(e8! <= v);
      counts[idx]!++;
      n++;
    }
  } else {
    for (let i = 0; i < len; i++) {
      const x = values[i];
      if (typeof x !== 'number' || x - x !== 0) {
        if (x === null || x === undefined || Number.isNaN(x)) continue;
        bad(i, x);
      }
      const v = x as number;
      let lo = 0;
      let hi = m;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (innerEdges[mid]! <= v) lo = mid + 1;
        else hi = mid;
      }
      counts[lo]!++;
      n++;
    }
  }
  if (n === 0) {
    throw validationFailed(`${label}: no values left after dropping nulls (${len} rows, all missing)`, {
      label,
      rows: len,
    });
  }
  return { counts, n };
}

/** Neumaier-compensated running sum: long sums over millions of terms stay at ~1 ulp. */
class CompensatedSum {
  private sum = 0;
  private comp = 0;

  add(x: number): void {
    const t = this.sum + x;
    if (Math.abs(this.sum) >= Math.abs(x)) this.comp += this.sum - t + x;
    else this.comp += x - t + this.sum;
    this.sum = t;
  }

  value(): number {
    return this.sum + this.comp;
  }
}

/**
 * Wasserstein-1 = ∫|F_r − F_c| dt, a single merge over the two sorted samples: between consecutive
 * distinct pooled values both ECDFs are constant.
 */
export function wassersteinSorted(r: Float64Array, c: Float64Array): number {
  const n1 = r.length;
  const n2 = c.length;
  let i = 0;
  let j = 0;
  const acc = new CompensatedSum();
  let t = Math.min(r[0]!, c[0]!);
  for (;;) {
    while (i < n1 && r[i]! <= t) i++;
    while (j < n2 && c[j]! <= t) j++;
    let next: number;
    if (i < n1) next = j < n2 && c[j]! < r[i]! ? c[j]! : r[i]!;
    else if (j < n2) next = c[j]!;
    else break;
    acc.add(Math.abs(i / n1 - j / n2) * (next - t));
    t = next;
  }
  return acc.value();
}

/** Population standard deviation (ddof = 0), two-pass with compensated sums. */
export function populationStd(x: Float64Array): number {
  const n = x.length;
  const s = new CompensatedSum();
  for (let i = 0; i < n; i++) s.add(x[i]!);
  const mean = s.value() / n;
  const q = new CompensatedSum();
  for (let i = 0; i < n; i++) {
    const d = x[i]! - mean;
    q.add(d * d);
  }
  return Math.sqrt(q.value() / n);
}

export function normalisedWasserstein(wasserstein: number, referenceStd: number): number {
  return wasserstein / Math.max(referenceStd, WASSERSTEIN_NORM_FLOOR);
}

/** Every numerical metric for one feature; inputs may be raw columns or prepared samples. */
export function numericalMetrics(
  reference: ArrayLike<NumericValue> | SortedSample,
  current: ArrayLike<NumericValue> | SortedSample,
): NumericalMetrics {
  const r = asSortedSample(reference, 'reference').sorted;
  const c = asSortedSample(current, 'current').sorted;
  const n1 = r.length;
  const n2 = c.length;
  const ks = ksStatistic(r, c);
  const method = ksAutoMethod(n1, n2);
  const pAsymp = ksAsympPValue(n1, n2, ks.d);
  const pAuto = method === 'exact' ? ksExactPValueFor(ks) : pAsymp;
  const w = wassersteinSorted(r, c);
  const edges = psiInnerEdges(r);
  const binned = binnedMetrics(binCountsSorted(r, edges), n1, binCountsSorted(c, edges), n2);
  return {
    n1,
    n2,
    ksStatistic: ks.d,
    ksPValueAuto: pAuto,
    ksMethodAuto: method,
    ksPValueAsymp: pAsymp,
    ksPValueKolmogorov: ksKolmogorovPValue(n1, n2, ks.d),
    wasserstein: w,
    wassersteinNorm: normalisedWasserstein(w, populationStd(r)),
    psi: binned.psi,
    jsDistance: binned.jsDistance,
    jsDistanceRaw: binned.jsDistanceRaw,
  };
}
