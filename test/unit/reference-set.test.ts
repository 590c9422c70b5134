/**
 * check.py's leaf rule as the drift and experiments reference tests share it
 * (test/support/reference-set.ts): a wrong rule would let every reference case pass or fail.
 */
import { describe, expect, it } from 'vitest';
import { caseDirectory, withinTolerance } from '../support/reference-set.js';

const TOL = { p: [1e-6, 1e-9], exact: null } as const;

describe('withinTolerance', () => {
  it('passes within atol or within rtol·|expected|, and fails just outside both', () => {
    expect(withinTolerance(TOL, 'p', 0.5 + 4e-7, 0.5)).toBe(true); // rtol·0.5 = 5e-7
    expect(withinTolerance(TOL, 'p', 0.5 + 6e-7, 0.5)).toBe(false);
    expect(withinTolerance(TOL, 'p', 1e-12 + 9e-10, 1e-12)).toBe(true); // atol
    expect(withinTolerance(TOL, 'p', 1e-12 + 2e-9, 1e-12)).toBe(false);
  });

  it('uses the given scale instead of |expected| (interval bounds use the wider bound)', () => {
    expect(withinTolerance(TOL, 'p', 0.01 + 5e-7, 0.01)).toBe(false);
    expect(withinTolerance(TOL, 'p', 0.01 + 5e-7, 0.01, 1)).toBe(true);
  });

  it('compares a null-tolerance metric exactly, rejects non-numbers and non-finite values, and throws on an unknown metric', () => {
    expect(withinTolerance(TOL, 'exact', 'exact', 'exact')).toBe(true);
    expect(withinTolerance(TOL, 'exact', 3, 3 + 1e-15)).toBe(false);
    expect(withinTolerance(TOL, 'p', null, 0)).toBe(false);
    expect(withinTolerance(TOL, 'p', '0.5', 0.5)).toBe(false);
    expect(withinTolerance(TOL, 'p', Number.NaN, 0.5)).toBe(false);
    expect(withinTolerance(TOL, 'p', Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(false);
    expect(() => withinTolerance(TOL, 'q', 1, 1)).toThrow(/no tolerance for metric q/);
  });
});

describe('caseDirectory', () => {
  it('lists the .json cases sorted and reads them', () => {
    const cases = caseDirectory(new URL('../fixtures/experiments/cases/', import.meta.url));
    const files = cases.files();
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((f) => f.endsWith('.json'))).toBe(true);
    expect([...files].sort()).toEqual(files);
    expect((cases.read(files[0]!) as { name: unknown }).name).toEqual(expect.any(String));
  });
});
