/**
 * The monitoring service's promises about alerts, with in-memory ports: one alert per window
 * whatever the number of runs, and an alert whose publication failed is published by the next run.
 */
import { describe, expect, it } from 'vitest';
import { SYSTEM_PRINCIPAL as SYSTEM } from '../../../functions/core/auth/principal.js';
import { DEFAULT_POLICY } from '../../../functions/core/monitoring/policy.js';
import type { CapturedRow, CapturePartition } from '../../../functions/core/monitoring/ports.js';
import { MonitoringService } from '../../../functions/core/monitoring/service.js';
import { registryServices } from '../../../functions/core/registry/services.js';
import { hourSketchKey, MemoryMonitoringStore, memoryDocs } from '../../support/memory-monitoring.js';
import {
  CountingIds,
  MemoryArtifactStore,
  MemoryRegistryStore,
  oneVersionRegistry,
  SteppingClock,
} from '../../support/memory-stores.js';
import { tinyOnnxBase64 } from '../../support/onnx-fixtures.js';
import { lcgNormals } from '../../support/random.js';

async function setup() {
  const registry = await oneVersionRegistry({ features: [{ name: 'x', type: 'float' }] });
  const clock = new SteppingClock(Date.parse('2026-03-01T12:00:00Z'));
  const principal = { id: 'p', name: 'p', role: 'admin' as const };
  const docs = new Map<string, unknown>();
  // A shifted window of 500 rows in one hour partition.
  const window: CapturedRow[] = lcgNormals(500, 1.5, 7).map((x, i) => ({
    at: new Date(Date.parse('2026-03-01T10:00:00Z') + i * 1000).toISOString(),
    version: '1.0.0',
    instance: [x],
  }));
  const partition: CapturePartition = {
    version: '1.0.0',
    hourStart: '2026-03-01T10:00:00.000Z',
    keys: ['p'],
  };
  const published: string[] = [];
  let failNext = 0;
  const store = new MemoryMonitoringStore();
  const service = new MonitoringService({
    store,
    docs: memoryDocs(docs),
    captures: {
      partitions: async () => [partition],
      rows: async function* () {
        yield* window;
      },
      sketchKey: hourSketchKey,
    },
    datasets: { rows: async function* () {} },
    registry,
    events: {
      publish: async (e) => {
        if (failNext > 0) {
          failNext--;
          throw new Error('webhook queue unreachable');
        }
        published.push(e.id);
      },
    },
    clock,
    ids: new CountingIds(),
  });
  await service.putBaseline(principal, 'm', { rows: lcgNormals(2000, 0, 3).map((x) => [x]) });
  return { service, store, published, docs, failOnce: () => (failNext = 1) };
}

const range = { from: '2026-03-01T10:00:00Z', to: '2026-03-01T11:00:00Z' };

describe('MonitoringService alerts', () => {
  it('raises and publishes one alert for a drifted window, however often it is checked', async () => {
    const { service, store, published } = await setup();
    expect(store.policies.get('m')).toEqual(DEFAULT_POLICY);
    const first = await service.check('m', range, 'schedule');
    expect(first).toMatchObject({ status: 'ok', rows: 500, datasetDrift: true });
    const second = await service.check('m', range, 'manual');
    expect(second.alertId).toBe(first.alertId);
    // The shifted window is also out of the baseline's range: one quality alert beside it.
    expect([...store.alerts.values()].map((a) => a.kind).sort()).toEqual(['drift', 'quality']);
    expect(published.filter((id) => store.alerts.get(id)?.kind === 'drift')).toEqual([first.alertId]);
    expect(published).toHaveLength(2);
    expect(store.reports).toHaveLength(2);
  });

  it('publishes an alert on the next run when publishing failed after it was stored', async () => {
    const { service, store, published, failOnce } = await setup();
    failOnce();
    await expect(service.check('m', range, 'schedule')).rejects.toThrow('unreachable');
    const [alert] = [...store.alerts.values()];
    expect(alert?.published).toBe(false);
    await service.check('m', range, 'schedule'); // the redelivered message
    expect(published[0]).toBe(alert!.id);
    expect(store.alerts.get(alert!.id)?.published).toBe(true);
    await service.check('m', range, 'schedule');
    // The drift alert and the window's quality alert, each once.
    expect(published).toHaveLength(2);
    expect(new Set(published).size).toBe(2);
  });

  it('tests a small window exactly and stores the sketch of each complete hour for later checks', async () => {
    const { service, docs } = await setup();
    const report = await service.check('m', range, 'manual');
    expect(report.mode).toBe('exact'); // 500 rows are below the exact limit
    const sketch = docs.get(`2026-03-01T10:00:00.000Z/${report.baselineId}`) as { rows: number } | undefined;
    expect(sketch?.rows).toBe(500);
  });
});

describe('MonitoringService operational alerts', () => {
  const alice = { id: 'alice', name: 'Alice', role: 'scientist' as const };
  const bob = { id: 'bob', name: 'Bob', role: 'approver' as const };

  /** A registry whose lifecycle events reach the monitoring service, as the handlers wire them. */
  async function wired() {
    const registryStore = new MemoryRegistryStore();
    const artifacts = new MemoryArtifactStore();
    const store = new MemoryMonitoringStore();
    const published: { id: string; type: string; data: Record<string, unknown> }[] = [];
    const none = async () => {
      throw new Error('not used');
    };
    const monitoring = new MonitoringService({
      store,
      docs: { putJson: none, getJson: none },
      captures: { partitions: none, rows: async function* () {}, sketchKey: () => '' },
      datasets: { rows: async function* () {} },
      registry: registryStore,
      events: { publish: async (e) => void published.push(e) },
      clock: new SteppingClock(),
      ids: new CountingIds(),
    });
    const registry = registryServices({
      store: registryStore,
      artifacts,
      clock: new SteppingClock(),
      ids: new CountingIds(),
      events: { publish: async (e) => void (await monitoring.raiseForLifecycleEvent(e)) },
    });
    await registry.models.create(alice, { name: 'churn' });
    for (const version of ['1.0.0', '2.0.0']) {
      await registry.artifacts.register(alice, 'churn', {
        version,
        artifact: { base64: tinyOnnxBase64(`bytes-${version}`) },
        framework: 'onnx',
        runtime: { type: 'lambda' },
      });
      await registry.lifecycle.transition(alice, 'churn', version, 'testing');
      await registry.lifecycle.transition(alice, 'churn', version, 'staging');
      await registry.lifecycle.decideApproval(bob, 'churn', version, 'approved', 'ok');
      await registry.lifecycle.transition(bob, 'churn', version, 'production');
    }
    return { registry, registryStore, artifacts, store, published, monitoring };
  }

  it('raises an experiment alert once per experiment, and publishes it', async () => {
    const { monitoring, store, published } = await wired();
    const raise = () =>
      monitoring.raiseOperationalAlert({
        kind: 'experiment',
        key: '01EXPERIMENT',
        model: 'churn',
        severity: 'high',
        title: 'canary 2.0.0 of churn rolled back',
        recommendation: 'guardrail error_rate failed',
        details: { experimentId: '01EXPERIMENT' },
      });
    const first = await raise();
    const again = await raise();
    expect(again.id).toBe(first.id);
    expect(first).toMatchObject({ kind: 'experiment', model: 'churn', severity: 'high', status: 'open' });
    const alerts = [...store.alerts.values()].filter((a) => a.kind === 'experiment');
    expect(alerts).toHaveLength(1);
    expect(published.filter((e) => e.type === 'alert.raised' && e.id === first.id)).toHaveLength(1);
  });

  it('raises one critical alert naming the rollback when the production artifact is corrupt', async () => {
    const { registry, registryStore, artifacts, store, published } = await wired();
    const v2 = await registryStore.getVersion('churn', '2.0.0');
    artifacts.objects.set(v2!.artifact.key, new TextEncoder().encode('tampered'));
    await registry.artifacts.verify(SYSTEM, 'churn', '2.0.0').catch(() => undefined);
    // A second finding of the same corruption (another sweep, inference) raises nothing new.
    await registry.lifecycle.recordServingFailure(SYSTEM, 'churn', '2.0.0', 'still corrupt');
    const alerts = [...store.alerts.values()];
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      kind: 'integrity',
      model: 'churn',
      severity: 'critical',
      title: 'churn: version 2.0.0 (production) failed its integrity check',
      details: {
        version: '2.0.0',
        production: true,
        productionVersion: '2.0.0',
        suggestedRollback: {
          method: 'POST',
          path: '/v1/models/churn/rollback',
          body: { toVersion: '1.0.0' },
        },
      },
    });
    expect(alerts[0]!.recommendation).toContain('POST /v1/models/churn/rollback {"toVersion":"1.0.0"}');
    expect(published.map((e) => e.type)).toEqual(['alert.raised']);
    // Same incident again (a redelivered message): the id is taken, nothing is published twice.
    const audit = registryStore.audits.find((a) => a.action === 'version.integrity_failed')!;
    await registry.lifecycle.markUnusable(
      SYSTEM,
      (await registryStore.getVersion('churn', '2.0.0'))!,
      'again',
      'x',
    );
    expect(store.alerts.size).toBe(1);
    expect(published).toHaveLength(1);
    expect(alerts[0]!.reportId).toBe(audit.id);
  });

  it('raises one alert per fallback pair, and none for a failure nobody answered for', async () => {
    const { registry, store } = await wired();
    await registry.lifecycle.recordServingFailure(SYSTEM, 'churn', '2.0.0', 'would not load');
    expect(store.alerts.size).toBe(0);
    await registry.lifecycle.recordServingFailure(SYSTEM, 'churn', '2.0.0', 'would not load', '1.0.0');
    await registry.lifecycle.recordServingFailure(SYSTEM, 'churn', '2.0.0', 'would not load', '1.0.0');
    const alerts = [...store.alerts.values()];
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      kind: 'fallback',
      severity: 'high',
      details: { servedBy: '1.0.0', suggestedRollback: { body: { toVersion: '1.0.0' } } },
    });
  });
});
