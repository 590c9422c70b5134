/**
 * The analysis loop as the schedule and the queue drive it, over in-memory stores: the scheduler
 * enqueues one message per running experiment, the worker analyses each (partial batch failures),
 * a canary whose guardrail fails is rolled back by one run, a healthy one advances after its bake
 * time, and messages for experiments that are gone or concluded are done, not retried.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { QueueMessage } from '../../../functions/contract/messages.js';
import { CreateExperimentBody } from '../../../functions/core/experiments/definition.js';
import { ExperimentService } from '../../../functions/core/experiments/service.js';
import { exposureMetric } from '../../../functions/core/experiments/serving.js';
import { unavailable } from '../../../functions/core/kernel/errors.js';
import { analysisWorker, enqueueRunning } from '../../../functions/handlers/experiments-analysis.js';
import { MemoryExperimentStore } from '../../support/memory-experiments.js';
import { CountingIds, SteppingClock } from '../../support/memory-stores.js';
import { alice } from '../../support/principals.js';

const logger = new Logger({ serviceName: 'experiments-test', logLevel: 'SILENT' });

function rig() {
  const store = new MemoryExperimentStore();
  const clock = new SteppingClock();
  const versions = new Map([
    ['1.0.0', { version: '1.0.0', stage: 'production', status: 'ready' }],
    ['1.1.0', { version: '1.1.0', stage: 'staging', status: 'ready' }],
  ]);
  const alerts: { title: string; severity: string }[] = [];
  const events: string[] = [];
  const service = new ExperimentService({
    store,
    clock,
    ids: new CountingIds(),
    registry: {
      getModel: async (name) => (name === 'churn' ? { name, productionVersion: '1.0.0' } : undefined),
      getVersion: async (_m, v) => versions.get(v),
      promote: async () => {},
    },
    notices: {
      alert: async (a) => {
        alerts.push({ title: a.title, severity: a.severity });
      },
      event: async (type) => {
        events.push(type);
      },
    },
  });
  const sent: QueueMessage<'experiments'>[] = [];
  const schedule = enqueueRunning(store, {
    send: async (messages) => {
      sent.push(...messages);
      return messages.length;
    },
  });
  const worker = analysisWorker(service, logger);
  /** One firing of the schedule, then every message it sent delivered to the worker in one batch. */
  const tick = async () => {
    const { enqueued } = await schedule({ time: clock.now().toISOString() });
    const batch = sent.splice(0);
    const response = await worker(sqs(batch.map((m) => JSON.stringify(m))));
    return { enqueued, failures: response.batchItemFailures.map((f) => f.itemIdentifier) };
  };
  return { store, clock, service, alerts, events, schedule, sent, worker, tick };
}

function sqs(bodies: string[]): SQSEvent {
  return { Records: bodies.map((body, i) => ({ messageId: `m${i}`, body })) } as SQSEvent;
}

const canary = () =>
  CreateExperimentBody.parse({
    name: 'canary 1.1.0',
    model: 'churn',
    kind: 'canary',
    variants: [{ version: '1.0.0' }, { version: '1.1.0' }],
    minSamples: 50,
    canary: { steps: [10, 50, 100], bakeMinutes: 5 },
  });

/** n served requests of a variant, a share of them failed, counted as the capture worker counts them. */
async function serve(r: ReturnType<typeof rig>, id: string, variant: string, n: number, errorRate: number) {
  const e = await r.service.get(id);
  const from = (await r.store.aggregates(id)).find((a) => a.variant === variant && a.metric === 'error_rate');
  const offset = from?.n ?? 0;
  await r.store.observe(
    id,
    Array.from({ length: n }, (_, i) => ({
      key: `cap:${variant}:${offset + i}`,
      contributions: [
        { variant, metric: 'error_rate', value: i < errorRate * n ? 1 : 0 },
        { variant, metric: 'latency_ms', value: 5, bucket: 100 },
        { variant, metric: exposureMetric(e.epoch), value: 1 },
      ],
    })),
  );
}

describe('the analysis loop (schedule → queue → worker)', () => {
  it('rolls a canary whose guardrail fails back in one run: weight 0, concluded, alert and event', async () => {
    const r = rig();
    const e = await r.service.create(alice, canary());
    await r.service.start(alice, e.id);
    await serve(r, e.id, '1.0.0', 450, 0);
    // A tenth of the traffic, and half of it fails.
    await serve(r, e.id, '1.1.0', 50, 0.5);

    expect(await r.tick()).toEqual({ enqueued: 1, failures: [] });

    const after = await r.service.get(e.id);
    expect(after.state).toBe('concluded');
    expect(after.outcome).toMatchObject({ result: 'rolled_back', variant: '1.1.0' });
    expect(after.outcome!.reason).toMatch(/error_rate/);
    expect(new Set(after.allocation.slots.map((s) => after.allocation.variants[s]))).toEqual(
      new Set(['1.0.0']),
    );
    expect(r.alerts).toEqual([{ title: 'canary 1.1.0 of churn rolled back', severity: 'high' }]);
    expect(r.events).toContain('experiment.rolled_back');
    expect(r.store.locks.size).toBe(0);
    // The run kept its results snapshot; the next firing finds nothing running.
    expect(r.store.snapshots).toHaveLength(1);
    expect(await r.tick()).toEqual({ enqueued: 0, failures: [] });
  });

  it('a healthy canary waits out its bake time, then advances to the next step', async () => {
    const r = rig();
    const e = await r.service.create(alice, canary());
    await r.service.start(alice, e.id);
    await serve(r, e.id, '1.0.0', 450, 0.01);
    await serve(r, e.id, '1.1.0', 50, 0.01);

    await r.tick();
    expect((await r.service.get(e.id)).canaryProgress!.step).toBe(0);
    r.clock.advance(4 * 60_000);
    await r.tick();
    expect((await r.service.get(e.id)).canaryProgress!.step).toBe(0);
    r.clock.advance(60_000);
    expect(await r.tick()).toEqual({ enqueued: 1, failures: [] });

    const after = await r.service.get(e.id);
    expect(after.state).toBe('running');
    expect(after.canaryProgress!.step).toBe(1);
    expect(after.epoch).toBe(1);
    const canarySlots = after.allocation.slots.filter((s) => after.allocation.variants[s] === '1.1.0');
    expect(canarySlots).toHaveLength(50);
    expect(r.events).toEqual(['experiment.advanced']);
    // One snapshot per analysis run: the results over time.
    expect(r.store.snapshots.map((s) => s.experimentId)).toEqual([e.id, e.id, e.id]);
  });

  it('a message for an experiment that is gone or concluded is done, not retried, and adds no snapshot', async () => {
    const r = rig();
    const e = await r.service.create(alice, canary());
    await r.service.start(alice, e.id);
    await r.service.conclude(alice, e.id);
    const at = new Date().toISOString();
    const response = await r.worker(
      sqs([JSON.stringify({ experimentId: 'nope', at }), JSON.stringify({ experimentId: e.id, at })]),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(r.store.snapshots).toEqual([]);
  });

  it('reports only the record whose analysis failed for a reason a retry may cure; drops malformed bodies', async () => {
    const r = rig();
    const ok = await r.service.create(alice, canary());
    await r.service.start(alice, ok.id);
    const failing = analysisWorker(
      {
        analyzeRun: async (id) => {
          if (id === 'down') throw unavailable('the store is unavailable');
          if (id === 'crash') throw new Error('boom');
          return r.service.analyzeRun(id);
        },
      },
      logger,
    );
    const at = new Date().toISOString();
    const response = await failing(
      sqs([
        JSON.stringify({ experimentId: 'down', at }),
        JSON.stringify({ experimentId: ok.id, at }),
        '{"not":"a message"}',
        JSON.stringify({ experimentId: 'crash', at }),
      ]),
    );
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m0', 'm3']);
    expect(r.store.snapshots).toHaveLength(1);
  });
});
