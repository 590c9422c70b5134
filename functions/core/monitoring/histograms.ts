/**
 * Baseline against current distribution of each checked feature, coarse enough to draw: what a
 * drift report shows next to its statistic.
 *
 * - numerical: 12 equal-width bins between the baseline's 1st and 99th percentiles, plus one
 *   bin below and one above (open-ended). The baseline is read from its sketch (each fine bin
 *   placed by the mean of its values); the window from its raw column or its sketch, the same way.
 * - categorical: the 10 categories with the largest baseline share + window share, then
 *   "(other)".
 * Shares of the non-null values (each side sums to 1, or is all 0 when it has none).
 */
import type { CategoricalSketch, NumericSketch } from '../stats/sketch.js';
import type { FeatureProfile } from './baseline.js';
import type { WindowColumn } from './window.js';

export const HISTOGRAM_BINS = 12;
export const HISTOGRAM_CATEGORIES = 10;
export const OTHER = '(other)';

export type FeatureHistogram =
  | {
      readonly kind: 'numerical';
      /** Inner edges; bin 0 is below edges[0], bin i is [edges[i−1], edges[i]), the last is above. */
      readonly edges: number[];
      readonly baseline: number[];
      readonly current: number[];
    }
  | {
      readonly kind: 'categorical';
      readonly categories: string[];
      readonly baseline: number[];
      readonly current: number[];
    };

function shares(counts: number[]): number[] {
  const total = counts.reduce((a, c) => a + c, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
}

function binOf(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x < edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function fromNumericSketch(edges: readonly number[], s: NumericSketch | null): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  if (!s) return counts;
  s.counts.forEach((c, i) => {
    if (c > 0) counts[binOf(edges, s.sums[i]! / c)]! += c;
  });
  return counts;
}

function fromCategoricalSketch(s: CategoricalSketch): Map<string, number> {
  return new Map(Object.entries(s.counts));
}

/** The histogram of one feature; `current` is the window's raw column or its sketch. */
export function featureHistogram(
  f: FeatureProfile,
  current: WindowColumn | NumericSketch | CategoricalSketch | undefined,
): FeatureHistogram | undefined {
  if (f.kind === 'numerical') {
    const q = f.summary.quantiles;
    if (!q || !(q.p99 > q.p01)) return undefined;
    const width = (q.p99 - q.p01) / HISTOGRAM_BINS;
    const edges = Array.from({ length: HISTOGRAM_BINS + 1 }, (_, i) => q.p01 + i * width);
    const baseline = fromNumericSketch(edges, f.sketch);
    let now = new Array<number>(edges.length + 1).fill(0);
    if (current instanceof Float64Array) {
      for (const x of current) if (!Number.isNaN(x)) now[binOf(edges, x)]!++;
    } else if (current && !Array.isArray(current) && (current as NumericSketch).kind === 'numeric') {
      now = fromNumericSketch(edges, current as NumericSketch);
    }
    return { kind: 'numerical', edges, baseline: shares(baseline), current: shares(now) };
  }
  const base = fromCategoricalSketch(f.sketch);
  let now = new Map<string, number>();
  if (Array.isArray(current)) {
    for (const v of current as readonly (string | null)[]) if (v !== null) now.set(v, (now.get(v) ?? 0) + 1);
  } else if (current && (current as CategoricalSketch).kind === 'categorical') {
    now = fromCategoricalSketch(current as CategoricalSketch);
  }
  // Ranked by share on either side, summed: a category new in the window shows however small
  // the window is against the baseline.
  const total = new Map<string, number>();
  for (const m of [base, now]) {
    const n = [...m.values()].reduce((a, c) => a + c, 0);
    for (const [k, c] of m) total.set(k, (total.get(k) ?? 0) + (n > 0 ? c / n : 0));
  }
  const top = [...total.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, HISTOGRAM_CATEGORIES)
    .map(([k]) => k);
  const rest = total.size > top.length;
  const categories = rest ? [...top, OTHER] : top;
  const count = (m: Map<string, number>) => {
    const out = top.map((k) => m.get(k) ?? 0);
    if (rest) out.push([...m].filter(([k]) => !top.includes(k)).reduce((a, [, c]) => a + c, 0));
    return shares(out);
  };
  return { kind: 'categorical', categories, baseline: count(base), current: count(now) };
}
