import { beforeEach, describe, expect, it } from 'vitest';
import { MonitoringPolicy } from '../../../functions/core/monitoring/policy.js';
import type { AlertRecord, ReportRecord } from '../../../functions/core/monitoring/ports.js';
import type { RetrainRegistry } from '../../../functions/core/retraining/jobs.js';
import { type ModeVerdict, RetrainService } from '../../../functions/core/retraining/service.js';
import { decide, RetrainTriggers } from '../../../functions/core/retraining/triggers.js';
import type { Severity } from '../../../functions/core/stats/drift-report.js';
import { MemoryJobStore } from '../../support/memory-jobs.js';

const policy = (retraining: Record<string, unknown>) => MonitoringPolicy.parse({ retraining }).retraining;
const T0 = Date.parse('2026-12-01T10:00:00Z');

function report(i: number, severity: Severity, status: 'ok' | 'skipped' = 'ok'): ReportRecord {
  const to = new Date(T0 - i * 3_600_000).toISOString();
  return {
    id: `r${i}`,
    model: 'm',
    createdAt: to,
    trigger: 'schedule',
    window: { from: new Date(T0 - (i + 1) * 3_600_000).toISOString(), to },
    baselineId: 'b',
    baselineVersion: '1.0.0',
    status,
    mode: 'exact',
    rows: 100,
    datasetDrift: severity !== 'low',
    severity,
    result: {},
  };
}

describe('trigger decisions', () => {
  const drift = policy({ onDrift: { minSeverity: 'high', consecutiveWindows: 2 } });
  const now = new Date(T0);

  it('is off by default: nothing fires, whatever the facts', () => {
    const facts = { now, reports: [report(0, 'critical'), report(1, 'critical')], newLabels: 1e6 };
    expect(decide(policy({}), facts).action).toBe('none');
  });

  it('debounces drift: one severe window is not enough, two consecutive ones fire', () => {
    expect(decide(drift, { now, reports: [report(0, 'high'), report(1, 'medium')] }).action).toBe('none');
    expect(decide(drift, { now, reports: [report(0, 'high')] }).action).toBe('none');
    const d = decide(drift, { now, reports: [report(0, 'critical'), report(1, 'high'), report(2, 'low')] });
    expect(d).toMatchObject({ action: 'fire', trigger: 'drift' });
    expect(d.reason).toMatch(/last 2 checked windows.*r0, r1/);
  });

  it('counts a window checked twice once, and lets a skipped window neither count nor break the streak', () => {
    const again = { ...report(0, 'high'), id: 'r0b' };
    expect(decide(drift, { now, reports: [report(0, 'high'), again, report(1, 'low')] }).action).toBe('none');
    const skipped = report(1, 'low', 'skipped');
    expect(decide(drift, { now, reports: [report(0, 'high'), skipped, report(2, 'high')] }).action).toBe(
      'fire',
    );
  });

  it('suppresses a met condition within the policy cooldown after the last job ended, with the reason', () => {
    const facts = {
      now,
      reports: [report(0, 'high'), report(1, 'high')],
      lastJob: { id: 'j1', createdAt: new Date(T0 - 7_200_000).toISOString(), state: 'succeeded' as const },
      releasedAt: new Date(T0 - 30 * 60_000).toISOString(),
    };
    const d = decide(drift, facts);
    expect(d).toMatchObject({ action: 'suppress', trigger: 'drift' });
    expect(d.reason).toMatch(/cooldown of 60 min/);
    expect(decide(drift, { ...facts, now: new Date(T0 + 31 * 60_000) }).action).toBe('fire');
    // An active job is not suppressed here: the service records the trigger on it.
    expect(decide(drift, { ...facts, lastJob: { ...facts.lastJob, state: 'running' } }).action).toBe('fire');
  });

  it('fires on a degradation alert newer than the last job, on a due schedule, and on enough new labels', () => {
    const alert = {
      id: 'a1',
      kind: 'performance',
      createdAt: new Date(T0).toISOString(),
      title: 'worse',
    } as const;
    const lastJob = {
      id: 'j1',
      createdAt: new Date(T0 - 3_600_000).toISOString(),
      state: 'succeeded' as const,
    };
    const deg = policy({ onDegradation: true });
    expect(decide(deg, { now, alerts: [alert], lastJob }).action).toBe('fire');
    expect(
      decide(deg, { now, alerts: [{ ...alert, createdAt: '2026-11-01T00:00:00Z' }], lastJob }).action,
    ).toBe('none');
    expect(decide(deg, { now, alerts: [{ ...alert, kind: 'drift' }], lastJob }).action).toBe('none');
    const sched = policy({ schedule: { everyHours: 2 } });
    expect(decide(sched, { now, lastJob }).action).toBe('none');
    expect(decide(sched, { now: new Date(T0 + 3_600_000), lastJob })).toMatchObject({ trigger: 'schedule' });
    const labels = policy({ minNewLabels: 500 });
    expect(decide(labels, { now, newLabels: 499 }).action).toBe('none');
    expect(decide(labels, { now, newLabels: 500 })).toMatchObject({ action: 'fire', trigger: 'labels' });
    // The reason says how many there are, up to the counting cap (10 × the threshold).
    expect(decide(labels, { now, newLabels: 730 }).reason).toMatch(/^730 new labelled predictions/);
    expect(decide(labels, { now, newLabels: 5000 }).reason).toMatch(/^at least 5000 new labelled/);
  });
});

describe('RetrainTriggers', () => {
  let store: MemoryJobStore;
  let now: number;
  let reports: ReportRecord[];
  let alerts: AlertRecord[];
  let labels: number;
  let retraining: ReturnType<typeof policy>;
  let seq: number;

  const registry = {
    getModel: async () => ({ latestVersion: '1.0.0' }),
  } as unknown as RetrainRegistry;

  function triggers(mode?: ModeVerdict) {
    const deps = {
      clock: { now: () => new Date(now) },
      ids: { next: () => `01ID${String(++seq).padStart(5, '0')}` },
    };
    const retrain = new RetrainService({
      ...deps,
      ...(mode ? { mode: async () => mode } : {}),
      store,
      queue: { send: async () => {} },
      registry,
      rows: { rows: async function* () {} },
    });
    return new RetrainTriggers({
      ...deps,
      policy: async () => retraining,
      policies: async () => [{ model: 'm', retraining }],
      reports: async (_m, limit) => reports.slice(0, limit),
      openAlerts: async () => alerts,
      countLabels: async (_m, _f, _t, atMost) => Math.min(labels, atMost),
      jobs: store,
      retrain,
    });
  }

  beforeEach(() => {
    store = new MemoryJobStore();
    now = T0;
    reports = [];
    alerts = [];
    labels = 0;
    seq = 0;
    retraining = policy({ onDrift: { minSeverity: 'high', consecutiveWindows: 2 } });
  });

  it('records a trigger the operating mode refuses, without a job, and fires once the mode allows', async () => {
    reports = [report(0, 'high'), report(1, 'high')];
    const refused = await triggers({ mode: 'maintenance', retraining: 'never', allowed: false }).afterCheck(
      'm',
    );
    expect(refused).toMatchObject({
      decision: { trigger: 'drift' },
      refused: expect.stringMatching(/maintenance/),
    });
    expect((await store.list({ model: 'm', limit: 10 })).items).toEqual([]);
    expect(store.audits.at(-1)).toMatchObject({ action: 'retrain.refused' });
    const fired = await triggers({ mode: 'training', retraining: 'always', allowed: true }).afterCheck('m');
    expect(fired).toMatchObject({ jobId: expect.any(String) });
  });

  it('queues one job for persisting drift and records a further drifted window on it', async () => {
    const t = triggers();
    reports = [report(0, 'high')];
    expect(await t.afterCheck('m')).toBeUndefined();
    reports = [report(0, 'high'), report(1, 'high')];
    const first = await t.afterCheck('m');
    expect(first).toMatchObject({
      decision: { action: 'fire', trigger: 'drift' },
      jobId: expect.any(String),
    });
    reports = [report(-1, 'critical'), ...reports];
    const second = await t.afterCheck('m');
    expect(second).toMatchObject({ jobId: first?.jobId, refused: expect.stringMatching(/active/) });
    const jobs = (await store.list({ model: 'm', limit: 10 })).items;
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ trigger: 'drift', requestedBy: { id: 'trigger:drift' } });
    expect(jobs[0]?.duplicates).toEqual([expect.objectContaining({ trigger: 'drift' })]);
    expect(store.audits.map((a) => a.action)).toEqual(['retrain.requested', 'retrain.duplicate']);
  });

  it('audits a suppressed trigger with its reason and queues nothing', async () => {
    const t = triggers();
    reports = [report(0, 'high'), report(1, 'high')];
    const job = await t.afterCheck('m');
    await store.save({ ...(await store.get(job?.jobId as string))!, state: 'cancelled', revision: 2 }, 1);
    now += 10 * 60_000;
    expect((await t.afterCheck('m'))?.decision.action).toBe('suppress');
    expect(store.audits.at(-1)).toMatchObject({
      action: 'retrain.trigger_suppressed',
      comment: expect.stringMatching(/cooldown/),
    });
    expect((await store.list({ model: 'm', limit: 10 })).items).toHaveLength(1);
  });

  it('ticks the schedule and label triggers of every model with a policy', async () => {
    retraining = policy({ minNewLabels: 100 });
    const t = triggers();
    labels = 99;
    expect(await t.tick()).toEqual([]);
    labels = 150;
    const [o] = await t.tick();
    expect(o).toMatchObject({ model: 'm', decision: { trigger: 'labels' }, jobId: expect.any(String) });
  });
});
