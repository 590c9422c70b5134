/**
 * The engine against the scipy/numpy reference set: every metric present in each case's
 * `expected`, at the reference set's tolerances (including the optional ks_pvalue_asymp,
 * ks_pvalue_kolmogorov, ks_method_auto and js_distance_raw).
 */
import { describe, expect, it } from 'vitest';
import { compareColumns } from '../../../functions/core/stats/compare.js';
import { binnedNumericalMetrics } from '../../../functions/core/stats/numerical.js';
import { agrees, caseFiles, loadCase } from './tolerances.js';

const files = caseFiles();

describe('drift reference cases (scipy 1.10 / numpy 1.24)', () => {
  it('has all 42 case files', () => {
    expect(files).toHaveLength(42);
  });

  it.each(files)('%s', (file) => {
    const c = loadCase(file);
    const actual = compareColumns(c.kind, c.reference, c.current);
    const expectedMetrics = Object.keys(c.expected);
    expect(expectedMetrics.length).toBeGreaterThan(0);
    const mismatches = expectedMetrics
      .filter((metric) => !agrees(metric, actual[metric], c.expected[metric]))
      .map((metric) => `${metric}: got ${String(actual[metric])}, expected ${String(c.expected[metric])}`);
    expect(mismatches).toEqual([]);
  });

  it.each(files.filter((f) => f.includes('_num_')))('%s: PSI/JS computed on their own', (file) => {
    const c = loadCase(file);
    const m = binnedNumericalMetrics(c.reference as (number | null)[], c.current as (number | null)[]);
    expect(agrees('psi', m.psi, c.expected.psi)).toBe(true);
    expect(agrees('js_distance', m.jsDistance, c.expected.js_distance)).toBe(true);
    expect(agrees('js_distance_raw', m.jsDistanceRaw, c.expected.js_distance_raw)).toBe(true);
  });

  it('checks the optional metrics too', () => {
    const seen = new Set(files.flatMap((f) => Object.keys(loadCase(f).expected)));
    for (const m of ['ks_pvalue_asymp', 'ks_pvalue_kolmogorov', 'ks_method_auto', 'js_distance_raw']) {
      expect(seen.has(m)).toBe(true);
    }
  });
});
