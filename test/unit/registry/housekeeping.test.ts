/**
 * Housekeeping of the registry: retryable presigned uploads and their expiry, soft deletion of
 * versions and models, filtered model listings, and editing a version's description and tags.
 */
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { PENDING_UPLOAD_TTL_SECONDS } from '../../../functions/core/registry/artifacts.js';
import type { DeletionGuard } from '../../../functions/core/registry/deletion.js';
import { expiredUploads } from '../../../functions/core/registry/deletion.js';
import type { RegistryServices } from '../../../functions/core/registry/services.js';
import { expectCode } from '../../support/expect-code.js';
import {
  type MemoryArtifactStore,
  type MemoryRegistryStore,
  memoryRegistry,
  type SteppingClock,
} from '../../support/memory-stores.js';
import { tinyOnnx, tinyOnnxBase64, uploadRegistration } from '../../support/onnx-fixtures.js';
import { alice, bob, root } from '../../support/principals.js';

// Artifacts are read as ONNX graphs at registration and completion: each tag is a real tiny model.
const bytes = (tag: string) => tinyOnnx(tag);
const sha = (tag: string) => createHash('sha256').update(tinyOnnx(tag)).digest('hex');

describe('registry housekeeping', () => {
  let store: MemoryRegistryStore;
  let artifacts: MemoryArtifactStore;
  let clock: SteppingClock;
  let registry: RegistryServices;
  let guards: DeletionGuard[];

  beforeEach(async () => {
    guards = [];
    ({ store, artifacts, clock, registry } = memoryRegistry({
      deletionGuards: [(t) => Promise.all(guards.map((g) => g(t))).then((r) => r.find(Boolean))],
    }));
    await registry.models.create(alice, {
      name: 'churn',
      description: 'Predicts churn',
      tags: { team: 'x' },
    });
  });

  const register = (content: string, version?: string) =>
    registry.artifacts.register(alice, 'churn', {
      version,
      artifact: { base64: tinyOnnxBase64(content) },
      framework: 'onnx',
      runtime: { type: 'lambda' },
    });
  const registerUpload = (declared: string, version?: string) =>
    registry.artifacts.register(alice, 'churn', uploadRegistration(tinyOnnx(declared), version));

  async function toProduction(version: string) {
    await register(`bytes-${version}`, version);
    await registry.lifecycle.transition(alice, 'churn', version, 'testing');
    await registry.lifecycle.transition(alice, 'churn', version, 'staging');
    await registry.lifecycle.decideApproval(bob, 'churn', version, 'approved', 'ok');
    await registry.lifecycle.transition(bob, 'churn', version, 'production');
  }

  describe('presigned uploads', () => {
    it('a fresh URL writes a new key; bytes at the old one no longer count, and the old object is released', async () => {
      const { version } = await registerUpload('good');
      await artifacts.put(version.artifact.key, bytes('bad'));
      await expectCode(registry.artifacts.completeUpload(alice, 'churn', '1.0.0'), 'integrity_failed');
      const fresh = await registry.artifacts.uploadUrl(alice, 'churn', '1.0.0');
      expect(fresh.version.artifact.key).not.toBe(version.artifact.key);
      expect(fresh.upload.headers['x-amz-meta-sha256']).toBe(sha('good'));
      expect(artifacts.released.has(version.artifact.key)).toBe(true);
      // The right bytes at the old key are not the version's artifact any more.
      await artifacts.put(version.artifact.key, bytes('good'));
      await expectCode(registry.artifacts.completeUpload(alice, 'churn', '1.0.0'), 'conflict');
      await artifacts.put(fresh.version.artifact.key, bytes('good'));
      expect((await registry.artifacts.completeUpload(alice, 'churn', '1.0.0')).status).toBe('ready');
      expect(store.audits.map((a) => a.action)).toContain('version.upload_url');
      // Only pending versions get upload URLs.
      await expectCode(registry.artifacts.uploadUrl(alice, 'churn', '1.0.0'), 'conflict');
    });

    it('refuses to complete or re-sign an expired upload, and the sweep deletes it keeping the counters right', async () => {
      await register('one'); // 1.0.0, ready
      const { version } = await registerUpload('two'); // 1.1.0, pending
      expect(version.uploadExpiresAt).toBe(
        new Date(Date.parse(version.createdAt) + PENDING_UPLOAD_TTL_SECONDS * 1000).toISOString(),
      );
      expect(await registry.models.get('churn')).toMatchObject({ versionCount: 2, latestVersion: '1.1.0' });
      await artifacts.put(version.artifact.key, bytes('two'));
      clock.advance(PENDING_UPLOAD_TTL_SECONDS * 1000);
      await expectCode(registry.artifacts.completeUpload(alice, 'churn', '1.1.0'), 'conflict');
      await expectCode(registry.artifacts.uploadUrl(alice, 'churn', '1.1.0'), 'conflict');

      const due = [];
      for await (const e of expiredUploads(store, clock.now().toISOString())) due.push(e);
      expect(due).toEqual([{ model: 'churn', version: '1.1.0', uploadExpiresAt: version.uploadExpiresAt }]);
      expect(await registry.deletions.expireUpload(root, 'churn', '1.1.0')).toBe(true);
      expect(await registry.deletions.expireUpload(root, 'churn', '1.1.0')).toBe(false); // redelivery
      await expectCode(registry.models.getVersion('churn', '1.1.0'), 'not_found');
      expect(await registry.models.get('churn')).toMatchObject({ versionCount: 1, latestVersion: '1.0.0' });
      expect(artifacts.released.has(version.artifact.key)).toBe(true);
      expect(store.audits.at(-1)).toMatchObject({ action: 'version.expire', version: '1.1.0' });
      // Its number is not handed out again.
      expect((await register('three')).version.version).toBe('1.2.0');
    });

    it('the sweep leaves a version completed after it was listed', async () => {
      const { version } = await registerUpload('x');
      await artifacts.put(version.artifact.key, bytes('x'));
      await registry.artifacts.completeUpload(alice, 'churn', '1.0.0');
      clock.advance(PENDING_UPLOAD_TTL_SECONDS * 1000);
      expect(await registry.deletions.expireUpload(root, 'churn', '1.0.0')).toBe(false);
      expect((await registry.models.getVersion('churn', '1.0.0')).status).toBe('ready');
    });
  });

  describe('deleting a version', () => {
    it('hides it, keeps its audit trail and number, drops its aliases and releases its artifact', async () => {
      await register('a', '1.0.0');
      const b = await register('b', '1.1.0');
      await registry.aliases.set(alice, 'churn', 'challenger', '1.1.0');
      const res = await registry.deletions.deleteVersion(root, 'churn', '1.1.0');
      expect(res).toMatchObject({ model: 'churn', version: '1.1.0', artifacts: { released: 1, failed: 0 } });
      expect(artifacts.released.has(b.version.artifact.key)).toBe(true);
      await expectCode(registry.models.getVersion('churn', '1.1.0'), 'not_found');
      await expectCode(registry.deletions.deleteVersion(root, 'churn', '1.1.0'), 'not_found');
      const model = await registry.models.get('churn');
      expect(model).toMatchObject({ versionCount: 1, latestVersion: '1.0.0', highestVersion: '1.1.0' });
      expect(model.aliases).toEqual({});
      expect(
        (await registry.models.listVersions('churn', { limit: 10 })).items.map((v) => v.version),
      ).toEqual(['1.0.0']);
      expect((await registry.models.overview('churn')).versionsByStage.draft).toEqual(['1.0.0']);
      const audit = store.audits.at(-1)!;
      expect(audit).toMatchObject({ action: 'version.delete', actor: 'root', version: '1.1.0' });
      expect(audit.before).toEqual({ status: 'ready', stage: 'draft', aliases: ['challenger'] });
      expect(store.audits.filter((a) => a.version === '1.1.0').map((a) => a.action)).toEqual([
        'version.register',
        'alias.set',
        'version.delete',
      ]);
      expect((await register('c')).version.version).toBe('1.2.0');
      await expectCode(register('again', '1.1.0'), 'conflict');
      // A deleted parent is not a parent.
      await expectCode(
        registry.artifacts.register(alice, 'churn', {
          artifact: { base64: tinyOnnxBase64('d') },
          framework: 'onnx',
          runtime: { type: 'lambda' },
          parent: '1.1.0',
        }),
        'validation_failed',
      );
    });

    it('refuses the production version, and whatever a guard protects', async () => {
      await toProduction('1.0.0');
      const err = await expectCode(registry.deletions.deleteVersion(root, 'churn', '1.0.0'), 'conflict');
      expect(err.details).toMatchObject({ productionVersion: '1.0.0' });
      await register('b', '1.1.0');
      guards.push(async (t) => (t.version === '1.1.0' ? 'is in a running experiment' : undefined));
      const guarded = await expectCode(registry.deletions.deleteVersion(root, 'churn', '1.1.0'), 'conflict');
      expect(guarded.message).toBe('version 1.1.0 is in a running experiment');
      expect((await registry.models.getVersion('churn', '1.1.0')).deleted).toBeUndefined();
    });
  });

  describe('deleting a model', () => {
    it('is refused while it has a production version, then hides it and its versions for good', async () => {
      await toProduction('1.0.0');
      const pending = await registerUpload('p');
      await expectCode(registry.deletions.deleteModel(root, 'churn'), 'conflict');
      await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'archived');
      guards.push(async (t) => (t.version === undefined ? 'is in a running experiment' : undefined));
      await expectCode(registry.deletions.deleteModel(root, 'churn'), 'conflict');
      guards.length = 0;

      const res = await registry.deletions.deleteModel(root, 'churn');
      expect(res.artifacts).toEqual({ released: 2, failed: 0 });
      expect(artifacts.released.has(pending.version.artifact.key)).toBe(true);
      await expectCode(registry.models.get('churn'), 'not_found');
      await expectCode(registry.models.getVersion('churn', '1.0.0'), 'not_found');
      await expectCode(registry.models.listVersions('churn', { limit: 10 }), 'not_found');
      await expectCode(register('x'), 'not_found');
      expect((await registry.models.list({ limit: 10 })).items).toEqual([]);
      const taken = await expectCode(registry.models.create(alice, { name: 'churn' }), 'conflict');
      expect(taken.message).toMatch(/was deleted/);
      expect(store.audits.filter((a) => a.model === 'churn').at(-1)).toMatchObject({
        action: 'model.delete',
        actor: 'root',
      });
      expect(store.audits.filter((a) => a.model === 'churn').length).toBeGreaterThan(5);
    });
  });

  describe('listing models', () => {
    it('filters by a case-insensitive substring of name or description, and by every tag given', async () => {
      await registry.models.create(alice, { name: 'fraud', description: 'Card FRAUD', tags: { team: 'y' } });
      await registry.models.create(alice, {
        name: 'upsell',
        description: 'ranks offers',
        tags: { team: 'x', tier: 'gold' },
      });
      const names = async (q: Parameters<typeof registry.models.list>[0]) =>
        (await registry.models.list(q)).items.map((m) => m.name);
      expect(await names({ limit: 10, q: 'FRAUD' })).toEqual(['fraud']);
      expect(await names({ limit: 10, q: 'churn' })).toEqual(['churn']); // description "Predicts churn", name churn
      expect(await names({ limit: 10, q: 'offer' })).toEqual(['upsell']);
      expect(await names({ limit: 10, tags: [{ key: 'team', value: 'x' }] })).toEqual(['churn', 'upsell']);
      expect(
        await names({
          limit: 10,
          tags: [
            { key: 'team', value: 'x' },
            { key: 'tier', value: 'gold' },
          ],
        }),
      ).toEqual(['upsell']);
      expect(await names({ limit: 10, tags: [{ key: 'constructor', value: '' }] })).toEqual([]);
    });
  });

  describe('editing a version', () => {
    it('changes description and tags only, audited with before and after', async () => {
      await register('a', '1.0.0');
      const after = await registry.models.updateVersion(alice, 'churn', '1.0.0', {
        description: 'baseline',
        tags: { owner: 'alice' },
      });
      expect(after).toMatchObject({ description: 'baseline', tags: { owner: 'alice' }, stage: 'draft' });
      expect(store.audits.at(-1)).toMatchObject({
        action: 'version.update',
        before: { description: '', tags: {} },
        after: { description: 'baseline', tags: { owner: 'alice' } },
      });
      const tagsOnly = await registry.models.updateVersion(alice, 'churn', '1.0.0', { tags: {} });
      expect(tagsOnly.description).toBe('baseline');
      await expectCode(registry.models.updateVersion(alice, 'churn', '9.0.0', { tags: {} }), 'not_found');
    });
  });
});
