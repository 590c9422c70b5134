/**
 * Drift metrics read from two sketches on the same layout: KS with a bound on its error,
 * Wasserstein, PSI and JS for numeric sketches (accuracy against the exact engine:
 * docs/drift-statistics.md), and exact chi-square, PSI and JS for categorical ones.
 */

import { validationFailed } from '../kernel/errors.js';
import { type BinnedMetrics, binnedMetrics } from './binned.js';
import { type CategoricalMetrics, categoricalMetricsFromCounts } from './categorical.js';
import { ksAsympPValue, ksKolmogorovPValue } from './ks.js';
import { type NumericalDistances, normalisedWasserstein, PSI_QUANTILE_BINS } from './numerical.js';
import { type CategoricalSketch, type NumericSketch, sameLayout } from './sketch.js';

export interface NumericSketchMetrics extends NumericalDistances {
  /** Approximate: evaluated at every edge, ≤ the exact D and ≥ D − ksErrorBound. */
  readonly ksStatistic: number;
  /**
   * Upper bound on (exact D − ksStatistic): the largest mass either side has spread inside one
   * bin (0 when every bin holds a single value, as with discrete data).
   */
  readonly ksErrorBound: number;
}

/**
 * The r-th smallest value (0-based) estimated from a sketch: exact when its bin holds a single
 * value (its left edge), otherwise with the bin's values spread evenly across it.
 */
function orderStatistic(s: NumericSketch, cum: Float64Array, r: number): number {
  const m = s.edges.length;
  let k = 0;
  while (k < m && cum[k + 1]! <= r) k++;
  const count = s.counts[k]!;
  const mean = s.sums[k]! / count;
  if (k === 0 || k === m) return mean; // outside the reference range: best guess is the mean
  const lo = s.edges[k - 1]!;
  const hi = s.edges[k]!;
  if (singleValued(s, k)) return lo;
  return lo + ((r - cum[k]! + 0.5) / count) * (hi - lo);
}

/** cum[k] = number of values in bins before k. */
function cumulative(counts: readonly number[]): Float64Array {
  const cum = new Float64Array(counts.length + 1);
  for (let k = 0; k < counts.length; k++) cum[k + 1] = cum[k]! + counts[k]!;
  return cum;
}

/**
 * PSI/JS from sketches: the reference deciles (numpy's linear rule applied to estimated order
 * statistics) are moved up to the next sketch edge, so each PSI bin is a union of sketch bins
 * and both sides' masses are plain sums of counts. For data whose distinct values are all edges
 * this reproduces the exact left-closed bins.
 */
function sketchBinned(ref: NumericSketch, cur: NumericSketch, bins = PSI_QUANTILE_BINS): BinnedMetrics {
  const n1 = ref.n;
  const cum = cumulative(ref.counts);
  const m = ref.edges.length;
  const cuts = new Set<number>(); // edge indices: PSI bin boundaries are edges[k]
  for (let k = 1; k < bins; k++) {
    const v = (n1 - 1) * (k / bins);
    let q: number;
    if (v >= n1 - 1) q = orderStatistic(ref, cum, n1 - 1);
    else {
      const lo = Math.floor(v);
      const g = v - lo;
      const a = orderStatistic(ref, cum, lo);
      const b = orderStatistic(ref, cum, lo + 1);
      const d = b - a;
      q = g >= 0.5 ? b - d * (1 - g) : a + d * g;
    }
    // Smallest edge ≥ q (or the last edge).
    let lo = 0;
    let hi = m - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ref.edges[mid]! >= q) hi = mid;
      else lo = mid + 1;
    }
    cuts.add(lo);
  }
  const sortedCuts = [...cuts].sort((a, b) => a - b);
  // Sketch bin k lies below edge index j iff k ≤ j.
  const group = (counts: readonly number[]): Float64Array => {
    const out = new Float64Array(sortedCuts.length + 1);
    let g = 0;
    for (let k = 0; k < counts.length; k++) {
      while (g < sortedCuts.length && k > sortedCuts[g]!) g++;
      out[g]! += counts[k]!;
    }
    return out;
  };
  return binnedMetrics(group(ref.counts), n1, group(cur.counts), cur.n);
}

/**
 * Wasserstein-1 between the two sketches with each bin's mass placed at its mean: exact for
 * the end bins when only one side has mass beyond the other's range, and for discrete data with
 * one value per bin; otherwise off by at most the within-bin spread.
 */
function sketchWasserstein(ref: NumericSketch, cur: NumericSketch): number {
  const n1 = ref.n;
  const n2 = cur.n;
  // Atoms of both sides in ascending position (bins are disjoint and ordered; within a bin the
  // two means are compared).
  const atoms: { x: number; w1: number; w2: number }[] = [];
  for (let k = 0; k < ref.counts.length; k++) {
    const c1 = ref.counts[k]!;
    const c2 = cur.counts[k]!;
    const a = c1 > 0 ? { x: ref.sums[k]! / c1, w1: c1 / n1, w2: 0 } : null;
    const b = c2 > 0 ? { x: cur.sums[k]! / c2, w1: 0, w2: c2 / n2 } : null;
    if (a && b) {
      if (a.x <= b.x) atoms.push(a, b);
      else atoms.push(b, a);
    } else if (a) atoms.push(a);
    else if (b) atoms.push(b);
  }
  let f1 = 0;
  let f2 = 0;
  let w = 0;
  for (let i = 0; i < atoms.length - 1; i++) {
    f1 += atoms[i]!.w1;
    f2 += atoms[i]!.w2;
    w += Math.abs(f1 - f2) * (atoms[i + 1]!.x - atoms[i]!.x);
  }
  return w;
}

/** A bin whose values all equal its left edge (discrete data), judged from its mean. */
function singleValued(s: NumericSketch, k: number): boolean {
  if (k === 0 || k === s.edges.length) return false;
  const lo = s.edges[k - 1]!;
  return s.sums[k]! / s.counts[k]! - lo <= 1e-9 * (s.edges[k]! - lo);
}

function sketchKs(ref: NumericSketch, cur: NumericSketch): { d: number; bound: number } {
  let c1 = 0;
  let c2 = 0;
  let d = 0;
  let bound = 0;
  const last = ref.counts.length - 1;
  for (let k = 0; k <= last; k++) {
    c1 += ref.counts[k]!;
    c2 += cur.counts[k]!;
    // The ECDFs are evaluated just below each edge: values they actually take.
    d = Math.max(d, Math.abs(c1 / ref.n - c2 / cur.n));
    // Inside a bin a side's ECDF moves by at most its mass there — unless all that mass sits on
    // the left edge (then it is flat inside the bin). In an end bin where only one side has
    // mass the other ECDF is flat at 0 or 1, so the gap peaks at the evaluated inner edge.
    const m1 = ref.counts[k]! / ref.n;
    const m2 = cur.counts[k]! / cur.n;
    if ((k === 0 || k === last) && (m1 === 0 || m2 === 0)) continue;
    if (m1 > 0 && !singleValued(ref, k)) bound = Math.max(bound, m1);
    if (m2 > 0 && !singleValued(cur, k)) bound = Math.max(bound, m2);
  }
  return { d, bound };
}

/** Drift metrics from a reference sketch and a current sketch on the same layout. */
export function numericSketchMetrics(ref: NumericSketch, cur: NumericSketch): NumericSketchMetrics {
  if (!sameLayout(ref.edges, cur.edges)) {
    throw validationFailed('reference and current sketches use different layouts');
  }
  if (ref.n === 0 || cur.n === 0) {
    throw validationFailed(`sketch is empty (reference n=${ref.n}, current n=${cur.n})`);
  }
  const ks = sketchKs(ref, cur);
  const w = sketchWasserstein(ref, cur);
  const binned = sketchBinned(ref, cur);
  return {
    n1: ref.n,
    n2: cur.n,
    ksStatistic: ks.d,
    ksErrorBound: ks.bound,
    ksPValueAsymp: ksAsympPValue(ref.n, cur.n, ks.d),
    ksPValueKolmogorov: ksKolmogorovPValue(ref.n, cur.n, ks.d),
    wasserstein: w,
    wassersteinNorm: normalisedWasserstein(w, Math.sqrt(Math.max(ref.m2, 0) / ref.n)),
    ...binned,
  };
}

/** Exact: chi-square, PSI and JS need only the counts. */
export function categoricalSketchMetrics(ref: CategoricalSketch, cur: CategoricalSketch): CategoricalMetrics {
  if (ref.n === 0 || cur.n === 0) {
    throw validationFailed(`sketch is empty (reference n=${ref.n}, current n=${cur.n})`);
  }
  const toCounts = (s: CategoricalSketch) => ({
    counts: new Map(Object.entries(s.counts)),
    total: s.n,
    dropped: s.nulls,
  });
  return categoricalMetricsFromCounts(toCounts(ref), toCounts(cur));
}
