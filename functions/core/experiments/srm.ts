/**
 * Sample-ratio mismatch: Pearson's chi-square goodness of fit of the observed assignment counts
 * against the configured weights. `ok` is false when p < threshold (default 0.001, GrowthBook's).
 * A mismatch means the assignment or the logging is broken, and the experiment's results should
 * not be trusted, whatever their p-values say.
 */

import { chiSquareSf } from '../stats/special.js';
import { check } from './errors.js';

export interface SrmResult {
  readonly chi2: number;
  readonly df: number;
  /** null when nothing has been observed yet (then ok is true: no evidence either way). */
  readonly p_value: number | null;
  readonly ok: boolean;
  /** Expected counts under the weights, in input order. */
  readonly expected: number[];
}

export const SRM_THRESHOLD = 0.001;

export function sampleRatioMismatch(
  counts: readonly number[],
  weights: readonly number[],
  threshold = SRM_THRESHOLD,
): SrmResult {
  check(counts.length === weights.length, 'counts and weights must have the same length');
  check(counts.length >= 2, 'need at least two variants');
  counts.forEach((c, i) => {
    check(Number.isSafeInteger(c) && c >= 0, `count ${i} must be a non-negative integer`);
  });
  weights.forEach((w, i) => {
    check(Number.isFinite(w) && w >= 0, `weight ${i} must be a finite number >= 0`);
  });
  const totalWeight = weights.reduce((s, w) => s + w, 0);
  check(totalWeight > 0, 'weights must not all be 0');
  check(threshold > 0 && threshold < 1, 'threshold must be in (0, 1)');
  const n = counts.reduce((s, c) => s + c, 0);
  const expected = weights.map((w) => (n * w) / totalWeight);
  // Variants with weight 0 take no part in the test, unless someone was assigned to them: that
  // alone is a mismatch (p = 0).
  let chi2 = 0;
  let active = 0;
  let impossible = false;
  for (let i = 0; i < counts.length; i++) {
    if (weights[i] === 0) {
      if (counts[i]! > 0) impossible = true;
      continue;
    }
    active++;
    const d = counts[i]! - expected[i]!;
    chi2 += (d * d) / expected[i]!;
  }
  const df = active - 1;
  if (impossible) return { chi2: Number.POSITIVE_INFINITY, df, p_value: 0, ok: false, expected };
  if (n === 0 || df === 0) return { chi2: 0, df, p_value: n === 0 ? null : 1, ok: true, expected };
  const p = chiSquareSf(chi2, df);
  return { chi2, df, p_value: p, ok: p >= threshold, expected };
}
