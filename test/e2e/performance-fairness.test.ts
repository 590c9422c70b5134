/**
 * Performance, fairness and the promotion gate end to end on the local runtime, over HTTP:
 * labelled traffic whose labels arrive after the window closed still counts in its predictions'
 * window, and /performance equals the metrics computed here from the same rows; a degradation
 * alert is raised once minLabels labels exist (and once only); fairness from traffic by a context
 * attribute the model never sees; a biased version refused production by the fairness gate,
 * with the failed check listed, then let through once an admin relaxes the gate.
 */
import { describe, expect, it } from 'vitest';
import { logisticRegressionOnnx } from '../../functions/core/onnx/models.js';
import { servalForFile } from '../support/lifecycle.js';
import { approveVersion, type Client, roleClients } from '../support/model-api.js';
import { type ServalProcess, waitFor } from '../support/serval-process.js';

let serval: ServalProcess;
let admin: Client;
let scientist: Client;
let approver: Client;
let predictor: Client;

const FEATURES = ['a', 'b', 'c'];
const inputSchema = { features: FEATURES.map((name) => ({ name, type: 'float' })) };
const N = 60;
// Feature a decides; it is high mostly in the north, so decisions differ by region although the
// model never sees the region.
const rows = Array.from({ length: N }, (_, i) => {
  const north = i % 2 === 0;
  const a = north ? (i % 6 < 4 ? 2 : 0) : i % 6 === 1 ? 2 : 0;
  return {
    instance: [a, (i % 5) / 5, 0],
    region: north ? 'north' : 'south',
    actual: i % 3 === 0 ? 'yes' : 'no',
  };
});
const onnx = () =>
  Buffer.from(
    logisticRegressionOnnx({
      weights: [2, 0.5, 0],
      bias: -1,
      featureNames: FEATURES,
      classes: ['no', 'yes'],
    }),
  ).toString('base64');

async function register(version: string) {
  const reg = await scientist('POST', '/v1/models/loans/versions', {
    version,
    artifact: { base64: onnx() },
    inputSchema,
    outputSchema: { kind: 'binary', classes: ['no', 'yes'] },
    metrics: { accuracy: 0.99 },
  });
  expect(reg.status, reg.text).toBe(201);
  // Approved but not promoted: the tests promote it themselves, to see the gate's answer.
  await approveVersion({ scientist, approver }, 'loans', version);
}

const toProduction = (version: string) =>
  approver('POST', `/v1/models/loans/versions/${version}/transition`, { stage: 'production' });

/** Rank-based AUC with ties counted half, computed independently of the platform. */
function auc(scores: number[], positive: boolean[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!positive[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (positive[j]) continue;
      pairs++;
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

servalForFile({
  setup: async (local) => {
    ({ serval } = local);
    ({ admin, scientist, approver, predictor } = await roleClients(serval, 'perf'));
    expect((await scientist('POST', '/v1/models', { name: 'loans' })).status).toBe(201);
  },
});

describe('performance from ground truth, fairness and the promotion gate', () => {
  const t0 = new Date(Date.now() - 60_000).toISOString();
  let windowEnd: string;
  let served: { id: string; predicted: string; p: number }[] = [];

  it('serves labelled traffic whose labels arrive after its window ends', async () => {
    await register('1.0.0');
    expect((await toProduction('1.0.0')).status).toBe(200);
    const res = await predictor('POST', '/v1/models/loans/predict', {
      instances: rows.map((r) => r.instance),
      context: rows.map((r) => ({ region: r.region })),
    });
    expect(res.status, res.text).toBe(200);
    served = res.body.predictionIds.map((id: string, i: number) => ({
      id,
      predicted: res.body.predictions[i],
      p: res.body.probabilities[i][1],
    }));
    // The window closes before any label is sent.
    await new Promise((r) => setTimeout(r, 20));
    windowEnd = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const baseline = await scientist('PUT', '/v1/models/loans/baseline', {
      rows: rows.map((r) => r.instance),
    });
    expect(baseline.status, baseline.text).toBe(200);
    const policy = await admin('PUT', '/v1/models/loans/policy', {
      performance: { metrics: { accuracy: { tolerance: 0.05 } }, minLabels: 40, windowMinutes: 60 },
    });
    expect(policy.status, policy.text).toBe(200);
  });

  const label = async (from: number, to: number) => {
    const items = served
      .slice(from, to)
      .map((s, k) => ({ predictionId: s.id, actual: rows[from + k]!.actual }));
    // Captures land within seconds; until then a label is 'unknown' and is sent again.
    await waitFor(serval, 'labels joined', async () => {
      const fb = await predictor('POST', '/v1/predictions/feedback', items);
      expect(fb.status, fb.text).toBe(200);
      return fb.body.unknown === 0 ? true : undefined;
    });
  };
  const check = (to = new Date(Date.now() + 60_000).toISOString()) =>
    scientist('POST', '/v1/models/loans/drift/check', { from: t0, to });
  const performanceAlerts = async () =>
    (
      (await admin('GET', '/v1/alerts?model=loans')).body.items as {
        kind: string;
        window: { to: string };
        details: { labels: number };
      }[]
    ).filter((a) => a.kind === 'performance');

  it('raises no degradation alert below minLabels, one once they exist, none again on a re-run', async () => {
    await label(0, 30);
    expect((await check()).status).toBe(200);
    expect(await performanceAlerts()).toEqual([]);
    await label(30, N);
    // The same window checked twice (a re-run, or a redelivered scheduled check): one alert.
    const to = new Date(Date.now() + 60_000).toISOString();
    expect((await check(to)).status).toBe(200);
    expect((await check(to)).status).toBe(200);
    // A scheduled check may judge its own window meanwhile; this window has one alert.
    const [alert, ...more] = (await performanceAlerts()).filter((a) => a.window.to === to);
    expect(more).toEqual([]);
    expect(alert!.details.labels).toBe(N);
  });

  it('computes /performance over the window as the rows give it, late labels included', async () => {
    const res = await scientist(
      'GET',
      `/v1/models/loans/performance?from=${encodeURIComponent(t0)}&to=${encodeURIComponent(windowEnd)}`,
    );
    expect(res.status, res.text).toBe(200);
    const r = res.body;
    expect(r).toMatchObject({ version: '1.0.0', rows: N, truncated: false, kind: 'binary' });
    const actual = rows.map((x) => x.actual);
    const correct = served.filter((s, i) => s.predicted === actual[i]).length;
    expect(r.classification.accuracy).toBeCloseTo(correct / N, 12);
    const tp = served.filter((s, i) => s.predicted === 'yes' && actual[i] === 'yes').length;
    const fp = served.filter((s, i) => s.predicted === 'yes' && actual[i] === 'no').length;
    const fn = served.filter((s, i) => s.predicted === 'no' && actual[i] === 'yes').length;
    const yes = r.classification.perClass.find((c: { label: string }) => c.label === 'yes');
    expect(yes.precision).toBeCloseTo(tp / (tp + fp), 12);
    expect(yes.recall).toBeCloseTo(tp / (tp + fn), 12);
    expect(r.classification.confusion.matrix).toEqual([
      [N - actual.filter((a) => a === 'yes').length - fp, fp],
      [fn, tp],
    ]);
    expect(r.classification.rocAuc).toBeCloseTo(
      auc(
        served.map((s) => s.p),
        actual.map((a) => a === 'yes'),
      ),
      12,
    );
    const logLoss = -served.reduce((s, x, i) => s + Math.log(actual[i] === 'yes' ? x.p : 1 - x.p), 0) / N;
    expect(r.classification.logLoss).toBeCloseTo(logLoss, 6);
    expect(r.labelCoverage).toMatchObject({ labelled: N, predictions: N, share: 1 });
  });

  it('judges fairness from traffic by a context attribute the model never saw', async () => {
    const res = await scientist(
      'GET',
      `/v1/models/loans/fairness?attribute=region&from=${encodeURIComponent(t0)}&to=${encodeURIComponent(windowEnd)}`,
    );
    expect(res.status, res.text).toBe(200);
    const rate = (region: string) => {
      const idx = rows.map((r, i) => (r.region === region ? i : -1)).filter((i) => i >= 0);
      return idx.filter((i) => served[i]!.predicted === 'yes').length / idx.length;
    };
    expect(res.body).toMatchObject({ rows: N, labelled: N, positive: 'yes', withoutAttribute: 0 });
    const groups = res.body.report.groups as { group: string; selectionRate: number; n: number }[];
    expect(groups.map((g) => [g.group, g.n])).toEqual([
      ['north', 30],
      ['south', 30],
    ]);
    expect(groups[0]!.selectionRate).toBeCloseTo(rate('north'), 12);
    expect(res.body.report.demographicParityDifference.value).toBeCloseTo(rate('north') - rate('south'), 12);
    expect(res.body.report.demographicParityDifference.ci).toHaveLength(2);
  });

  it('refuses a biased version at the fairness gate, listing the check, until an admin relaxes it', async () => {
    const gate = (max: number) => ({
      promotionGate: { fairness: [{ attribute: 'region', metric: 'demographicParityDifference', max }] },
    });
    expect((await admin('PATCH', '/v1/models/loans', gate(0.1))).status).toBe(200);
    await register('1.1.0');
    const noReport = await toProduction('1.1.0');
    expect(noReport.status).toBe(422);
    expect(noReport.body.error.code).toBe('gate_failed');
    expect(noReport.body.error.details.failedChecks).toMatchObject([
      { check: 'fairness', details: { reason: 'no_report' } },
    ]);

    const run = await scientist('POST', '/v1/models/loans/versions/1.1.0/fairness', {
      attribute: 'region',
      dataset: {
        instances: rows.map((r) => r.instance),
        labels: rows.map((r) => r.actual),
        groups: rows.map((r) => r.region),
      },
    });
    expect(run.status, run.text).toBe(200);
    const dpd = run.body.report.demographicParityDifference.value as number;
    expect(dpd).toBeGreaterThan(0.1);
    const version = await scientist('GET', '/v1/models/loans/versions/1.1.0');
    expect(version.body.fairness.region.demographicParityDifference.value).toBe(dpd);

    const refused = await toProduction('1.1.0');
    expect(refused.status).toBe(422);
    expect(refused.body.error.details.failedChecks).toEqual([
      expect.objectContaining({
        check: 'fairness',
        details: expect.objectContaining({
          attribute: 'region',
          value: dpd,
          max: 0.1,
          reason: 'out_of_bounds',
        }),
      }),
    ]);
    // A scientist cannot loosen it; an admin can.
    expect((await scientist('PATCH', '/v1/models/loans', gate(1))).status).toBe(403);
    expect((await admin('PATCH', '/v1/models/loans', gate(1))).status).toBe(200);
    const allowed = await toProduction('1.1.0');
    expect(allowed.status, allowed.text).toBe(200);
    expect(allowed.body.stage).toBe('production');
  });
});
