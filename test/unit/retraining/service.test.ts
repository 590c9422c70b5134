import { beforeEach, describe, expect, it } from 'vitest';
import type { IdGenerator } from '../../../functions/core/kernel/clock.js';
import { DEFAULT_POLICY } from '../../../functions/core/monitoring/policy.js';
import type { RegisterVersionInput } from '../../../functions/core/registry/registration.js';
import { type ModeVerdict, RetrainService } from '../../../functions/core/retraining/service.js';
import { expectCode } from '../../support/expect-code.js';
import { MemoryJobStore } from '../../support/memory-jobs.js';
import { alice, bob } from '../../support/principals.js';
import {
  irisParent,
  irisRows,
  jobIds,
  type RecordingRetrainRegistry,
  recordingRetrainRegistry,
  rowSource,
} from '../../support/retrain-registry.js';

const URI = 's3://bucket/datasets/iris-demo/train.csv';
const ROWS = irisRows();
/** The true label of a row of features, so the fake registry can "run" the candidate perfectly. */
const truth = new Map(
  ROWS.map((r) => [
    [r.sepal_length, r.sepal_width, r.petal_length, r.petal_width].join(','),
    String(r.species),
  ]),
);

let now: number;
let store: MemoryJobStore;
let sent: string[];
let registry: RecordingRetrainRegistry;
let registered: RecordingRetrainRegistry['registered'];
let validations: RecordingRetrainRegistry['validations'];
let production: string | undefined;
let ids: IdGenerator;

function service(
  rows = ROWS,
  mode?: ModeVerdict,
  more: Partial<ConstructorParameters<typeof RetrainService>[0]> = {},
) {
  return new RetrainService({
    ...(mode ? { mode: async () => mode } : {}),
    store,
    queue: { send: async (m) => void sent.push(m.jobId) },
    registry,
    rows: rowSource(rows),
    clock: { now: () => new Date(now) },
    ids,
    ...more,
  });
}

beforeEach(() => {
  now = Date.parse('2026-12-01T10:00:00Z');
  store = new MemoryJobStore();
  sent = [];
  production = undefined;
  // Production answers one class for everything (about half right); the candidate the truth.
  registry = recordingRetrainRegistry({
    parent: () => irisParent(URI),
    production: () => production,
    answer: (version, x) => (version === production ? 'versicolor' : (truth.get(x.join(',')) ?? '?')),
  });
  ({ registered, validations } = registry);
  ids = jobIds();
});

describe('retraining requests', () => {
  it('queues one job per model and records a second trigger on the active job instead of duplicating it', async () => {
    const s = service();
    const job = await s.request(alice, 'iris-demo', { reason: 'drifted' });
    expect(job).toMatchObject({ state: 'queued', trigger: 'manual', model: 'iris-demo' });
    expect(sent).toEqual([job.id]);
    const err = await expectCode(
      s.request(bob, 'iris-demo', { reason: 'again', trigger: 'drift' }),
      'conflict',
    );
    expect(err.details).toMatchObject({ jobId: job.id });
    expect(sent).toHaveLength(1);
    expect((await s.get(job.id)).duplicates).toEqual([
      expect.objectContaining({ by: 'bob', trigger: 'drift', reason: 'again' }),
    ]);
    expect(store.audits.map((a) => a.action)).toEqual(['retrain.requested', 'retrain.duplicate']);
  });

  it('refuses, without recording it, a request whose active job ends before it is recorded', async () => {
    const s = service();
    const job = await s.request(alice, 'iris-demo', { reason: 'first' });
    // The request reads the slot while the job is active; the job ends before its write.
    const slot = store.slot.bind(store);
    store.slot = async (model) => {
      const read = await slot(model);
      await s.cancel(bob, job.id);
      return read;
    };
    const err = await expectCode(s.request(alice, 'iris-demo', { reason: 'late' }), 'conflict');
    expect(err.details).toMatchObject({ reason: 'cooldown', jobId: job.id });
    expect((await s.get(job.id)).duplicates).toEqual([]);
    expect(store.audits.at(-1)).toMatchObject({ action: 'retrain.refused' });
  });

  it('refuses a request within the cooldown after the last job, audited with the reason', async () => {
    const s = service();
    const job = await s.request(alice, 'iris-demo', { reason: 'first' });
    await s.cancel(alice, job.id);
    now += 5 * 60_000;
    const err = await expectCode(s.request(alice, 'iris-demo', { reason: 'soon' }), 'conflict');
    expect(err.details).toMatchObject({ reason: 'cooldown' });
    expect(store.audits.at(-1)).toMatchObject({ action: 'retrain.refused', comment: 'cooldown: soon' });
    now += 6 * 60_000;
    expect((await s.request(alice, 'iris-demo', { reason: 'later' })).state).toBe('queued');
  });

  it('refuses every request in a mode that never retrains (503), audited, nothing queued', async () => {
    const s = service(ROWS, { mode: 'maintenance', retraining: 'never', allowed: false });
    for (const trigger of ['manual', 'drift']) {
      const err = await expectCode(
        s.request(alice, 'iris-demo', { reason: 'drifted', trigger }),
        'unavailable',
      );
      expect(err.details).toEqual({ reason: 'mode', mode: 'maintenance', retraining: 'never' });
    }
    expect(sent).toEqual([]);
    expect((await store.slot('iris-demo')).activeJobId).toBeUndefined();
    expect(store.audits.map((a) => [a.action, a.comment])).toEqual([
      ['retrain.refused', 'mode maintenance: drifted'],
      ['retrain.refused', 'mode maintenance: drifted'],
    ]);
  });

  it("refuses a request in serving mode when the model's policy does not allow it (409), queues it when it does", async () => {
    const refused = service(ROWS, { mode: 'serving', retraining: 'if_policy_allows', allowed: false });
    const err = await expectCode(refused.request(alice, 'iris-demo', { reason: 'now' }), 'conflict');
    expect(err.details).toEqual({ reason: 'mode', mode: 'serving', retraining: 'if_policy_allows' });
    expect(err.message).toMatch(/allowInServing: false/);
    expect(sent).toEqual([]);
    const allowed = service(ROWS, { mode: 'serving', retraining: 'if_policy_allows', allowed: true });
    expect((await allowed.request(alice, 'iris-demo', { reason: 'now' })).state).toBe('queued');
  });

  it('cancels a queued job at once; a finished job cannot be cancelled', async () => {
    const s = service();
    const job = await s.request(alice, 'iris-demo', { reason: 'x' });
    expect((await s.cancel(alice, job.id)).state).toBe('cancelled');
    expect(store.slots.get('iris-demo')?.activeJobId).toBeUndefined();
    await expectCode(s.cancel(alice, job.id), 'conflict');
    // The worker then finds it cancelled and starts nothing.
    expect((await s.run(job.id))?.state).toBe('cancelled');
    expect(registered).toHaveLength(0);
  });
});

describe('running a job', () => {
  it('searches with CV, registers the best candidate in staging with lineage, and compares with production', async () => {
    production = '1.0.0';
    const s = service();
    const job = await s.request(alice, 'iris-demo', { reason: 'weekly', search: { l2: [1e-3, 1e-1, 10] } });
    const done = await s.run(job.id);
    expect(done).toMatchObject({
      state: 'succeeded',
      resultVersion: '1.0.1',
      progress: { fraction: 1, trial: 3, trials: 3 },
    });
    expect(done?.outcome).toMatch(/beats production 1\.0\.0/);
    const { input } = registered[0]!;
    expect(input.parent).toBe('1.0.0');
    expect(input.dataset).toEqual({ uri: URI, rows: ROWS.length });
    expect(input.metrics).toMatchObject({
      cvAccuracyMean: expect.any(Number),
      cvAccuracyStd: expect.any(Number),
    });
    const lineage = (
      input.params as {
        lineage: { search: { trials: unknown[]; best: { score: number } }; dataset: unknown };
      }
    ).lineage;
    expect(lineage).toMatchObject({
      jobId: job.id,
      trigger: 'manual',
      parent: '1.0.0',
      dataset: { uri: URI, rows: ROWS.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    expect(lineage.search.trials).toHaveLength(3);
    expect(lineage.search.best.score).toBe(input.metrics?.cvAccuracyMean);
    expect(validations[0]?.report).toMatchObject({
      passed: true,
      comparison: { production: '1.0.0', better: true },
    });
    expect(done?.log.some((l) => l.message.includes('trial 2/3'))).toBe(true);
    expect(store.audits.at(-1)).toMatchObject({ action: 'retrain.succeeded' });
    expect(store.slots.get('iris-demo')).toEqual({ releasedAt: done?.updatedAt });
  });

  it('trains the same model from the same rows and seed', async () => {
    const a = service();
    await a.run((await a.request(alice, 'iris-demo', { reason: 'a', search: { l2: [1e-2] } })).id);
    now += 60 * 60_000;
    await a.run((await a.request(alice, 'iris-demo', { reason: 'b', search: { l2: [1e-2] } })).id);
    const [x, y] = [registered[0]!, registered[1]!];
    const lineageOf = (r: { input: RegisterVersionInput }) =>
      (r.input.params as { lineage: unknown }).lineage;
    expect((lineageOf(x) as { dataset: unknown }).dataset).toEqual(
      (lineageOf(y) as { dataset: unknown }).dataset,
    );
    expect((x.input.artifact as { base64: string }).base64).toBe(
      (y.input.artifact as { base64: string }).base64,
    );
  });

  it('keeps a candidate that is not better by the margin in staging and says so, once', async () => {
    production = '1.0.0';
    const promoted: string[] = [];
    const s = service(ROWS, undefined, {
      // A policy that would promote a better candidate: it must not touch this one.
      retrainingPolicy: async () => ({ ...DEFAULT_POLICY.retraining, promotion: 'approval' }),
      promotion: {
        alert: async () => {
          promoted.push('alert');
          return 'A1';
        },
        event: async () => void promoted.push('event'),
        startCanary: async () => {
          promoted.push('canary');
          return 'E1';
        },
        approve: async () => void promoted.push('approve'),
        promote: async () => void promoted.push('promote'),
        audit: async () => {},
        clock: { now: () => new Date(now) },
        ids,
      },
    });
    const job = await s.request(alice, 'iris-demo', {
      reason: 'x',
      params: { margin: 0.9 },
      search: { l2: [1e-2] },
    });
    const done = await s.run(job.id);
    expect(done?.state).toBe('succeeded');
    expect(done?.outcome).toMatch(
      /^\S+ is not better than production 1\.0\.0 by the margin 0\.9 \([\d.]+ vs [\d.]+\); kept in staging \(promotion policy: approval\)$/,
    );
    expect(done?.promotion).toMatchObject({ mode: 'approval', action: 'kept_in_staging' });
    expect(promoted).toEqual([]);
    expect(validations[0]?.report).toMatchObject({ passed: false, comparison: { better: false } });
    // One line per state change, and the one run's own lines: no claim that changed nothing.
    expect(done?.log.map((l) => l.message).filter((m) => m.startsWith('state '))).toEqual([
      'state queued → running',
    ]);
  });

  it('does not start a second run on a redelivered message, and fails a running job whose worker went silent', async () => {
    const s = service();
    const job = await s.request(alice, 'iris-demo', { reason: 'x', search: { l2: [1e-2] } });
    await s.run(job.id);
    expect((await s.run(job.id))?.state).toBe('succeeded');
    expect(registered).toHaveLength(1);

    now += 60 * 60_000;
    const second = await s.request(alice, 'iris-demo', { reason: 'y' });
    // A worker claimed it and died: the job is running with an old heartbeat.
    const cur = (await store.get(second.id))!;
    await store.save({ ...cur, state: 'running', heartbeatAt: new Date(now).toISOString(), revision: 2 }, 1);
    expect((await s.run(second.id))?.state).toBe('running');
    now += 16 * 60_000;
    const failed = await s.run(second.id);
    expect(failed).toMatchObject({ state: 'failed', error: expect.stringMatching(/worker stopped/) });
    expect(registered).toHaveLength(1);
    expect(store.slots.get('iris-demo')?.activeJobId).toBeUndefined();
  });

  it('stops a running job at the next trial when it is cancelled', async () => {
    const s = service();
    const job = await s.request(alice, 'iris-demo', {
      reason: 'x',
      search: { l2: [1e-4, 1e-3, 1e-2, 1e-1] },
    });
    const origSave = store.save.bind(store);
    let cancelled = false;
    store.save = async (j, rev, audit) => {
      await origSave(j, rev, audit);
      if (!cancelled && j.progress.trial === 2) {
        cancelled = true;
        await s.cancel(bob, job.id);
      }
    };
    const done = await s.run(job.id);
    expect(done?.error).toBeUndefined();
    expect(done?.state).toBe('cancelled');
    expect(done?.progress.trial).toBeLessThan(4);
    expect(registered).toHaveLength(0);
  });

  it('fails with a clear error when the dataset has a label that is not a class', async () => {
    const s = service([...ROWS, { ...ROWS[0], species: 'setosa' }]);
    const done = await s.run((await s.request(alice, 'iris-demo', { reason: 'x' })).id);
    expect(done).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/label setosa is not a class/),
    });
  });
});
