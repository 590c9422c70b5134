/**
 * Every reference case (scipy / mpmath values) through the engine, at the reference README's
 * tolerances, one test per case.
 */
import { describe, expect, it } from 'vitest';
import { parseCase, runCase } from '../../../functions/core/experiments/cases.js';
import { caseFiles, loadCase, mismatches } from './reference.js';

const files = caseFiles();

describe('A/B reference cases (scipy 1.10 / mpmath 1.2)', () => {
  it('has all 28 case files, every kind represented', () => {
    expect(files).toHaveLength(28);
    const kinds = new Set(files.map((f) => loadCase(f).kind));
    expect([...kinds].sort()).toEqual(['fixed_binary', 'fixed_continuous', 'msprt_stream', 'multiple']);
  });

  it.each(files.map((f) => [f.replace(/\.json$/, ''), f]))('%s', (_name, file) => {
    const c = loadCase(file);
    const result = runCase(parseCase(c));
    expect(Object.keys(result).sort()).toEqual(Object.keys(c.expected).sort());
    expect(mismatches(result, c.expected)).toEqual([]);
  });

  it('the comparison can fail: a perturbed value and a missing null are reported', () => {
    const c = loadCase('pub_fb_small_n.json');
    const result = runCase(parseCase(c)) as { comparisons: Record<string, Record<string, number>> };
    const bad = structuredClone(result);
    bad.comparisons.treatment!.p_value! *= 1 + 1e-8;
    expect(mismatches(bad, c.expected)).toHaveLength(1);
    expect(mismatches({ p_values: [0.5] }, { p_values: [null] })).toHaveLength(1);
  });
});
