/**
 * Tolerances of the drift reference set (test/fixtures/drift/cases, generated with numpy 1.24.2 /
 * scipy 1.10.1): pass if |a − e| ≤ atol or |a − e| ≤ rtol·|e|; `null` = exact equality.
 */
import { caseDirectory, type Tolerance, withinTolerance } from '../../support/reference-set.js';

export const TOLERANCES: Readonly<Record<string, Tolerance>> = {
  ks_statistic: [0, 1e-12],
  ks_pvalue_auto: [1e-6, 1e-9],
  ks_pvalue_asymp: [1e-6, 1e-9],
  ks_pvalue_kolmogorov: [1e-6, 1e-9],
  ks_method_auto: null,
  wasserstein: [1e-9, 1e-12],
  wasserstein_norm: [1e-9, 1e-12],
  psi: [1e-9, 1e-9],
  js_distance: [1e-9, 1e-9],
  js_distance_raw: [1e-9, 1e-9],
  chi2_stat: [1e-9, 1e-9],
  chi2_pvalue: [1e-6, 1e-9],
  chi2_df: null,
};

export function agrees(metric: string, actual: unknown, expected: unknown): boolean {
  return withinTolerance(TOLERANCES, metric, actual, expected);
}

export interface ReferenceCase {
  readonly file: string;
  readonly name: string;
  readonly kind: 'numerical' | 'categorical';
  readonly reference: (number | string | null)[];
  readonly current: (number | string | null)[];
  readonly expected: Record<string, number | string>;
}

const cases = caseDirectory(new URL('../../fixtures/drift/cases/', import.meta.url));

export const CASES_DIR = cases.dir;

export const caseFiles = cases.files;

export function loadCase(file: string): ReferenceCase {
  return { ...(cases.read(file) as Omit<ReferenceCase, 'file'>), file };
}
