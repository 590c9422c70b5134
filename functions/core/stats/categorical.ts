/**
 * Drift metrics for one categorical feature over the union of categories seen on either side:
 * chi-square goodness of fit (current counts vs floored reference proportions), PSI and
 * Jensen–Shannon distance. Definitions: docs/drift-statistics.md.
 */
import { binnedMetrics, chiSquareGoodnessOfFit } from './binned.js';
import { type CategoricalValue, type CategoryCounts, countCategories, isCategoryCounts } from './samples.js';

export interface CategoricalMetrics {
  readonly n1: number;
  readonly n2: number;
  /** Union of categories, sorted; the count vectors below follow this order. */
  readonly categories: readonly string[];
  readonly chi2Stat: number;
  readonly chi2PValue: number;
  readonly chi2Df: number;
  readonly psi: number;
  readonly jsDistance: number;
  readonly jsDistanceRaw: number;
}

export interface AlignedCounts {
  readonly categories: string[];
  readonly ref: Float64Array;
  readonly cur: Float64Array;
}

/** Both count maps over the union of their keys (0 where a side lacks a category). */
export function alignCounts(
  ref: ReadonlyMap<string, number>,
  cur: ReadonlyMap<string, number>,
): AlignedCounts {
  const keys = new Set<string>(ref.keys());
  for (const k of cur.keys()) keys.add(k);
  const categories = [...keys].sort();
  const r = new Float64Array(categories.length);
  const c = new Float64Array(categories.length);
  categories.forEach((k, i) => {
    r[i] = ref.get(k) ?? 0;
    c[i] = cur.get(k) ?? 0;
  });
  return { categories, ref: r, cur: c };
}

export function categoricalMetricsFromCounts(ref: CategoryCounts, cur: CategoryCounts): CategoricalMetrics {
  const aligned = alignCounts(ref.counts, cur.counts);
  const n1 = ref.total;
  const n2 = cur.total;
  const chi = chiSquareGoodnessOfFit(aligned.ref, n1, aligned.cur, n2);
  const binned = binnedMetrics(aligned.ref, n1, aligned.cur, n2);
  return {
    n1,
    n2,
    categories: aligned.categories,
    chi2Stat: chi.statistic,
    chi2PValue: chi.pValue,
    chi2Df: chi.df,
    ...binned,
  };
}

export function categoricalMetrics(
  reference: ArrayLike<CategoricalValue> | CategoryCounts,
  current: ArrayLike<CategoricalValue> | CategoryCounts,
): CategoricalMetrics {
  const ref = isCategoryCounts(reference) ? reference : countCategories(reference, 'reference');
  const cur = isCategoryCounts(current) ? current : countCategories(current, 'current');
  return categoricalMetricsFromCounts(ref, cur);
}
