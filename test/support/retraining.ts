/**
 * Shared setup of the retraining e2e files: iris-like models whose versions record a dataset in
 * the artifacts bucket (so a job can retrain them), role keys, labelled traffic, and waiting for
 * a job to end.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { logisticRegressionOnnx } from '../../functions/core/onnx/models.js';
import { makeDemoModel } from '../../functions/core/training/demo.js';
import { approveVersion, type Client, keyClient } from './model-api.js';
import { type ApiResponse, type ServalProcess, waitFor } from './serval-process.js';

export type { Client } from './model-api.js';

const demo = makeDemoModel();
export const IRIS_FEATURES = demo.inputSchema.features.map((f) => f.name);
export const IRIS_CLASSES = demo.outputSchema.classes as readonly string[];
/** The demo's held-out rows: real-looking flowers with their species. */
export const IRIS_HOLDOUT = demo.holdout;

/**
 * A model that always answers the first class: about half right on the iris rows, so any
 * retrained candidate beats it by far more than a margin of 0.01.
 */
export const POOR_IRIS_ONNX = logisticRegressionOnnx({
  weights: [0, 0, 0, 0],
  bias: -5,
  featureNames: IRIS_FEATURES,
  classes: [...IRIS_CLASSES],
});

export function roleKey(serval: ServalProcess, role: string): Promise<Client> {
  return keyClient(serval, role, `e2e-retrain-${role}`);
}

/**
 * Creates `name` with version 1.0.0 (`onnx`, the demo's schemas) trained, as far as the registry
 * knows, on a copy of the demo's dataset at datasets/<name>/train.csv (240 rows); through
 * testing and staging, approved by the approver, and in production when asked.
 */
export async function irisModel(
  c: { s3: S3Client; bucket: string; scientist: Client; approver: Client },
  name: string,
  options: { onnx?: Uint8Array; production?: boolean } = {},
): Promise<void> {
  const key = `datasets/${name}/train.csv`;
  await c.s3.send(new PutObjectCommand({ Bucket: c.bucket, Key: key, Body: demo.datasetCsv }));
  expect((await c.scientist('POST', '/v1/models', { name })).status).toBe(201);
  const reg = await c.scientist('POST', `/v1/models/${name}/versions`, {
    version: '1.0.0',
    artifact: { base64: Buffer.from(options.onnx ?? POOR_IRIS_ONNX).toString('base64') },
    inputSchema: demo.inputSchema,
    outputSchema: demo.outputSchema,
    dataset: { uri: `s3://${c.bucket}/${key}` },
  });
  expect(reg.status, reg.text).toBe(201);
  await approveVersion(c, name, '1.0.0', options);
}

/**
 * Serves `instances` (of `version`) and sends the labels of those with one (`undefined`: left
 * unlabelled), waiting until every label is joined to its captured prediction. Returns the ids.
 */
export async function labelledTraffic(
  serval: ServalProcess,
  predictor: Client,
  model: string,
  version: string,
  instances: number[][],
  labels: (string | undefined)[],
): Promise<string[]> {
  const res: ApiResponse = await predictor('POST', `/v1/models/${model}/predict`, { instances, version });
  expect(res.status, res.text).toBe(200);
  const ids = res.body.predictionIds as string[];
  const items = ids
    .map((predictionId, i) => ({ predictionId, actual: labels[i] }))
    .filter((f) => f.actual !== undefined);
  // A capture lands within seconds; until then its label is 'unknown', and is sent again.
  await waitFor(serval, 'labels joined to captured predictions', async () => {
    const fb = await predictor('POST', '/v1/predictions/feedback', items);
    expect(fb.status, fb.text).toBe(200);
    return fb.body.unknown === 0 ? true : undefined;
  });
  return ids;
}

const FINAL = ['succeeded', 'failed', 'cancelled'];

/** The job once it is in a final state. */
export function jobEnded(serval: ServalProcess, client: Client, jobId: string, timeoutMs = 60_000) {
  return waitFor(
    serval,
    `job ${jobId} to end`,
    async () => {
      const res = await client('GET', `/v1/jobs/${jobId}`);
      return FINAL.includes(res.body.state) ? (res.body as Record<string, any>) : undefined;
    },
    { timeoutMs },
  );
}
