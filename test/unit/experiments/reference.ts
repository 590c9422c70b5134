/**
 * The A/B reference set (test/fixtures/experiments, numpy 1.24.2 / scipy 1.10.1 / mpmath 1.2.1)
 * and its tolerances, as check.py applies them: a leaf agrees if |a − e| ≤ atol or
 * |a − e| ≤ rtol·scale (scale = |e|, or the larger |bound| of the expected interval for CI
 * bounds); an expected null agrees only with null; rejection batch/n must be equal.
 */
import { caseDirectory, type Tolerance, withinTolerance } from '../../support/reference-set.js';

const cases = caseDirectory(new URL('../../fixtures/experiments/cases/', import.meta.url));

export const CASES_DIR = cases.dir;

const TOLERANCES: Readonly<Record<string, Tolerance>> = {
  p_value: [1e-9, 1e-12],
  p_values: [1e-9, 1e-12],
  bonferroni: [1e-9, 1e-12],
  bh: [1e-9, 1e-12],
  diff: [1e-10, 1e-12],
  lift: [1e-10, 1e-12],
  z: [1e-10, 1e-12],
  t: [1e-10, 1e-12],
  df: [1e-10, 1e-12],
  ci_lower: [1e-9, 1e-12],
  ci_upper: [1e-9, 1e-12],
  first_rejection_batch: null,
  first_rejection_n: null,
};

export interface ReferenceCase {
  readonly name: string;
  readonly kind: string;
  readonly params: Record<string, unknown>;
  readonly input: Record<string, unknown>;
  readonly expected: Record<string, unknown>;
}

export const caseFiles = cases.files;

export function loadCase(file: string): ReferenceCase {
  return cases.read(file) as ReferenceCase;
}

// An expected null (an undefined statistic) agrees only with null, whatever the metric.
function leafAgrees(metric: string, actual: unknown, expected: unknown, scale: number): boolean {
  if (expected === null) return actual === null;
  return withinTolerance(TOLERANCES, metric, actual, expected, scale);
}

/** Every disagreement between a result and a case's `expected`, as "path: got …, expected …". */
export function mismatches(actual: unknown, expected: unknown, path = '', metric = ''): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return [`${path}: got ${JSON.stringify(actual)?.slice(0, 80)}, expected a list of ${expected.length}`];
    }
    return expected.flatMap((e, i) => mismatches(actual[i], e, `${path}.${i}`, metric));
  }
  if (typeof expected === 'object' && expected !== null) {
    const exp = expected as Record<string, unknown>;
    const act = (typeof actual === 'object' && actual !== null ? actual : {}) as Record<string, unknown>;
    const ciScale =
      typeof exp.ci_lower === 'number' && typeof exp.ci_upper === 'number'
        ? Math.max(Math.abs(exp.ci_lower), Math.abs(exp.ci_upper))
        : 0;
    return Object.entries(exp).flatMap(([k, e]) => {
      const p = path ? `${path}.${k}` : k;
      if (typeof e === 'object' && e !== null) return mismatches(act[k], e, p, k);
      const scale = k === 'ci_lower' || k === 'ci_upper' ? ciScale : Math.abs(Number(e));
      return leafAgrees(k, act[k], e, scale) ? [] : [`${p}: got ${String(act[k])}, expected ${String(e)}`];
    });
  }
  const scale = Math.abs(Number(expected));
  return leafAgrees(metric, actual, expected, scale)
    ? []
    : [`${path}: got ${String(actual)}, expected ${String(expected)}`];
}
