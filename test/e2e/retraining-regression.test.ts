/**
 * Retraining a regression model end to end on the local runtime, over HTTP: a model whose
 * production version is a deliberately poor linear regression (it answers the mean), trained on a
 * CSV whose label column `price` is numeric, plus served predictions labelled with numbers; a
 * retrain searches ridge penalties with plain k-fold CV, registers the candidate in staging with
 * RMSE/MAE/R² and CV RMSE, compares RMSE with production on the same held-out rows, and asks for
 * approval with that comparison. A non-numeric label fails its job naming the row.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { linearRegressionOnnx } from '../../functions/core/onnx/models.js';
import { createRng } from '../../functions/core/training/random.js';
import { servalForFile } from '../support/lifecycle.js';
import { approveVersion, roleClients } from '../support/model-api.js';
import { type Client, jobEnded } from '../support/retraining.js';
import { type ServalProcess, waitFor } from '../support/serval-process.js';

let serval: ServalProcess;
let s3: S3Client;
let bucket: string;
let admin: Client;
let scientist: Client;
let approver: Client;
let predictor: Client;

const FEATURES = ['rooms', 'age', 'distance'];
const round = (v: number) => Math.round(v * 1000) / 1000;

/** price = 20·rooms − 0.5·age − 8·distance + 50 plus noise of ±1. */
function houses(n: number, seed: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const [rooms, age, distance] = [1 + rng.next() * 5, rng.next() * 40, rng.next() * 10].map(round) as [
      number,
      number,
      number,
    ];
    return [rooms, age, distance, round(20 * rooms - 0.5 * age - 8 * distance + 50 + (rng.next() - 0.5) * 2)];
  });
}
const ROWS = houses(240, 1);
const MEAN = ROWS.reduce((s, r) => s + (r[3] as number), 0) / ROWS.length;
const csv = (rows: (number | string)[][]) =>
  [[...FEATURES, 'price'].join(','), ...rows.map((r) => r.join(','))].join('\n');

/** Creates `name` with 1.0.0 (answers the mean whatever the input) in production, its dataset in S3. */
async function houseModel(name: string, body: string) {
  const key = `datasets/${name}/train.csv`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  expect((await scientist('POST', '/v1/models', { name })).status).toBe(201);
  const reg = await scientist('POST', `/v1/models/${name}/versions`, {
    version: '1.0.0',
    artifact: {
      base64: Buffer.from(
        linearRegressionOnnx({ weights: [0, 0, 0], bias: MEAN, featureNames: FEATURES }),
      ).toString('base64'),
    },
    inputSchema: { features: FEATURES.map((f) => ({ name: f, type: 'float' })) },
    outputSchema: { kind: 'regression' },
    dataset: { uri: `s3://${bucket}/${key}` },
  });
  expect(reg.status, reg.text).toBe(201);
  await approveVersion({ scientist, approver }, name, '1.0.0', { production: true });
}

servalForFile({
  setup: async (local) => {
    ({ serval, s3, bucket } = local);
    ({ admin, scientist, approver, predictor } = await roleClients(serval, 'e2e-retrain'));
    await houseModel('houses', csv(ROWS));
    await houseModel('houses-bad', csv([...ROWS.slice(0, 99), [3, 10, 2, 'n/a'], ...ROWS.slice(100)]));
  },
});

describe('retraining a regression model', () => {
  it('refuses a classifier trainer for a regression model at request time', async () => {
    const res = await scientist('POST', '/v1/models/houses/retrain', { reason: 'x', trainer: 'logistic' });
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.message).toMatch(/does not train regression models/);
  });

  it('trains on the dataset plus numerically labelled traffic, registers a staging candidate with RMSE/R², and asks for approval with the RMSE comparison', {
    timeout: 120_000,
  }, async () => {
    const policy = await admin('PUT', '/v1/models/houses/policy', {
      retraining: { promotion: 'approval', dataset: { windowDays: 1 } },
    });
    expect(policy.status, policy.text).toBe(200);

    // 20 served predictions, labelled with their prices (numbers), join the training rows.
    const served = houses(20, 2);
    const pred = await predictor('POST', '/v1/models/houses/predict', {
      instances: served.map((r) => r.slice(0, 3)),
    });
    expect(pred.status, pred.text).toBe(200);
    expect(pred.body.predictions[0]).toBeCloseTo(MEAN, 3);
    const items = (pred.body.predictionIds as string[]).map((predictionId, i) => ({
      predictionId,
      actual: served[i]![3],
    }));
    await waitFor(serval, 'labels joined to captured predictions', async () => {
      const fb = await predictor('POST', '/v1/predictions/feedback', items);
      expect(fb.status, fb.text).toBe(200);
      return fb.body.unknown === 0 ? true : undefined;
    });

    const res = await scientist('POST', '/v1/models/houses/retrain', {
      reason: 'new sales',
      search: { l2: [0.001, 0.1, 10] },
    });
    expect(res.status, res.text).toBe(202);
    const job = await jobEnded(serval, scientist, res.body.id);
    expect(job.error).toBeNull();
    expect(job.state).toBe('succeeded');
    expect(job.outcome).toMatch(/beats production 1\.0\.0: RMSE \d+\.\d+ vs \d+\.\d+ \(\d+\.\d % lower\)/);
    expect(job.promotion).toMatchObject({ mode: 'approval', action: 'approval_requested' });

    const v = (await admin('GET', `/v1/models/houses/versions/${job.resultVersion}`)).body;
    expect(v).toMatchObject({ stage: 'staging', parent: '1.0.0', outputSchema: { kind: 'regression' } });
    expect(v.dataset).toMatchObject({ rows: 260, verified: true });
    expect(v.params).toMatchObject({ trainer: 'linear', l2: expect.any(Number) });
    expect(v.params.lineage).toMatchObject({ jobId: job.id, parent: '1.0.0', dataset: { rows: 260 } });
    expect(v.params.lineage.search.trials).toHaveLength(3);
    // The noise is ±1 (RMSE ≈ 0.58); the mean answers miss by the spread of the prices.
    expect(v.metrics.cvRmseMean).toBeLessThan(1);
    expect(v.metrics.cvRmseStd).toEqual(expect.any(Number));
    expect(v.metrics.rmse).toBeLessThan(1);
    expect(v.metrics.mae).toBeLessThan(1);
    expect(v.metrics.r2).toBeGreaterThan(0.99);
    expect(v.validation).toMatchObject({ passed: true, by: `job:${job.id}` });

    // The candidate answers its own predictions over HTTP (the registered ONNX, a regressor's y).
    const x = served.slice(0, 2).map((r) => r.slice(0, 3));
    const answered = await predictor('POST', '/v1/models/houses/predict', {
      instances: x,
      version: job.resultVersion,
    });
    expect(answered.status, answered.text).toBe(200);
    for (const [i, p] of (answered.body.predictions as number[]).entries())
      expect(Math.abs(p - served[i]![3]!)).toBeLessThan(3);

    const alerts = (await admin('GET', '/v1/alerts?model=houses')).body.items;
    const alert = alerts.find((a: { kind: string }) => a.kind === 'retraining');
    expect(alert).toMatchObject({ id: job.promotion.alertId, status: 'open' });
    const comparison = alert.details.comparison;
    expect(comparison).toMatchObject({
      production: '1.0.0',
      metric: 'rmse',
      margin: 0.01,
      better: true,
      rows: 52,
    });
    expect(comparison.candidate).toBeCloseTo(v.metrics.rmse, 4);
    expect(comparison.champion).toBeGreaterThan(10 * comparison.candidate);
    expect(comparison.relativeImprovement).toBeGreaterThan(0.9);
  });

  it('fails a job whose dataset has a label that is not a number, naming the row', async () => {
    const res = await scientist('POST', '/v1/models/houses-bad/retrain', { reason: 'x' });
    expect(res.status, res.text).toBe(202);
    const job = await jobEnded(serval, scientist, res.body.id);
    expect(job.state).toBe('failed');
    expect(job.error).toMatch(
      /row 100 of s3:\/\/.*\/datasets\/houses-bad\/train\.csv: label n\/a is not a number/,
    );
  });
});
