/**
 * Test choice, corrections and verdicts on hand-made data whose answers are worked out in the
 * comments (closed forms, not engine output).
 */
import { describe, expect, it } from 'vitest';
import {
  adjustPValues,
  defaultTest,
  driftReport,
  type FeatureColumns,
} from '../../../functions/core/stats/drift-report.js';
import { domainError } from '../../support/expect-code.js';

const range = (n: number, offset = 0) => Array.from({ length: n }, (_, i) => i + offset);
const repeat = <T>(value: T, n: number): T[] => Array.from({ length: n }, () => value);
/** Population std of 0..n−1. */
const gridStd = (n: number) => Math.sqrt((n * n - 1) / 12);

// 200 rows each side, same values: KS D = 0, p = 1.
const stable: FeatureColumns = { name: 'stable', reference: range(200), current: range(200).reverse() };
// Disjoint supports: D = 1, exact p = 2 / C(400, 200) ≈ 1e-119 — far below 0.05.
const moved: FeatureColumns = { name: 'moved', reference: range(200), current: range(200, 1000) };
// 2000 reference rows → normalised Wasserstein. A pure shift s gives W = s, so the score is
// s / std(0..1999); s = 0.15·std → score 0.15: drifted, 1.5× the 0.1 threshold → medium.
const SHIFT = 0.15 * gridStd(2000);
const big: FeatureColumns = {
  name: 'big',
  reference: range(2000),
  current: range(2000).map((x) => x + SHIFT),
};
// Same proportions 3:2:1 on both sides → chi-square statistic 0, p = 1.
const colour: FeatureColumns = {
  name: 'colour',
  reference: [...repeat('red', 300), ...repeat('green', 200), ...repeat('blue', 100)],
  current: [...repeat('red', 150), ...repeat('green', 100), ...repeat('blue', 50)],
};
// Two categories, 100 rows → two-proportion z-test on 'no' (first in sorted order):
// p1 = 0.5, p2 = 0.2, pooled 0.35 → z = 0.3 / √(0.35·0.65·0.02) = 4.4475;
// two-sided p = 8.6877e-6 (scipy: 2·norm.sf(z)) → log10(0.05/p) = 3.76 → high.
const flag: FeatureColumns = {
  name: 'flag',
  reference: [...repeat('yes', 50), ...repeat('no', 50)],
  current: [...repeat('yes', 80), ...repeat('no', 20), null, null],
};

describe('default test choice (Evidently)', () => {
  it('switches from p-values to distances above 1000 reference rows', () => {
    expect(defaultTest('numerical', 1000, 50)).toBe('ks');
    expect(defaultTest('numerical', 1001, 50)).toBe('wasserstein');
    expect(defaultTest('categorical', 1000, 3)).toBe('chisquare');
    expect(defaultTest('categorical', 1000, 2)).toBe('z');
    expect(defaultTest('categorical', 1001, 40)).toBe('jensenshannon');
  });

  it('tests numbers with at most 5 distinct values as categories', () => {
    expect(defaultTest('numerical', 500, 5)).toBe('chisquare');
    expect(defaultTest('numerical', 500, 2)).toBe('z');
    expect(defaultTest('numerical', 5000, 3)).toBe('jensenshannon');
  });
});

describe('driftReport', () => {
  it('tests each feature, then gives the dataset verdict', () => {
    const report = driftReport([stable, moved, big, colour, flag]);
    const byName = Object.fromEntries(report.features.map((f) => [f.name, f]));

    expect(byName.stable).toMatchObject({ kind: 'numerical', test: 'ks', statistic: 0, pValue: 1 });
    expect(byName.stable).toMatchObject({ drifted: false, severity: 'low', threshold: 0.05 });

    expect(byName.moved).toMatchObject({ test: 'ks', statistic: 1, drifted: true, severity: 'critical' });
    expect(byName.moved!.pValue!).toBeLessThan(1e-100);

    expect(byName.big).toMatchObject({
      test: 'wasserstein',
      threshold: 0.1,
      drifted: true,
      severity: 'medium',
    });
    expect(byName.big!.score!).toBeCloseTo(0.15, 12);
    expect(byName.big!.pValue).toBeUndefined();

    expect(byName.colour).toMatchObject({ kind: 'categorical', test: 'chisquare', drifted: false });
    expect(byName.colour!.statistic).toBeCloseTo(0, 12);
    expect(byName.colour!.pValue!).toBeCloseTo(1, 12);

    expect(byName.flag).toMatchObject({
      test: 'z',
      drifted: true,
      severity: 'high',
      nReference: 100,
      nCurrent: 100,
    });
    expect(byName.flag!.statistic).toBeCloseTo(0.3 / Math.sqrt(0.35 * 0.65 * 0.02), 12);
    expect(Math.abs(byName.flag!.pValue! - 8.687711677000046e-6)).toBeLessThan(1e-6 * 8.7e-6);

    // 3 of 5 drifted ≥ 0.5 → dataset drift; one drifted feature is critical → critical.
    expect(report).toMatchObject({
      driftedCount: 3,
      driftedShare: 0.6,
      datasetDrift: true,
      severity: 'critical',
    });
    expect(report.recommendation).toMatch(/roll back/);
    expect(report.recommendation).toMatch(/moved, big, flag/);
  });

  it('uses Evidently’s ≥ for the drift share, and softer verdicts without critical features', () => {
    // 1 of 2 drifted (big, medium): share 0.5.
    const atHalf = driftReport([stable, big]);
    expect(atHalf).toMatchObject({ driftedShare: 0.5, datasetDrift: true, severity: 'high' });
    expect(atHalf.recommendation).toMatch(/retrain/);

    const stricter = driftReport([stable, big], { driftShare: 0.75 });
    expect(stricter).toMatchObject({ datasetDrift: false, severity: 'medium' });
    expect(stricter.recommendation).toMatch(/investigate/);
  });

  it('reports low severity when nothing drifted', () => {
    const report = driftReport([stable, colour]);
    expect(report).toMatchObject({ driftedCount: 0, datasetDrift: false, severity: 'low' });
    expect(report.recommendation).toMatch(/keep monitoring/);
  });

  it('infers numbers with ≤ 5 distinct values as categorical tests', () => {
    // {0,1,2} in 3:1:1 on 500 rows vs the same on 250 → chi-square, statistic 0.
    const ref = [...repeat(0, 300), ...repeat(1, 100), ...repeat(2, 100)];
    const cur = [...repeat(0, 150), ...repeat(1, 50), ...repeat(2, 50)];
    const [f] = driftReport([{ name: 'level', reference: ref, current: cur }]).features;
    expect(f).toMatchObject({ kind: 'numerical', test: 'chisquare', drifted: false });
  });

  it('honours per-feature overrides of test and threshold', () => {
    // moved: W = 1000 (pure shift), std(0..199) = 57.7350… → score 17.32 < 100.
    const report = driftReport([moved], { overrides: { moved: { test: 'wasserstein', threshold: 100 } } });
    const [f] = report.features;
    expect(f).toMatchObject({ test: 'wasserstein', threshold: 100, drifted: false });
    expect(f!.score!).toBeCloseTo(1000 / gridStd(200), 9);
  });

  it('rejects impossible overrides and inputs with a typed error', () => {
    expect(() => driftReport([colour], { overrides: { colour: { test: 'ks' } } })).toThrow(
      domainError('validation_failed'),
    );
    expect(() => driftReport([stable], { overrides: { stable: { threshold: 1.5 } } })).toThrow(
      /out of range/,
    );
    expect(() => driftReport([stable], { overrides: { stabel: { threshold: 0.01 } } })).toThrow(
      /unknown feature/,
    );
    expect(() => driftReport([stable], { overrides: { stable: { test: 'anderson' as 'ks' } } })).toThrow(
      /unknown test/,
    );
    expect(() => driftReport([])).toThrow(domainError('validation_failed'));
    expect(() => driftReport([stable, stable])).toThrow(/duplicate/);
    expect(() => driftReport([{ name: 'empty', reference: [null, null], current: [1] }])).toThrow(
      /no values left/,
    );
  });
});

describe('multiple-testing correction', () => {
  it('adjusts p-values by Bonferroni and Benjamini–Hochberg', () => {
    const p = [0.01, 0.04, 0.03];
    const bonf = adjustPValues(p, 'bonferroni');
    for (const [i, e] of [0.03, 0.12, 0.09].entries()) expect(bonf[i]).toBeCloseTo(e, 15);
    // BH on sorted (0.01, 0.03, 0.04): 0.04·3/3 = 0.04; min(0.04, 0.03·3/2) = 0.04; 0.01·3 = 0.03.
    const bh = adjustPValues(p, 'benjamini-hochberg');
    for (const [i, e] of [0.03, 0.04, 0.04].entries()) expect(bh[i]).toBeCloseTo(e, 15);
    expect(adjustPValues([0.9, 0.8], 'bonferroni')).toEqual([1, 1]);
  });

  it('can turn a marginal feature back to not drifted', () => {
    // 5 vs 5 disjoint values: exact KS p = 2 / C(10, 5) = 2/252 = 0.0079 < 0.05 uncorrected;
    // with 7 stable features m = 8 → 0.0635 under both corrections.
    const marginal: FeatureColumns = { name: 'marginal', reference: range(5), current: range(5, 100) };
    const stables = range(7).map((i) => ({ ...stable, name: `stable${i}` }));
    const plain = driftReport([marginal, ...stables]);
    expect(plain.features[0]).toMatchObject({ drifted: true });
    expect(plain.features[0]!.pValue!).toBeCloseTo(2 / 252, 14);
    for (const correction of ['bonferroni', 'benjamini-hochberg'] as const) {
      const corrected = driftReport([marginal, ...stables], { correction });
      expect(corrected.features[0]).toMatchObject({ drifted: false });
      expect(corrected.features[0]!.adjustedPValue!).toBeCloseTo((8 * 2) / 252, 14);
      expect(corrected.severity).toBe('low');
    }
  });
});
