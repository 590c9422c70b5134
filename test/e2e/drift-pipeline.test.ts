/**
 * The drift pipeline end to end on the local runtime: a baseline from a dataset file in S3, a
 * window of captured predictions with shifted data written in the capture format, the scheduled
 * check (EventBridge stand-in → scheduler → SQS → worker), the report, exactly one alert, and a
 * signed webhook delivered to a test receiver. A re-run over the same window raises nothing new.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Captures } from '../../functions/adapters/s3-captures.js';
import { verifySignature } from '../../functions/core/webhooks/signing.js';
import { tinyOnnxBase64 } from '../support/onnx-fixtures.js';
import { normals } from '../support/random.js';
import { apiClient, localS3, type ServalProcess, startServal, waitFor } from '../support/serval-process.js';

interface Delivery {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let serval: ServalProcess;
let admin: ReturnType<typeof apiClient>;
let receiver: Server;
let receiverUrl: string;
const deliveries: Delivery[] = [];
let s3: S3Client;
let bucket: string;

const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;
const MEANS = [6.2, 2.9, 4.9, 1.7];
const SDS = [0.6, 0.3, 0.7, 0.4];

function rows(n: number, shift: number[], seed: number): number[][] {
  const cols = FEATURES.map((_, j) => normals(n, MEANS[j]! + shift[j]!, SDS[j]!, seed + j));
  return Array.from({ length: n }, (_, i) => cols.map((c) => Math.round(c[i]! * 100) / 100));
}

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number) =>
  waitFor(serval, what, probe, { timeoutMs });

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      deliveries.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', () => ok()));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks/serval`;
  // The 15-minute drift sweep fires every ~2 s.
  serval = await startServal({ env: { SERVAL_SCHEDULE_SCALE: '0.0025', SERVAL_LOG_LEVEL: 'INFO' } });
  admin = apiClient(serval.url, serval.adminKey);
  ({ s3, bucket } = localS3(serval.dataDir));
}, 120_000);

afterAll(async () => {
  s3?.destroy();
  await serval?.stop();
  receiver?.close();
});

/** Writes rows as one hour of captured predictions (one every 3 s) and checks that hour on demand. */
async function checkCapturedHour(from: Date, instances: number[][], fileId: string) {
  await new S3Captures(s3, bucket).writeCaptures(
    'iris-demo',
    instances.map((instance, i) => ({
      at: new Date(from.getTime() + i * 3_000).toISOString(),
      version: '1.0.0',
      instance,
    })),
    fileId,
  );
  return admin('POST', '/v1/models/iris-demo/drift/check', {
    from: from.toISOString(),
    to: new Date(from.getTime() + 3600_000).toISOString(),
  });
}

describe('drift pipeline', () => {
  let secret: string;
  let alertId: string;
  let scheduledWindow: { from: string; to: string };

  it('registers a signed webhook and refuses metadata addresses', async () => {
    const bad = await admin('POST', '/v1/webhooks', {
      url: 'http://169.254.169.254/latest',
      events: ['alert'],
    });
    expect(bad.status).toBe(400);
    const res = await admin('POST', '/v1/webhooks', { url: receiverUrl, events: ['alert'] });
    expect(res.status).toBe(201);
    secret = res.body.secret;
    expect(secret.length).toBeGreaterThanOrEqual(32);
    const listed = await admin('GET', '/v1/webhooks');
    expect(JSON.stringify(listed.body)).not.toContain(secret);
  });

  it('has a window of captured predictions to check (written as the capture worker does)', async () => {
    // Predictions of the last hour, petal measurements shifted well past the reference. Written
    // before the model has a baseline, so the first scheduled check already sees them.
    const now = Date.now();
    const window = rows(600, [0, 0, 1.0, 0.5], 99);
    const keys = await new S3Captures(s3, bucket).writeCaptures(
      'iris-demo',
      window.map((instance, i) => ({
        predictionId: randomUUID(),
        at: new Date(now - 50 * 60_000 + i * 4_000).toISOString(),
        version: '1.0.0',
        instance,
        prediction: 'virginica',
      })),
      'test-window',
    );
    expect(
      keys.every((k) =>
        /^captures\/iris-demo\/1\.0\.0\/\d{4}-\d{2}-\d{2}\/\d{2}\/test-window\.jsonl\.gz$/.test(k),
      ),
    ).toBe(true);
  });

  it('builds a baseline from a CSV dataset in S3', async () => {
    const csv = [FEATURES.join(','), ...rows(2000, [0, 0, 0, 0], 11).map((r) => r.join(','))].join('\n');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'datasets/iris-reference.csv', Body: csv }));
    const res = await admin('PUT', '/v1/models/iris-demo/baseline', {
      datasetUri: `s3://${bucket}/datasets/iris-reference.csv`,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: '1.0.0', rows: 2000 });
    const got = await admin('GET', '/v1/models/iris-demo/baseline');
    const petal = got.body.features.find((f: { name: string }) => f.name === 'petal_length');
    // The summary is of the data given: its mean is the sample mean of the column.
    const col = rows(2000, [0, 0, 0, 0], 11).map((r) => r[2]!);
    expect(petal.summary.mean).toBeCloseTo(col.reduce((a, b) => a + b, 0) / col.length, 9);
    expect(
      (await admin('PUT', '/v1/models/iris-demo/baseline', { datasetUri: 's3://other-bucket/x.csv' })).status,
    ).toBe(400);
  });

  it('checks the captured window on schedule, stores a report, raises one alert and delivers it signed', {
    timeout: 60_000,
  }, async () => {
    const report = await until('a scheduled report with rows', async () => {
      const res = await admin('GET', '/v1/models/iris-demo/drift');
      return res.body.items.find(
        (r: { trigger: string; rows: number }) => r.trigger === 'schedule' && r.rows > 0,
      );
    });
    scheduledWindow = report.window;
    expect(report).toMatchObject({ status: 'ok', mode: 'exact', rows: 600, datasetDrift: true });
    const features = report.result.report.features as { name: string; drifted: boolean; test: string }[];
    expect(
      features
        .filter((f) => f.drifted)
        .map((f) => f.name)
        .sort(),
    ).toEqual(['petal_length', 'petal_width']);
    expect(features.every((f) => f.test === 'wasserstein')).toBe(true); // reference of 2000 rows > 1000
    expect(report.alertId).toMatch(/^[0-9a-f]{32}$/);
    alertId = report.alertId;

    // The shifted petals are also out of the baseline's range: the window's quality alert
    // (docs/quality.md) is raised beside the drift alert, each once. The check stores its drift
    // report before it has raised the quality alert: wait for both.
    const alerts = await until('the drift and the quality alert', async () => {
      const res = await admin('GET', '/v1/alerts?model=iris-demo');
      return res.body.items.length >= 2 ? res : undefined;
    });
    expect(alerts.body.items.map((a: { kind: string }) => a.kind).sort()).toEqual(['drift', 'quality']);
    const drift = alerts.body.items.find((a: { kind: string }) => a.kind === 'drift');
    expect(drift).toMatchObject({ id: alertId, status: 'open' });
    expect(['medium', 'high', 'critical']).toContain(drift.severity);

    const delivered = await until('the webhook deliveries', async () =>
      deliveries.length === 2 ? deliveries : undefined,
    );
    const d = delivered.find((x) => JSON.parse(x.body).data.alert.id === alertId)!;
    expect(d).toBeDefined();
    expect(d.headers['x-serval-event']).toBe('alert.raised');
    expect(verifySignature(secret, d.headers['x-serval-signature'] as string, d.body)).toBe(true);
    expect(
      verifySignature(
        'another-secret-of-sufficient-length',
        d.headers['x-serval-signature'] as string,
        d.body,
      ),
    ).toBe(false);
    expect(JSON.parse(d.body).data.alert.id).toBe(alertId);
  });

  it('raises nothing new when the same window is checked again', async () => {
    // Checks read every version's captures: a version to choose is refused, not ignored.
    const versioned = await admin('POST', '/v1/models/iris-demo/drift/check', {
      ...scheduledWindow,
      version: '1.0.0',
    });
    expect(versioned.status).toBe(400);
    expect(versioned.body.error).toMatchObject({ code: 'validation_failed' });
    expect(JSON.stringify(versioned.body.error)).toContain('version');
    const again = await admin('POST', '/v1/models/iris-demo/drift/check', scheduledWindow);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ trigger: 'manual', alertId, datasetDrift: true });
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await admin('GET', '/v1/alerts?model=iris-demo')).body.items).toHaveLength(2);
    expect(deliveries).toHaveLength(2);
  });

  it('reports no drift for a window like the reference', async () => {
    const res = await checkCapturedHour(
      new Date(Date.UTC(2026, 0, 5, 10)),
      rows(800, [0, 0, 0, 0], 555),
      'quiet',
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ rows: 800, datasetDrift: false });
    expect(res.body.alertId).toBeUndefined();
  });

  it('acknowledges an alert once, audited', async () => {
    const ack = await admin('POST', `/v1/alerts/${alertId}/ack`, { comment: 'retraining' });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ status: 'acknowledged', acknowledgedBy: expect.any(String) });
    expect(ack.body.ackComment).toBe('retraining');
    // Listed as acknowledged, with its comment, and nothing of how the store tracks publication.
    const listed = await admin('GET', '/v1/alerts?status=acknowledged&model=iris-demo');
    const mine = listed.body.items.find((a: { id: string }) => a.id === alertId);
    expect(mine).toEqual(ack.body);
    expect(mine).not.toHaveProperty('published');
    expect((await admin('POST', `/v1/alerts/${alertId}/ack`, {})).status).toBe(409);
    const audit = await admin('GET', '/v1/audit?model=iris-demo&limit=50');
    expect(audit.body.items.map((e: { action: string }) => e.action)).toContain('alert.ack');
  });

  it('stores the report and raises the alert for drift so strong that its p-values underflow', async () => {
    // Issue 18: p-values below DynamoDB's smallest number (1e-130) made the report write fail
    // with a 500 before the alert was raised, so the strongest drift raised nothing.
    // A feature the model does not have is refused, not stored to be never applied.
    const misspelt = await admin('PUT', '/v1/models/iris-demo/policy', {
      features: { petal_lenght: { test: 'ks' } },
    });
    expect(misspelt.status).toBe(400);
    expect(misspelt.body.error).toMatchObject({
      code: 'validation_failed',
      details: {
        unknown: ['petal_lenght'],
        features: expect.arrayContaining(['petal_length', 'petal_width', 'sepal_length', 'sepal_width']),
      },
    });
    // KS, a p-value test (Evidently would pick Wasserstein for this 2,000-row reference).
    const policy = await admin('PUT', '/v1/models/iris-demo/policy', {
      features: { petal_length: { test: 'ks' } },
    });
    expect(policy.status, JSON.stringify(policy.body)).toBe(200);
    // Read back as stored: the same policy, defaults filled in.
    const readBack = await admin('GET', '/v1/models/iris-demo/policy');
    expect(readBack.status).toBe(200);
    expect(readBack.body).toEqual(policy.body);
    expect(readBack.body.features.petal_length.test).toBe('ks');
    const res = await checkCapturedHour(
      new Date(Date.UTC(2026, 0, 6, 10)),
      rows(500, [0, 0, 1000, 0], 777),
      'far',
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ rows: 500, mode: 'exact' });
    expect(res.body.alertId).toEqual(expect.any(String));
    const petal = res.body.result.report.features.find((f: { name: string }) => f.name === 'petal_length');
    expect(petal.test).toBe('ks');
    expect(petal).toMatchObject({ drifted: true });
    expect(petal.pValue).toBeLessThan(1e-130);
    // The stored report holds the p-value as 0, saying so, and the alert is listed.
    const reports = await admin('GET', '/v1/models/iris-demo/drift?limit=100');
    const stored = reports.body.items.find((r: { id: string }) => r.id === res.body.id);
    expect(stored).toMatchObject({ id: res.body.id, alertId: res.body.alertId });
    const index = res.body.result.report.features.indexOf(petal);
    expect(stored.clampedNumbers).toContain(`result.report.features[${index}].pValue`);
    expect(stored.result.report.features[index]).toMatchObject({
      name: 'petal_length',
      pValue: 0,
      drifted: true,
    });
    const alerts = await admin('GET', '/v1/alerts?model=iris-demo&status=open');
    expect(alerts.body.items.map((a: { id: string }) => a.id)).toContain(res.body.alertId);
  });
});

describe('lifecycle events', () => {
  it('reach a receiver subscribed to *: registered, moved, approved, promoted, rolled back', async () => {
    const hook = await admin('POST', '/v1/webhooks', { url: `${receiverUrl}/all`, events: ['*'] });
    expect(hook.status).toBe(201);
    const approverKey = await admin('POST', '/v1/auth/keys', { name: 'approver', role: 'approver' });
    const approver = apiClient(serval.url, approverKey.body.key);
    expect((await admin('POST', '/v1/models', { name: 'announced' })).status).toBe(201);
    for (const version of ['1.0.0', '2.0.0']) {
      const reg = await admin('POST', '/v1/models/announced/versions', {
        version,
        artifact: { base64: tinyOnnxBase64(`bytes-${version}`) },
      });
      expect(reg.status).toBe(201);
      for (const stage of ['testing', 'staging']) {
        await admin('POST', `/v1/models/announced/versions/${version}/transition`, { stage });
      }
      await approver('POST', `/v1/models/announced/versions/${version}/approval`, { decision: 'approved' });
      const promoted = await approver('POST', `/v1/models/announced/versions/${version}/transition`, {
        stage: 'production',
      });
      expect(promoted.status).toBe(200);
    }
    expect((await approver('POST', '/v1/models/announced/rollback', {})).status).toBe(200);

    const expected = [
      'model.created',
      'version.registered',
      'version.stage_changed',
      'version.approved',
      'version.promoted',
      'version.rolled_back',
    ];
    const events = await until('the lifecycle deliveries', async () => {
      const got = deliveries
        .filter((d) => d.path === '/hooks/serval/all')
        .map((d) => JSON.parse(d.body) as { id: string; type: string; data: Record<string, unknown> })
        .filter((e) => e.data.model === 'announced');
      return expected.every((t) => got.some((e) => e.type === t)) ? got : undefined;
    });
    const rolledBack = events.find((e) => e.type === 'version.rolled_back')!;
    expect(rolledBack.data).toMatchObject({
      version: '1.0.0',
      before: { productionVersion: '2.0.0' },
      after: { productionVersion: '1.0.0' },
    });
    // The event is the audit event's announcement: the same id is in the audit feed.
    const audit = await admin('GET', '/v1/audit?model=announced&limit=100');
    expect(audit.body.items.map((a: { id: string }) => a.id)).toContain(rolledBack.id);
    const d = deliveries.find((x) => x.path === '/hooks/serval/all')!;
    expect(verifySignature(hook.body.secret, d.headers['x-serval-signature'] as string, d.body)).toBe(true);
    // The alert-only receiver got none of them.
    expect(
      deliveries
        .filter((x) => x.path === '/hooks/serval')
        .every((x) => x.headers['x-serval-event'] === 'alert.raised'),
    ).toBe(true);
  });
});
