/**
 * Alerts: raised only for drifted checks, with an id that depends on the model, the window and
 * the baseline and on nothing else — so a redelivered or re-run check maps to the same alert.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { actionFor, alertForCheck, alertId } from '../../../functions/core/monitoring/alerts.js';
import { buildBaseline } from '../../../functions/core/monitoring/baseline.js';
import { type DriftCheckResult, runDriftCheck } from '../../../functions/core/monitoring/check.js';
import { DEFAULT_POLICY, type MonitoringPolicy } from '../../../functions/core/monitoring/policy.js';
import { WindowAccumulator } from '../../../functions/core/monitoring/window.js';
import { generator } from '../../support/sketch-scenarios.js';

const from = '2024-05-02T00:00:00.000Z';
const to = '2024-05-02T01:00:00.000Z';

function rows(n: number, seed: number, shift: { a?: number; b?: number }) {
  const g = generator(seed);
  return Array.from({ length: n }, () => ({
    a: g.normal() + (shift.a ?? 0),
    b: g.normal() + (shift.b ?? 0),
    c: g.normal(),
    d: g.normal(),
  }));
}

const baseline = buildBaseline({ version: '1.0.0', createdAt: from, rows: rows(3000, 1, {}) });

function run(
  shift: { a?: number; b?: number },
  opts: { n?: number; window?: { from: string; to: string }; policy?: MonitoringPolicy } = {},
): DriftCheckResult {
  const w = new WindowAccumulator(baseline, 50_000);
  for (const r of rows(opts.n ?? 2000, 2, shift)) w.add(r);
  return runDriftCheck({
    baseline,
    window: w,
    policy: opts.policy ?? DEFAULT_POLICY,
    windowRange: opts.window ?? { from, to },
    now: '2024-05-02T01:02:03.000Z',
  });
}

describe('when an alert is raised', () => {
  it('raises none without drift, or for a skipped check', () => {
    expect(alertForCheck({ model: 'churn', result: run({}), baselineId: 'b1' })).toBeUndefined();
    const skipped = run({ a: 3 }, { n: 10 });
    expect(skipped.status).toBe('skipped');
    expect(alertForCheck({ model: 'churn', result: skipped, baselineId: 'b1' })).toBeUndefined();
  });

  it('raises one for a single drifted feature (medium: investigate)', () => {
    const result = run({ a: 0.25 });
    const alert = alertForCheck({ model: 'churn', result, baselineId: 'b1' })!;
    expect(alert).toMatchObject({
      model: 'churn',
      baselineId: 'b1',
      baselineVersion: '1.0.0',
      status: 'open',
      severity: 'medium',
      action: 'investigate',
      datasetDrift: false,
      driftedCount: 1,
      featureCount: 4,
      window: { from, to },
      createdAt: '2024-05-02T01:02:03.000Z',
      mode: 'exact',
      rows: 2000,
    });
    expect(alert.title).toBe('churn: drift in 1 of 4 features (medium)');
    expect(alert.recommendation).toMatch(/investigate/);
    expect(alert.driftedFeatures).toEqual([
      {
        name: 'a',
        test: 'wasserstein',
        score: result.report!.features[0]!.score,
        threshold: 0.1,
        severity: 'medium',
      },
    ]);
    // A policy that only wants to hear of dataset drift stays quiet.
    expect(alertForCheck({ model: 'churn', result, baselineId: 'b1', minSeverity: 'high' })).toBeUndefined();
  });

  it('maps dataset drift to retrain and far-past-threshold drift to roll back', () => {
    const high = alertForCheck({ model: 'churn', result: run({ a: 0.25, b: 0.15 }), baselineId: 'b1' })!;
    expect(high).toMatchObject({ severity: 'high', action: 'retrain', datasetDrift: true });
    expect(high.title).toBe('churn: dataset drift, 2 of 4 features (high)');
    const critical = alertForCheck({ model: 'churn', result: run({ a: 3, b: 0.15 }), baselineId: 'b1' })!;
    expect(critical).toMatchObject({ severity: 'critical', action: 'rollback' });
    // Most severe feature first.
    expect(critical.driftedFeatures.map((f) => [f.name, f.severity])).toEqual([
      ['a', 'critical'],
      ['b', 'medium'],
    ]);
    expect(actionFor('low')).toBe('keep_monitoring');
  });
});

describe('alert ids', () => {
  const result = run({ a: 3 });

  it('is the first 32 hex characters of SHA-256 over model|from|to|baselineId', () => {
    const expected = createHash('sha256').update(`churn|${from}|${to}|b1`).digest('hex').slice(0, 32);
    expect(alertForCheck({ model: 'churn', result, baselineId: 'b1' })!.id).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{32}$/);
  });

  it('is the same for the same model, window and baseline, however often the check runs', () => {
    const again = run({ a: 3 });
    const a = alertForCheck({ model: 'churn', result, baselineId: 'b1' })!;
    const b = alertForCheck({ model: 'churn', result: again, baselineId: 'b1' })!;
    expect(b.id).toBe(a.id);
    expect(b).toEqual(a);
    // Even when the re-run saw more rows and reached another verdict, it is the same window.
    const later = alertForCheck({
      model: 'churn',
      result: run({ a: 3, b: 3 }, { n: 2500 }),
      baselineId: 'b1',
    })!;
    expect(later.id).toBe(a.id);
    // The same instants written differently.
    expect(alertId('churn', '2024-05-02T00:00:00Z', '2024-05-02T03:00:00+02:00', 'b1')).toBe(a.id);
  });

  it('differs for another window, model or baseline', () => {
    const id = alertId('churn', from, to, 'b1');
    const next = run({ a: 3 }, { window: { from: to, to: '2024-05-02T02:00:00.000Z' } });
    expect(alertForCheck({ model: 'churn', result: next, baselineId: 'b1' })!.id).not.toBe(id);
    expect(alertId('churn', from, '2024-05-02T01:00:00.001Z', 'b1')).not.toBe(id);
    expect(alertId('fraud', from, to, 'b1')).not.toBe(id);
    expect(alertId('churn', from, to, 'b2')).not.toBe(id);
  });
});
