/**
 * Data quality and volume in the monitoring service's check, with in-memory ports: the report of
 * each window stored and listed, one alert per window with violations (and none on a re-run), a
 * drift check that survives wrong-typed values, large windows judged from the stored hourly
 * counts, and hourly volume against the same hour on earlier days.
 */
import { describe, expect, it } from 'vitest';
import { MonitoringPolicy } from '../../../functions/core/monitoring/policy.js';
import type { CapturedRow, CapturePartition } from '../../../functions/core/monitoring/ports.js';
import { MonitoringService } from '../../../functions/core/monitoring/service.js';
import { hourSketchKey, MemoryMonitoringStore } from '../../support/memory-monitoring.js';
import { MemoryPredictionStore } from '../../support/memory-predictions.js';
import { CountingIds, oneVersionRegistry, SteppingClock } from '../../support/memory-stores.js';
import { seededRandom } from '../../support/random.js';

const principal = { id: 'p', name: 'p', role: 'admin' as const };
const PLANS = ['basic', 'pro', 'team'];

function cleanRows(n: number, seed: number): Record<string, unknown>[] {
  const g = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => ({
    age: 25 + Math.floor(g.uniform() * 40),
    plan: PLANS[i % 3]!,
  }));
}

/** One model with a baseline on age (float) and plan (category); captured rows set per test. */
async function setup(opts: { now?: string } = {}) {
  const registry = await oneVersionRegistry({
    features: [
      { name: 'age', type: 'float' },
      { name: 'plan', type: 'category', categories: PLANS },
    ],
  });
  const hours = new Map<string, CapturedRow[]>();
  const reads: string[] = [];
  const docs = new Map<string, unknown>();
  const store = new MemoryMonitoringStore();
  const serving = new MemoryPredictionStore();
  const published: { id: string; type: string; data: Record<string, unknown> }[] = [];
  const service = new MonitoringService({
    store,
    docs: {
      putJson: async (k, v) => void docs.set(k, structuredClone(v)),
      getJson: async (k) => docs.get(k),
    },
    captures: {
      partitions: async (_m, _v, from, to) =>
        [...hours.keys()]
          .filter((h) => Date.parse(h) + 3600_000 > from.getTime() && Date.parse(h) < to.getTime())
          .map((hourStart): CapturePartition => ({ version: '1.0.0', hourStart, keys: [hourStart] })),
      rows: async function* (p) {
        reads.push(p.hourStart);
        yield* hours.get(p.hourStart) ?? [];
      },
      sketchKey: hourSketchKey,
    },
    datasets: { rows: async function* () {} },
    registry,
    serving,
    events: { publish: async (e) => void published.push(e) },
    clock: new SteppingClock(Date.parse(opts.now ?? '2026-03-01T12:00:00Z')),
    ids: new CountingIds(),
  });
  await service.putBaseline(principal, 'm', { rows: cleanRows(2000, 3) });
  /** Captured rows of one hour, one every 5 s. */
  const capture = (hourStart: string, instances: unknown[]) => {
    hours.set(
      new Date(hourStart).toISOString(),
      instances.map((instance, i) => ({
        at: new Date(Date.parse(hourStart) + i * 5000).toISOString(),
        version: '1.0.0',
        instance,
      })),
    );
  };
  return { service, store, serving, published, docs, reads, capture };
}

const range = { from: '2026-03-01T10:00:00Z', to: '2026-03-01T11:00:00Z' };

/** 10 % of age missing, 3 % of age a string, 5 % an unseen plan, an extra column everywhere. */
function brokenRows(): Record<string, unknown>[] {
  return cleanRows(200, 9).map((r, i) => ({
    ...r,
    ...(i < 20 ? { age: null } : i < 26 ? { age: 'forty' } : {}),
    ...(i >= 190 ? { plan: 'enterprise' } : {}),
    coupon: 'SPRING',
  }));
}

describe('data quality in the check', () => {
  it('stores the report of a broken window, raises one alert, and nothing new on a re-run', async () => {
    const { service, store, published, capture } = await setup();
    capture(range.from, brokenRows());
    // Wrong-typed values do not stop the drift check: it reads them as missing.
    const drift = await service.check('m', range, 'schedule');
    expect(drift).toMatchObject({ status: 'ok', rows: 200, mode: 'exact' });
    const [q] = store.qualityReports;
    expect(q).toMatchObject({
      id: drift.qualityReportId,
      driftReportId: drift.id,
      status: 'ok',
      rows: 200,
      severity: 'high',
      window: { from: '2026-03-01T10:00:00.000Z', to: '2026-03-01T11:00:00.000Z' },
    });
    const by = Object.fromEntries(q!.report.violations.map((v) => [`${v.check}:${v.feature}`, v.observed]));
    expect(by).toEqual({
      'missing:age': 0.1,
      'type_mismatch:age': 0.03,
      'unseen_category:plan': 0.05,
      'extra_column:coupon': 1,
    });
    expect(q!.violationCount).toBe(4);
    const quality = [...store.alerts.values()].filter((a) => a.kind === 'quality');
    expect(quality).toHaveLength(1);
    expect(quality[0]).toMatchObject({ id: q!.alertId, severity: 'high', reportId: q!.id });
    expect(quality[0]!.recommendation).toMatch(/wrong type/);
    expect(published.filter((e) => e.id === q!.alertId)).toHaveLength(1);

    const again = await service.check('m', range, 'manual');
    expect(store.qualityReports).toHaveLength(2);
    expect(store.qualityReports[1]!.alertId).toBe(q!.alertId);
    expect([...store.alerts.values()].filter((a) => a.kind === 'quality')).toHaveLength(1);
    expect(published.filter((e) => e.id === q!.alertId)).toHaveLength(1);
    // Listed like drift reports: the latest window first, one window's reports newest first.
    const listed = await service.listQualityReports('m', { limit: 1 });
    expect(listed.items[0]!.id).toBe(again.qualityReportId);
    const rest = await service.listQualityReports('m', { limit: 1, cursor: listed.nextCursor });
    expect(rest.items[0]!.id).toBe(q!.id);
  });

  it('a clean window has no violation and raises no quality alert', async () => {
    const { service, store, capture } = await setup();
    capture(range.from, cleanRows(300, 21));
    const drift = await service.check('m', range, 'schedule');
    expect(store.qualityReports[0]).toMatchObject({
      id: drift.qualityReportId,
      severity: 'none',
      violationCount: 0,
    });
    expect(store.qualityReports[0]!.alertId).toBeUndefined();
    expect([...store.alerts.values()].filter((a) => a.kind === 'quality')).toEqual([]);
  });

  it('medium for violations that leave inputs readable; the policy sets the thresholds', async () => {
    const { service, store, capture } = await setup();
    capture(
      range.from,
      cleanRows(100, 5).map((r, i) => (i < 4 ? { ...r, plan: 'enterprise' } : r)),
    );
    await service.check('m', range, 'manual');
    expect(store.qualityReports[0]).toMatchObject({ severity: 'medium', violationCount: 1 });
    const policy = MonitoringPolicy.parse({ quality: { maxUnseenCategoryRate: 0.05 } });
    await service.putPolicy(principal, 'm', policy);
    await service.check('m', range, 'manual');
    expect(store.qualityReports[1]).toMatchObject({ severity: 'none', violationCount: 0 });
    expect(store.qualityReports[1]!.report.thresholds.maxUnseenCategoryRate).toBe(0.05);
  });

  it('a missing column and malformed rows are high; a window below minRows is counted, not judged', async () => {
    const { service, store, capture } = await setup();
    capture(range.from, [...cleanRows(60, 2).map((r) => ({ age: r.age })), 'not a row', [1, 2, 3]]);
    await service.check('m', range, 'manual');
    const q = store.qualityReports[0]!;
    expect(q.report.missingColumns).toEqual(['plan']);
    expect(q.report.malformedRows).toBe(2);
    expect(q.report.violations.map((v) => v.check).sort()).toEqual([
      'malformed_row',
      'missing',
      'missing_column',
    ]);
    expect(q.severity).toBe('high');

    capture('2026-03-01T08:00:00Z', [{ age: 'x', plan: 'pro' }]);
    await service.check('m', { from: '2026-03-01T08:00:00Z', to: '2026-03-01T09:00:00Z' }, 'manual');
    const small = store.qualityReports[1]!;
    expect(small).toMatchObject({ status: 'skipped', rows: 1, violationCount: 0, severity: 'none' });
    expect(small.report.features.find((f) => f.name === 'age')!.typeMismatchRate).toBe(1);
    expect(small.alertId).toBeUndefined();
  });

  it('a window checked through stored hourly sketches gets its quality from the stored hourly counts', async () => {
    const { service, store, capture, reads } = await setup();
    for (const h of ['08', '09', '10']) capture(`2026-03-01T${h}:00:00Z`, brokenRows());
    const wide = { from: '2026-03-01T08:00:00Z', to: '2026-03-01T11:00:00Z' };
    await service.check('m', wide, 'manual');
    expect(reads).toHaveLength(3);
    // 600 stored rows exceed the exact limit: the next check reads no row.
    await service.putPolicy(principal, 'm', MonitoringPolicy.parse({ exactRowLimit: 100 }));
    const drift = await service.check('m', wide, 'manual');
    expect(drift.mode).toBe('sketch');
    expect(reads).toHaveLength(3);
    const [first, second] = store.qualityReports;
    expect(second!.report).toEqual(first!.report);
    expect(second!.report.rows).toBe(600);
  });
});

describe('prediction volume in scheduled checks', () => {
  const HOUR = 3600_000;
  const DAY = 24 * HOUR;
  /** The check runs at 12:07; the hour judged is 11:00–12:00. */
  const NOW = '2026-03-20T12:07:00Z';
  const judged = Date.parse('2026-03-20T11:00:00Z');
  const window = { from: '2026-03-20T11:07:00Z', to: NOW };

  async function withTraffic(perDay: (d: number) => number, days: number, today: number) {
    const s = await setup({ now: NOW });
    s.capture('2026-03-20T11:00:00Z', cleanRows(100, 1));
    const serve = async (hourStart: number, n: number, id: string) => {
      if (n === 0) return;
      await s.serving.record({
        messageId: id,
        model: 'm',
        version: '1.0.0',
        hourStart: new Date(hourStart).toISOString(),
        outcome: 'ok',
        latencyMs: 5,
        predictions: Array.from({ length: n }, (_, i) => ({
          predictionId: `${id}-${i}`,
          model: 'm',
          version: '1.0.0',
          at: new Date(hourStart).toISOString(),
          kind: 'multiclass' as const,
          predicted: 'pro',
        })),
      });
    };
    for (let d = 1; d <= days; d++) await serve(judged - d * DAY, perDay(d), `d${d}`);
    await serve(judged, today, 'today');
    return s;
  }

  it('a drop to zero raises one high alert for the hour, once however many checks see it', async () => {
    const s = await withTraffic((d) => 100 + (d % 5), 10, 0);
    await s.service.check('m', window, 'schedule');
    const v = s.store.qualityReports[0]!.volume;
    expect(v).toMatchObject({ status: 'ok', hourStart: '2026-03-20T11:00:00.000Z' });
    expect(v.history).toHaveLength(10);
    expect(v.check).toMatchObject({ count: 0, anomaly: 'drop', median: 102 });
    const alerts = [...s.store.alerts.values()].filter((a) => a.kind === 'volume');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      id: v.alertId,
      severity: 'high',
      window: { from: '2026-03-20T11:00:00.000Z', to: '2026-03-20T12:00:00.000Z' },
    });
    expect(alerts[0]!.title).toMatch(/dropped to zero/);
    // The next scheduled check 15 minutes later judges the same hour: nothing new.
    await s.service.check('m', { from: '2026-03-20T11:22:00Z', to: '2026-03-20T12:22:00Z' }, 'schedule');
    expect(s.store.qualityReports[1]!.volume.alertId).toBe(v.alertId);
    expect([...s.store.alerts.values()].filter((a) => a.kind === 'volume')).toHaveLength(1);
  });

  it('a spike is medium; usual traffic raises nothing', async () => {
    const spike = await withTraffic((d) => 100 + (d % 5), 10, 400);
    await spike.service.check('m', window, 'schedule');
    expect(spike.store.qualityReports[0]!.volume.check?.anomaly).toBe('spike');
    expect([...spike.store.alerts.values()].find((a) => a.kind === 'volume')?.severity).toBe('medium');

    const usual = await withTraffic((d) => 100 + (d % 5), 10, 101);
    await usual.service.check('m', window, 'schedule');
    expect(usual.store.qualityReports[0]!.volume.check?.anomaly).toBeNull();
    expect([...usual.store.alerts.values()].filter((a) => a.kind === 'volume')).toEqual([]);
  });

  it('days before the first served hour are not history; too little history judges nothing', async () => {
    // Served for 3 days only: 25 empty days before them would otherwise read as a history of zeros.
    const s = await withTraffic(() => 100, 3, 0);
    await s.service.check('m', window, 'schedule');
    const v = s.store.qualityReports[0]!.volume;
    expect(v.history).toEqual([100, 100, 100]);
    expect(v.check).toMatchObject({ anomaly: null, median: null });
    expect(v.check?.reason).toMatch(/3 earlier counts/);
  });

  it('manual checks and a policy with volume off do not judge volume', async () => {
    const s = await withTraffic((d) => 100 + (d % 5), 10, 0);
    await s.service.check('m', window, 'manual');
    expect(s.store.qualityReports[0]!.volume).toMatchObject({ status: 'disabled' });
    await s.service.putPolicy(principal, 'm', MonitoringPolicy.parse({ volume: { enabled: false } }));
    await s.service.check('m', window, 'schedule');
    expect(s.store.qualityReports[1]!.volume).toMatchObject({ status: 'disabled' });
    expect([...s.store.alerts.values()].filter((a) => a.kind === 'volume')).toEqual([]);
  });
});

describe('quality and volume policy', () => {
  it('fills defaults, also for a policy stored before these settings existed', async () => {
    const { service, store } = await setup();
    const old = { ...MonitoringPolicy.parse({ minRows: 50 }) } as Record<string, unknown>;
    delete old.quality;
    delete old.volume;
    store.policies.set('m', old as MonitoringPolicy);
    const p = await service.getPolicy('m');
    expect(p.minRows).toBe(50);
    expect(p.quality).toEqual({
      maxMissingIncrease: 0.05,
      maxTypeMismatchRate: 0,
      maxOutOfRangeRate: 0.01,
      maxUnseenCategoryRate: 0.01,
      failOnColumns: true,
    });
    expect(p.volume).toEqual({ enabled: true, z: 3.5, p: 0.001, minHistory: 7, historyDays: 28 });
  });

  it('takes thresholds in their range and rejects the others', () => {
    const ok = MonitoringPolicy.safeParse({
      quality: { maxMissingIncrease: 0.2, failOnColumns: false },
      volume: { minHistory: 3, historyDays: 14, z: 5 },
    });
    expect(ok.success && ok.data.quality).toMatchObject({ maxMissingIncrease: 0.2, maxOutOfRangeRate: 0.01 });
    expect(MonitoringPolicy.safeParse({ quality: { maxMissingIncrease: 2 } }).success).toBe(false);
    expect(MonitoringPolicy.safeParse({ quality: { unknown: 1 } }).success).toBe(false);
    expect(MonitoringPolicy.safeParse({ volume: { minHistory: 30 } }).success).toBe(false);
    expect(MonitoringPolicy.safeParse({ volume: { p: 0 } }).success).toBe(false);
  });
});
