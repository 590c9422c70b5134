/**
 * The registry end to end: a started local runtime (the `npm start` entry), plain HTTP, and the
 * real AWS stand-ins underneath. Bytes are tampered with directly in S3 through the SDK, as an
 * operator or an attacker with bucket access could.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { DELETED_ARTIFACT_TAG } from '../../functions/contract/resources.js';
import { ROUTES } from '../../functions/contract/routes.js';
import { hasRole, ROLES } from '../../functions/core/auth/roles.js';
import { linearRegressionOnnx } from '../../functions/core/onnx/models.js';
import { GATE_FIELDS } from '../../functions/core/registry/models.js';
import { makeDemoModel } from '../../functions/core/training/demo.js';
import { expectEveryCheckPassed } from '../support/expect-code.js';
import { servalForFile } from '../support/lifecycle.js';
import { tinyOnnx, tinyOnnxBase64 } from '../support/onnx-fixtures.js';
import { apiClient, pastAuthCache, type ServalProcess, SHORT_AUTH_CACHE } from '../support/serval-process.js';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

let serval: ServalProcess;
let admin: ReturnType<typeof apiClient>;
let alice: ReturnType<typeof apiClient>; // scientist
let bob: ReturnType<typeof apiClient>; // approver
let carol: ReturnType<typeof apiClient>; // approver
let viewer: ReturnType<typeof apiClient>;
let anonymous: ReturnType<typeof apiClient>;
let s3: S3Client;
let bucket: string;

async function keyFor(role: string, name: string) {
  const res = await admin('POST', '/v1/auth/keys', { name, role });
  expect(res.status).toBe(201);
  expect(res.body.key).toMatch(/^svl_/);
  return apiClient(serval.url, res.body.key);
}

async function objectKeyOf(model: string, version: string): Promise<string> {
  const res = await s3.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: `models/${model}/${version}/` }),
  );
  const key = res.Contents?.[0]?.Key;
  if (!key) throw new Error(`no object for ${model}@${version}`);
  return key;
}

/** PUTs bytes to a presigned upload the way a client must: to its URL, with its headers. */
const putUpload = (upload: { url: string; headers: Record<string, string> }, body: string | Uint8Array) =>
  fetch(upload.url, { method: 'PUT', headers: upload.headers, body });

servalForFile({
  // Schedules run 2000x faster: the hourly integrity sweep fires every 1.8 s.
  options: { env: { SERVAL_SCHEDULE_SCALE: '0.0005', ...SHORT_AUTH_CACHE } },
  setup: async (local) => {
    ({ serval, s3, bucket } = local);
    admin = apiClient(serval.url, serval.adminKey);
    anonymous = apiClient(serval.url);
    alice = await keyFor('scientist', 'alice');
    bob = await keyFor('approver', 'bob');
    carol = await keyFor('approver', 'carol');
    viewer = await keyFor('viewer', 'val');
  },
});

describe('registry over HTTP', () => {
  it('prints the schedules at the rate they really fire when scaled', () => {
    expect(serval.output()).toContain(
      'IntegritySweep      every 1.8 s (60 min on AWS, scaled) → integrityScheduler',
    );
    expect(serval.output()).toContain(
      'DriftSweep          every 0.45 s (15 min on AWS, scaled) → driftScheduler',
    );
  });

  it('needs a credential and the right role', async () => {
    expect((await anonymous('GET', '/v1/models')).status).toBe(401);
    expect((await apiClient(serval.url, 'svl_nonsense')('GET', '/v1/models')).status).toBe(401);
    const denied = await viewer('POST', '/v1/models', { name: 'nope' });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({
      code: 'forbidden',
      details: { required: 'scientist', role: 'viewer' },
    });
    expect((await alice('POST', '/v1/auth/keys', { name: 'x', role: 'admin' })).status).toBe(403);
    expect((await anonymous('GET', '/v1/health')).body).toEqual({ status: 'ok' });
  });

  it('registers inline and uploaded artifacts, checking every SHA-256', async () => {
    expect((await alice('POST', '/v1/models', { name: 'churn', description: 'who leaves' })).status).toBe(
      201,
    );
    const dup = await alice('POST', '/v1/models', { name: 'churn' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('conflict');

    const inline = await alice('POST', '/v1/models/churn/versions', {
      artifact: { base64: tinyOnnxBase64('model-one', 1) },
      metrics: { auc: 0.81 },
      params: { lr: 0.1 },
      inputSchema: { features: [{ name: 'tenure', type: 'float' }] },
    });
    expect(inline.status).toBe(201);
    expect(inline.body).toMatchObject({
      version: '1.0.0',
      status: 'ready',
      stage: 'draft',
      sha256: sha(tinyOnnx('model-one', 1)),
    });

    // Large artifacts: presigned PUT, then complete verifies the stored bytes.
    // A real ONNX file (the registry reads its graph on completion), padded to 3 MiB.
    const bytes = linearRegressionOnnx({ weights: [1], bias: 0, docString: 'x'.repeat(3 * 1024 * 1024) });
    const reg = await alice('POST', '/v1/models/churn/versions', {
      artifact: { upload: true },
      sha256: sha(bytes),
      parent: '1.0.0',
      metrics: { auc: 0.84 },
      params: { lr: 0.05 },
    });
    expect(reg.status).toBe(201);
    expect(reg.body.status).toBe('pending');
    const early = await alice('POST', '/v1/models/churn/versions/1.1.0/complete');
    expect(early.status).toBe(409);
    const put = await putUpload(reg.body.upload, bytes);
    expect(put.status).toBe(200);
    const done = await alice('POST', '/v1/models/churn/versions/1.1.0/complete');
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'ready', size: bytes.length });

    // The download URL serves exactly those bytes.
    const link = await viewer('GET', '/v1/models/churn/versions/1.1.0/artifact');
    expect(link.status).toBe(200);
    const downloaded = new Uint8Array(await (await fetch(link.body.url)).arrayBuffer());
    expect(sha(downloaded)).toBe(sha(bytes));

    // An upload that does not match its declaration is refused, and the version stays pending:
    // the failed attempt is recorded, and the right bytes (through a fresh URL) complete it.
    const promised = tinyOnnx('what I promised');
    const liar = await alice('POST', '/v1/models/churn/versions', {
      artifact: { upload: true },
      sha256: sha(promised),
    });
    expect(liar.body.uploadExpiresAt).toEqual(expect.any(String));
    await putUpload(liar.body.upload, 'what I sent');
    const refused = await alice('POST', '/v1/models/churn/versions/1.2.0/complete');
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({
      code: 'integrity_failed',
      details: { expected: sha(promised), actual: sha('what I sent'), failedUploads: 1 },
    });
    const failed = (await viewer('GET', '/v1/models/churn/versions/1.2.0')).body;
    expect(failed).toMatchObject({ status: 'pending', failedUploads: 1 });
    expect(failed.lastFailedUpload).toMatchObject({ sha256: sha('what I sent'), size: 11 });
    expect(
      (await alice('POST', '/v1/models/churn/versions/1.2.0/transition', { stage: 'testing' })).status,
    ).toBe(409);
    const fresh = await alice('POST', '/v1/models/churn/versions/1.2.0/upload-url');
    expect(fresh.status).toBe(200);
    expect(fresh.body.upload.url).not.toBe(liar.body.upload.url);
    const retry = await putUpload(fresh.body.upload, promised);
    expect(retry.status).toBe(200);
    const completed = await alice('POST', '/v1/models/churn/versions/1.2.0/complete');
    expect(completed.status).toBe(200);
    expect(completed.body).toMatchObject({ status: 'ready', failedUploads: 1, uploadExpiresAt: null });
    // Completed and verified: immutable from here on.
    expect((await alice('POST', '/v1/models/churn/versions/1.2.0/complete')).status).toBe(409);
    expect((await alice('POST', '/v1/models/churn/versions/1.2.0/upload-url')).status).toBe(409);
    const actions = (await viewer('GET', '/v1/audit?model=churn&limit=100')).body.items
      .filter((e: { version?: string }) => e.version === '1.2.0')
      .map((e: { action: string }) => e.action);
    expect(actions).toEqual([
      'version.complete',
      'version.upload_url',
      'version.upload_failed',
      'version.register',
    ]);
  });

  it('keeps serving the verified bytes when the presigned URL is used again after promotion', async () => {
    expect((await alice('POST', '/v1/models', { name: 'dropbox' })).status).toBe(201);
    const original = linearRegressionOnnx({ weights: [2], bias: 1 });
    const replacement = linearRegressionOnnx({ weights: [0], bias: -100 });
    const reg = await alice('POST', '/v1/models/dropbox/versions', {
      artifact: { upload: true },
      sha256: sha(original),
    });
    expect(reg.status).toBe(201);
    const { url, headers } = reg.body.upload;
    expect((await fetch(url, { method: 'PUT', headers, body: original })).status).toBe(200);
    expect((await alice('POST', '/v1/models/dropbox/versions/1.0.0/complete')).status).toBe(200);
    for (const stage of ['testing', 'staging']) {
      await alice('POST', '/v1/models/dropbox/versions/1.0.0/transition', { stage });
    }
    await bob('POST', '/v1/models/dropbox/versions/1.0.0/approval', { decision: 'approved', comment: 'ok' });
    const promoted = await bob('POST', '/v1/models/dropbox/versions/1.0.0/transition', {
      stage: 'production',
    });
    expect(promoted.status).toBe(200);
    const predict = () => admin('POST', '/v1/models/dropbox/predict', { instances: [[3]] });
    expect((await predict()).body.predictions).toEqual([7]);

    // The attack: the URL is still valid, and s3rver honours neither If-None-Match nor the
    // checksum (S3 would refuse this PUT with 412 or 400). It can only reach the upload's drop box.
    const again = await fetch(url, { method: 'PUT', headers, body: replacement });
    expect(again.status).toBe(200);
    expect((await alice('POST', '/v1/models/dropbox/versions/1.0.0/complete')).status).toBe(409);

    const verified = await carol('POST', '/v1/models/dropbox/versions/1.0.0/verify');
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ ok: true, sha256: sha(original) });
    expect((await viewer('GET', '/v1/models/dropbox/versions/1.0.0')).body.status).toBe('ready');
    const prediction = await predict();
    expect(prediction.body).toMatchObject({ modelVersion: '1.0.0', predictions: [7] });
    const link = await viewer('GET', '/v1/models/dropbox/versions/1.0.0/artifact');
    const downloaded = new Uint8Array(await (await fetch(link.body.url)).arrayBuffer());
    expect(sha(downloaded)).toBe(sha(original));
    const audit = await viewer('GET', '/v1/audit?model=dropbox&limit=100');
    expect(audit.body.items.map((e: { action: string }) => e.action)).not.toContain(
      'version.integrity_failed',
    );
  });

  it('walks the lifecycle with four eyes, promotes, demotes and rolls back', async () => {
    const t = (who: typeof alice, v: string, stage: string) =>
      who('POST', `/v1/models/churn/versions/${v}/transition`, { stage, comment: `to ${stage}` });
    const skip = await t(alice, '1.0.0', 'production');
    expect(skip.status).toBe(409);
    expect(skip.body.error.message).toContain('testing');
    for (const v of ['1.0.0', '1.1.0']) {
      expect((await t(alice, v, 'testing')).status).toBe(200);
      expect((await t(alice, v, 'staging')).status).toBe(200);
    }
    expect((await t(bob, '1.0.0', 'production')).body.error.code).toBe('conflict'); // no approval yet
    expect((await t(alice, '1.0.0', 'production')).status).toBe(403); // scientists stop at staging

    const approve = (who: typeof alice, v: string) =>
      who('POST', `/v1/models/churn/versions/${v}/approval`, { decision: 'approved', comment: 'ok' });
    expect((await approve(alice, '1.0.0')).status).toBe(403);
    expect((await approve(bob, '1.0.0')).status).toBe(200);
    expect((await approve(carol, '1.1.0')).status).toBe(200);

    expect((await t(bob, '1.0.0', 'production')).body.stage).toBe('production');
    expect((await t(carol, '1.1.0', 'production')).body.stage).toBe('production');
    expect((await viewer('GET', '/v1/models/churn/versions/1.0.0')).body.stage).toBe('staging');
    const model = await viewer('GET', '/v1/models/churn');
    expect(model.body).toMatchObject({
      productionVersion: '1.1.0',
      versionsByStage: { production: ['1.1.0'], staging: ['1.0.0'], draft: ['1.2.0'] },
    });

    const rb = await bob('POST', '/v1/models/churn/rollback', { comment: 'auc regression in prod' });
    expect(rb.status).toBe(200);
    expect(rb.body.version).toBe('1.0.0');
    const history = await viewer('GET', '/v1/models/churn/production-history');
    expect(
      history.body.items.map((c: { action: string; version: string }) => `${c.action}:${c.version}`),
    ).toEqual(['rollback:1.0.0', 'promote:1.1.0', 'promote:1.0.0']);

    const cmp = await viewer('GET', '/v1/models/churn/compare?a=1.0.0&b=1.1.0');
    expect(cmp.status).toBe(200);
    expect(cmp.body.metrics.auc.delta).toBeCloseTo(0.03, 12);
    expect(cmp.body.params.changed).toEqual({ lr: { a: 0.1, b: 0.05 } });
    expect(cmp.body.lineage.b).toEqual(['1.1.0', '1.0.0']);
  });

  it('keeps exactly one production version under simultaneous promotions', async () => {
    await alice('POST', '/v1/models', { name: 'race' });
    const versions = ['1.0.0', '2.0.0', '3.0.0', '4.0.0'];
    for (const v of versions) {
      await alice('POST', '/v1/models/race/versions', {
        version: v,
        artifact: { base64: tinyOnnxBase64(`race-${v}`) },
      });
      await alice('POST', `/v1/models/race/versions/${v}/transition`, { stage: 'testing' });
      await alice('POST', `/v1/models/race/versions/${v}/transition`, { stage: 'staging' });
      await bob('POST', `/v1/models/race/versions/${v}/approval`, { decision: 'approved' });
    }
    const attempts = Array.from({ length: 24 }, (_, i) => {
      const who = i % 2 ? bob : carol;
      return who('POST', `/v1/models/race/versions/${versions[i % versions.length]}/transition`, {
        stage: 'production',
      });
    });
    const results = await Promise.all(attempts);
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    const successes = statuses.filter((s) => s === 200).length;
    expect(successes).toBeGreaterThanOrEqual(1);

    const prod = await viewer('GET', '/v1/models/race/versions?stage=production');
    expect(prod.body.items).toHaveLength(1);
    const model = await viewer('GET', '/v1/models/race');
    expect(model.body.productionVersion).toBe(prod.body.items[0].version);
    expect(model.body.versionsByStage.production).toHaveLength(1);

    // One audit event and one production-history entry per successful promotion, no more.
    const events: { action: string }[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { action: string }[]; nextCursor: string | null } } = await viewer(
        'GET',
        `/v1/audit?model=race&limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      events.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(events.filter((e) => e.action === 'version.promote')).toHaveLength(successes);
    const history = await viewer('GET', '/v1/models/race/production-history?limit=100');
    expect(history.body.items).toHaveLength(successes);
  });

  it('detects bytes changed in S3: on demand and by the scheduled sweep', async () => {
    const ok = await viewer('POST', '/v1/models/churn/versions/1.1.0/verify');
    expect(ok.status).toBe(200);
    expect(ok.body.sha256).toBe((await viewer('GET', '/v1/models/churn/versions/1.1.0')).body.sha256);

    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: await objectKeyOf('churn', '1.1.0'), Body: 'tampered' }),
    );
    const bad = await viewer('POST', '/v1/models/churn/versions/1.1.0/verify');
    expect(bad.status).toBe(422);
    expect(bad.body.error).toMatchObject({ code: 'integrity_failed', details: { actual: sha('tampered') } });
    expect((await viewer('GET', '/v1/models/churn/versions/1.1.0')).body.status).toBe('unusable');
    expect((await viewer('GET', '/v1/models/churn/versions/1.1.0/artifact')).status).toBe(409);

    // Production 1.0.0 is tampered with; nobody calls verify: the hourly sweep (scaled) finds it.
    // So is race's production, which has an earlier production version to roll back to.
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: await objectKeyOf('churn', '1.0.0'), Body: 'evil' }),
    );
    const race = (await viewer('GET', '/v1/models/race')).body.productionVersion as string;
    const raceHistory = (await viewer('GET', '/v1/models/race/production-history?limit=100')).body.items;
    const raceBack = raceHistory.find(
      (c: { previous?: string }) => c.previous !== undefined && c.previous !== race,
    ).previous as string;
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: await objectKeyOf('race', race), Body: 'evil' }),
    );
    // A viewer is served the sweep's recorded results and cannot force a re-check; an admin can.
    const served = await viewer('GET', '/v1/health/detailed');
    expect(served.status).toBe(200);
    expect(served.body.artifactsFrom).toBe('sweep');
    expect((await viewer('GET', '/v1/health/detailed?recheck=true')).status).toBe(403);
    const detailed = await admin('GET', '/v1/health/detailed?recheck=true');
    expect(detailed.body).toMatchObject({ status: 'degraded', artifactsFrom: 'recheck' });
    // churn's only earlier production version (1.1.0) is unusable: nothing to roll back to.
    expect(detailed.body.productionArtifacts).toContainEqual(
      expect.objectContaining({
        model: 'churn',
        version: '1.0.0',
        ok: false,
        actual: sha('evil'),
        suggestedRollback: null,
      }),
    );
    const rollback = { method: 'POST', path: '/v1/models/race/rollback', body: { toVersion: raceBack } };
    expect(detailed.body.productionArtifacts).toContainEqual(
      expect.objectContaining({ model: 'race', version: race, ok: false, suggestedRollback: rollback }),
    );
    expect((await admin('GET', '/v1/health/detailed?recheck=true')).status).toBe(429);
    const deadline = Date.now() + 20_000;
    let status = 'ready';
    while (status !== 'unusable' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      status = (await viewer('GET', '/v1/models/churn/versions/1.0.0')).body.status;
    }
    expect(status).toBe('unusable');
    // Once the sweep has recorded it, every viewer sees it.
    const afterSweep = await viewer('GET', '/v1/health/detailed');
    expect(afterSweep.body.status).toBe('degraded');
    expect(afterSweep.body.productionArtifacts).toContainEqual(
      expect.objectContaining({ model: 'churn', version: '1.0.0', ok: false, status: 'unusable' }),
    );
    const audit = await viewer('GET', '/v1/audit?actor=system&limit=50');
    expect(audit.body.items).toContainEqual(
      expect.objectContaining({ action: 'version.integrity_failed', model: 'churn', version: '1.0.0' }),
    );
    // The sweep raised one alert per corrupt production version, with the rollback to run.
    let alerts: { kind: string; severity: string; details: Record<string, unknown> }[] = [];
    while (alerts.length === 0 && Date.now() < deadline) {
      alerts = (await viewer('GET', '/v1/alerts?model=race')).body.items;
      if (alerts.length === 0) await new Promise((r) => setTimeout(r, 500));
    }
    expect(alerts).toEqual([
      expect.objectContaining({
        kind: 'integrity',
        severity: 'critical',
        details: expect.objectContaining({ version: race, suggestedRollback: rollback }),
      }),
    ]);
    // The health check still names the rollback once the sweep has marked the version unusable.
    const after = await viewer('GET', '/v1/health/detailed');
    expect(after.body.productionArtifacts).toContainEqual(
      expect.objectContaining({ model: 'race', status: 'unusable', suggestedRollback: rollback }),
    );
  });

  it('seeds a real demo model, validates it with onnxruntime, and gates production on validation', async () => {
    const demo = makeDemoModel();
    const model = await viewer('GET', '/v1/models/iris-demo');
    expect(model.body).toMatchObject({ latestVersion: '1.0.0', versionCount: 1 });
    const v = await viewer('GET', '/v1/models/iris-demo/versions/1.0.0');
    expect(v.body.sha256).toBe(sha(demo.onnx));
    expect(v.body.inputSchema.features).toHaveLength(4);

    const good = await alice('POST', '/v1/models/iris-demo/versions/1.0.0/validate', {
      dataset: demo.holdout,
      thresholds: { accuracy: { min: 0.9 } },
      latencyBudgetMs: 100,
    });
    expect(good.status).toBe(200);
    expect(good.body.passed).toBe(true);
    expectEveryCheckPassed(good.body.checks);
    // The holdout is the one the demo's own accuracy was measured on.
    expect(good.body.metrics.accuracy).toBeCloseTo(demo.metrics.accuracy!, 12);

    // Every label swapped: the same model now misses nearly everything.
    const [a, b] = demo.outputSchema.classes!;
    const flipped = demo.holdout.labels.map((l) => (l === a ? b : a));
    const bad = await alice('POST', '/v1/models/iris-demo/versions/1.0.0/validate', {
      dataset: { instances: demo.holdout.instances, labels: flipped },
      thresholds: { accuracy: { min: 0.9 } },
    });
    expect(bad.status).toBe(200);
    expect(bad.body.passed).toBe(false);
    expect(bad.body.metrics.accuracy).toBeCloseTo(1 - demo.metrics.accuracy!, 12);

    const wrongShape = await alice('POST', '/v1/models/iris-demo/versions/1.0.0/validate', {
      dataset: { instances: [[1, 2, 3]], labels: [a] },
    });
    expect(wrongShape.status).toBe(400);

    // The gates are the admin's: a scientist can neither switch validation on or off nor set what
    // a passing report must show, and the attempt is audited.
    const refused = await alice('PATCH', '/v1/models/iris-demo', { requireValidation: true });
    expect(refused.status).toBe(403);
    expect(refused.body.error.details).toMatchObject({ fields: ['requireValidation'], needs: 'admin' });
    expect((await alice('PATCH', '/v1/models/iris-demo', { minValidationRows: 2 })).status).toBe(403);
    const refusal = await viewer('GET', '/v1/audit?model=iris-demo&limit=1');
    expect(refusal.body.items[0]).toMatchObject({
      action: 'model.gate_change_refused',
      before: { minValidationRows: null },
      after: { minValidationRows: 2 },
    });
    const gated = await admin('PATCH', '/v1/models/iris-demo', {
      requireValidation: true,
      minValidationRows: demo.holdout.labels.length,
      requiredThresholds: { accuracy: { min: 0.9 } },
    });
    expect(gated.status).toBe(200);
    expect(gated.body).toMatchObject({
      requireValidation: true,
      minValidationRows: demo.holdout.labels.length,
      requiredThresholds: { accuracy: { min: 0.9 } },
    });
    await alice('POST', '/v1/models/iris-demo/versions/1.0.0/transition', { stage: 'testing' });
    await alice('POST', '/v1/models/iris-demo/versions/1.0.0/transition', { stage: 'staging' });
    await bob('POST', '/v1/models/iris-demo/versions/1.0.0/approval', { decision: 'approved' });
    const promote = () =>
      bob('POST', '/v1/models/iris-demo/versions/1.0.0/transition', { stage: 'production' });
    const blocked = await promote();
    expect(blocked.status).toBe(422);
    expect(blocked.body.error.message).toContain('validation');
    // One row and no thresholds: the report passes its own checks, but not the model's policy.
    const oneRow = await alice('POST', '/v1/models/iris-demo/versions/1.0.0/validate', {
      dataset: { instances: demo.holdout.instances.slice(0, 1), labels: demo.holdout.labels.slice(0, 1) },
    });
    expect(oneRow.body.passed).toBe(true);
    const tooSmall = await promote();
    expect(tooSmall.status).toBe(422);
    expect(tooSmall.body.error.details).toMatchObject({ validation: 'too_few_rows', rows: 1 });
    await alice('POST', '/v1/models/iris-demo/versions/1.0.0/validate', {
      dataset: demo.holdout,
      thresholds: { accuracy: { min: 0.9 } },
    });
    const promoted = await bob('POST', '/v1/models/iris-demo/versions/1.0.0/transition', {
      stage: 'production',
    });
    expect(promoted.status).toBe(200);
    expect(promoted.body.validation.passed).toBe(true);
  });

  it("computes a dataset's SHA-256 when it is in Serval's bucket and says whether it was verified", async () => {
    const demo = makeDemoModel();
    const uri = `s3://${bucket}/datasets/iris-demo/train.csv`;
    const seeded = await viewer('GET', '/v1/models/iris-demo/versions/1.0.0');
    expect(seeded.body.dataset).toMatchObject({ uri, sha256: sha(demo.datasetCsv), verified: true });

    const register = (dataset: Record<string, unknown>) =>
      alice('POST', '/v1/models/iris-demo/versions', {
        artifact: { base64: Buffer.from(demo.onnx).toString('base64') },
        dataset,
      });
    const wrong = await register({ uri, sha256: sha('not the dataset') });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error).toMatchObject({
      code: 'integrity_failed',
      details: { expected: sha('not the dataset'), actual: sha(demo.datasetCsv) },
    });
    expect((await register({ uri: `s3://${bucket}/datasets/iris-demo/missing.csv` })).status).toBe(400);
    const computed = await register({ uri });
    expect(computed.status).toBe(201);
    expect(computed.body.dataset).toEqual({ uri, sha256: sha(demo.datasetCsv), verified: true });
    const external = await register({ uri: 's3://someone-elses-bucket/train.csv', sha256: sha('claim') });
    expect(external.status).toBe(201);
    expect(external.body.dataset).toEqual({
      uri: 's3://someone-elses-bucket/train.csv',
      sha256: sha('claim'),
      verified: false,
    });
  });

  it('replays an idempotent POST and refuses a reused key with another body', async () => {
    const headers = { 'idempotency-key': 'create-fraud-1' };
    const first = await alice('POST', '/v1/models', { name: 'fraud' }, headers);
    const again = await alice('POST', '/v1/models', { name: 'fraud' }, headers);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    const other = await alice('POST', '/v1/models', { name: 'fraud2' }, headers);
    expect(other.status).toBe(409);
    expect((await viewer('GET', '/v1/models/fraud2')).status).toBe(404);
  });

  it('pages through models with cursors and refuses forged ones', async () => {
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: { name: string }[]; nextCursor: string | null } } =
        await viewer('GET', `/v1/models?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      names.push(...page.body.items.map((m) => m.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(names).toEqual(['churn', 'dropbox', 'fraud', 'iris-demo', 'race']);
    const forged = Buffer.from(
      JSON.stringify({ pk: 'MODEL#x', sk: '#MODEL', gsi1pk: 'OTHER', gsi1sk: 'x' }),
    ).toString('base64url');
    for (const c of [forged, 'not-base64!', 'e30']) {
      const res = await viewer('GET', `/v1/models?cursor=${encodeURIComponent(c)}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
  });

  it('audits every change with actor and before/after, filterable', async () => {
    const bobId = (await admin('GET', '/v1/auth/keys?limit=100')).body.items.find(
      (k: { name: string }) => k.name === 'bob',
    ).keyId;
    const byBob = await viewer('GET', `/v1/audit?actor=${bobId}&limit=100`);
    expect(byBob.body.items.length).toBeGreaterThan(0);
    expect(byBob.body.items.every((e: { actor: string }) => e.actor === bobId)).toBe(true);
    const rollback = byBob.body.items.find((e: { action: string }) => e.action === 'model.rollback');
    expect(rollback).toMatchObject({
      model: 'churn',
      version: '1.0.0',
      before: { productionVersion: '1.1.0' },
      after: { productionVersion: '1.0.0' },
      comment: 'auc regression in prod',
    });
    const future = await viewer('GET', `/v1/audit?since=${encodeURIComponent('2999-01-01T00:00:00Z')}`);
    expect(future.body.items).toEqual([]);
  });

  it('revokes keys within the authorizer cache TTL', async () => {
    const created = await admin('POST', '/v1/auth/keys', { name: 'temp', role: 'viewer' });
    const temp = apiClient(serval.url, created.body.key);
    expect((await temp('GET', '/v1/models')).status).toBe(200);
    const revoking = Date.now();
    expect((await admin('DELETE', `/v1/auth/keys/${created.body.keyId}`)).status).toBe(200);
    await pastAuthCache(revoking);
    expect((await temp('GET', '/v1/models')).status).toBe(401);
    const listed = await admin('GET', '/v1/auth/keys?limit=100');
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key.slice('svl_'.length + 26 + 1));
    expect(listed.body.items.find((k: { keyId: string }) => k.keyId === created.body.keyId).status).toBe(
      'revoked',
    );
  });

  it('answers client mistakes with 4xx and the error shape', async () => {
    const cases: [string, string, unknown, number][] = [
      ['POST', '/v1/models', '{not json', 400],
      ['POST', '/v1/models', { name: '../etc' }, 400],
      ['POST', '/v1/models', { name: 'ok', extra: 1 }, 400],
      ['GET', '/v1/models/churn/versions/1.0', undefined, 400],
      ['GET', '/v1/models/NOPE', undefined, 400],
      ['GET', '/v1/models/nope', undefined, 404],
      ['GET', '/v1/models/churn/versions/9.9.9', undefined, 404],
      ['POST', '/v1/models/churn/versions', { artifact: { base64: '@@@' } }, 400],
      ['POST', '/v1/models/churn/versions', { artifact: { upload: true } }, 400],
      ['GET', '/v1/models?limit=0', undefined, 400],
      ['DELETE', '/v1/models', undefined, 404],
      ['GET', '/v1/nothing-here', undefined, 404],
    ];
    for (const [method, path, body, status] of cases) {
      const res = await alice(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(res.body.error.code, `${method} ${path}`).toBeTypeOf('string');
      expect(res.body.error.message).toBeTypeOf('string');
      expect(res.text).not.toMatch(/at .*\.(ts|js):\d+|node_modules|\/work\//);
    }
    const wrongType = await alice('POST', '/v1/models', 'name=x', { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(400);
    const huge = await alice('POST', '/v1/models', {
      name: 'big',
      description: 'x'.repeat(11 * 1024 * 1024),
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');
  });

  it('serves an OpenAPI document covering every route', async () => {
    const doc = await anonymous('GET', '/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(doc.body.paths['/v1/models/{name}/versions/{version}/transition'].post['x-serval-role']).toBe(
      'scientist',
    );
    expect(
      doc.body.paths['/v1/models'].post.requestBody.content['application/json'].schema.properties.name,
    ).toBeDefined();
  });

  it('filters models, edits a version, and soft-deletes versions and models (never production)', async () => {
    for (const [name, description, tags] of [
      ['hk-one', 'Scores LEADS', { team: 'growth' }],
      ['hk-three', 'leads, second try', { team: 'growth', tier: 'gold' }],
      ['hk-two', 'fraud rules', { team: 'risk' }],
    ] as const) {
      expect((await alice('POST', '/v1/models', { name, description, tags })).status).toBe(201);
    }
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const q = `/v1/models?q=leads&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page: { body: { items: { name: string }[]; nextCursor: string | null } } = await viewer('GET', q);
      pages.push(page.body.items.map((m) => m.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(pages.flat()).toEqual(['hk-one', 'hk-three']);
    expect(pages.slice(0, 2)).toEqual([['hk-one'], ['hk-three']]);
    const gold = await viewer('GET', '/v1/models?tag=team:growth&tag=tier:gold');
    expect(gold.body.items.map((m: { name: string }) => m.name)).toEqual(['hk-three']);
    expect(
      (await viewer('GET', '/v1/models?tag=team:risk')).body.items.map((m: { name: string }) => m.name),
    ).toEqual(['hk-two']);
    expect((await viewer('GET', '/v1/models?tag=no-colon')).status).toBe(400);

    // A version's description and tags change; nothing else does.
    await alice('POST', '/v1/models/hk-one/versions', { artifact: { base64: tinyOnnxBase64('hk-one-1') } });
    const patched = await alice('PATCH', '/v1/models/hk-one/versions/1.0.0', {
      description: 'first cut',
      tags: { dataset: 'q3' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ description: 'first cut', tags: { dataset: 'q3' }, stage: 'draft' });
    expect((await alice('PATCH', '/v1/models/hk-one/versions/1.0.0', { stage: 'production' })).status).toBe(
      400,
    );
    expect((await alice('PATCH', '/v1/models/hk-one/versions/1.0.0', {})).status).toBe(400);
    const edit = (await viewer('GET', '/v1/audit?model=hk-one&limit=10')).body.items[0];
    expect(edit).toMatchObject({
      action: 'version.update',
      before: { description: '', tags: {} },
      after: { description: 'first cut', tags: { dataset: 'q3' } },
    });

    // Deleting a version: admin only; gone for reads, its audit trail kept, its artifact tagged.
    const key = await objectKeyOf('hk-one', '1.0.0');
    expect((await alice('DELETE', '/v1/models/hk-one/versions/1.0.0')).status).toBe(403);
    expect((await bob('DELETE', '/v1/models/hk-one/versions/1.0.0')).status).toBe(403);
    const gone = await admin('DELETE', '/v1/models/hk-one/versions/1.0.0');
    expect(gone.status).toBe(200);
    expect(gone.body).toMatchObject({
      version: '1.0.0',
      deleted: { reason: 'deleted' },
      artifacts: { released: 1 },
    });
    expect((await viewer('GET', '/v1/models/hk-one/versions/1.0.0')).status).toBe(404);
    expect((await admin('DELETE', '/v1/models/hk-one/versions/1.0.0')).status).toBe(404);
    expect((await viewer('GET', '/v1/models/hk-one')).body).toMatchObject({
      versionCount: 0,
      latestVersion: null,
    });
    const tagging = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    expect(tagging.TagSet).toEqual([{ Key: DELETED_ARTIFACT_TAG.key, Value: DELETED_ARTIFACT_TAG.value }]);
    const trail = (await viewer('GET', '/v1/audit?model=hk-one&limit=10')).body.items.map(
      (e: { action: string }) => e.action,
    );
    expect(trail.slice(0, 3)).toEqual(['version.delete', 'version.update', 'version.register']);
    // Its number is not reused.
    expect(
      (await alice('POST', '/v1/models/hk-one/versions', { artifact: { base64: tinyOnnxBase64('x') } })).body
        .version,
    ).toBe('1.1.0');

    // Production blocks deleting the version and the model, until it is archived.
    await alice('POST', '/v1/models/hk-two/versions', { artifact: { base64: tinyOnnxBase64('hk-two-1') } });
    for (const stage of ['testing', 'staging']) {
      await alice('POST', '/v1/models/hk-two/versions/1.0.0/transition', { stage });
    }
    await bob('POST', '/v1/models/hk-two/versions/1.0.0/approval', { decision: 'approved', comment: 'ok' });
    expect(
      (await bob('POST', '/v1/models/hk-two/versions/1.0.0/transition', { stage: 'production' })).status,
    ).toBe(200);
    expect((await admin('DELETE', '/v1/models/hk-two/versions/1.0.0')).status).toBe(409);
    const blocked = await admin('DELETE', '/v1/models/hk-two');
    expect(blocked.status).toBe(409);
    expect(blocked.body.error.details).toMatchObject({ productionVersion: '1.0.0' });
    await bob('POST', '/v1/models/hk-two/versions/1.0.0/transition', { stage: 'archived' });
    expect((await admin('DELETE', '/v1/models/hk-two')).status).toBe(200);
    expect((await viewer('GET', '/v1/models/hk-two')).status).toBe(404);
    expect((await viewer('GET', '/v1/models/hk-two/versions/1.0.0')).status).toBe(404);
    expect((await viewer('GET', '/v1/models?tag=team:risk')).body.items).toEqual([]);
    expect((await alice('POST', '/v1/models', { name: 'hk-two' })).status).toBe(409);
    expect((await viewer('GET', '/v1/audit?model=hk-two&limit=1')).body.items[0]).toMatchObject({
      action: 'model.delete',
    });
  });
});

describe('the route table is the access policy', () => {
  it('walks every route with every role: allowed → neither 401 nor 403, denied → 403, none → 401', async () => {
    const clients = Object.fromEntries(
      await Promise.all(ROLES.map(async (role) => [role, await keyFor(role, `walker-${role}`)] as const)),
    );
    // A model that does not exist, so no allowed call changes anything.
    const fill = (path: string) =>
      path
        .replace('{name}', 'ghost')
        .replace('{version}', '1.0.0')
        .replace('{keyId}', '7ZZZZZZZZZZZZZZZZZZZZZZZZZ');
    let checked = 0;
    for (const route of ROUTES) {
      const path = fill(route.path);
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : {};
      if (route.role === 'none') {
        expect(
          (await anonymous(route.method, path, body)).status,
          `${route.method} ${route.path}`,
        ).toBeLessThan(500);
        continue;
      }
      expect(
        (await anonymous(route.method, path, body)).status,
        `${route.method} ${route.path} anonymous`,
      ).toBe(401);
      for (const role of ROLES) {
        const res = await clients[role]!(route.method, path, body);
        const label = `${route.method} ${route.path} as ${role}`;
        if (hasRole(role, route.role)) expect([401, 403], label).not.toContain(res.status);
        else expect(res.status, label).toBe(403);
        expect(res.status, label).toBeLessThan(500);
        checked++;
      }
    }
    expect(checked).toBe(ROUTES.filter((r) => r.role !== 'none').length * ROLES.length);
  });

  it('lets only admins change the promotion gates of a model (PATCH /v1/models/{name})', async () => {
    const clients = Object.fromEntries(
      await Promise.all(ROLES.map(async (role) => [role, await keyFor(role, `gates-${role}`)] as const)),
    );
    expect((await admin('POST', '/v1/models', { name: 'gatewalk', requireValidation: true })).status).toBe(
      201,
    );
    const loosen: Record<(typeof GATE_FIELDS)[number], unknown> = {
      requireValidation: false,
      allowUnservableProduction: true,
      minValidationRows: 1,
      requiredThresholds: { accuracy: { min: 0 } },
      promotionGate: { noOpenCriticalQualityAlert: true },
    };
    const reset = {
      requireValidation: true,
      allowUnservableProduction: false,
      minValidationRows: null,
      requiredThresholds: null,
      promotionGate: null,
    };
    for (const field of GATE_FIELDS) {
      for (const role of ROLES) {
        const res = await clients[role]!('PATCH', '/v1/models/gatewalk', { [field]: loosen[field] });
        const label = `${field} as ${role}`;
        if (role === 'admin') {
          expect(res.status, label).toBe(200);
          expect(res.body[field], label).toEqual(loosen[field]);
          expect((await admin('PATCH', '/v1/models/gatewalk', reset)).status).toBe(200);
        } else expect(res.status, label).toBe(403);
      }
    }
    // Not a gate: a scientist still edits the description and the fallback.
    expect(
      (await clients.scientist!('PATCH', '/v1/models/gatewalk', { description: 'd', fallback: false }))
        .status,
    ).toBe(200);
    // Creating a model with a gate already open is the admin's too.
    expect(
      (await clients.scientist!('POST', '/v1/models', { name: 'gateopen', allowUnservableProduction: true }))
        .status,
    ).toBe(403);
  });
});
