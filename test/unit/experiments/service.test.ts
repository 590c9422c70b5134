/**
 * The experiment service over in-memory stores: definition rules, the running slot, sticky
 * assignment answered without enrolling, outcome events counted once, results and decisions, and
 * the canary's step logic (advance, roll back, wait for approval, promote).
 */
import { describe, expect, it } from 'vitest';
import type { CreateExperimentBody } from '../../../functions/core/experiments/definition.js';
import { CreateExperimentBody as Schema } from '../../../functions/core/experiments/definition.js';
import { ExperimentService } from '../../../functions/core/experiments/service.js';
import { exposureMetric } from '../../../functions/core/experiments/serving.js';
import { conflict } from '../../../functions/core/kernel/errors.js';
import { MemoryExperimentStore } from '../../support/memory-experiments.js';
import { CountingIds, SteppingClock } from '../../support/memory-stores.js';
import { alice, bob } from '../../support/principals.js';

interface Version {
  version: string;
  stage: string;
  status: string;
}

function rig(options: { production?: string; refusePromotion?: string } = {}) {
  const store = new MemoryExperimentStore();
  const clock = new SteppingClock();
  const versions = new Map<string, Version>([
    ['1.0.0', { version: '1.0.0', stage: 'production', status: 'ready' }],
    ['1.1.0', { version: '1.1.0', stage: 'staging', status: 'ready' }],
    ['1.2.0', { version: '1.2.0', stage: 'staging', status: 'ready' }],
    ['0.9.0', { version: '0.9.0', stage: 'archived', status: 'ready' }],
    ['2.0.0', { version: '2.0.0', stage: 'draft', status: 'pending' }],
  ]);
  const model = { name: 'churn', productionVersion: options.production ?? '1.0.0' };
  const promoted: string[] = [];
  const alerts: string[] = [];
  const events: string[] = [];
  let refuse = options.refusePromotion;
  const service = new ExperimentService({
    store,
    clock,
    ids: new CountingIds(),
    registry: {
      getModel: async (name) => (name === 'churn' ? model : undefined),
      getVersion: async (_m, v) => versions.get(v),
      promote: async (_principal, _model, v) => {
        if (refuse) throw conflict(refuse);
        promoted.push(v);
        model.productionVersion = v;
      },
    },
    notices: {
      alert: async (a) => {
        alerts.push(a.title);
      },
      event: async (type) => {
        events.push(type);
      },
    },
  });
  return {
    store,
    clock,
    service,
    promoted,
    alerts,
    events,
    allowPromotion: () => {
      refuse = undefined;
    },
  };
}

const ab = (extra: Partial<CreateExperimentBody> = {}) =>
  Schema.parse({
    name: 'new threshold',
    model: 'churn',
    variants: [
      { version: '1.0.0', weight: 50, control: true },
      { version: '1.1.0', weight: 50 },
    ],
    metric: { name: 'converted', kind: 'binary', goal: 'maximize' },
    minSamples: 100,
    ...extra,
  });

describe('experiment definitions', () => {
  it('refuses archived, pending and unknown versions, bad weights and two controls', async () => {
    const { service } = rig();
    const bad = (variants: unknown[]) =>
      service.create(alice, Schema.parse({ name: 'x', model: 'churn', variants }));
    await expect(
      bad([
        { version: '1.0.0', weight: 50 },
        { version: '0.9.0', weight: 50 },
      ]),
    ).rejects.toMatchObject({ code: 'conflict' });
    await expect(
      bad([
        { version: '1.0.0', weight: 50 },
        { version: '2.0.0', weight: 50 },
      ]),
    ).rejects.toMatchObject({ code: 'conflict' });
    await expect(
      bad([
        { version: '1.0.0', weight: 50 },
        { version: '9.9.9', weight: 50 },
      ]),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(
      bad([
        { version: '1.0.0', weight: 50 },
        { version: '1.1.0', weight: 40 },
      ]),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(
      bad([
        { version: '1.0.0', weight: 50, control: true },
        { version: '1.1.0', weight: 50, control: true },
      ]),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(
      bad([
        { version: '1.0.0', weight: 50 },
        { version: '1.0.0', weight: 50 },
      ]),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(service.create(alice, ab({ model: 'nope' }))).rejects.toMatchObject({ code: 'not_found' });
    // Canary settings on an A/B experiment: refused, not stored as nothing.
    await expect(
      service.create(
        alice,
        Schema.parse({
          name: 'x',
          model: 'churn',
          kind: 'ab',
          variants: [
            { version: '1.0.0', weight: 50 },
            { version: '1.1.0', weight: 50 },
          ],
          canary: { steps: [10, 100] },
        }),
      ),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      message: 'canary settings belong to canary experiments',
    });
  });

  it('an A/A test names its variants; the first is the control by default', async () => {
    const { service } = rig();
    const e = await service.create(
      alice,
      Schema.parse({
        name: 'aa',
        model: 'churn',
        variants: [
          { name: 'a', version: '1.0.0', weight: 50 },
          { name: 'b', version: '1.0.0', weight: 50 },
        ],
      }),
    );
    expect(e.variants).toEqual([
      { name: 'a', version: '1.0.0', control: true },
      { name: 'b', version: '1.0.0', control: false },
    ]);
    expect(e.state).toBe('draft');
  });

  it('at most one running experiment per model; pausing frees the slot; each change is audited', async () => {
    const { service, store } = rig();
    const one = await service.create(alice, ab());
    const two = await service.create(alice, ab({ name: 'second' }));
    await service.start(alice, one.id);
    await expect(service.start(alice, two.id)).rejects.toMatchObject({
      code: 'conflict',
      details: { runningExperiment: one.id },
    });
    await service.pause(alice, one.id);
    await service.start(alice, two.id);
    await expect(service.start(alice, one.id)).rejects.toMatchObject({ code: 'conflict' });
    expect(store.audits.map((a) => a.action)).toEqual([
      'experiment.created',
      'experiment.created',
      'experiment.started',
      'experiment.paused',
      'experiment.started',
    ]);
    await expect(service.pause(alice, one.id)).rejects.toMatchObject({ code: 'conflict' });
  });
});

describe('assignment and outcome events', () => {
  it('answers the variant without enrolling, and counts a replayed eventId once', async () => {
    const { service, store } = rig();
    const e = await service.create(alice, ab());
    await expect(
      service.recordEvents(e.id, [{ eventId: 'x', subject: 's', metric: 'converted', value: 1 }]),
    ).rejects.toMatchObject({ code: 'conflict' });
    await service.start(alice, e.id);
    const a = await service.assignment(e.id, 'user-1');
    expect(await service.assignment(e.id, 'user-1')).toEqual(a);
    expect(['1.0.0', '1.1.0']).toContain(a.variant);
    expect(await store.aggregates(e.id)).toEqual([]);
    const ev = { eventId: 'e1', subject: 'user-1', metric: 'converted', value: 1 };
    expect(await service.recordEvents(e.id, [ev, ev])).toEqual({ accepted: 1, duplicates: 1 });
    expect(await service.recordEvents(e.id, [ev])).toEqual({ accepted: 0, duplicates: 1 });
    const aggs = await store.aggregates(e.id);
    expect(aggs).toEqual([{ variant: a.variant, metric: 'converted', n: 1, sum: 1, sumSq: 1 }]);
  });

  it('refuses unknown metrics and non-binary values of binary metrics, writing nothing', async () => {
    const { service, store } = rig();
    const e = await service.create(alice, ab());
    await service.start(alice, e.id);
    const good = { eventId: 'ok', subject: 's', metric: 'converted', value: 1 };
    await expect(
      service.recordEvents(e.id, [good, { ...good, eventId: 'b', metric: 'revenue' }]),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(
      service.recordEvents(e.id, [good, { ...good, eventId: 'c', value: 0.5 }]),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    expect(await store.aggregates(e.id)).toEqual([]);
  });
});

/** n subjects per variant with the given conversion rates, sent as outcome events. */
async function feed(
  service: ExperimentService,
  id: string,
  rates: Record<string, number>,
  perVariant: number,
) {
  const counts: Record<string, number> = {};
  const ones: Record<string, number> = {};
  const events = [];
  for (
    let i = 0;
    Object.values(counts).reduce((s, c) => s + c, 0) < perVariant * Object.keys(rates).length;
    i++
  ) {
    const subject = `s${i}`;
    const { variant } = await service.assignment(id, subject);
    if ((counts[variant] ?? 0) >= perVariant) continue;
    counts[variant] = (counts[variant] ?? 0) + 1;
    // Deterministic: the first rate × n of each variant convert.
    const value = (ones[variant] ?? 0) < rates[variant]! * perVariant ? 1 : 0;
    ones[variant] = (ones[variant] ?? 0) + value;
    events.push({ eventId: `e${i}`, subject, metric: 'converted', value });
    if (events.length === 500) await service.recordEvents(id, events.splice(0));
  }
  if (events.length) await service.recordEvents(id, events);
}

describe('results and decisions', () => {
  it('continues below minSamples, declares the better treatment the winner, promotes it on conclude', async () => {
    const { service, promoted } = rig();
    const e = await service.create(alice, ab());
    await service.start(alice, e.id);
    await feed(service, e.id, { '1.0.0': 0.1, '1.1.0': 0.3 }, 50);
    let r = await service.results(e.id);
    expect(r.decision).toBe('continue');
    expect(r.reason).toMatch(/of the 100 samples/);
    await feed(service, e.id, { '1.0.0': 0.1, '1.1.0': 0.3 }, 2000);
    r = await service.results(e.id);
    const control = r.variants.find((v) => v.control)!;
    const treatment = r.variants.find((v) => !v.control)!;
    expect(control.metric.n).toBeGreaterThanOrEqual(2000);
    expect(treatment.metric.mean! - control.metric.mean!).toBeGreaterThan(0.15);
    expect(r.comparisons[0]!.alwaysValidPValue).toBeLessThan(0.05);
    // The always-valid p-value is never below the fixed-horizon one at the same data.
    expect(r.comparisons[0]!.alwaysValidPValue).toBeGreaterThanOrEqual(r.comparisons[0]!.pValue!);
    expect(r.decision).toBe('winner');
    expect(r.winner).toBe('1.1.0');
    const { experiment } = await service.conclude(bob, e.id, { promote: true });
    expect(promoted).toEqual(['1.1.0']);
    expect(experiment.state).toBe('concluded');
    expect(experiment.outcome).toMatchObject({
      result: 'winner',
      variant: '1.1.0',
      promotedVersion: '1.1.0',
    });
  });

  it('no difference once every variant reaches maxSamples', async () => {
    const { service } = rig();
    const e = await service.create(alice, ab({ minSamples: 100, maxSamples: 400 }));
    await service.start(alice, e.id);
    await feed(service, e.id, { '1.0.0': 0.2, '1.1.0': 0.2 }, 400);
    const r = await service.results(e.id);
    expect(r.decision).toBe('no_difference');
    await expect(service.conclude(bob, e.id, { promote: true })).rejects.toMatchObject({ code: 'conflict' });
  });

  it('a sample-ratio mismatch blocks the decision', async () => {
    const { service, store } = rig();
    const e = await service.create(alice, ab());
    await service.start(alice, e.id);
    await feed(service, e.id, { '1.0.0': 0.1, '1.1.0': 0.3 }, 2000);
    // Exposures 2000 vs 1000 under 50/50 weights.
    await store.observe(e.id, [
      ...Array.from({ length: 2000 }, (_, i) => ({
        key: `c${i}`,
        contributions: [{ variant: '1.0.0', metric: exposureMetric(0), value: 1 }],
      })),
      ...Array.from({ length: 1000 }, (_, i) => ({
        key: `t${i}`,
        contributions: [{ variant: '1.1.0', metric: exposureMetric(0), value: 1 }],
      })),
    ]);
    const r = await service.results(e.id);
    expect(r.srm.ok).toBe(false);
    expect(r.decision).toBe('srm_failed');
  });
});

const canary = (extra: Partial<CreateExperimentBody> = {}) =>
  Schema.parse({
    name: 'canary 1.1.0',
    model: 'churn',
    kind: 'canary',
    variants: [{ version: '1.0.0' }, { version: '1.1.0' }],
    minSamples: 50,
    canary: { steps: [10, 50, 100], bakeMinutes: 5 },
    ...extra,
  });

async function serve(
  service: ExperimentService,
  store: MemoryExperimentStore,
  id: string,
  variant: string,
  n: number,
  errorRate: number,
  from = 0,
) {
  const e = await service.get(id);
  const groups = Array.from({ length: n }, (_, i) => ({
    key: `cap:${variant}:${from + i}`,
    contributions: [
      { variant, metric: 'error_rate', value: i < errorRate * n ? 1 : 0 },
      { variant, metric: 'latency_ms', value: 5, bucket: 100 },
      { variant, metric: exposureMetric(e.epoch), value: 1 },
    ],
  }));
  await store.observe(id, groups);
}

describe('canary', () => {
  it('waits below the minimum sample, advances after the bake time, rolls back on errors', async () => {
    const { service, store, clock, alerts, events } = rig();
    const e = await service.create(alice, canary());
    expect(e.variants.find((v) => v.control)!.version).toBe('1.0.0');
    await service.start(alice, e.id);
    await serve(service, store, e.id, '1.0.0', 20, 0);
    await serve(service, store, e.id, '1.1.0', 3, 0);
    expect((await service.analyzeRun(e.id)).action).toBe('wait');
    await serve(service, store, e.id, '1.0.0', 450, 0, 100);
    await serve(service, store, e.id, '1.1.0', 50, 0, 100);
    expect((await service.analyzeRun(e.id)).action).toBe('wait'); // baking
    clock.advance(5 * 60_000);
    expect((await service.analyzeRun(e.id)).action).toBe('advance');
    const after = await service.get(e.id);
    expect(after.canaryProgress!.step).toBe(1);
    expect(after.epoch).toBe(1);
    // The canary fails: half of its requests error.
    await serve(service, store, e.id, '1.1.0', 200, 0.5, 1000);
    const run = await service.analyzeRun(e.id);
    expect(run.action).toBe('rollback');
    const done = await service.get(e.id);
    expect(done.state).toBe('concluded');
    expect(done.outcome!.result).toBe('rolled_back');
    expect((await service.results(e.id)).decision).toBe('rolled_back');
    expect(store.locks.size).toBe(0);
    expect(alerts).toHaveLength(1);
    expect(events).toContain('experiment.rolled_back');
  });

  it('waits for approval at 100 %, then promotes and concludes', async () => {
    const { service, store, clock, promoted, allowPromotion } = rig({
      refusePromotion: 'version 1.1.0 needs an approval',
    });
    const e = await service.create(
      alice,
      canary({ canary: { steps: [50, 100], bakeMinutes: 1 } } as Partial<CreateExperimentBody>),
    );
    await service.start(alice, e.id);
    await serve(service, store, e.id, '1.0.0', 60, 0);
    await serve(service, store, e.id, '1.1.0', 60, 0);
    clock.advance(60_000);
    expect((await service.analyzeRun(e.id)).action).toBe('advance');
    // At 100 % the control gets nothing new; its earlier requests still count for the guardrails.
    await serve(service, store, e.id, '1.1.0', 60, 0, 500);
    clock.advance(60_000);
    expect((await service.analyzeRun(e.id)).action).toBe('promote');
    expect((await service.get(e.id)).canaryProgress!.waitingFor).toMatch(/needs an approval/);
    expect((await service.get(e.id)).state).toBe('running');
    allowPromotion();
    await service.analyzeRun(e.id);
    expect(promoted).toEqual(['1.1.0']);
    const done = await service.get(e.id);
    expect(done.outcome).toMatchObject({ result: 'promoted', promotedVersion: '1.1.0' });
    expect((await service.results(e.id)).decision).toBe('winner');
  });

  it('refuses to start when the control is not production', async () => {
    const { service } = rig();
    const e = await service.create(
      alice,
      canary({ variants: [{ version: '1.2.0', control: true }, { version: '1.1.0' }] }),
    );
    await expect(service.start(alice, e.id)).rejects.toMatchObject({ code: 'conflict' });
  });
});

describe('sequential state and lifecycle details', () => {
  it('claims nothing before minSamples, then fixes τ² at the first such analysis and keeps it', async () => {
    const { service } = rig();
    const e = await service.create(alice, ab({ minSamples: 100 }));
    await service.start(alice, e.id);
    await feed(service, e.id, { '1.0.0': 0.1, '1.1.0': 0.4 }, 60);
    const early = await service.results(e.id);
    expect(early.comparisons[0]!.alwaysValidPValue).toBe(1);
    expect(early.comparisons[0]!.pValue).toBeLessThan(0.05); // the fixed-horizon test sees it
    await feed(service, e.id, { '1.0.0': 0.1, '1.1.0': 0.4 }, 150);
    await service.analyzeRun(e.id);
    const fixed = (await service.get(e.id)).sequential['tau2:1.1.0/converted'];
    expect(fixed).toBeGreaterThan(0);
    // More data with another spread: τ² stays what it was fixed at.
    await feed(service, e.id, { '1.0.0': 0.5, '1.1.0': 0.5 }, 400);
    await service.analyzeRun(e.id);
    expect((await service.get(e.id)).sequential['tau2:1.1.0/converted']).toBe(fixed);
  });

  it('a rolled-back canary names the control as what won; promote:false concludes with a winner', async () => {
    const { service, store, clock } = rig();
    const e = await service.create(
      alice,
      canary({
        canary: { steps: [50, 100], bakeMinutes: 0, promote: false },
      } as Partial<CreateExperimentBody>),
    );
    await service.start(alice, e.id);
    await serve(service, store, e.id, '1.0.0', 60, 0);
    await serve(service, store, e.id, '1.1.0', 60, 0);
    clock.advance(1);
    expect((await service.analyzeRun(e.id)).action).toBe('advance');
    await serve(service, store, e.id, '1.1.0', 60, 0, 500);
    expect((await service.analyzeRun(e.id)).action).toBe('promote');
    const r = await service.results(e.id);
    expect(r.decision).toBe('winner');
    expect(r.winner).toBe('1.1.0');
    expect((await service.get(e.id)).outcome!.result).toBe('winner');

    const bad = await service.create(alice, canary({ name: 'bad' }));
    await service.start(alice, bad.id);
    await serve(service, store, bad.id, '1.0.0', 100, 0);
    await serve(service, store, bad.id, '1.1.0', 100, 0.6);
    expect((await service.analyzeRun(bad.id)).action).toBe('rollback');
    const rolled = await service.results(bad.id);
    expect(rolled.decision).toBe('rolled_back');
    expect(rolled.winner).toBe('1.0.0');
  });

  it('a resumed canary bakes its step again; a shadow starts only with production as its control', async () => {
    const { service, clock } = rig();
    const e = await service.create(alice, canary());
    await service.start(alice, e.id);
    clock.advance(60 * 60_000);
    await service.pause(alice, e.id);
    const resumed = await service.start(alice, e.id);
    expect(Date.parse(resumed.canaryProgress!.stepStartedAt)).toBeGreaterThan(
      Date.parse(e.createdAt) + 60 * 60_000,
    );
    await service.conclude(alice, e.id);
    const shadow = await service.create(
      alice,
      Schema.parse({
        name: 's',
        model: 'churn',
        kind: 'shadow',
        variants: [{ version: '1.1.0', control: true }, { version: '1.2.0' }],
      }),
    );
    await expect(service.start(alice, shadow.id)).rejects.toMatchObject({ code: 'conflict' });
  });
});
