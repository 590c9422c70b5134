/**
 * Performance from ground truth with in-memory ports: the report computes the window's metrics
 * from the labelled rows of the right version (hand-checked numbers), coverage from the hourly
 * counts, and says when the rows were capped; degradation judges each watched metric against the
 * registered value and tolerance in the metric's direction, only past minLabels; the promotion
 * gate lists every failed check.
 */
import { describe, expect, it } from 'vitest';
import type { HourAggregate, LabelledPrediction } from '../../../functions/core/inference/ports.js';
import { degradation, performanceReport } from '../../../functions/core/monitoring/performance-report.js';
import { PerformancePolicy } from '../../../functions/core/monitoring/policy.js';
import { gateFailures } from '../../../functions/core/registry/promotion-gate.js';
import type { Model, ModelVersion } from '../../../functions/core/registry/types.js';

const FROM = '2026-03-01T10:00:00.000Z';
const TO = '2026-03-01T12:00:00.000Z';

function version(v: string, metrics: Record<string, number>, kind: 'binary' | 'regression' = 'binary') {
  return {
    model: 'm',
    version: v,
    metrics,
    outputSchema: kind === 'binary' ? { kind, classes: ['no', 'yes'] } : { kind },
  } as unknown as ModelVersion;
}

function deps(rows: LabelledPrediction[], opts: { hours?: HourAggregate[]; maxRows?: number } = {}) {
  const versions = new Map([
    ['1.0.0', version('1.0.0', { accuracy: 0.9, auc: 0.95 })],
    ['2.0.0', version('2.0.0', { accuracy: 0.5 })],
  ]);
  const asked: { version?: string; limit: number }[] = [];
  return {
    asked,
    deps: {
      registry: {
        getModel: async () => ({ name: 'm', productionVersion: '1.0.0', latestVersion: '2.0.0' }) as Model,
        getVersion: async (_: string, v: string) => versions.get(v),
      },
      labels: {
        labelled: async (_m: string, from: Date, to: Date, o: { version?: string; limit: number }) => {
          asked.push(o);
          const inWindow = rows.filter(
            (r) =>
              Date.parse(r.at) >= from.getTime() &&
              Date.parse(r.at) < to.getTime() &&
              (!o.version || r.version === o.version),
          );
          return { rows: inWindow.slice(0, o.limit), truncated: inWindow.length > o.limit };
        },
      },
      serving: { aggregates: async () => opts.hours ?? [] },
      clock: { now: () => new Date(TO) },
      ...(opts.maxRows ? { maxRows: opts.maxRows } : {}),
    },
  };
}

const row = (
  id: string,
  predicted: string,
  actual: string,
  p: number,
  extra: Partial<LabelledPrediction> = {},
): LabelledPrediction => ({
  predictionId: id,
  version: '1.0.0',
  at: '2026-03-01T10:30:00.000Z',
  kind: 'binary',
  predicted,
  actual,
  probabilities: [1 - p, p],
  ...extra,
});

// Hand-computed: 4 rows, 3 right (accuracy 0.75); positives scored 0.9, 0.4; negatives 0.4, 0.2:
// pairs (0.9>0.4, 0.9>0.2, 0.4=0.4 half, 0.4>0.2) → AUC 3.5/4 = 0.875.
const ROWS = [
  row('a', 'yes', 'yes', 0.9),
  row('b', 'no', 'yes', 0.4),
  row('c', 'no', 'no', 0.4),
  row('d', 'no', 'no', 0.2),
  // Another version's row and one outside the window are not counted.
  row('e', 'yes', 'no', 0.9, { version: '2.0.0' }),
  row('f', 'yes', 'no', 0.9, { at: '2026-03-01T12:00:00.000Z' }),
];

describe('performanceReport', () => {
  it('computes the production version’s metrics over the window, with label coverage', async () => {
    const hour = (h: string, version: string, predictions: number, count: number) =>
      ({ version, hourStart: h, predictions, feedback: { count } }) as unknown as HourAggregate;
    const { deps: d } = deps(ROWS, {
      hours: [
        hour('2026-03-01T10:00:00.000Z', '1.0.0', 6, 4),
        hour('2026-03-01T11:00:00.000Z', '1.0.0', 2, 0),
        hour('2026-03-01T10:00:00.000Z', '2.0.0', 9, 1),
      ],
    });
    const report = await performanceReport(d, 'm', { from: FROM, to: TO });
    expect(report).toMatchObject({ version: '1.0.0', rows: 4, truncated: false, kind: 'binary' });
    expect(report.classification?.accuracy).toBe(0.75);
    expect(report.classification?.rocAuc).toBe(0.875);
    expect(report.classification?.confusion).toEqual({
      labels: ['no', 'yes'],
      matrix: [
        [2, 0],
        [1, 1],
      ],
    });
    expect(report.labelCoverage).toMatchObject({ labelled: 4, predictions: 8, share: 0.5 });
    expect(report.registered).toEqual({ accuracy: 0.9, auc: 0.95 });
  });

  it('says when the window held more labelled rows than it reads', async () => {
    const { deps: d, asked } = deps(ROWS, { maxRows: 3 });
    const report = await performanceReport(d, 'm', { from: FROM, to: TO });
    expect(asked[0]).toEqual({ version: '1.0.0', limit: 3 });
    expect(report).toMatchObject({ rows: 3, truncated: true, maxRows: 3 });
  });

  it('refuses a window that ends before it starts', async () => {
    const { deps: d } = deps(ROWS);
    await expect(performanceReport(d, 'm', { from: TO, to: FROM })).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });
});

describe('degradation', () => {
  it('flags a metric below registered − tolerance once minLabels labels exist', async () => {
    const { deps: d } = deps(ROWS);
    const report = await performanceReport(d, 'm', { from: FROM, to: TO });
    const policy = PerformancePolicy.parse({
      metrics: { accuracy: { tolerance: 0.1 }, rocAuc: { tolerance: 0.1, registeredAs: 'auc' } },
      minLabels: 4,
    });
    const judged = degradation(report, policy);
    expect(judged.status).toBe('ok');
    // accuracy 0.75 < 0.9 − 0.1; AUC 0.875 ≥ 0.95 − 0.1.
    expect(judged.degraded).toEqual([
      { metric: 'accuracy', observed: 0.75, registered: 0.9, tolerance: 0.1, bound: 0.8 },
    ]);
    expect(degradation(report, { ...policy, minLabels: 5 }).status).toBe('insufficient_labels');
    // A tolerance wide enough: nothing degraded.
    expect(
      degradation(
        report,
        PerformancePolicy.parse({ metrics: { accuracy: { tolerance: 0.2 } }, minLabels: 1 }),
      ).degraded,
    ).toEqual([]);
  });

  it('judges losses and errors upwards, and names what it cannot judge', async () => {
    const base = {
      model: 'm',
      version: '1',
      kind: 'regression',
      rows: 10,
      classification: null,
      regression: { n: 10, mae: 2, rmse: 3, r2: 0.5, mape: 0.1 },
      registered: { mae: 1.5, rmse: 3 },
    } as never;
    const judged = degradation(
      base,
      PerformancePolicy.parse({
        metrics: { mae: { tolerance: 0.4 }, rmse: { tolerance: 0 }, r2: { tolerance: 0.1 } },
        minLabels: 1,
      }),
    );
    expect(judged.degraded).toEqual([
      { metric: 'mae', observed: 2, registered: 1.5, tolerance: 0.4, bound: 1.9 },
    ]);
    expect(judged.unjudged).toEqual([
      { metric: 'r2', reason: 'the version was registered without metrics.r2' },
    ]);
  });
});

describe('gateFailures', () => {
  const stored = (dpd: number | null) => ({
    fairness: {
      sex: { ranAt: 't', by: 'p', report: { demographicParityDifference: { value: dpd, ci: null } } },
    },
  });
  const gate = {
    requireValidation: true,
    promotionGate: {
      fairness: [{ attribute: 'sex', metric: 'demographicParityDifference' as const, max: 0.1 }],
      noOpenCriticalQualityAlert: true,
    },
  };
  const critical = [{ id: 'q1', kind: 'quality', severity: 'high', title: 't' }];

  it('lists every failed check: validation, fairness bound and open critical quality alert', () => {
    const failed = gateFailures(gate, stored(0.3), critical);
    expect(failed.map((f) => f.check)).toEqual(['validation', 'fairness', 'quality_alert']);
    expect(failed[1]!.details).toMatchObject({
      attribute: 'sex',
      value: 0.3,
      max: 0.1,
      reason: 'out_of_bounds',
    });
  });

  it('passes a version within its bounds, and fails one without a report', () => {
    const validated = {
      validation: { passed: true, ranAt: 't', by: 'p', report: { rows: 10, metrics: {} } },
    };
    expect(gateFailures(gate, { ...validated, ...stored(0.05) }, [])).toEqual([]);
    // A medium quality alert or another kind's high alert is not critical here.
    expect(
      gateFailures(gate, { ...validated, ...stored(0.05) }, [
        { id: 'q2', kind: 'quality', severity: 'medium', title: 't' },
        { id: 'd1', kind: 'drift', severity: 'high', title: 't' },
      ]),
    ).toEqual([]);
    expect(gateFailures(gate, validated, [])[0]!.details).toMatchObject({ reason: 'no_report' });
    expect(gateFailures(gate, { ...validated, ...stored(null) }, [])[0]!.details).toMatchObject({
      reason: 'undefined',
    });
  });
});
