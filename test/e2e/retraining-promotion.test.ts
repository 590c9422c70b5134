/**
 * Retraining's data and promotion end to end on the local runtime, over HTTP:
 * - the training rows: the parent's dataset plus the captured predictions that received a
 *   feedback label (never the unlabelled ones), as one CSV in S3 whose SHA-256 is the manifest's
 *   and the lineage's; with `promotion: "auto"` but no waiver, the job asks for approval;
 * - `promotion: "canary"`: a running canary experiment of the candidate against production;
 * - `promotion: "auto"` with `waiveApproval`: the candidate, better than a deliberately poor
 *   production by far more than the margin, becomes production, approved by the policy, audited.
 * Each scenario has its own model: a model's last job holds a 10-minute cooldown.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { servalForFile } from '../support/lifecycle.js';
import { roleClients } from '../support/model-api.js';
import { type Client, IRIS_HOLDOUT, irisModel, jobEnded, labelledTraffic } from '../support/retraining.js';
import type { ServalProcess } from '../support/serval-process.js';

let serval: ServalProcess;
let s3: S3Client;
let bucket: string;
let admin: Client;
let scientist: Client;
let approver: Client;
let predictor: Client;

servalForFile({
  setup: async (local) => {
    ({ serval, s3, bucket } = local);
    ({ admin, scientist, approver, predictor } = await roleClients(serval, 'e2e-retrain'));
    for (const name of ['iris-canary', 'iris-auto']) {
      await irisModel({ s3, bucket, scientist, approver }, name, { production: true });
    }
  },
});

const read = async (key: string) =>
  (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();

const auditOf = async (model: string) =>
  (await admin('GET', `/v1/audit?model=${model}&limit=100`)).body.items as Record<string, any>[];

async function retrain(model: string, reason: string) {
  const res = await scientist('POST', `/v1/models/${model}/retrain`, {
    reason,
    search: { l2: [0.001, 0.1] },
  });
  expect(res.status, res.text).toBe(202);
  const job = await jobEnded(serval, scientist, res.body.id);
  expect(job.error).toBeNull();
  expect(job.state).toBe('succeeded');
  return job;
}

describe('the training rows include labelled captured traffic', () => {
  // Three decimals (labelled) and four (unlabelled): neither occurs in the demo's dataset, whose
  // measurements have one, so a row in the CSV can only have come from this traffic.
  const labelled = IRIS_HOLDOUT.instances
    .slice(0, 30)
    .map((x, i) => x.map((v, j) => v + (i * 4 + j + 1) / 1000));
  const unlabelled = IRIS_HOLDOUT.instances
    .slice(30, 40)
    .map((x, i) => x.map((v, j) => v + (i * 4 + j + 1) / 10_000));
  const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;
  const line = (x: number[], label: string) => `${x.join(',')},${label}`;
  let job: Record<string, any>;

  it('accepts promotion "auto" without a waiver (it then asks for approval)', async () => {
    const policy = await admin('PUT', '/v1/models/iris-demo/policy', {
      retraining: { promotion: 'auto', dataset: { windowDays: 1 } },
    });
    expect(policy.status, policy.text).toBe(200);
    expect(policy.body.retraining).toMatchObject({ promotion: 'auto', waiveApproval: false });
  });

  it('trains on the parent dataset plus the 30 labelled predictions, not the 10 unlabelled', async () => {
    const instances = [...labelled, ...unlabelled].map((x, i) => x.map((v) => round(v, i < 30 ? 3 : 4)));
    const labels = [...IRIS_HOLDOUT.labels.slice(0, 30), ...unlabelled.map(() => undefined)];
    await labelledTraffic(serval, predictor, 'iris-demo', '1.0.0', instances, labels);

    job = await retrain('iris-demo', 'labelled traffic since the demo was trained');
    const prefix = `datasets/iris-demo/retraining/${job.id}`;
    const csv = await read(`${prefix}/rows.csv`);
    const manifest = JSON.parse(await read(`${prefix}/manifest.json`));
    const sha256 = createHash('sha256').update(csv).digest('hex');
    expect(manifest).toMatchObject({
      uri: `s3://${bucket}/${prefix}/rows.csv`,
      sha256,
      rows: 270,
      sources: {
        baseline: { uri: `s3://${bucket}/datasets/iris-demo/train.csv`, rows: 240 },
        captured: { rows: 30, unusable: 0, truncated: false },
      },
    });
    const lines = csv.trim().split('\n');
    expect(lines).toHaveLength(1 + 270);
    // Captured rows follow the dataset's, each with the label it was given.
    const captured = lines.slice(241);
    expect(new Set(captured)).toEqual(
      new Set(instances.slice(0, 30).map((x, i) => line(x, IRIS_HOLDOUT.labels[i]!))),
    );
    for (const x of instances.slice(30)) expect(csv).not.toContain(x.join(','));

    const v = (await admin('GET', `/v1/models/iris-demo/versions/${job.resultVersion}`)).body;
    expect(v.params.lineage.dataset).toEqual({ uri: manifest.uri, sha256, rows: 270 });
    expect(v.dataset).toMatchObject({ uri: manifest.uri, sha256, rows: 270, verified: true });
  });

  it('with "auto" but no waiver, requests approval and leaves the candidate in staging', async () => {
    expect(job.promotion).toMatchObject({ mode: 'auto', action: 'approval_requested' });
    expect(job.promotion.detail).toMatch(/auto promotion needs waiveApproval/);
    const v = (await admin('GET', `/v1/models/iris-demo/versions/${job.resultVersion}`)).body;
    expect(v.stage).toBe('staging');
    const alerts = (await admin('GET', '/v1/alerts?model=iris-demo')).body.items;
    expect(alerts).toContainEqual(expect.objectContaining({ id: job.promotion.alertId, kind: 'retraining' }));
    expect((await auditOf('iris-demo')).map((a) => a.action)).not.toContain('retrain.auto_promoted');
  });
});

describe('promotion "canary"', () => {
  it('starts a canary experiment of the candidate against production', async () => {
    const policy = await admin('PUT', '/v1/models/iris-canary/policy', {
      retraining: { promotion: 'canary' },
    });
    expect(policy.status, policy.text).toBe(200);
    const job = await retrain('iris-canary', 'canary the retrained model');
    expect(job.promotion).toMatchObject({
      mode: 'canary',
      action: 'canary_started',
      experimentId: expect.any(String),
    });
    expect(job.outcome).toContain(job.promotion.experimentId);

    const listed = (await admin('GET', '/v1/experiments?model=iris-canary&state=running')).body.items;
    expect(listed).toEqual([expect.objectContaining({ id: job.promotion.experimentId })]);
    const e = (await admin('GET', `/v1/experiments/${job.promotion.experimentId}`)).body;
    expect(e).toMatchObject({ model: 'iris-canary', kind: 'canary', state: 'running' });
    expect(e.variants).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ version: '1.0.0', control: true }),
        expect.objectContaining({ version: job.resultVersion }),
      ]),
    );
    // The canary decides; production has not moved yet.
    expect((await admin('GET', '/v1/models/iris-canary')).body.productionVersion).toBe('1.0.0');
    expect((await auditOf('iris-canary')).map((a) => a.action)).toContain('retrain.canary_started');
  });
});

describe('promotion "auto" with waiveApproval', () => {
  it('promotes a candidate that beats production by the margin, approved by the policy, audited', async () => {
    const policy = await admin('PUT', '/v1/models/iris-auto/policy', {
      retraining: { promotion: 'auto', waiveApproval: true, margin: 0.05 },
    });
    expect(policy.status, policy.text).toBe(200);
    const job = await retrain('iris-auto', 'replace the poor model');
    expect(job.promotion).toMatchObject({ mode: 'auto', action: 'promoted' });

    const v = (await admin('GET', `/v1/models/iris-auto/versions/${job.resultVersion}`)).body;
    expect(v.stage).toBe('production');
    expect(v.validation).toMatchObject({ passed: true, by: `job:${job.id}` });
    expect((await admin('GET', '/v1/models/iris-auto')).body.productionVersion).toBe(job.resultVersion);

    const promoted = (await auditOf('iris-auto')).find((a) => a.action === 'retrain.auto_promoted');
    expect(promoted).toBeDefined();
    expect(JSON.stringify(promoted)).toMatch(/approval waived by the retraining policy/);
    expect(JSON.stringify(promoted)).toContain('policy:retraining');
  });
});
