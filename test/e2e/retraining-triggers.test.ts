/**
 * Automatic retraining end to end on the local runtime, over HTTP: a policy that retrains after
 * drift in two consecutive checked windows and asks for approval. Drifted traffic in one window
 * starts nothing; in a second, exactly one job with trigger `drift`; a third drifted window is
 * recorded (a duplicate on the running job, or suppressed by the cooldown), never a second job.
 * The job writes its training rows and manifest to S3, registers a staging candidate whose
 * lineage points at them, and requests approval: a `retraining` alert and a signed
 * `version.candidate_ready` webhook.
 *
 * The schedule and new-label triggers through the real path: the EventBridge stand-in fires the
 * RetrainSweep (scaled to every ~2 s) at the retrain scheduler, which queues one job per model
 * whose condition holds, and none again on later sweeps.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Captures } from '../../functions/adapters/s3-captures.js';
import { normals } from '../support/random.js';
import { IRIS_HOLDOUT, irisModel, jobEnded, labelledTraffic, roleKey } from '../support/retraining.js';
import { apiClient, localS3, type ServalProcess, startServal, waitFor } from '../support/serval-process.js';

const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;
const MEANS = [5.8, 3.0, 3.8, 1.2];
const SDS = [0.8, 0.4, 1.7, 0.7];

let serval: ServalProcess;
let admin: ReturnType<typeof apiClient>;
let s3: S3Client;
let bucket: string;
let receiver: Server;
let receiverUrl: string;
const deliveries: { type: string; data: Record<string, unknown> }[] = [];

function drifted(n: number, seed: number): number[][] {
  const shift = [0, 0, 3, 1.5];
  const cols = FEATURES.map((_, j) => normals(n, MEANS[j]! + shift[j]!, SDS[j]! / 2, seed + j));
  return Array.from({ length: n }, (_, i) => cols.map((c) => Math.round(c[i]! * 100) / 100));
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      deliveries.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', () => ok()));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`;
  // The 15-minute retrain sweep fires every ~2 s (scheduled drift checks stay off: enabled false).
  serval = await startServal({ env: { SERVAL_SCHEDULE_SCALE: '0.002' } });
  admin = apiClient(serval.url, serval.adminKey);
  ({ s3, bucket } = localS3(serval.dataDir));
}, 120_000);

afterAll(async () => {
  s3?.destroy();
  await serval?.stop();
  receiver?.close();
});

/** One hour of drifted captured predictions, then a check of that hour (which evaluates the triggers). */
async function driftedHour(hoursAgo: number) {
  const from = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - hoursAgo * 3_600_000);
  await new S3Captures(s3, bucket).writeCaptures(
    'iris-demo',
    drifted(120, hoursAgo * 10).map((instance, i) => ({
      predictionId: randomUUID(),
      at: new Date(from.getTime() + i * 20_000).toISOString(),
      version: '1.0.0',
      instance,
    })),
    `drift-${hoursAgo}`,
  );
  const res = await admin('POST', '/v1/models/iris-demo/drift/check', {
    from: from.toISOString(),
    to: new Date(from.getTime() + 3_600_000).toISOString(),
  });
  expect(res.status).toBe(200);
  expect(['medium', 'high', 'critical']).toContain(res.body.severity);
}

const jobs = async (model = 'iris-demo') =>
  (await admin('GET', `/v1/jobs?model=${model}`)).body.items as Record<string, any>[];

describe('retraining triggered by persisting drift', () => {
  let jobId: string;

  it('sets a baseline, a webhook and a policy: drift in 2 consecutive windows, approval', async () => {
    const base = await admin('PUT', '/v1/models/iris-demo/baseline', {
      datasetUri: `s3://${bucket}/datasets/iris-demo/train.csv`,
    });
    expect(base.status).toBe(200);
    expect((await admin('POST', '/v1/webhooks', { url: receiverUrl, events: ['*'] })).status).toBe(201);
    const policy = await admin('PUT', '/v1/models/iris-demo/policy', {
      enabled: false,
      retraining: { onDrift: { minSeverity: 'medium', consecutiveWindows: 2 }, promotion: 'approval' },
    });
    expect(policy.status).toBe(200);
    expect(policy.body.retraining).toMatchObject({
      onDrift: { consecutiveWindows: 2 },
      promotion: 'approval',
      cooldownMinutes: 60,
      dataset: { windowDays: 30, includeBaseline: true },
    });
  });

  it('one drifted window starts nothing; the second starts exactly one job, with trigger drift', async () => {
    await driftedHour(3);
    expect(await jobs()).toEqual([]);
    await driftedHour(2);
    const created = await jobs();
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ trigger: 'drift', requestedBy: { id: 'trigger:drift' } });
    expect(created[0]!.reason).toMatch(/last 2 checked windows/);
    jobId = created[0]!.id;
  });

  it('a third drifted window is recorded, not a second job', async () => {
    await driftedHour(1);
    expect((await jobs()).map((j) => j.id)).toEqual([jobId]);
    const job = (await admin('GET', `/v1/jobs/${jobId}`)).body;
    const audit = (await admin('GET', '/v1/audit?model=iris-demo&limit=100')).body.items.map(
      (a: { action: string }) => a.action,
    );
    // Still running: a duplicate on it. Already finished: the policy's cooldown suppressed it.
    if (job.duplicates.length > 0) {
      expect(job.duplicates).toEqual([expect.objectContaining({ trigger: 'drift' })]);
      expect(audit).toContain('retrain.duplicate');
    } else {
      expect(audit).toContain('retrain.trigger_suppressed');
    }
  });

  it('the job registers a staging candidate trained on a manifest in S3, and asks for approval', async () => {
    const job = await waitFor(
      serval,
      'the triggered job to finish',
      async () => {
        const res = await admin('GET', `/v1/jobs/${jobId}`);
        return ['succeeded', 'failed', 'cancelled'].includes(res.body.state) ? res.body : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(job.error).toBeNull();
    expect(job).toMatchObject({
      state: 'succeeded',
      promotion: { mode: 'approval', action: 'approval_requested' },
    });
    expect(job.outcome).toMatch(/approval requested/);

    const v = (await admin('GET', `/v1/models/iris-demo/versions/${job.resultVersion}`)).body;
    expect(v.stage).toBe('staging');
    const { dataset } = v.params.lineage;
    const key = `datasets/iris-demo/retraining/${jobId}/rows.csv`;
    expect(dataset).toEqual({ uri: `s3://${bucket}/${key}`, sha256: expect.any(String), rows: 240 });
    const read = async (k: string) =>
      (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }))).Body!.transformToString();
    const csv = await read(key);
    expect(createHash('sha256').update(csv).digest('hex')).toBe(dataset.sha256);
    expect(csv.trim().split('\n')).toHaveLength(241);
    const manifest = JSON.parse(await read(`datasets/iris-demo/retraining/${jobId}/manifest.json`));
    expect(manifest).toMatchObject({ uri: dataset.uri, sha256: dataset.sha256, rows: 240 });
    expect(v.params.lineage).toMatchObject({ jobId, trigger: 'drift', parent: '1.0.0' });
    // The champion/challenger report on the held-out rows (no production version: it says so).
    expect(v.validation).toMatchObject({ passed: true, by: `job:${jobId}` });

    const alerts = (await admin('GET', '/v1/alerts?model=iris-demo')).body.items;
    const alert = alerts.find((a: { kind: string }) => a.kind === 'retraining');
    expect(alert).toMatchObject({ id: job.promotion.alertId, status: 'open' });
    const ready = await waitFor(serval, 'the candidate_ready webhook', async () =>
      deliveries.find((d) => d.type === 'version.candidate_ready'),
    );
    expect(ready.data).toMatchObject({ model: 'iris-demo', version: job.resultVersion, jobId });
  });
});

describe('retraining triggered by the retrain sweep: a schedule, enough new labels', () => {
  const sweeps = (n: number) => new Promise((r) => setTimeout(r, n * 1_800));

  it('queues one job for a model whose schedule is due, and none on the next sweeps', async () => {
    const scientist = await roleKey(serval, 'scientist');
    const approver = await roleKey(serval, 'approver');
    await irisModel({ s3, bucket, scientist, approver }, 'iris-sched');
    const policy = await admin('PUT', '/v1/models/iris-sched/policy', {
      enabled: false,
      retraining: { schedule: { everyHours: 24 } },
    });
    expect(policy.status, policy.text).toBe(200);
    const [job] = await waitFor(serval, 'the scheduled job', async () => {
      const listed = await jobs('iris-sched');
      return listed.length > 0 ? listed : undefined;
    });
    expect(job).toMatchObject({ trigger: 'schedule', requestedBy: { id: 'trigger:schedule' } });
    expect(job!.reason).toMatch(/scheduled every 24 h; the model has never been retrained/);
    const done = await jobEnded(serval, admin, job!.id);
    expect(done).toMatchObject({ state: 'succeeded', error: null });
    await sweeps(3);
    expect((await jobs('iris-sched')).map((j) => j.id)).toEqual([job!.id]);
  });

  it('queues one job once a model has minNewLabels labelled predictions, trained on them', async () => {
    const scientist = await roleKey(serval, 'scientist');
    const approver = await roleKey(serval, 'approver');
    const predictor = await roleKey(serval, 'predictor');
    await irisModel({ s3, bucket, scientist, approver }, 'iris-labels');
    const policy = await admin('PUT', '/v1/models/iris-labels/policy', {
      enabled: false,
      retraining: { minNewLabels: 25 },
    });
    expect(policy.status, policy.text).toBe(200);
    // Below the threshold: sweeps pass, nothing starts.
    await labelledTraffic(
      serval,
      predictor,
      'iris-labels',
      '1.0.0',
      IRIS_HOLDOUT.instances.slice(0, 20),
      IRIS_HOLDOUT.labels.slice(0, 20),
    );
    await sweeps(2);
    expect(await jobs('iris-labels')).toEqual([]);
    await labelledTraffic(
      serval,
      predictor,
      'iris-labels',
      '1.0.0',
      IRIS_HOLDOUT.instances.slice(20, 30),
      IRIS_HOLDOUT.labels.slice(20, 30),
    );
    const [job] = await waitFor(serval, 'the new-labels job', async () => {
      const listed = await jobs('iris-labels');
      return listed.length > 0 ? listed : undefined;
    });
    expect(job).toMatchObject({ trigger: 'labels', requestedBy: { id: 'trigger:labels' } });
    // The true count: the sweep may run while the last labels are still landing, so 25 to 30.
    expect(job!.reason).toMatch(
      /^(2[5-9]|30) new labelled predictions since the dataset window began \(policy: 25\)/,
    );
    const done = await jobEnded(serval, admin, job!.id);
    expect(done).toMatchObject({ state: 'succeeded', error: null });
    const v = (await admin('GET', `/v1/models/iris-labels/versions/${done.resultVersion}`)).body;
    // The demo's 240 rows and the 30 labelled predictions that triggered it.
    expect(v.params.lineage).toMatchObject({ trigger: 'labels', dataset: { rows: 270 } });
    await sweeps(3);
    expect((await jobs('iris-labels')).map((j) => j.id)).toEqual([job!.id]);
  });
});
