import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../../functions/core/auth/principal.js';
import { compareMetrics } from '../../../functions/core/registry/compare.js';
import type { RegistryServices } from '../../../functions/core/registry/services.js';
import { STAGES, type Stage } from '../../../functions/core/registry/types.js';
import { expectCode } from '../../support/expect-code.js';
import {
  type MemoryArtifactStore,
  type MemoryRegistryStore,
  memoryRegistry,
} from '../../support/memory-stores.js';
import { tinyOnnx, tinyOnnxBase64 } from '../../support/onnx-fixtures.js';
import { alice, bob, carol } from '../../support/principals.js';

const dana: typeof alice = { id: 'dana', name: 'Dana', role: 'admin' };

// Tags stand for distinct real ONNX artifacts: the registry reads every artifact's graph.
const bytes = (s: string) => tinyOnnx(s);
const b64 = (s: string) => tinyOnnxBase64(s);
const sha = (s: string | Uint8Array) =>
  createHash('sha256')
    .update(typeof s === 'string' ? tinyOnnx(s) : s)
    .digest('hex');

describe('Registry', () => {
  let store: MemoryRegistryStore;
  let artifacts: MemoryArtifactStore;
  let registry: RegistryServices;

  beforeEach(async () => {
    ({ store, artifacts, registry } = memoryRegistry());
    await registry.models.create(alice, { name: 'churn', description: 'd', tags: { team: 'x' } });
  });

  const register = (content = 'model-bytes', version?: string) =>
    registry.artifacts.register(alice, 'churn', {
      version,
      artifact: { base64: b64(content) },
      framework: 'onnx',
      runtime: { type: 'lambda' },
      metrics: { auc: 0.8 },
    });

  /** Registers a version and walks it to staging with Bob's approval. */
  async function staged(version: string, content = `bytes-${version}`) {
    await register(content, version);
    await registry.lifecycle.transition(alice, 'churn', version, 'testing');
    await registry.lifecycle.transition(alice, 'churn', version, 'staging');
    await registry.lifecycle.decideApproval(bob, 'churn', version, 'approved', 'looks good');
  }

  it('refuses a second model with the same name', async () => {
    await expectCode(registry.models.create(alice, { name: 'churn' }), 'conflict');
  });

  it('stores an inline artifact with its SHA-256 and numbers versions automatically', async () => {
    const first = await register('abc');
    const second = await register('def');
    expect(first.version.version).toBe('1.0.0');
    expect(second.version.version).toBe('1.1.0');
    expect(first.version.artifact.sha256).toBe(sha('abc'));
    expect(first.version.status).toBe('ready');
    expect(artifacts.objects.get(first.version.artifact.key)).toEqual(bytes('abc'));
    const explicit = await register('ghi', '4.2.7');
    expect(explicit.version.version).toBe('4.2.7');
    expect((await register('jkl')).version.version).toBe('4.3.0');
    expect((await registry.models.get('churn')).versionCount).toBe(4);
  });

  it('refuses a duplicate version and leaves the first artifact untouched', async () => {
    const first = await register('original', '1.0.0');
    await expectCode(register('impostor', '1.0.0'), 'conflict');
    expect(artifacts.objects.get(first.version.artifact.key)).toEqual(bytes('original'));
    expect(artifacts.objects.size).toBe(1);
  });

  it('rejects a declared sha256 that does not match the inline bytes, storing nothing', async () => {
    await expectCode(
      registry.artifacts.register(alice, 'churn', {
        artifact: { base64: b64('abc') },
        sha256: sha('abd'),
        framework: 'onnx',
        runtime: { type: 'lambda' },
      }),
      'integrity_failed',
    );
    expect(artifacts.objects.size).toBe(0);
    expect(store.versions.size).toBe(0);
  });

  /** Registering a version whose only fault is its artifact reference is refused as invalid. */
  const expectArtifactRefused = (artifact: { base64: string } | { upload: true }) =>
    expectCode(
      registry.artifacts.register(alice, 'churn', {
        artifact,
        framework: 'onnx',
        runtime: { type: 'lambda' },
      }),
      'validation_failed',
    );

  it('rejects base64 that does not decode exactly', async () => {
    for (const bad of ['abc', 'ab$=', '====', '']) await expectArtifactRefused({ base64: bad });
  });

  it.each([
    ['a store that cannot refuse the second write (s3rver)', false],
    ['a versioned store (S3)', true],
  ])(
    'keeps serving the verified bytes when the upload URL writes again after promotion: %s',
    async (_name, versioned) => {
      ({ store, artifacts, registry } = memoryRegistry({}, { versionedArtifacts: versioned }));
      await registry.models.create(alice, { name: 'churn' });
      const reg = await registry.artifacts.register(alice, 'churn', {
        artifact: { upload: true },
        sha256: sha('original'),
        framework: 'onnx',
        runtime: { type: 'lambda' },
      });
      const url = reg.upload!.url;
      await artifacts.putViaUrl(url, bytes('original'));
      const done = await registry.artifacts.completeUpload(alice, 'churn', '1.0.0');
      // The verified artifact is a copy at a key no URL names, pinned to its object version.
      expect(url).not.toContain(done.artifact.key);
      expect(done.artifact.versionId).toEqual(versioned ? expect.any(String) : undefined);
      for (const stage of ['testing', 'staging'] as const) {
        await registry.lifecycle.transition(alice, 'churn', '1.0.0', stage);
      }
      await registry.lifecycle.decideApproval(bob, 'churn', '1.0.0', 'approved', 'ok');
      await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production');

      await artifacts.putViaUrl(url, bytes('replacement'));
      await expectCode(registry.artifacts.completeUpload(alice, 'churn', '1.0.0'), 'conflict');
      expect(await registry.artifacts.verify(carol, 'churn', '1.0.0')).toMatchObject({
        ok: true,
        sha256: sha('original'),
      });
      const v = await registry.models.getVersion('churn', '1.0.0');
      expect(v.status).toBe('ready');
      expect(await artifacts.get(v.artifact.key, v.artifact.versionId)).toEqual(bytes('original'));
    },
  );

  it('completes a presigned upload only when the stored bytes hash to the declared sha256', async () => {
    const good = await registry.artifacts.register(alice, 'churn', {
      artifact: { upload: true },
      sha256: sha('uploaded'),
      framework: 'onnx',
      runtime: { type: 'lambda' },
    });
    expect(good.version.status).toBe('pending');
    expect(good.upload?.headers['x-amz-meta-sha256']).toBe(sha('uploaded'));
    await expectCode(registry.artifacts.completeUpload(alice, 'churn', '1.0.0'), 'conflict'); // nothing uploaded yet
    await artifacts.put(good.version.artifact.key, bytes('uploaded'));
    expect((await registry.artifacts.completeUpload(alice, 'churn', '1.0.0')).status).toBe('ready');

    const bad = await registry.artifacts.register(alice, 'churn', {
      artifact: { upload: true },
      sha256: sha('declared'),
      framework: 'onnx',
      runtime: { type: 'lambda' },
    });
    await artifacts.put(bad.version.artifact.key, bytes('something else'));
    const err = await expectCode(
      registry.artifacts.completeUpload(alice, 'churn', '1.1.0'),
      'integrity_failed',
    );
    expect(err.details).toMatchObject({ expected: sha('declared'), actual: sha('something else') });
    // A failed completion does not burn the version: it stays pending, the attempt recorded.
    const failed = await registry.models.getVersion('churn', '1.1.0');
    expect(failed).toMatchObject({ status: 'pending', failedUploads: 1 });
    expect(failed.lastFailedUpload?.sha256).toBe(sha('something else'));
    await expectCode(registry.lifecycle.transition(alice, 'churn', '1.1.0', 'testing'), 'conflict');
    const audit = store.audits.find((a) => a.action === 'version.upload_failed')!;
    expect(audit).toMatchObject({
      actor: 'alice',
      version: '1.1.0',
      before: {},
      after: { failedUploads: 1 },
    });
    // The right bytes, uploaded again to the same URL, complete it.
    await artifacts.put(bad.version.artifact.key, bytes('declared'));
    const done = await registry.artifacts.completeUpload(alice, 'churn', '1.1.0');
    expect(done).toMatchObject({ status: 'ready', failedUploads: 1 });
    expect(done.uploadExpiresAt).toBeUndefined();
    await registry.lifecycle.transition(alice, 'churn', '1.1.0', 'testing');
  });

  it('refuses dataset locations Serval must never fetch', async () => {
    for (const uri of [
      'http://example.com/d.csv',
      'https://169.254.169.254/latest/meta-data/',
      'file:///etc/passwd',
    ]) {
      await expectCode(
        registry.artifacts.register(alice, 'churn', {
          artifact: { base64: b64('x') },
          framework: 'onnx',
          runtime: { type: 'lambda' },
          dataset: { uri },
        }),
        'validation_failed',
      );
    }
    const ok = await registry.artifacts.register(alice, 'churn', {
      artifact: { base64: b64('x') },
      framework: 'onnx',
      runtime: { type: 'lambda' },
      dataset: { uri: 's3://data/train.csv', rows: 10 },
    });
    expect(ok.version.dataset?.uri).toBe('s3://data/train.csv');
  });

  it('computes the SHA-256 of a dataset in its own bucket, refuses a wrong one, and trusts no other', async () => {
    const csv = bytes('a,b\n1,2\n');
    await artifacts.put('datasets/churn/train.csv', csv);
    const withDataset = (dataset: { uri: string; sha256?: string }) =>
      registry.artifacts.register(alice, 'churn', {
        artifact: { base64: b64('x') },
        framework: 'onnx',
        runtime: { type: 'lambda' },
        dataset,
      });
    const own = 's3://serval-artifacts/datasets/churn/train.csv';
    const computed = await withDataset({ uri: own });
    expect(computed.version.dataset).toEqual({ uri: own, sha256: sha(csv), verified: true });
    const confirmed = await withDataset({ uri: own, sha256: sha(csv) });
    expect(confirmed.version.dataset?.verified).toBe(true);
    const wrong = await withDataset({ uri: own, sha256: sha('other') }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({
      code: 'integrity_failed',
      details: { field: 'dataset.sha256', expected: sha('other'), actual: sha(csv) },
    });
    await expectCode(withDataset({ uri: 's3://serval-artifacts/datasets/none.csv' }), 'validation_failed');
    const external = await withDataset({ uri: 's3://elsewhere/train.csv', sha256: sha('claimed') });
    expect(external.version.dataset).toEqual({
      uri: 's3://elsewhere/train.csv',
      sha256: sha('claimed'),
      verified: false,
    });
    expect(await store.getVersion('churn', computed.version.version)).toMatchObject({
      dataset: { verified: true },
    });
  });

  it('requires sha256 for presigned uploads', async () => {
    await expectArtifactRefused({ upload: true });
  });

  it('allows exactly the moves of the lifecycle and names the allowed ones otherwise', async () => {
    // The table from the API contract, written out independently of the implementation.
    const allowed: Record<Stage, Stage[]> = {
      draft: ['testing', 'archived'],
      testing: ['staging', 'archived'],
      staging: ['production', 'archived'],
      production: ['archived'],
      archived: ['staging'],
    };
    const pathTo: Record<Stage, Stage[]> = {
      draft: [],
      testing: ['testing'],
      staging: ['testing', 'staging'],
      production: ['testing', 'staging', 'production'],
      archived: ['archived'],
    };
    let n = 0;
    for (const from of STAGES) {
      for (const to of STAGES) {
        if (from === to) continue;
        n++;
        const version = `1.${n}.0`;
        await register(`b-${version}`, version);
        await registry.lifecycle.decideApproval(bob, 'churn', version, 'approved', '');
        for (const step of pathTo[from]) await registry.lifecycle.transition(carol, 'churn', version, step);
        expect((await registry.models.getVersion('churn', version)).stage).toBe(from);
        const attempt = registry.lifecycle.transition(carol, 'churn', version, to);
        if (allowed[from].includes(to)) {
          expect((await attempt).stage).toBe(to);
        } else {
          const err = await expectCode(attempt, 'conflict');
          expect(err.details).toMatchObject({ from, to, allowed: allowed[from] });
          for (const ok of allowed[from]) expect(err.message).toContain(ok);
        }
      }
    }
  });

  it('never lets the registrant approve their own version', async () => {
    const selfRegistered: Principal = { id: 'dave', name: 'Dave', role: 'approver' };
    await registry.artifacts.register(selfRegistered, 'churn', {
      artifact: { base64: b64('x') },
      framework: 'onnx',
      runtime: { type: 'lambda' },
    });
    await expectCode(
      registry.lifecycle.decideApproval(selfRegistered, 'churn', '1.0.0', 'approved', ''),
      'forbidden',
    );
    await expectCode(registry.lifecycle.decideApproval(alice, 'churn', '1.0.0', 'approved', ''), 'forbidden'); // role
    expect(
      (await registry.lifecycle.decideApproval(bob, 'churn', '1.0.0', 'approved', 'ok')).approval?.by,
    ).toBe('bob');
  });

  it('needs an approver and an approval for production', async () => {
    await register('a', '1.0.0');
    await registry.lifecycle.transition(alice, 'churn', '1.0.0', 'testing');
    await registry.lifecycle.transition(alice, 'churn', '1.0.0', 'staging');
    await expectCode(registry.lifecycle.transition(alice, 'churn', '1.0.0', 'production'), 'forbidden');
    await expectCode(registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production'), 'conflict');
    await registry.lifecycle.decideApproval(bob, 'churn', '1.0.0', 'rejected', 'no');
    await expectCode(registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production'), 'conflict');
    await registry.lifecycle.decideApproval(carol, 'churn', '1.0.0', 'approved', 'yes');
    expect((await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production')).stage).toBe(
      'production',
    );
  });

  it('demands a passing validation report when the model asks for one', async () => {
    await registry.models.update(dana, 'churn', { requireValidation: true });
    await staged('1.0.0');
    await expectCode(registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production'), 'gate_failed');
    await registry.validation.record(alice, 'churn', '1.0.0', { passed: false });
    await expectCode(registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production'), 'gate_failed');
    await registry.validation.record(alice, 'churn', '1.0.0', { passed: true });
    expect((await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production')).stage).toBe(
      'production',
    );
  });

  it('lets only an admin change the promotion gates, and audits a refused attempt', async () => {
    await registry.models.update(dana, 'churn', { requireValidation: true });
    for (const who of [alice, bob]) {
      for (const change of [
        { requireValidation: false },
        { allowUnservableProduction: true },
        { minValidationRows: 100 },
        { requiredThresholds: { accuracy: { min: 0.9 } } },
      ]) {
        const err = await expectCode(registry.models.update(who, 'churn', change), 'forbidden');
        expect(err.details).toMatchObject({ fields: Object.keys(change), needs: 'admin' });
      }
    }
    const model = await registry.models.get('churn');
    expect(model).toMatchObject({ requireValidation: true, allowUnservableProduction: false });
    expect(model.minValidationRows).toBeUndefined();
    const refusals = store.audits.filter((a) => a.action === 'model.gate_change_refused');
    expect(refusals).toHaveLength(8);
    expect(refusals[0]).toMatchObject({
      actor: 'alice',
      before: { requireValidation: true },
      after: { requireValidation: false },
    });
    // Naming a gate with its current value, or changing what is not a gate, is fine.
    await registry.models.update(alice, 'churn', { requireValidation: true, fallback: false });
    expect((await registry.models.get('churn')).fallback).toBe(false);
    // A scientist's new model may start stricter than the defaults, never looser.
    await registry.models.create(alice, { name: 'strict', requireValidation: true, minValidationRows: 50 });
    await expectCode(
      registry.models.create(alice, { name: 'loose', allowUnservableProduction: true }),
      'forbidden',
    );
    // The admin sets and removes them.
    await registry.models.update(dana, 'churn', { minValidationRows: 100, requireValidation: false });
    await registry.models.update(dana, 'churn', { minValidationRows: null });
    expect(await registry.models.get('churn')).toMatchObject({ requireValidation: false });
    expect((await registry.models.get('churn')).minValidationRows).toBeUndefined();
  });

  it("counts a report for promotion only when it meets the model's minimum rows and required thresholds", async () => {
    await registry.models.update(dana, 'churn', {
      requireValidation: true,
      minValidationRows: 100,
      requiredThresholds: { accuracy: { min: 0.9 }, logLoss: { max: 0.3 } },
    });
    await staged('1.0.0');
    const promote = () => registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production');
    // The attack: a report on one row with no thresholds passes its own checks.
    await registry.validation.record(alice, 'churn', '1.0.0', {
      passed: true,
      rows: 1,
      metrics: { accuracy: 1, logLoss: 0.01 },
      thresholds: [],
    });
    const tooSmall = await expectCode(promote(), 'gate_failed');
    expect(tooSmall.details).toMatchObject({ validation: 'too_few_rows', rows: 1, minValidationRows: 100 });
    await registry.validation.record(alice, 'churn', '1.0.0', {
      passed: true,
      rows: 500,
      metrics: { accuracy: 0.85, logLoss: 0.2 },
    });
    const missed = await expectCode(promote(), 'gate_failed');
    expect(missed.details).toMatchObject({
      validation: 'thresholds_missed',
      thresholds: [{ metric: 'accuracy', bound: 'min', threshold: 0.9, value: 0.85, passed: false }],
    });
    // A report without the metric does not meet a bound on it.
    await registry.validation.record(alice, 'churn', '1.0.0', { passed: true, rows: 500, metrics: {} });
    await expectCode(promote(), 'gate_failed');
    await registry.validation.record(alice, 'churn', '1.0.0', {
      passed: true,
      rows: 500,
      metrics: { accuracy: 0.93, logLoss: 0.2 },
    });
    expect((await promote()).stage).toBe('production');
  });

  it('demotes the previous production version in the same commit, and rolls back', async () => {
    await staged('1.0.0');
    await staged('2.0.0');
    await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production');
    const commitsBefore = store.commits;
    await registry.lifecycle.transition(bob, 'churn', '2.0.0', 'production', 'better auc');
    expect(store.commits).toBe(commitsBefore + 1);
    expect((await registry.models.getVersion('churn', '1.0.0')).stage).toBe('staging');
    expect((await registry.models.get('churn')).productionVersion).toBe('2.0.0');

    const back = await registry.lifecycle.rollback(bob, 'churn');
    expect(back.version).toBe('1.0.0');
    expect((await registry.models.getVersion('churn', '2.0.0')).stage).toBe('staging');
    expect((await registry.models.get('churn')).productionVersion).toBe('1.0.0');

    const history = await registry.lifecycle.productionHistory('churn', { limit: 10 });
    expect(history.items.map((c) => [c.action, c.version, c.previous])).toEqual([
      ['rollback', '1.0.0', '2.0.0'],
      ['promote', '2.0.0', '1.0.0'],
      ['promote', '1.0.0', undefined],
    ]);
    expect([...store.versions.values()].filter((v) => v.stage === 'production')).toHaveLength(1);
  });

  it('has nothing to roll back to without an earlier production version', async () => {
    await staged('1.0.0');
    await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production');
    await expectCode(registry.lifecycle.rollback(bob, 'churn'), 'conflict');
    await expectCode(registry.lifecycle.rollback(alice, 'churn', '1.0.0'), 'forbidden');
  });

  it('rolls back only to a version that has been in production: a draft approved by someone else is refused', async () => {
    await staged('1.0.0');
    await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production');
    await register('sneaky', '3.0.0');
    await registry.lifecycle.decideApproval(carol, 'churn', '3.0.0', 'approved', 'lgtm');
    const refused = await expectCode(registry.lifecycle.rollback(bob, 'churn', '3.0.0'), 'conflict');
    expect(refused.details).toMatchObject({ version: '3.0.0' });
    expect((await registry.models.get('churn')).productionVersion).toBe('1.0.0');
    expect((await registry.models.getVersion('churn', '3.0.0')).stage).toBe('draft');

    // A version that was production once is a legitimate target, named or not.
    await staged('2.0.0');
    await registry.lifecycle.transition(bob, 'churn', '2.0.0', 'production');
    await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production');
    expect((await registry.lifecycle.rollback(bob, 'churn', '2.0.0')).stage).toBe('production');
  });

  it('keeps one production version when two promotions race', async () => {
    await staged('1.0.0');
    await staged('2.0.0');
    await staged('3.0.0');
    await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production');
    // Interleave: both promotions read the model before either commits.
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let waiting = 0;
    store.beforeCommit = async () => {
      if (waiting < 2) {
        waiting++;
        if (waiting === 2) release();
        await gate;
      }
    };
    const results = await Promise.allSettled([
      registry.lifecycle.transition(bob, 'churn', '2.0.0', 'production'),
      registry.lifecycle.transition(carol, 'churn', '3.0.0', 'production'),
    ]);
    store.beforeCommit = undefined;
    // The loser retries after the winner, so both succeed in sequence; the invariant holds.
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    const production = [...store.versions.values()].filter((v) => v.stage === 'production');
    expect(production).toHaveLength(1);
    expect((await registry.models.get('churn')).productionVersion).toBe(production[0]!.version);
    const promotes = store.audits.filter((a) => a.action === 'version.promote');
    expect(promotes).toHaveLength(3);
  });

  it('archiving the production version clears the production pointer', async () => {
    await staged('1.0.0');
    await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production');
    await expectCode(registry.lifecycle.transition(alice, 'churn', '1.0.0', 'archived'), 'forbidden');
    await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'archived');
    expect((await registry.models.get('churn')).productionVersion).toBeUndefined();
    expect((await registry.lifecycle.transition(alice, 'churn', '1.0.0', 'staging')).stage).toBe('staging');
  });

  it('marks a version unusable when its stored bytes change', async () => {
    const { version } = await register('pristine');
    expect((await registry.artifacts.verify(alice, 'churn', '1.0.0')).sha256).toBe(sha('pristine'));
    artifacts.objects.set(version.artifact.key, bytes('tampered'));
    const err = await expectCode(registry.artifacts.verify(alice, 'churn', '1.0.0'), 'integrity_failed');
    expect(err.details).toMatchObject({ expected: sha('pristine'), actual: sha('tampered') });
    expect((await registry.models.getVersion('churn', '1.0.0')).status).toBe('unusable');
    await expectCode(registry.artifacts.downloadUrl('churn', '1.0.0'), 'conflict');
    expect(store.audits.some((a) => a.action === 'version.integrity_failed')).toBe(true);
  });

  it('compares metrics, params, schema and lineage', async () => {
    await registry.artifacts.register(alice, 'churn', {
      version: '1.0.0',
      artifact: { base64: b64('a') },
      framework: 'onnx',
      runtime: { type: 'lambda' },
      metrics: { auc: 0.8, loss: 0.5 },
      params: { lr: 0.1, depth: 3 },
      inputSchema: {
        features: [
          { name: 'age', type: 'int' },
          { name: 'plan', type: 'category', categories: ['a'] },
          { name: 'spend', type: 'float' },
        ],
      },
    });
    await registry.artifacts.register(alice, 'churn', {
      version: '1.1.0',
      parent: '1.0.0',
      artifact: { base64: b64('b') },
      framework: 'onnx',
      runtime: { type: 'lambda' },
      metrics: { auc: 0.84, f1: 0.7 },
      params: { lr: 0.05, depth: 3, l2: 1 },
      inputSchema: {
        features: [
          { name: 'age', type: 'float' },
          { name: 'tenure', type: 'int' },
          { name: 'spend', type: 'float' },
        ],
      },
    });
    const c = await registry.comparison.compare('churn', '1.0.0', '1.1.0');
    expect(c.metrics.auc?.delta).toBeCloseTo(0.04, 12);
    expect(c.metrics.auc?.relativeDelta).toBeCloseTo(0.05, 12);
    expect(c.metrics.loss).toEqual({ a: 0.5, b: undefined });
    expect(c.params).toEqual({
      added: { l2: 1 },
      removed: {},
      changed: { lr: { a: 0.1, b: 0.05 } },
      unchanged: ['depth'],
    });
    expect(c.schema.addedFeatures).toEqual(['tenure']);
    expect(c.schema.removedFeatures).toEqual(['plan']);
    expect(Object.keys(c.schema.changedFeatures)).toEqual(['age']);
    expect(c.lineage).toEqual({ a: ['1.0.0'], b: ['1.1.0', '1.0.0'], commonAncestor: '1.0.0' });
  });

  it('leaves out a metric difference JSON cannot carry (it overflows), keeping both values', () => {
    const m = compareMetrics(
      { loss: 1e-320, big: -1.7e308, auc: 0.8 },
      { loss: 0.5, big: 1.7e308, auc: 0.84 },
    );
    expect(m.loss).toEqual({ a: 1e-320, b: 0.5, delta: 0.5, relativeDelta: undefined });
    expect(m.big).toEqual({ a: -1.7e308, b: 1.7e308, delta: undefined, relativeDelta: undefined });
    expect(m.auc?.relativeDelta).toBeCloseTo(0.05, 12);
  });

  it('writes one audit event for every mutation', async () => {
    const before = store.audits.length;
    await staged('1.0.0'); // register, testing, staging, approval
    await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production');
    await registry.models.update(alice, 'churn', { description: 'new' });
    expect(store.audits.slice(before).map((a) => a.action)).toEqual([
      'version.register',
      'version.transition',
      'version.transition',
      'version.approved',
      'version.promote',
      'model.update',
    ]);
    const promote = store.audits.find((a) => a.action === 'version.promote')!;
    expect(promote).toMatchObject({
      actor: 'bob',
      model: 'churn',
      version: '1.0.0',
      target: 'model/churn@1.0.0',
    });
    expect(promote.before).toEqual({ productionVersion: null, stage: 'staging' });
  });

  it('reports unknown models and versions as not found', async () => {
    await expectCode(registry.models.get('nope'), 'not_found');
    await expectCode(registry.models.getVersion('nope', '1.0.0'), 'not_found');
    await expectCode(registry.models.getVersion('churn', '9.9.9'), 'not_found');
    await expectCode(registry.models.getVersion('churn', '1.0'), 'validation_failed');
  });
});
