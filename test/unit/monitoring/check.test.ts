/**
 * Drift checks. Exact mode is held to scipy (the reference fixtures) and to known outcomes on data
 * with and without a shift; sketch mode to the same outcomes and to the exact engine within the
 * sketch errors measured in docs/drift-statistics.md.
 */
import { describe, expect, it } from 'vitest';
import { buildBaseline } from '../../../functions/core/monitoring/baseline.js';
import { type DriftCheckResult, runDriftCheck } from '../../../functions/core/monitoring/check.js';
import { DEFAULT_POLICY, MonitoringPolicy } from '../../../functions/core/monitoring/policy.js';
import type { Row } from '../../../functions/core/monitoring/row-values.js';
import { WindowAccumulator } from '../../../functions/core/monitoring/window.js';
import { categoricalMetrics } from '../../../functions/core/stats/categorical.js';
import { driftReport } from '../../../functions/core/stats/drift-report.js';
import { numericalMetrics } from '../../../functions/core/stats/numerical.js';
import { generator } from '../../support/sketch-scenarios.js';
import { agrees, loadCase } from '../stats/tolerances.js';

const base = { version: '2.1.0', createdAt: '2024-05-01T00:00:00.000Z' };
const range = { from: '2024-05-02T00:00:00.000Z', to: '2024-05-02T01:00:00.000Z' };
const now = '2024-05-02T01:05:00.000Z';

function policy(p: Record<string, unknown> = {}) {
  return MonitoringPolicy.parse(p);
}

function check(
  referenceRows: readonly Row[],
  windowRows: readonly Row[],
  opts: { exactRowLimit?: number; policy?: MonitoringPolicy; maxSample?: number } = {},
): DriftCheckResult {
  const baseline = buildBaseline({ ...base, rows: referenceRows, maxSample: opts.maxSample });
  const window = new WindowAccumulator(baseline, opts.exactRowLimit ?? 50_000);
  for (const r of windowRows) window.add(r);
  return runDriftCheck({ baseline, window, policy: opts.policy ?? DEFAULT_POLICY, windowRange: range, now });
}

function feature(result: DriftCheckResult, name: string) {
  const f = result.report?.features.find((x) => x.name === name);
  if (!f) throw new Error(`no result for ${name}`);
  return f;
}

/** Three features: `shifted` moves by one standard deviation, `stable` does not, `plan` changes mix. */
function rows(n: number, seed: number, drift: boolean) {
  const g = generator(seed);
  return Array.from({ length: n }, () => ({
    shifted: g.normal() + (drift ? 1 : 0),
    stable: g.normal() * 2 + 3,
    plan: g.uniform() < (drift ? 0.7 : 0.3) ? 'pro' : 'free',
  }));
}

describe('exact mode', () => {
  it('gives scipy’s KS p-value on the fixture with a clear mean shift', () => {
    const c = loadCase('pub_num_mean_shift_0p5.json');
    const result = check(
      c.reference.map((x) => ({ x })),
      c.current.map((x) => ({ x })),
    );
    expect(result).toMatchObject({ status: 'ok', mode: 'exact', rows: 1000, baselineVersion: '2.1.0' });
    const f = feature(result, 'x');
    expect(f.test).toBe('ks');
    expect(f.statistic).toBe(c.expected.ks_statistic);
    expect(Math.abs(f.pValue! - (c.expected.ks_pvalue_auto as number))).toBeLessThanOrEqual(
      1e-6 * (c.expected.ks_pvalue_auto as number),
    );
    expect(f.drifted).toBe(true);
    expect(result.report).toMatchObject({ datasetDrift: true, severity: 'critical' });
  });

  it('finds no drift on the fixture without one, with scipy’s p-value', () => {
    const c = loadCase('pub_num_nodrift_normal_1000.json');
    const result = check(
      c.reference.map((x) => ({ x })),
      c.current.map((x) => ({ x })),
    );
    const f = feature(result, 'x');
    expect(f.test).toBe('ks');
    expect(agrees('ks_pvalue_auto', f.pValue, c.expected.ks_pvalue_auto)).toBe(true);
    expect(f.drifted).toBe(false);
    expect(result.report).toMatchObject({ datasetDrift: false, severity: 'low', driftedCount: 0 });
    expect(result.report!.recommendation).toMatch(/keep monitoring/);
  });

  it('flags the shifted features and not the stable one (distance tests above 1000 rows)', () => {
    const result = check(rows(3000, 1, false), rows(2000, 2, true));
    expect(result.mode).toBe('exact');
    expect(feature(result, 'shifted')).toMatchObject({ test: 'wasserstein', drifted: true });
    expect(feature(result, 'shifted').score).toBeGreaterThan(0.8);
    expect(feature(result, 'stable')).toMatchObject({ test: 'wasserstein', drifted: false });
    expect(feature(result, 'stable').score).toBeLessThan(0.05);
    expect(feature(result, 'plan')).toMatchObject({ test: 'jensenshannon', drifted: true });
    expect(result.report).toMatchObject({ driftedCount: 2, datasetDrift: true });
  });

  it('finds nothing when the window comes from the reference distribution', () => {
    const result = check(rows(3000, 1, false), rows(2000, 3, false));
    expect(result.report!.features.map((f) => f.drifted)).toEqual([false, false, false]);
    expect(result.report!.severity).toBe('low');
  });

  it('applies overrides, ignores and the correction of the policy', () => {
    const p = policy({
      correction: 'bonferroni',
      datasetDriftShare: 1,
      features: {
        stable: { ignore: true },
        shifted: { test: 'ks', threshold: 0.01 },
        plan: { test: 'chisquare' },
      },
    });
    const result = check(rows(3000, 1, false), rows(2000, 2, true), { policy: p });
    expect(result.report!.features.map((f) => f.name)).toEqual(['shifted', 'plan']);
    const shifted = feature(result, 'shifted');
    expect(shifted).toMatchObject({ test: 'ks', threshold: 0.01, drifted: true });
    expect(shifted.adjustedPValue).toBe(Math.min(1, shifted.pValue! * 2));
    expect(feature(result, 'plan')).toMatchObject({ test: 'chisquare', drifted: true });
    expect(result.report).toMatchObject({ correction: 'bonferroni', datasetDrift: true, driftShare: 1 });
  });

  it('chooses the test by the full reference’s size, not the sample’s', () => {
    // 3000 reference rows sampled to 800: the engine alone would run KS on the sample.
    const result = check(rows(3000, 1, false), rows(500, 2, false), { maxSample: 800 });
    const f = feature(result, 'stable');
    expect(f.test).toBe('wasserstein');
    expect(f.nReference).toBe(800);
    expect(f.note).toMatch(/full reference \(3000 values\)/);
  });

  it('leaves out features with no values in the window and says why', () => {
    const window = rows(100, 2, false).map((r) => ({ ...r, stable: null }));
    const result = check(rows(3000, 1, false), window);
    expect(result.report!.features.map((f) => f.name)).toEqual(['shifted', 'plan']);
    expect(result.untested).toEqual([{ name: 'stable', reason: 'no non-null values in the window' }]);
  });
});

describe('sketch mode', () => {
  const reference = rows(5000, 1, false);

  it('flags a clear shift and agrees with the exact engine on the distances', () => {
    const window = rows(200_000, 2, true);
    const result = check(reference, window, { exactRowLimit: 1000 });
    expect(result).toMatchObject({ status: 'ok', mode: 'sketch', rows: 200_000 });
    const exactW = numericalMetrics(
      reference.map((r) => r.shifted),
      window.map((r) => r.shifted),
    ).wassersteinNorm;
    const shifted = feature(result, 'shifted');
    expect(shifted).toMatchObject({
      test: 'wasserstein',
      drifted: true,
      nReference: 5000,
      nCurrent: 200_000,
    });
    expect(Math.abs(shifted.score! - exactW)).toBeLessThan(1e-3);
    // Categorical sketches are exact counts: the JS distance equals the raw-row one.
    const exactJs = categoricalMetrics(
      reference.map((r) => r.plan),
      window.map((r) => r.plan),
    ).jsDistance;
    expect(feature(result, 'plan').score).toBeCloseTo(exactJs, 12);
    expect(feature(result, 'plan').drifted).toBe(true);
    expect(feature(result, 'stable').drifted).toBe(false);
    expect(result.report).toMatchObject({ datasetDrift: true, driftedCount: 2 });
  });

  it('finds nothing on a window from the reference distribution', () => {
    const result = check(reference, rows(200_000, 3, false), { exactRowLimit: 1000 });
    expect(result.mode).toBe('sketch');
    for (const f of result.report!.features) {
      expect(f.drifted).toBe(false);
      expect(f.score!).toBeLessThan(0.05);
    }
    expect(result.report!.severity).toBe('low');
  });

  it('falls back from a p-value test on a numerical feature, and keeps exact chi-square on counts', () => {
    const p = policy({ features: { shifted: { test: 'ks', threshold: 0.01 }, plan: { test: 'chisquare' } } });
    const window = rows(20_000, 2, true);
    const result = check(reference, window, { exactRowLimit: 1000, policy: p });
    const shifted = feature(result, 'shifted');
    expect(shifted).toMatchObject({ test: 'wasserstein', threshold: 0.1, drifted: true });
    expect(shifted.note).toMatch(/'ks' needs raw rows/);
    const exact = categoricalMetrics(
      reference.map((r) => r.plan),
      window.map((r) => r.plan),
    );
    const plan = feature(result, 'plan');
    expect(plan.test).toBe('chisquare');
    expect(plan.statistic).toBeCloseTo(exact.chi2Stat, 9);
    expect(plan.pValue).toBe(exact.chi2PValue);
  });

  it('follows Evidently’s small-reference defaults where counts allow, and says where they do not', () => {
    const small = rows(800, 1, false);
    const window = rows(20_000, 2, true);
    const p = policy({ features: { stable: { threshold: 0.01 } } });
    const result = check(small, window, { exactRowLimit: 1000, policy: p });
    expect(result.mode).toBe('sketch');
    // Two categories, ≤ 1000 reference rows: the z-test, exact from counts — the same p-value the
    // engine gives on the raw rows.
    const raw = driftReport([
      { name: 'plan', reference: small.map((r) => r.plan), current: window.map((r) => r.plan) },
    ]).features[0]!;
    expect(raw.test).toBe('z');
    expect(feature(result, 'plan')).toMatchObject({ test: 'z', pValue: raw.pValue, drifted: true });
    // KS would be the default for the numbers; from sketches it is Wasserstein, at its own
    // threshold rather than the policy's p-value threshold.
    const stable = feature(result, 'stable');
    expect(stable).toMatchObject({ test: 'wasserstein', threshold: 0.1, drifted: false });
    expect(stable.note).toMatch(/p-value test, which needs raw rows.*threshold 0\.01 is for that test/);
  });

  it('checks a merged window sketch passed directly', () => {
    const baseline = buildBaseline({ ...base, rows: reference });
    const w = new WindowAccumulator(baseline, 50_000);
    for (const r of rows(3000, 2, true)) w.add(r);
    const result = runDriftCheck({
      baseline,
      window: w.toSketch(),
      policy: DEFAULT_POLICY,
      windowRange: range,
      now,
    });
    expect(result.mode).toBe('sketch');
    expect(feature(result, 'shifted').drifted).toBe(true);
    const other = buildBaseline({ ...base, rows: rows(5000, 9, false) });
    expect(() =>
      runDriftCheck({
        baseline: other,
        window: w.toSketch(),
        policy: DEFAULT_POLICY,
        windowRange: range,
        now,
      }),
    ).toThrow(/another baseline/);
  });
});

describe('skips', () => {
  it('skips a window with fewer rows than minRows', () => {
    const result = check(rows(500, 1, false), rows(29, 2, true));
    expect(result).toMatchObject({ status: 'skipped', rows: 29, window: range, checkedAt: now });
    expect(result.reason).toMatch(/29 rows.*minRows \(30\)/);
    expect(result.report).toBeUndefined();
    expect(check(rows(500, 1, false), rows(30, 2, true)).status).toBe('ok');
  });

  it('skips when every feature is ignored', () => {
    const p = policy({
      features: { shifted: { ignore: true }, stable: { ignore: true }, plan: { ignore: true } },
    });
    const result = check(rows(500, 1, false), rows(100, 2, true), { policy: p });
    expect(result).toMatchObject({ status: 'skipped', reason: 'no feature could be tested' });
  });
});
