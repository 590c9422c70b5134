/**
 * Data quality end to end on the local runtime: a window of captured predictions broken in the
 * ways SageMaker Model Monitor's constraint checks catch (missing values, wrong types, an unseen
 * category, an extra column), the scheduled check (EventBridge stand-in → scheduler → SQS →
 * worker) storing its quality report and raising exactly one alert, nothing new on a re-run, and
 * a clean window with no violation. Volume is not driven here: the hourly serving counts it reads
 * are written by the capture worker only for served predictions, over days of history; the unit
 * tests (test/unit/monitoring/quality-service.test.ts) drive it through the same port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Captures } from '../../functions/adapters/s3-captures.js';
import { tinyOnnxBase64 } from '../support/onnx-fixtures.js';
import { seededRandom } from '../support/random.js';
import { apiClient, localS3, type ServalProcess, startServal, waitFor } from '../support/serval-process.js';

let serval: ServalProcess;
let admin: ReturnType<typeof apiClient>;
let captures: S3Captures;
let destroy: () => void;

const PLANS = ['basic', 'pro', 'team'];

function cleanRows(n: number, seed: number): Record<string, unknown>[] {
  const g = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => ({
    age: 25 + Math.floor(g.uniform() * 40),
    income: Math.round(20_000 + g.uniform() * 60_000),
    plan: PLANS[i % 3]!,
  }));
}

beforeAll(async () => {
  // The 15-minute sweep fires every ~2 s.
  serval = await startServal({ env: { SERVAL_SCHEDULE_SCALE: '0.0025', SERVAL_LOG_LEVEL: 'INFO' } });
  admin = apiClient(serval.url, serval.adminKey);
  const { s3, bucket } = localS3(serval.dataDir);
  captures = new S3Captures(s3, bucket);
  destroy = () => s3.destroy();
}, 120_000);

afterAll(async () => {
  destroy?.();
  await serval?.stop();
});

interface QualityItem {
  id: string;
  trigger: string;
  rows: number;
  status: string;
  severity: string;
  violationCount: number;
  alertId?: string;
  window: { from: string; to: string };
  report: { violations: { check: string; feature: string; observed: number }[] };
  volume: { status: string };
}

describe('data quality', () => {
  let scheduled: QualityItem;

  it('registers a model whose inputs have a category', async () => {
    expect((await admin('POST', '/v1/models', { name: 'shop' })).status).toBe(201);
    const reg = await admin('POST', '/v1/models/shop/versions', {
      version: '1.0.0',
      artifact: { base64: tinyOnnxBase64('shop') },
      inputSchema: {
        features: [
          { name: 'age', type: 'float' },
          { name: 'income', type: 'float' },
          { name: 'plan', type: 'category', categories: PLANS },
        ],
      },
    });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
  });

  it('has a broken window of captured predictions (written as the capture worker does)', async () => {
    // 200 rows in the last 40 minutes: 10 % without age, 3 % with age as a string, 5 % with a
    // plan the baseline never saw, and every row with a field the model does not take.
    const now = Date.now();
    const rows = cleanRows(200, 9).map((r, i) => ({
      ...r,
      ...(i < 20 ? { age: null } : i < 26 ? { age: 'forty' } : {}),
      ...(i >= 190 ? { plan: 'enterprise' } : {}),
      coupon: 'SPRING',
    }));
    await captures.writeCaptures(
      'shop',
      rows.map((instance, i) => ({
        at: new Date(now - 40 * 60_000 + i * 10_000).toISOString(),
        version: '1.0.0',
        instance,
      })),
      'broken',
    );
    const baseline = await admin('PUT', '/v1/models/shop/baseline', { rows: cleanRows(1000, 3) });
    expect(baseline.status, JSON.stringify(baseline.body)).toBe(200);
  });

  it('the scheduled check stores a quality report with the violations and raises one alert', {
    timeout: 60_000,
  }, async () => {
    scheduled = await waitFor(serval, 'a scheduled quality report with rows', async () => {
      const res = await admin('GET', '/v1/models/shop/quality');
      expect(res.status).toBe(200);
      return (res.body.items as QualityItem[]).find((r) => r.trigger === 'schedule' && r.rows > 0);
    });
    expect(scheduled).toMatchObject({ status: 'ok', rows: 200, severity: 'high', violationCount: 4 });
    const by = Object.fromEntries(
      scheduled.report.violations.map((v) => [`${v.check}:${v.feature}`, v.observed]),
    );
    expect(by).toEqual({
      'missing:age': 0.1,
      'type_mismatch:age': 0.03,
      'unseen_category:plan': 0.05,
      'extra_column:coupon': 1,
    });
    // The worker reads the serving counts (nothing served yet: too little history to judge).
    expect(scheduled.volume.status).toBe('ok');
    expect(scheduled.alertId).toMatch(/^[0-9a-f]{32}$/);
    const alerts = await admin('GET', '/v1/alerts?model=shop');
    const quality = alerts.body.items.filter((a: { kind: string }) => a.kind === 'quality');
    expect(quality).toHaveLength(1);
    expect(quality[0]).toMatchObject({ id: scheduled.alertId, severity: 'high', status: 'open' });
    expect(quality[0].recommendation).toEqual(expect.any(String));
  });

  it('raises nothing new when the same window is checked again', async () => {
    const again = await admin('POST', '/v1/models/shop/drift/check', scheduled.window);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    const reports = await admin('GET', '/v1/models/shop/quality?limit=100');
    const rerun = (reports.body.items as QualityItem[]).find((r) => r.id === again.body.qualityReportId);
    expect(rerun).toMatchObject({ trigger: 'manual', alertId: scheduled.alertId, violationCount: 4 });
    const alerts = await admin('GET', '/v1/alerts?model=shop');
    expect(alerts.body.items.filter((a: { kind: string }) => a.kind === 'quality')).toHaveLength(1);
  });

  it('a clean window has no violation', async () => {
    const from = new Date(Date.UTC(2026, 0, 5, 10));
    await captures.writeCaptures(
      'shop',
      cleanRows(300, 21).map((instance, i) => ({
        at: new Date(from.getTime() + i * 10_000).toISOString(),
        version: '1.0.0',
        instance,
      })),
      'clean',
    );
    const res = await admin('POST', '/v1/models/shop/drift/check', {
      from: from.toISOString(),
      to: new Date(from.getTime() + 3600_000).toISOString(),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const reports = await admin('GET', '/v1/models/shop/quality?limit=100');
    const clean = (reports.body.items as QualityItem[]).find((r) => r.id === res.body.qualityReportId);
    expect(clean).toMatchObject({ rows: 300, status: 'ok', severity: 'none', violationCount: 0 });
    expect(clean!.alertId).toBeUndefined();
    expect(clean!.volume.status).toBe('disabled'); // manual checks do not judge volume
  });

  it('answers 404 for an unknown model and 400 for a bad page size', async () => {
    expect((await admin('GET', '/v1/models/nope/quality')).status).toBe(404);
    expect((await admin('GET', '/v1/models/shop/quality?limit=0')).status).toBe(400);
  });
});
