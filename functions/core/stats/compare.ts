/**
 * All metrics of one feature under the snake_case names used by the reference cases and
 * scipy's check.py (test/fixtures/drift/cases, `serval drift compare`).
 */

import { validationFailed } from '../kernel/errors.js';
import { categoricalMetrics } from './categorical.js';
import { numericalMetrics } from './numerical.js';
import type { CategoricalValue, NumericValue } from './samples.js';

export type MetricRecord = Record<string, number | string>;

export const NUMERICAL_METRIC_NAMES = [
  'ks_statistic',
  'ks_pvalue_auto',
  'ks_pvalue_asymp',
  'ks_pvalue_kolmogorov',
  'ks_method_auto',
  'wasserstein',
  'wasserstein_norm',
  'psi',
  'js_distance',
  'js_distance_raw',
] as const;

export const CATEGORICAL_METRIC_NAMES = [
  'chi2_stat',
  'chi2_pvalue',
  'chi2_df',
  'psi',
  'js_distance',
  'js_distance_raw',
] as const;

export function compareColumns(
  kind: 'numerical' | 'categorical',
  reference: ArrayLike<CategoricalValue>,
  current: ArrayLike<CategoricalValue>,
): MetricRecord {
  if (kind === 'numerical') {
    const m = numericalMetrics(reference as ArrayLike<NumericValue>, current as ArrayLike<NumericValue>);
    return {
      ks_statistic: m.ksStatistic,
      ks_pvalue_auto: m.ksPValueAuto,
      ks_pvalue_asymp: m.ksPValueAsymp,
      ks_pvalue_kolmogorov: m.ksPValueKolmogorov,
      ks_method_auto: m.ksMethodAuto,
      wasserstein: m.wasserstein,
      wasserstein_norm: m.wassersteinNorm,
      psi: m.psi,
      js_distance: m.jsDistance,
      js_distance_raw: m.jsDistanceRaw,
    };
  }
  if (kind === 'categorical') {
    const m = categoricalMetrics(reference, current);
    return {
      chi2_stat: m.chi2Stat,
      chi2_pvalue: m.chi2PValue,
      chi2_df: m.chi2Df,
      psi: m.psi,
      js_distance: m.jsDistance,
      js_distance_raw: m.jsDistanceRaw,
    };
  }
  throw validationFailed(`unknown feature kind '${String(kind)}' (expected numerical or categorical)`);
}
