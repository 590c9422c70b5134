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
import {
  asSortedSample,
  collectNumeric,
  isSortedSample,
  type NumericValue,
  type SortedSample,
} from './samples.js';
import { sortFloat64 } from './sort.js';

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
  return quantileAt(sorted.length, p, (i) => sorted[i]!);
}

/** quantileLinear over the order statistics of n values, `at(i)` being the i-th smallest. */
function quantileAt(n: number, p: number, at: (i: number) => number): number {
  const v = (n - 1) * p;
  if (v >= n - 1) return at(n - 1);
  const lo = Math.floor(v);
  const g = v - lo;
  const a = at(lo);
  const b = at(lo + 1);
  const d = b - a;
  return g >= 0.5 ? b - d * (1 - g) : a + d * g;
}

/** The order statistics quantileLinear reads for these probabilities. */
function quantileRanks(n: number, ps: readonly number[]): number[] {
  const ranks: number[] = [];
  for (const p of ps) {
    const v = (n - 1) * p;
    if (v >= n - 1) ranks.push(n - 1);
    else ranks.push(Math.floor(v), Math.floor(v) + 1);
  }
  return ranks;
}

/**
 * Inner PSI bin edges from the reference: its 10%…90% quantiles, ascending, exact duplicates
 * removed (the outer edges are ∓∞). Fewer than 9 edges remain for discrete data.
 */
export function psiInnerEdges(sortedRef: Float64Array, bins = PSI_QUANTILE_BINS): Float64Array {
  const qs: number[] = [];
  for (let k = 1; k < bins; k++) qs.push(quantileLinear(sortedRef, k / bins));
  return innerEdgesOf(qs);
}

function innerEdgesOf(qs: number[]): Float64Array {
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
  const ref = isSortedSample(reference) ? null : selectedReferenceBins(reference);
  if (ref) {
    const cur = (current instanceof Float64Array && keyedBinCounts(current, ref.edges)) || null;
    const c = cur ? { counts: cur, n: current.length } : binCountsColumn(current, ref.edges, 'current');
    return binnedMetrics(ref.counts, ref.n, c.counts, c.n);
  }
  const r = asSortedSample(reference, 'reference').sorted;
  const edges = psiInnerEdges(r);
  const cur = binCountsColumn(current, edges, 'current');
  return binnedMetrics(binCountsSorted(r, edges), r.length, cur.counts, cur.n);
}

/*
 * PSI alone without sorting (its profile was ~80 % sortFloat64, for 18 order statistics and 9
 * bin boundaries). Each value gets an order-preserving 16-bit key: the top of its IEEE-754 bits,
 * sign-flipped for non-negatives and fully inverted for negatives, which orders values as
 * sortFloat64 does (−0 just before +0). One branch-free pass histograms the keys; a second gathers
 * only the values of the few buckets that hold a wanted rank or an edge. Exact, not approximate:
 * a bucket's values are all on one side of any value outside it.
 */

/** Below this many values sorting costs less than the histogram's fixed 64 Ki buckets. */
const KEYED_MIN_LENGTH = 4096;
const KEY_BITS = 16;
const KEY_BUCKETS = 1 << KEY_BITS;
const KEY_SHIFT = 32 - KEY_BITS;
/** Keys of values whose exponent is all ones (NaN, ±∞): the lowest and highest 16 buckets. */
const SPECIAL_BUCKETS = 1 << (KEY_BITS - 12);

function keyOf(hi: number): number {
  // Branch-free: on random signs a conditional here was mispredicted half the time (10× slower).
  return (hi ^ ((hi >> 31) | 0x80000000)) >>> KEY_SHIFT;
}

const scratch = new Float64Array(1);
const scratchWords = new Int32Array(scratch.buffer);
function keyOfValue(v: number): number {
  scratch[0] = v;
  return keyOf(scratchWords[1]!);
}

/**
 * The bucket where the values below an edge end: −0's for either zero, since −0 < +0 is false
 * (+0's bucket holds only values ≥ +0).
 */
function edgeBucket(e: number): number {
  return keyOfValue(e === 0 ? -0 : e);
}

interface KeyHistogram {
  readonly x: Float64Array;
  /** High words, as signed integers so the key arithmetic stays in small integers. */
  readonly words: Int32Array;
  readonly hist: Int32Array;
  /** below[b]: how many values have a key < b. */
  readonly below: Float64Array;
}

/**
 * Reused by every call (one histogram is live at a time: each caller copies out what it keeps):
 * fresh 64 Ki-entry arrays per feature cost more than the pass itself at 100k rows.
 */
const HIST = new Int32Array(KEY_BUCKETS);
const BELOW = new Float64Array(KEY_BUCKETS + 1);
const SLOT_OF = new Int32Array(KEY_BUCKETS);

/** null when the input is short, misaligned, or holds a NaN or ±∞ (the callers' exact paths handle those). */
function keyHistogram(x: Float64Array): KeyHistogram | null {
  const n = x.length;
  if (n < KEYED_MIN_LENGTH || x.byteOffset % 4 !== 0) return null;
  const words = new Int32Array(x.buffer, x.byteOffset, 2 * n);
  const hist = HIST.fill(0);
  // Four keys, then their four increments: one at a time, each increment waited on the one
  // before it (2.8× slower at 100k rows, measured). The same in the passes below.
  const end = 2 * n;
  let i = 1;
  for (; i + 6 < end; i += 8) {
    const b0 = keyOf(words[i]!);
    const b1 = keyOf(words[i + 2]!);
    const b2 = keyOf(words[i + 4]!);
    const b3 = keyOf(words[i + 6]!);
    hist[b0]!++;
    hist[b1]!++;
    hist[b2]!++;
    hist[b3]!++;
  }
  for (; i < end; i += 2) hist[keyOf(words[i]!)]!++;
  if (holdsSpecial(hist)) return null;
  const below = BELOW;
  // The running sum in a local: read back from the array, each step waited on the last one's
  // store (215 µs for the 64 Ki buckets against 42, a fifth of a 100k-row PSI's time).
  let sum = 0;
  for (let b = 0; b < KEY_BUCKETS; b++) {
    sum += hist[b]!;
    below[b + 1] = sum;
  }
  return { x, words, hist, below };
}

/** Whether a histogram counted a NaN or ±∞ (the callers' exact paths handle those). */
function holdsSpecial(hist: Int32Array): boolean {
  for (let b = 0; b < SPECIAL_BUCKETS; b++) if (hist[b] || hist[KEY_BUCKETS - 1 - b]) return true;
  return false;
}

/** The values of the given buckets, one array per distinct bucket (in input order). */
function gather(h: KeyHistogram, buckets: readonly number[]): Map<number, Float64Array> {
  const slotOf = SLOT_OF.fill(-1);
  const slots: Float64Array[] = [];
  const out = new Map<number, Float64Array>();
  for (const b of buckets) {
    if (slotOf[b] !== -1 || h.hist[b] === 0) continue;
    slotOf[b] = slots.length;
    const slot = new Float64Array(h.hist[b]!);
    slots.push(slot);
    out.set(b, slot);
  }
  const fill = new Int32Array(slots.length);
  const { x, words } = h;
  const n = x.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const s0 = slotOf[keyOf(words[2 * i + 1]!)]!;
    const s1 = slotOf[keyOf(words[2 * i + 3]!)]!;
    const s2 = slotOf[keyOf(words[2 * i + 5]!)]!;
    const s3 = slotOf[keyOf(words[2 * i + 7]!)]!;
    // Most values are in no slot (all four −1): one test for the four.
    if ((s0 & s1 & s2 & s3) >= 0) {
      if (s0 >= 0) slots[s0]![fill[s0]!++] = x[i]!;
      if (s1 >= 0) slots[s1]![fill[s1]!++] = x[i + 1]!;
      if (s2 >= 0) slots[s2]![fill[s2]!++] = x[i + 2]!;
      if (s3 >= 0) slots[s3]![fill[s3]!++] = x[i + 3]!;
    }
  }
  for (; i < n; i++) {
    const s = slotOf[keyOf(words[2 * i + 1]!)]!;
    if (s >= 0) slots[s]![fill[s]!++] = x[i]!;
  }
  return out;
}

/** Counts per bin (as binCountsSorted): the histogram's prefix, plus the edge's bucket scanned. */
function keyedCounts(h: KeyHistogram, edges: Float64Array, slots: Map<number, Float64Array>): Float64Array {
  const m = edges.length;
  const counts = new Float64Array(m + 1);
  let prev = 0;
  for (let k = 0; k < m; k++) {
    const e = edges[k]!;
    const b = edgeBucket(e);
    let idx = h.below[b]!;
    const slot = slots.get(b);
    if (slot) for (let i = 0; i < slot.length; i++) idx += +(slot[i]! < e);
    counts[k] = idx - prev;
    prev = idx;
  }
  counts[m] = h.x.length - prev;
  return counts;
}

/** EDGE_MARK[b]: 1 + the index of the first edge whose bucket is b, 0 for none (reset after use). */
const EDGE_MARK = new Int32Array(KEY_BUCKETS);

/**
 * binCountsColumn of a NaN-free, finite column, or null to take binCountsColumn itself. The edges
 * are known before the pass, so it is one pass: the histogram, and each value of an edge's
 * bucket compared with that edge as it goes by (keyedCounts' gather would be a second pass).
 */
function keyedBinCounts(x: Float64Array, edges: Float64Array): Float64Array | null {
  const n = x.length;
  if (n < KEYED_MIN_LENGTH || x.byteOffset % 4 !== 0) return null;
  const m = edges.length;
  // Ascending, as the edges are: the keys preserve order.
  const buckets = Int32Array.from(edges, edgeBucket);
  const mark = EDGE_MARK;
  for (let k = m - 1; k >= 0; k--) mark[buckets[k]!] = k + 1;
  const words = new Int32Array(x.buffer, x.byteOffset, 2 * n);
  const hist = HIST.fill(0);
  // Per edge: how many values of its bucket are below it.
  const less = new Float64Array(m);
  // Per value of an edge's bucket: compared with that bucket's edges.
  const compare = (v: number, b: number) => {
    for (let k = mark[b]! - 1; k < m && buckets[k] === b; k++) less[k]! += +(v < edges[k]!);
  };
  try {
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const b0 = keyOf(words[2 * i + 1]!);
      const b1 = keyOf(words[2 * i + 3]!);
      const b2 = keyOf(words[2 * i + 5]!);
      const b3 = keyOf(words[2 * i + 7]!);
      hist[b0]!++;
      hist[b1]!++;
      hist[b2]!++;
      hist[b3]!++;
      if ((mark[b0]! | mark[b1]! | mark[b2]! | mark[b3]!) !== 0) {
        if (mark[b0] !== 0) compare(x[i]!, b0);
        if (mark[b1] !== 0) compare(x[i + 1]!, b1);
        if (mark[b2] !== 0) compare(x[i + 2]!, b2);
        if (mark[b3] !== 0) compare(x[i + 3]!, b3);
      }
    }
    for (; i < n; i++) {
      const b = keyOf(words[2 * i + 1]!);
      hist[b]!++;
      if (mark[b] !== 0) compare(x[i]!, b);
    }
  } finally {
    for (let k = 0; k < m; k++) mark[buckets[k]!] = 0;
  }
  if (holdsSpecial(hist)) return null;
  const counts = new Float64Array(m + 1);
  let below = 0;
  let next = 0;
  let prev = 0;
  for (let k = 0; k < m; k++) {
    const edgeBucketK = buckets[k]!;
    while (next < edgeBucketK) below += hist[next++]!;
    const idx = below + less[k]!;
    counts[k] = idx - prev;
    prev = idx;
  }
  counts[m] = n - prev;
  return counts;
}

/**
 * psiInnerEdges and binCountsSorted of the reference, from the 18 order statistics the quantiles
 * read. A quantile edge lies between two consecutive order statistics, so its bucket is one of
 * theirs or holds no value. null: take the sorting path (short input, NaN or ±∞, which that
 * path drops or rejects as before).
 */
function selectedReferenceBins(
  reference: ArrayLike<NumericValue>,
): { edges: Float64Array; counts: Float64Array; n: number } | null {
  if (reference.length < KEYED_MIN_LENGTH) return null;
  const x = reference instanceof Float64Array ? reference : collectNumeric(reference, 'reference').values;
  const h = keyHistogram(x);
  if (!h) return null;
  const n = x.length;
  const bucketOf = (rank: number): number => {
    let lo = 0;
    let hi = KEY_BUCKETS - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (h.below[mid]! <= rank) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const ps: number[] = [];
  for (let k = 1; k < PSI_QUANTILE_BINS; k++) ps.push(k / PSI_QUANTILE_BINS);
  const ranks = quantileRanks(n, ps);
  const slots = gather(h, ranks.map(bucketOf));
  const value = new Map<number, number>();
  for (const [b, slot] of slots) {
    const within = [...new Set(ranks.filter((r) => bucketOf(r) === b))].map((r) => r - h.below[b]!);
    if (within.length > 4) {
      const sorted = sortFloat64(slot.slice());
      for (const r of within) value.set(r + h.below[b]!, sorted[r]!);
    } else {
      // A partial order suffices, made in the slot itself: the counts only compare with its
      // values. Selecting rank r leaves every value after r at least as large, so rank r + 1 (the
      // other half of a linear quantile) is the least of those: a scan, not a second selection.
      within.sort((p, q) => p - q);
      let last = -2;
      for (const r of within) {
        value.set(r + h.below[b]!, r === last + 1 ? leastFrom(slot, r) : selectRank(slot, r));
        last = r;
      }
    }
  }
  const edges = innerEdgesOf(ps.map((p) => quantileAt(n, p, (rank) => value.get(rank)!)));
  // An infinite difference times 0 (edges between ±MAX_VALUE) is NaN, which the sorting path's
  // binary search handles its own way: leave it to that path.
  if (edges.some(Number.isNaN)) return null;
  // An edge's bucket is one of its ranks' or empty, except for a zero edge (edgeBucket).
  const missing = Array.from(edges, edgeBucket).filter((b) => h.hist[b]! > 0 && !slots.has(b));
  if (missing.length > 0) for (const [b, slot] of gather(h, missing)) slots.set(b, slot);
  return { edges, counts: keyedCounts(h, edges, slots), n };
}

/**
 * The k-th smallest of a NaN-free array (Hoare's selection, reordering it), or by sorting when
 * the partitions stop shrinking (a pathological order). Either way it leaves the array ordered
 * around k: nothing before k is larger, nothing after it smaller (leastFrom relies on that). One
 * bucket never holds both −0 and +0 (their keys differ), so < and > are the total order here.
 */
export function selectRank(
  a: Float64Array,
  k: number,
  /** Partition rounds before it sorts instead; a parameter so tests can reach that path. */
  budget = 2 * Math.ceil(Math.log2(a.length + 1)) + 8,
): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    if (budget-- === 0) {
      // Written back, so the array is ordered around k as a finished selection leaves it.
      a.set(sortFloat64(a.slice(lo, hi + 1)), lo);
      return a[k]!;
    }
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot, so sorted or reversed input still halves.
    const x0 = a[lo]!;
    const x1 = a[mid]!;
    const x2 = a[hi]!;
    const pivot = Math.max(Math.min(x0, x1), Math.min(Math.max(x0, x1), x2));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (pivot < a[j]!) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/**
 * The k-th smallest of `a` when a[0..k−1] hold the k smallest (a selection of rank k − 1 leaves
 * them there): the least of a[k..], which it moves to k, so the same holds for k + 1.
 */
export function leastFrom(a: Float64Array, k: number): number {
  let at = k;
  for (let i = k + 1; i < a.length; i++) if (a[i]! < a[at]!) at = i;
  const v = a[at]!;
  a[at] = a[k]!;
  a[k] = v;
  return v;
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
