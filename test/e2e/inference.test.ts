/**
 * Inference end to end on the local runtime (`npm start` in a child process), over HTTP:
 * the README's demo prediction, routing and a promotion served without a restart, a tampered
 * production artifact answered by the previous production version, a SageMaker-routed version
 * through the SageMaker stand-in, captures landing in S3, feedback joined into the stats, the
 * Prometheus metrics, explanations, and the limits.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { logisticRegressionOnnx, mlpOnnx, softmaxRegressionOnnx } from '../../functions/core/onnx/models.js';
import { servalForFile } from '../support/lifecycle.js';
import { approveVersion, type Client, keyClient, roleClients } from '../support/model-api.js';
import { type ServalProcess, waitFor } from '../support/serval-process.js';

let serval: ServalProcess;
let admin: Client;
let scientist: Client;
let approver: Client;
let predictor: Client;
let s3: S3Client;
let bucket: string;

const FEATURES = ['a', 'b', 'c'];
const inputSchema = { features: FEATURES.map((name) => ({ name, type: 'float' })) };
const W1 = [0.5, -1.25, 2];
const B1 = -0.3;
const W2 = [-0.75, 0.5, 1];
const B2 = 0.2;
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const dot = (w: number[], x: number[]) => w.reduce((s, wi, i) => s + wi * (x[i] as number), 0);
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number) =>
  waitFor(serval, what, probe, { timeoutMs });

async function registerAndPromote(model: string, version: string, onnx: Uint8Array, extra: object = {}) {
  const reg = await scientist('POST', `/v1/models/${model}/versions`, {
    version,
    artifact: { base64: b64(onnx) },
    framework: 'onnx',
    runtime: { type: 'lambda' },
    inputSchema,
    outputSchema: { kind: 'binary', classes: ['no', 'yes'] },
    params: { featureMeans: [1, 2, 0.5] },
    ...extra,
  });
  expect(reg.status, reg.text).toBe(201);
  await approveVersion({ scientist, approver }, model, version, { production: true });
}

servalForFile({
  setup: async (local) => {
    ({ serval, s3, bucket } = local);
    ({ admin, scientist, approver, predictor } = await roleClients(serval, 'e2e'));
    expect((await scientist('POST', '/v1/models', { name: 'churn' })).status).toBe(201);
  },
});

describe('inference over HTTP', () => {
  it('predicts with the demo model as the README shows, and explains it', async () => {
    const res = await predictor('POST', '/v1/models/iris-demo/predict', {
      version: '1.0.0',
      instances: [
        [6.1, 2.8, 4.7, 1.2],
        { sepal_length: 7.7, sepal_width: 3.0, petal_length: 6.1, petal_width: 2.3 },
      ],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.predictions).toEqual(['versicolor', 'virginica']);
    expect(res.body.probabilities[0][0]).toBeGreaterThan(0.5);
    expect(res.body.predictionIds).toHaveLength(2);
    const ex = await predictor('POST', '/v1/models/iris-demo/explain', {
      version: '1.0.0',
      instances: [[6.1, 2.8, 4.7, 1.2]],
    });
    expect(ex.status, ex.text).toBe(200);
    const e = ex.body.explanations[0];
    const sum = Object.values(e.attributions as Record<string, number>).reduce((s, a) => s + a, 0);
    expect(e.space).toBe('logit');
    expect(e.base + sum).toBeCloseTo(e.value, 9);
    // The logit's sign decides the class: negative → versicolor (the first class).
    expect(e.value).toBeLessThan(0);
    // Explanations never go through an experiment: a subject is refused, not ignored.
    const subject = await predictor('POST', '/v1/models/iris-demo/explain', {
      version: '1.0.0',
      subject: 'u1',
      instances: [[6.1, 2.8, 4.7, 1.2]],
    });
    expect(subject.status).toBe(400);
    expect(subject.body.error.code).toBe('validation_failed');
    expect(subject.text).toContain('subject');
  });

  it('names the offending instance and feature; refuses viewers and oversize payloads', async () => {
    const bad = await predictor('POST', '/v1/models/iris-demo/predict', {
      version: '1.0.0',
      instances: [[6.1, 2.8, 4.7, 1.2], { sepal_length: 'x' }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    expect(bad.body.error.details).toMatchObject({ instance: 1 });
    const viewer = await keyClient(serval, 'viewer', 'e2e-viewer');
    expect(
      (await viewer('POST', '/v1/models/iris-demo/predict', { version: '1.0.0', instances: [[1, 2, 3, 4]] }))
        .status,
    ).toBe(403);
    const huge = JSON.stringify({
      version: '1.0.0',
      instances: [[1, 2, 3, 4]],
      pad: 'x'.repeat(7 * 1024 * 1024),
    });
    const tooBig = await predictor('POST', '/v1/models/iris-demo/predict', huge);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error.code).toBe('payload_too_large');
  });

  it('serves a promotion on the next requests without a restart, and keeps serving in maintenance', async () => {
    await registerAndPromote(
      'churn',
      '1.0.0',
      logisticRegressionOnnx({ weights: W1, bias: B1, featureNames: FEATURES, classes: ['no', 'yes'] }),
    );
    const x = [1, 2, 3];
    const first = await until('production to serve', async () => {
      const r = await predictor('POST', '/v1/models/churn/predict', { instances: [x] });
      return r.status === 200 ? r : undefined;
    });
    expect(first.body.modelVersion).toBe('1.0.0');
    expect(first.body.probabilities[0][1]).toBeCloseTo(sigmoid(dot(W1, x) + B1), 6);

    await registerAndPromote(
      'churn',
      '1.1.0',
      logisticRegressionOnnx({ weights: W2, bias: B2, featureNames: FEATURES, classes: ['no', 'yes'] }),
    );
    const promotedAt = Date.now();
    const second = await until('the promotion to be served', async () => {
      const r = await predictor('POST', '/v1/models/churn/predict', { instances: [x] });
      return r.body.modelVersion === '1.1.0' ? r : undefined;
    });
    // Served within the route cache's second (plus this test's polling), by the same process.
    expect(Date.now() - promotedAt).toBeLessThan(3000);
    expect(second.body.probabilities[0][1]).toBeCloseTo(sigmoid(dot(W2, x) + B2), 6);

    expect((await admin('PUT', '/v1/mode', { mode: 'maintenance', comment: 'e2e' })).status).toBe(200);
    try {
      const during = await predictor('POST', '/v1/models/churn/predict', { instances: [x] });
      expect(during.status).toBe(200);
      // Each function trusts its last read of the mode for up to 2 s.
      await until('changes to be refused', async () => {
        const r = await scientist('PATCH', '/v1/models/churn', { description: 'x' });
        return r.status === 503 ? r : undefined;
      });
      const still = await predictor('POST', '/v1/models/churn/predict', { instances: [x] });
      expect(still.status).toBe(200);
    } finally {
      expect((await admin('PUT', '/v1/mode', { mode: 'serving' })).status).toBe(200);
    }
    // Each function trusts its read of the mode for up to 2 s.
    await until('changes to be accepted again', async () => {
      const r = await scientist('PATCH', '/v1/models/churn', { description: 'churn model' });
      return r.status === 200 ? r : undefined;
    });
  });

  it('serves any alias a scientist points at a version; production stays with promotion', async () => {
    // Runs after the promotion test: churn has 1.0.0 and 1.1.0, and 1.1.0 is production.
    const x = [1, 2, 3];
    const set = await scientist('PUT', '/v1/models/churn/aliases/challenger', { version: '1.0.0' });
    expect(set.status, set.text).toBe(200);
    expect(set.body.aliases).toEqual({ challenger: '1.0.0', production: '1.1.0', latest: '1.1.0' });
    const model = await predictor('GET', '/v1/models/churn');
    expect(model.body.aliases).toEqual({ challenger: '1.0.0', production: '1.1.0', latest: '1.1.0' });

    const byAlias = await until('the alias to be served', async () => {
      const r = await predictor('POST', '/v1/models/churn/predict', { alias: 'challenger', instances: [x] });
      return r.status === 200 ? r : undefined;
    });
    expect(byAlias.body.modelVersion).toBe('1.0.0');
    expect(byAlias.body.probabilities[0][1]).toBeCloseTo(sigmoid(dot(W1, x) + B1), 6);
    const byProduction = await predictor('POST', '/v1/models/churn/predict', { instances: [x] });
    expect(byProduction.body.modelVersion).toBe('1.1.0');

    expect((await predictor('PUT', '/v1/models/churn/aliases/challenger', { version: '1.1.0' })).status).toBe(
      403,
    );
    const managed = await scientist('PUT', '/v1/models/churn/aliases/production', { version: '1.0.0' });
    expect(managed.status).toBe(400);
    expect(managed.body.error.message).toMatch(/promotion/);

    const audit = await admin('GET', '/v1/audit?model=churn&limit=50');
    expect(audit.body.items.map((e: { action: string }) => e.action)).toContain('alias.set');

    const del = await scientist('DELETE', '/v1/models/churn/aliases/challenger');
    expect(del.status, del.text).toBe(200);
    expect(del.body.aliases).toEqual({ production: '1.1.0', latest: '1.1.0' });
    const gone = await until('the removed alias to stop serving', async () => {
      const r = await predictor('POST', '/v1/models/churn/predict', { alias: 'challenger', instances: [x] });
      return r.status === 404 ? r : undefined;
    });
    expect(gone.body.error.message).toBe('model churn has no alias challenger');
  });

  it('answers from the previous production version when production fails its checksum', async () => {
    expect((await scientist('POST', '/v1/models', { name: 'fraud' })).status).toBe(201);
    const logistic = (w: number[], b: number) =>
      logisticRegressionOnnx({ weights: w, bias: b, featureNames: FEATURES, classes: ['no', 'yes'] });
    await registerAndPromote('fraud', '1.0.0', logistic(W1, B1));
    await registerAndPromote('fraud', '2.0.0', logistic(W2, B2));
    // Tamper with the stored object before anything served it: a different, valid model under
    // the same key, so only the checksum can tell.
    const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'models/fraud/2.0.0/' }));
    const artifactKey = list.Contents?.[0]?.Key as string;
    expect(artifactKey).toBeDefined();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: artifactKey, Body: logistic([9, 9, 9], 9) }));

    const x = [1, 2, 3];
    const out = await predictor('POST', '/v1/models/fraud/predict', { instances: [x] });
    expect(out.status, out.text).toBe(200);
    expect(out.body.modelVersion).toBe('1.0.0');
    expect(out.body.fallbackFrom).toBe('2.0.0');
    expect(out.body.probabilities[0][1]).toBeCloseTo(sigmoid(dot(W1, x) + B1), 6);
    const after = await admin('GET', '/v1/models/fraud/versions/2.0.0');
    expect(after.body.status).toBe('unusable');
    const audit = await admin('GET', '/v1/audit?model=fraud');
    const failed = audit.body.items.find((e: { action: string }) => e.action === 'version.integrity_failed');
    expect(failed).toMatchObject({ version: '2.0.0', actor: 'system:inference' });
    const pinned = await predictor('POST', '/v1/models/fraud/predict', { instances: [x], version: '2.0.0' });
    expect(pinned.status).toBe(422);
    expect(pinned.body.error.code).toBe('integrity_failed');
    const health = await admin('GET', '/v1/health/detailed');
    expect(health.body.status).toBe('degraded');
    // One alert for the corrupt production artifact and one for the fallback, each naming the
    // rollback to 1.0.0; more requests add none.
    await predictor('POST', '/v1/models/fraud/predict', { instances: [x] });
    const alerts = (await admin('GET', '/v1/alerts?model=fraud')).body.items as {
      kind: string;
      severity: string;
      details: Record<string, unknown>;
    }[];
    const rollback = { method: 'POST', path: '/v1/models/fraud/rollback', body: { toVersion: '1.0.0' } };
    expect(alerts.map((a) => a.kind).sort()).toEqual(['fallback', 'integrity']);
    expect(alerts.find((a) => a.kind === 'integrity')).toMatchObject({
      severity: 'critical',
      details: { version: '2.0.0', suggestedRollback: rollback },
    });
    expect(alerts.find((a) => a.kind === 'fallback')).toMatchObject({
      details: { version: '2.0.0', servedBy: '1.0.0', suggestedRollback: rollback },
    });
    expect(health.body.productionArtifacts).toContainEqual(
      expect.objectContaining({ model: 'fraud', version: '2.0.0', ok: false, suggestedRollback: rollback }),
    );
  }, 60_000);

  it('routes a SageMaker version through InvokeEndpoint to the stand-in', async () => {
    const softmax = softmaxRegressionOnnx({
      weights: [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
      bias: [0, 0, 0],
      featureNames: FEATURES,
      classes: ['x', 'y', 'z'],
    });
    const dir = join(serval.dataDir, 'sagemaker');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'churn-xl.onnx'), softmax);
    const reg = await scientist('POST', '/v1/models/churn/versions', {
      version: '2.0.0',
      artifact: { base64: b64(softmax) },
      framework: 'onnx',
      runtime: { type: 'sagemaker', endpointName: 'churn-xl' },
      inputSchema,
      outputSchema: { kind: 'multiclass', classes: ['x', 'y', 'z'] },
    });
    expect(reg.status, reg.text).toBe(201);
    const out = await predictor('POST', '/v1/models/churn/predict', {
      version: '2.0.0',
      instances: [
        [3, 1, 0],
        [0, 0, 2],
      ],
    });
    expect(out.status, out.text).toBe(200);
    expect(out.body.runtime).toBe('sagemaker');
    expect(out.body.predictions).toEqual(['x', 'z']);
    const e = Math.exp;
    expect(out.body.probabilities[0][0]).toBeCloseTo(e(3) / (e(3) + e(1) + e(0)), 6);
    // A model error inside the endpoint: 502 model_error, not a client error.
    writeFileSync(join(dir, 'churn-xl.json'), JSON.stringify({ fail: 'model_error' }));
    const failed = await predictor('POST', '/v1/models/churn/predict', {
      version: '2.0.0',
      instances: [[1, 2, 3]],
    });
    expect(failed.status).toBe(502);
    expect(failed.body.error.code).toBe('model_error');
    writeFileSync(join(dir, 'churn-xl.json'), JSON.stringify({ fail: 'throttle' }));
    const throttled = await predictor('POST', '/v1/models/churn/predict', {
      version: '2.0.0',
      instances: [[1, 2, 3]],
    });
    expect(throttled.status).toBe(503);
    expect(throttled.headers.get('retry-after')).toMatch(/^\d+$/);
  }, 60_000);

  it('captures predictions to S3, joins feedback and reports stats and metrics', async () => {
    const x = [
      [1, 2, 3],
      [4, 0.5, -1],
      [-2, 1, 0],
    ];
    const out = await predictor('POST', '/v1/models/churn/predict', { instances: x, version: '1.0.0' });
    expect(out.status, out.text).toBe(200);
    const ids: string[] = out.body.predictionIds;
    const key = await until('the capture file', async () => {
      const list = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: 'captures/churn/1.0.0/' }),
      );
      for (const o of list.Contents ?? []) {
        const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
        const text = gunzipSync(await body.Body!.transformToByteArray()).toString();
        if (text.includes(ids[0] as string)) return o.Key;
      }
      return undefined;
    });
    expect(key).toMatch(/^captures\/churn\/1\.0\.0\/\d{4}-\d{2}-\d{2}\/\d{2}\/.+\.jsonl\.gz$/);
    const lines = gunzipSync(
      await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray(),
    )
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const mine = lines.filter((l) => ids.includes(l.predictionId));
    expect(mine.map((l) => l.instance)).toEqual(x.map((r) => ({ a: r[0], b: r[1], c: r[2] })));
    expect(mine.map((l) => l.prediction)).toEqual(out.body.predictions);

    // Ground truth: the first two right, the third wrong.
    const truth = out.body.predictions.map((p: string, i: number) =>
      i < 2 ? p : p === 'yes' ? 'no' : 'yes',
    );
    const fb = await until('feedback to join', async () => {
      const r = await predictor(
        'POST',
        '/v1/predictions/feedback',
        ids.map((predictionId, i) => ({ predictionId, actual: truth[i] })),
      );
      return r.body.joined + r.body.duplicate === 3 ? r : undefined;
    });
    expect(fb.status).toBe(200);
    const again = await predictor('POST', '/v1/predictions/feedback', [
      { predictionId: ids[0], actual: truth[0] },
    ]);
    expect(again.body).toMatchObject({ joined: 0, duplicate: 1 });
    const unknown = await predictor('POST', '/v1/predictions/feedback', [
      { predictionId: '01JB0000000000000000000000', actual: 'yes' },
    ]);
    expect(unknown.body).toMatchObject({ joined: 0, unknown: 1 });

    const stats = await admin('GET', '/v1/models/churn/stats?version=1.0.0');
    expect(stats.status, stats.text).toBe(200);
    const v1 = stats.body.versions.find((v: { version: string }) => v.version === '1.0.0');
    expect(v1.requests).toBeGreaterThanOrEqual(1);
    expect(v1.latencyMs.p50).toBeGreaterThan(0);
    expect(v1.feedback.count).toBe(3);
    expect(v1.feedback.classification.accuracy).toBeCloseTo(2 / 3, 9);

    const metrics = await admin('GET', '/v1/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(/serval_prediction_requests_total\{[^}]*model="churn"[^}]*\} \d+/);
  }, 60_000);

  it('captures a 10,000-instance batch whole, across queue messages, as one request', async () => {
    const before = await admin('GET', '/v1/models/iris-demo/stats?version=1.0.0');
    const v0 = before.body.versions.find((v: { version: string }) => v.version === '1.0.0') ?? {
      requests: 0,
      predictions: 0,
    };
    const instances = Array.from({ length: 10_000 }, (_, i) => [
      5 + (i % 20) / 10,
      2.8,
      4 + (i % 30) / 10,
      1.3,
    ]);
    const out = await predictor('POST', '/v1/models/iris-demo/predict', { version: '1.0.0', instances });
    expect(out.status, out.text.slice(0, 500)).toBe(200);
    expect(out.body.predictionIds).toHaveLength(10_000);
    const ids = new Set<string>(out.body.predictionIds);
    const stats = await until(
      'the batch to be counted',
      async () => {
        const r = await admin('GET', '/v1/models/iris-demo/stats?version=1.0.0');
        const v = r.body.versions.find((x: { version: string }) => x.version === '1.0.0');
        return v && v.predictions >= v0.predictions + 10_000 ? v : undefined;
      },
      60_000,
    );
    expect(stats.predictions).toBe(v0.predictions + 10_000);
    expect(stats.requests).toBe(v0.requests + 1);
    // Every row is in S3 exactly once, whatever the number of parts.
    const list = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'captures/iris-demo/1.0.0/' }),
    );
    const seen = new Map<string, number>();
    for (const o of list.Contents ?? []) {
      if (!o.Key?.endsWith('.jsonl.gz')) continue;
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
      for (const line of gunzipSync(await res.Body!.transformToByteArray())
        .toString()
        .trim()
        .split('\n')) {
        const id = JSON.parse(line).predictionId as string;
        if (ids.has(id)) seen.set(id, (seen.get(id) ?? 0) + 1);
      }
    }
    expect(seen.size).toBe(10_000);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  }, 120_000);

  it('explains an MLP with exact Shapley values, equal to those computed here from predictions', async () => {
    const mlp = mlpOnnx({
      layers: [
        {
          weights: [
            [0.8, -0.5, 0.3],
            [-0.2, 0.9, 0.6],
            [0.4, 0.4, -0.7],
            [1.1, -0.3, 0.2],
          ],
          bias: [0.1, -0.2, 0, 0.3],
          activation: 'tanh',
        },
        {
          weights: [
            [1.2, -0.7, 0.5, 0.9],
            [-0.6, 1.1, -0.4, 0.2],
          ],
          bias: [0, 0.1],
          activation: 'softmax',
        },
      ],
      featureNames: FEATURES,
      classes: ['no', 'yes'],
    });
    expect((await scientist('POST', '/v1/models', { name: 'mlp-explained' })).status).toBe(201);
    const reg = await scientist('POST', '/v1/models/mlp-explained/versions', {
      version: '1.0.0',
      artifact: { base64: b64(mlp) },
      framework: 'onnx',
      runtime: { type: 'lambda' },
      inputSchema,
      outputSchema: { kind: 'binary', classes: ['no', 'yes'] },
    });
    expect(reg.status, reg.text).toBe(201);
    const x = [0.7, -1.2, 2];
    const background = [
      [0, 0, 0],
      [1, 1, 1],
      [-1, 0.5, 2],
    ];
    const res = await predictor('POST', '/v1/models/mlp-explained/explain', {
      version: '1.0.0',
      instances: [x],
      background,
    });
    expect(res.status, res.text).toBe(200);
    const e = res.body.explanations[0];
    expect(e).toMatchObject({ method: 'exact', output: 'probability', coalitions: 6 });
    // v(S) from the predict route: the background rows with S's features taken from x, averaged,
    // for the class the model predicts for x; φ by the permutation definition.
    const predicted = await predictor('POST', '/v1/models/mlp-explained/predict', {
      version: '1.0.0',
      instances: [x],
    });
    const column = ['no', 'yes'].indexOf(predicted.body.predictions[0]);
    expect(e.class).toBe(predicted.body.predictions[0]);
    const v = async (set: number[]) => {
      const rows = background.map((b) => b.map((bj, j) => (set.includes(j) ? x[j]! : bj)));
      const out = await predictor('POST', '/v1/models/mlp-explained/predict', {
        version: '1.0.0',
        instances: rows,
      });
      return out.body.probabilities.reduce((s: number, p: number[]) => s + p[column]!, 0) / rows.length;
    };
    const perms = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    const phi = [0, 0, 0];
    for (const p of perms) {
      const set: number[] = [];
      for (const j of p) {
        const before = await v(set);
        set.push(j);
        phi[j]! += ((await v(set)) - before) / perms.length;
      }
    }
    FEATURES.forEach((f, j) => {
      expect(Math.abs(e.values[f] - phi[j]!)).toBeLessThan(1e-6);
    });
    const sum = Object.values(e.values as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(Math.abs(e.baseValue + sum - e.prediction)).toBeLessThan(1e-9);
    expect(e.prediction).toBeCloseTo(predicted.body.probabilities[0][column], 6);
    // Without a background nor a baseline nor training means: a clear 400.
    const none = await predictor('POST', '/v1/models/mlp-explained/explain', {
      version: '1.0.0',
      instances: [x],
    });
    expect(none.status).toBe(400);
    expect(none.body.error.details).toMatchObject({ field: 'background' });
    // With a baseline, its sample is the background.
    const baseline = await scientist('PUT', '/v1/models/mlp-explained/baseline', {
      version: '1.0.0',
      rows: Array.from({ length: 200 }, (_, i) => [Math.sin(i), Math.cos(i), (i % 7) / 3]),
    });
    expect(baseline.status, baseline.text).toBe(200);
    const fromBaseline = await predictor('POST', '/v1/models/mlp-explained/explain', {
      version: '1.0.0',
      instances: [x],
    });
    expect(fromBaseline.status, fromBaseline.text).toBe(200);
    const b = fromBaseline.body.explanations[0];
    expect(
      Math.abs(
        b.baseValue +
          Object.values(b.values as Record<string, number>).reduce((a, c) => a + c, 0) -
          b.prediction,
      ),
    ).toBeLessThan(1e-9);
    expect(b.baseValue).not.toBeCloseTo(e.baseValue, 6);
  }, 60_000);
});
