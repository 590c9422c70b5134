/**
 * Retraining a regression model (docs/retraining.md, "Regression models"): numeric labels, plain
 * k-fold CV scored by negative RMSE, held-out RMSE/MAE/R², and a champion/challenger comparison
 * whose margin is a relative RMSE improvement.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { IdGenerator } from '../../../functions/core/kernel/clock.js';
import { DEFAULT_POLICY, SageMakerTrainingPolicy } from '../../../functions/core/monitoring/policy.js';
import type { CapturedRow } from '../../../functions/core/monitoring/ports.js';
import type { ModelVersion } from '../../../functions/core/registry/types.js';
import type { DatasetPorts } from '../../../functions/core/retraining/dataset.js';
import { RetrainService } from '../../../functions/core/retraining/service.js';
import { createRng } from '../../../functions/core/training/random.js';
import { expectCode } from '../../support/expect-code.js';
import { MemoryJobStore } from '../../support/memory-jobs.js';
import { alice } from '../../support/principals.js';
import {
  jobIds,
  memoryDatasetPorts,
  type RecordingRetrainRegistry,
  recordingRetrainRegistry,
  rowSource,
} from '../../support/retrain-registry.js';

const URI = 's3://bucket/datasets/houses/train.csv';
const FEATURES = ['rooms', 'age', 'distance'];
const T0 = Date.parse('2026-12-01T10:00:00Z');

/** y = 2·rooms − 0.5·age + 3·distance + 7 plus a little noise: a linear model fits it well. */
function makeRows(n: number, seed: number): Record<string, unknown>[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const [rooms, age, distance] = [rng.next() * 5, rng.next() * 10, rng.next() * 2];
    const price = 2 * rooms - 0.5 * age + 3 * distance + 7 + (rng.next() - 0.5) * 0.2;
    return { rooms, age, distance, price };
  });
}
const ROWS = makeRows(200, 3);
const truth = new Map(ROWS.map((r) => [FEATURES.map((f) => r[f]).join(','), r.price as number]));

let now: number;
let ids: IdGenerator;
let store: MemoryJobStore;
let registry: RecordingRetrainRegistry;
let registered: RecordingRetrainRegistry['registered'];
let validations: RecordingRetrainRegistry['validations'];
let production: string | undefined;
let outputSchema: Record<string, unknown>;

/** The regression parent: the houses model with the output schema the test sets. */
function parent(): ModelVersion {
  return {
    model: 'houses',
    version: '1.0.0',
    runtime: { type: 'lambda' },
    inputSchema: { features: FEATURES.map((name) => ({ name, type: 'float' })) },
    outputSchema,
    dataset: { uri: URI },
  } as unknown as ModelVersion;
}

function service(rows = ROWS, dataset?: DatasetPorts, sagemaker = false) {
  return new RetrainService({
    ...(sagemaker
      ? {
          retrainingPolicy: async () => ({
            ...DEFAULT_POLICY.retraining,
            training: {
              sagemaker: SageMakerTrainingPolicy.parse({ image: 'img', instanceType: 'ml.m5.large' }),
            },
          }),
        }
      : {}),
    store,
    queue: { send: async () => undefined },
    registry,
    rows: rowSource(rows),
    clock: { now: () => new Date(now) },
    ids,
    ...(dataset ? { dataset } : {}),
  });
}

beforeEach(() => {
  now = T0;
  ids = jobIds();
  store = new MemoryJobStore();
  // Production is off by 1 on every row (RMSE 1); the candidate by ±0.1 (RMSE 0.1).
  registry = recordingRetrainRegistry({
    parent,
    production: () => production,
    answer: (version, x, i) => {
      const y = truth.get(x.join(','));
      if (y === undefined) throw new Error('not a held-out row');
      return version === production ? y + 1 : y + (i % 2 ? 0.1 : -0.1);
    },
  });
  ({ registered, validations } = registry);
  production = undefined;
  outputSchema = { kind: 'regression' };
});

describe('retraining a regression model', () => {
  it('trains ridge regression with CV on negative RMSE, registers the candidate with lineage and RMSE/MAE/R², and compares RMSE with production', async () => {
    production = '1.0.0';
    const s = service();
    const job = await s.request(alice, 'houses', { reason: 'new data', search: { l2: [1e-4, 1e-2, 10] } });
    const done = await s.run(job.id);
    expect(done?.error).toBeUndefined();
    expect(done).toMatchObject({ state: 'succeeded', resultVersion: '1.0.1' });
    expect(done?.outcome).toMatch(/beats production 1\.0\.0: RMSE 0\.1000 vs 1\.0000 \(90\.0 % lower\)/);

    const { input } = registered[0]!;
    const metrics = input.metrics as Record<string, number>;
    expect(Object.keys(metrics).sort()).toEqual(['cvRmseMean', 'cvRmseStd', 'mae', 'r2', 'rmse']);
    // The noise is uniform ±0.1 (RMSE ≈ 0.058): the fit is close to it.
    expect(metrics.cvRmseMean).toBeGreaterThan(0.03);
    expect(metrics.cvRmseMean).toBeLessThan(0.1);
    expect(metrics.rmse).toBeLessThan(0.1);
    expect(metrics.r2).toBeGreaterThan(0.99);
    const params = input.params as {
      trainer: string;
      l2: number;
      lineage: { search: { trials: { score: number }[]; best: { score: number } } };
    };
    expect(params.trainer).toBe('linear');
    // l2 = 10 shrinks the weights: the search prefers a small penalty.
    expect(params.l2).toBeLessThan(10);
    expect(params.lineage).toMatchObject({
      jobId: job.id,
      parent: '1.0.0',
      dataset: { uri: URI, rows: 200, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    expect(params.lineage.search.trials).toHaveLength(3);
    // The search maximised the negative RMSE.
    expect(params.lineage.search.best.score).toBe(-(metrics.cvRmseMean as number));
    expect(Math.max(...params.lineage.search.trials.map((t) => t.score))).toBe(
      params.lineage.search.best.score,
    );
    expect(input.outputSchema).toEqual({ kind: 'regression' });

    const report = validations[0]!.report as {
      passed: boolean;
      metrics: Record<string, number>;
      comparison: Record<string, unknown>;
    };
    expect(report).toMatchObject({ passed: true, kind: 'retraining', rows: 40 });
    expect(report.metrics.rmse).toBeCloseTo(0.1, 12);
    expect(report.comparison).toMatchObject({
      production: '1.0.0',
      rows: 40,
      metric: 'rmse',
      margin: 0.01,
      better: true,
    });
    expect(report.comparison.candidate).toBeCloseTo(0.1, 12);
    expect(report.comparison.champion).toBeCloseTo(1, 12);
    expect(report.comparison.relativeImprovement).toBeCloseTo(0.9, 12);
  });

  it('keeps a candidate in staging whose RMSE is not lower by the relative margin', async () => {
    production = '1.0.0';
    const s = service();
    // 0.1 vs 1: 90 % lower, short of a 95 % margin (an absolute margin of 0.95 would have passed).
    const job = await s.request(alice, 'houses', {
      reason: 'x',
      params: { margin: 0.95 },
      search: { l2: [1e-3] },
    });
    const done = await s.run(job.id);
    expect(done?.state).toBe('succeeded');
    expect(done?.outcome).toMatch(
      /not better than production 1\.0\.0 by the margin 0\.95 \(RMSE 0\.1000 vs 1\.0000; needs at most 0\.0500\); kept in staging/,
    );
    expect(validations[0]?.report).toMatchObject({
      passed: false,
      comparison: { better: false, metric: 'rmse' },
    });
  });

  it('trains an MLP regressor with a successive-halving search', async () => {
    const s = service();
    const job = await s.request(alice, 'houses', {
      reason: 'x',
      trainer: 'mlp',
      search: {
        strategy: 'halving',
        trials: 3,
        space: {
          hidden: { type: 'choice', values: [8, 16] },
          learningRateInit: { type: 'choice', values: [1e-2] },
        },
      },
    });
    const done = await s.run(job.id);
    expect(done?.error).toBeUndefined();
    expect(done?.outcome).toMatch(/no production version/);
    const metrics = registered[0]!.input.metrics as Record<string, number>;
    expect(registered[0]!.input.params).toMatchObject({ trainer: 'mlp' });
    // Far better than predicting the mean (the label's standard deviation is about 3).
    expect(metrics.r2).toBeGreaterThan(0.9);
    expect(metrics.cvRmseMean).toBeGreaterThan(0);
  });

  it('fails the job naming the row when a label is not a number, and refuses classifier trainers', async () => {
    const bad = [...ROWS.slice(0, 40), { ...ROWS[40], price: 'n/a' }, ...ROWS.slice(41)];
    const s = service(bad);
    const job = await s.request(alice, 'houses', { reason: 'x' });
    await expectCode(s.prepare(await s.get(job.id)), 'validation_failed');
    const done = await s.run(job.id);
    expect(done).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(
        /row 41 of s3:\/\/bucket\/datasets\/houses\/train\.csv: label n\/a is not a number/,
      ),
    });

    now += 60 * 60_000;
    const err = await expectCode(
      service().request(alice, 'houses', { reason: 'x', trainer: 'logistic' }),
      'validation_failed',
    );
    expect(err.message).toMatch(/trainer logistic does not train regression models; use mlp or linear/);
    outputSchema = { kind: 'binary', classes: ['no', 'yes'] };
    await expectCode(
      service().request(alice, 'houses', { reason: 'x', trainer: 'linear' }),
      'validation_failed',
    );
  });

  it('fails a job whose policy trains on SageMaker, which is not built for regression', async () => {
    const s = service(ROWS, undefined, true);
    const done = await s.run((await s.request(alice, 'houses', { reason: 'x' })).id);
    expect(done).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/SageMaker training of regression models is not built/),
    });
    expect(registered).toHaveLength(0);
  });

  it('adds labelled traffic with numeric labels to the rows, counting a non-numeric label as unusable', async () => {
    const served = makeRows(12, 9);
    // The fake registry answers for the served rows too: some are held out.
    for (const r of served) truth.set(FEATURES.map((f) => r[f]).join(','), r.price as number);
    const captured: CapturedRow[] = served.map((r, i) => ({
      at: new Date(T0 - 3_600_000 + i * 1000).toISOString(),
      version: '1.0.0',
      instance: FEATURES.map((f) => r[f]),
      predictionId: `p${String(i).padStart(3, '0')}`,
    }));
    const { ports: dataset, objects } = memoryDatasetPorts(captured, T0, (_c, i) => ({
      kind: 'regression',
      predicted: 0,
      // Labels arrive as numbers or numeric strings; one is not a number.
      actual: i === 0 ? 'unknown' : i % 2 ? (served[i]!.price as number) : String(served[i]!.price),
    }));
    const s = service(ROWS, dataset);
    const done = await s.run((await s.request(alice, 'houses', { reason: 'x', search: { l2: [1e-3] } })).id);
    expect(done?.error).toBeUndefined();
    expect(done?.state).toBe('succeeded');
    const manifest = JSON.parse(objects.get(`datasets/houses/retraining/${done?.id}/manifest.json`)!);
    expect(manifest).toMatchObject({
      rows: 211,
      features: FEATURES,
      task: 'regression',
      sources: { baseline: { rows: 200 }, captured: { rows: 11, unusable: 1 } },
    });
    const csv = objects.get(`datasets/houses/retraining/${done?.id}/rows.csv`)!.split('\n');
    expect(csv[0]).toBe('rooms,age,distance,label');
    expect(csv.at(-1)).toBe(
      FEATURES.map((f) => served[11]![f])
        .concat(String(served[11]!.price))
        .join(','),
    );
  });
});
