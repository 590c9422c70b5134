/**
 * Tolerances of the drift reference set (test/fixtures/drift/cases, generated with numpy 1.24.2 /
 * scipy 1.10.1): pass if |a − e| ≤ atol or |a − e| ≤ rtol·|e|; `null` = exact equality.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const TOLERANCES: Readonly<Record<string, readonly [rtol: number, atol: number] | null>> = {
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
  const tol = TOLERANCES[metric];
  if (tol === undefined) throw new Error(`no tolerance for metric ${metric}`);
  if (tol === null) return actual === expected;
  if (typeof actual !== 'number' || typeof expected !== 'number' || !Number.isFinite(actual)) return false;
  const [rtol, atol] = tol;
  const diff = Math.abs(actual - expected);
  return diff <= atol || diff <= rtol * Math.abs(expected);
}

export interface ReferenceCase {
  readonly file: string;
  readonly name: string;
  readonly kind: 'numerical' | 'categorical';
  readonly reference: (number | string | null)[];
  readonly current: (number | string | null)[];
  readonly expected: Record<string, number | string>;
}

export const CASES_DIR = fileURLToPath(new URL('../../fixtures/drift/cases/', import.meta.url));

export function caseFiles(): string[] {
  return readdirSync(CASES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

export function loadCase(file: string): ReferenceCase {
  const data = JSON.parse(readFileSync(`${CASES_DIR}${file}`, 'utf8')) as Omit<ReferenceCase, 'file'>;
  return { ...data, file };
}
