import { describe, expect, it } from 'vitest';
import type { CapturedRow } from '../../../functions/core/monitoring/ports.js';
import type { RegisterVersionInput } from '../../../functions/core/registry/registration.js';
import { RetrainService } from '../../../functions/core/retraining/service.js';
import { MemoryJobStore } from '../../support/memory-jobs.js';
import { alice } from '../../support/principals.js';
import {
  irisParent,
  irisRows,
  jobIds,
  memoryDatasetPorts,
  recordingRetrainRegistry,
  rowSource,
} from '../../support/retrain-registry.js';

const ROWS = irisRows();
const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const T0 = Date.parse('2026-12-01T10:00:00Z');

/** 30 served predictions with feedback: captured rows (S3) and their labels (predictions table). */
const captured: CapturedRow[] = ROWS.slice(0, 30).map((r, i) => ({
  at: new Date(T0 - 3_600_000 + i * 1000).toISOString(),
  version: '1.0.0',
  // Half positional, half keyed by feature name, as clients send them.
  instance: i % 2 ? FEATURES.map((f) => r[f]) : Object.fromEntries(FEATURES.map((f) => [f, r[f]])),
  predictionId: `p${String(i).padStart(3, '0')}`,
}));

function setup() {
  let now = T0;
  const store = new MemoryJobStore();
  const registry = recordingRetrainRegistry({
    parent: () => irisParent('s3://b/datasets/iris-demo/train.csv'),
    answer: () => 'setosa',
  });
  const { ports: dataset, objects } = memoryDatasetPorts(captured, T0, (_c, i) => ({
    kind: 'multiclass',
    predicted: 'setosa',
    actual: String(ROWS[i]?.species),
  }));
  const service = new RetrainService({
    store,
    queue: { send: async () => {} },
    registry,
    rows: rowSource(ROWS),
    dataset,
    clock: { now: () => new Date(now) },
    ids: jobIds(),
  });
  return {
    service,
    // Live: what the jobs register from here on.
    registered: registry.registered,
    objects,
    advance: (ms: number) => (now += ms),
  };
}

describe('the training dataset of a job', () => {
  it('is the parent dataset plus captured predictions joined with their labels, written with a manifest', async () => {
    const { service, registered, objects } = setup();
    const job = await service.request(alice, 'iris-demo', { reason: 'x', search: { l2: [0.01] } });
    const done = await service.run(job.id);
    expect(done?.error).toBeUndefined();
    const lineage = (registered[0]!.input.params as { lineage: { dataset: Record<string, unknown> } })
      .lineage;
    const key = `datasets/iris-demo/retraining/${job.id}/rows.csv`;
    expect(lineage.dataset).toEqual({
      uri: `s3://bucket/${key}`,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      rows: ROWS.length + 30,
    });
    const csv = objects.get(key) as string;
    expect(csv.trim().split('\n')).toHaveLength(ROWS.length + 31);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(csv).digest('hex')).toBe(lineage.dataset.sha256);
    const manifest = JSON.parse(
      objects.get(`datasets/iris-demo/retraining/${job.id}/manifest.json`) as string,
    );
    expect(manifest).toMatchObject({
      uri: `s3://bucket/${key}`,
      sha256: lineage.dataset.sha256,
      rows: ROWS.length + 30,
      sources: { baseline: { rows: ROWS.length }, captured: { rows: 30, unusable: 0 } },
    });
  });

  it('gives the same rows, digest and ONNX bytes to two jobs on the same data and seed', async () => {
    const { service, registered, advance } = setup();
    for (const reason of ['first', 'second']) {
      const job = await service.request(alice, 'iris-demo', { reason, search: { l2: [0.01, 0.1] } });
      expect((await service.run(job.id))?.state).toBe('succeeded');
      advance(11 * 60_000);
    }
    const [a, b] = registered.map((r) => r.input) as [RegisterVersionInput, RegisterVersionInput];
    const lin = (r: RegisterVersionInput) =>
      (r.params as { lineage: { dataset: { sha256: string } } }).lineage;
    expect(lin(a).dataset.sha256).toBe(lin(b).dataset.sha256);
    expect((a.artifact as { base64: string }).base64).toBe((b.artifact as { base64: string }).base64);
  });
});
