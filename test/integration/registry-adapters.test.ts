/**
 * The DynamoDB and S3 adapters through the real SDK against DynamoDB Local and s3rver: the
 * conditions that make concurrent writers safe must fail where they should, and a failed
 * transaction must leave nothing behind.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/adapters/aws-clients.js';
import { DynamoKeyStore } from '../../functions/adapters/dynamo-keys.js';
import { DynamoRegistryStore } from '../../functions/adapters/dynamo-registry.js';
import { S3ArtifactStore } from '../../functions/adapters/s3-artifacts.js';
import { ulids } from '../../functions/adapters/system.js';
import { DELETED_ARTIFACT_TAG } from '../../functions/contract/resources.js';
import { ApiKeys } from '../../functions/core/auth/api-keys.js';
import type { AuditEvent } from '../../functions/core/kernel/audit.js';
import { type DomainError, isConcurrentModification } from '../../functions/core/kernel/errors.js';
import type { ModelQuery } from '../../functions/core/registry/ports.js';
import type { Model, ModelVersion } from '../../functions/core/registry/types.js';
import { localS3Client } from '../../local/services/clients.js';
import { standinsForFile } from '../support/lifecycle.js';
import type { Standins } from '../support/standins.js';

let aws: Standins;
let store: DynamoRegistryStore;
let artifacts: S3ArtifactStore;
let s3: S3Client;

const model = (name: string, revision = 1): Model => ({
  name,
  description: '',
  tags: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'alice',
  updatedAt: '2026-01-01T00:00:00.000Z',
  versionCount: 0,
  requireValidation: false,
  revision,
});

const version = (m: string, v: string, revision = 1): ModelVersion => ({
  model: m,
  version: v,
  status: 'ready',
  stage: 'draft',
  framework: 'onnx',
  runtime: { type: 'lambda' },
  metrics: { auc: 0.5, huge: 2 ** 60 },
  params: { nested: { a: [1, 'two', null] } },
  tags: {},
  description: '',
  artifact: { key: `models/${m}/${v}/x`, sha256: 'a'.repeat(64) },
  createdAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'alice',
  updatedAt: '2026-01-01T00:00:00.000Z',
  revision,
});

const audit = (id: string, m?: string, actor = 'alice'): AuditEvent => ({
  id,
  at: new Date().toISOString(),
  actor,
  actorName: actor,
  action: 'test',
  target: 'x',
  model: m,
});

async function codeOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
}

standinsForFile({
  setup: async (started) => {
    aws = started;
    store = new DynamoRegistryStore(documentClient(), {
      registry: aws.resources.tables.registry,
      audit: aws.resources.tables.audit,
    });
    s3 = localS3Client(aws.endpoints.s3);
    const { s3Client } = await import('../../functions/adapters/aws-clients.js');
    artifacts = new S3ArtifactStore(s3Client(), aws.resources.buckets.artifacts);
  },
  teardown: () => s3?.destroy(),
});

describe('DynamoRegistryStore', () => {
  it('refuses to create an existing model and a stale revision, atomically with the audit', async () => {
    await store.commit([
      { kind: 'model', item: model('m1'), ifAbsent: true },
      { kind: 'audit', item: audit('A1', 'm1') },
    ]);
    const dup = await codeOf(
      store.commit([
        { kind: 'model', item: model('m1'), ifAbsent: true },
        { kind: 'audit', item: audit('A2', 'm1') },
      ]),
    );
    expect(isConcurrentModification(dup)).toBe(true);
    expect((dup as DomainError).details).toEqual({ failedOps: ['model'] });

    // A stale revision aborts the whole transaction: the version and the audit event are not written.
    const stale = await codeOf(
      store.commit([
        { kind: 'model', item: { ...model('m1', 2), description: 'stale' }, expectRevision: 5 },
        { kind: 'version', item: version('m1', '1.0.0'), ifAbsent: true },
        { kind: 'audit', item: audit('A3', 'm1') },
      ]),
    );
    expect(isConcurrentModification(stale)).toBe(true);
    expect(await store.getVersion('m1', '1.0.0')).toBeUndefined();
    const events = await store.list({ model: 'm1', limit: 10 });
    expect(events.items.map((e) => e.id)).toEqual(['A1']);

    await store.commit([
      { kind: 'model', item: { ...model('m1', 2), description: 'fresh' }, expectRevision: 1 },
      { kind: 'version', item: version('m1', '1.0.0'), ifAbsent: true },
    ]);
    expect((await store.getModel('m1'))?.description).toBe('fresh');
    const v = await store.getVersion('m1', '1.0.0');
    // Items round-trip exactly, including integers past 2^53 and nested params.
    expect(v).toEqual(version('m1', '1.0.0'));
  });

  it('lets exactly one of many concurrent conditional writers win', async () => {
    await store.commit([{ kind: 'model', item: model('m2'), ifAbsent: true }]);
    const attempts = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        store.commit([
          { kind: 'model', item: { ...model('m2', 2), description: `writer ${i}` }, expectRevision: 1 },
          { kind: 'audit', item: audit(`R${i}`, 'm2') },
        ]),
      ),
    );
    const won = attempts.filter((a) => a.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const a of attempts) {
      if (a.status === 'rejected') expect(isConcurrentModification(a.reason)).toBe(true);
    }
    expect((await store.list({ model: 'm2', limit: 50 })).items).toHaveLength(1);
  });

  it('orders versions by semantic version, not by text, and filters by stage', async () => {
    await store.commit([{ kind: 'model', item: model('m3'), ifAbsent: true }]);
    for (const v of ['1.10.0', '1.2.0', '10.0.0', '2.0.0']) {
      await store.commit([
        { kind: 'version', item: { ...version('m3', v), stage: v === '2.0.0' ? 'staging' : 'draft' } },
      ]);
    }
    const all = await store.listVersions('m3', { limit: 10 });
    expect(all.items.map((v) => v.version)).toEqual(['1.2.0', '1.10.0', '2.0.0', '10.0.0']);
    const staged = await store.listVersions('m3', { limit: 10, stage: 'staging' });
    expect(staged.items.map((v) => v.version)).toEqual(['2.0.0']);
    const first = await store.listVersions('m3', { limit: 3 });
    expect(first.nextCursor).toBeDefined();
    const rest = await store.listVersions('m3', { limit: 3, cursor: first.nextCursor });
    expect(rest.items.map((v) => v.version)).toEqual(['10.0.0']);
    // A cursor from another model's listing is refused, not handed to DynamoDB.
    const wrong = await codeOf(store.listVersions('m1', { limit: 3, cursor: first.nextCursor }));
    expect((wrong as DomainError).code).toBe('validation_failed');
  });

  it('filters audit events by actor and time, newest first', async () => {
    const t0 = new Date(Date.now() + 60_000).toISOString();
    const later: AuditEvent = {
      ...audit('Z1', 'm4', 'zed'),
      at: new Date(Date.now() + 120_000).toISOString(),
    };
    await store.commit([{ kind: 'audit', item: audit('Z0', 'm4', 'zed') }]);
    await store.commit([{ kind: 'audit', item: later }]);
    const byZed = await store.list({ actor: 'zed', limit: 10 });
    expect(byZed.items.map((e) => e.id)).toEqual(['Z1', 'Z0']);
    const since = await store.list({ actor: 'zed', since: t0, limit: 10 });
    expect(since.items.map((e) => e.id)).toEqual(['Z1']);
    const both = await store.list({ model: 'm4', actor: 'zed', limit: 10 });
    expect(both.items).toHaveLength(2);
  });
});

describe('DynamoRegistryStore housekeeping', () => {
  /**
   * Every page of a filtered listing, checking that every page but the last is full. The last
   * may be empty: when a page fills up before the listing's end, only reading on could tell.
   */
  async function allPages(query: Omit<ModelQuery, 'cursor'>): Promise<string[][]> {
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listModels({ ...query, cursor });
      if (page.nextCursor) expect(page.items).toHaveLength(query.limit);
      pages.push(page.items.map((m) => m.name));
      cursor = page.nextCursor;
    } while (cursor);
    if (pages.length > 1 && pages.at(-1)!.length === 0) pages.pop();
    return pages;
  }

  it('fills filtered model pages across DynamoDB pages, skipping nothing and hiding deleted models', async () => {
    // 130 models (more than one DynamoDB read of 100), matches scattered, one deleted match.
    const matches = new Set([5, 60, 61, 62, 101, 125, 129]);
    for (let i = 0; i < 130; i++) {
      const name = `hk-${String(i).padStart(3, '0')}`;
      const item: Model = {
        ...model(name),
        description: matches.has(i) ? `has a NeedLe in it` : 'plain',
        tags: matches.has(i) ? { team: 'red', tier: i % 2 ? 'gold' : 'tin' } : { team: 'blue' },
        ...(i === 101 ? { deleted: { at: '2026-01-02T00:00:00.000Z', by: 'root', reason: 'deleted' } } : {}),
      };
      await store.commit([{ kind: 'model', item, ifAbsent: true }]);
    }
    const expected = ['hk-005', 'hk-060', 'hk-061', 'hk-062', 'hk-125', 'hk-129'];
    expect(await allPages({ limit: 2, q: 'needle' })).toEqual([
      ['hk-005', 'hk-060'],
      ['hk-061', 'hk-062'],
      ['hk-125', 'hk-129'],
    ]);
    expect((await allPages({ limit: 4, tags: [{ key: 'team', value: 'red' }] })).flat()).toEqual(expected);
    expect(
      await allPages({
        limit: 10,
        q: 'hk-1',
        tags: [
          { key: 'team', value: 'red' },
          { key: 'tier', value: 'gold' },
        ],
      }),
    ).toEqual([['hk-125', 'hk-129']]);
    expect(await allPages({ limit: 5, q: 'nowhere' })).toEqual([[]]);
    // Unfiltered, the deleted model is still hidden and pages stay full.
    const all = (await allPages({ limit: 25 })).flat().filter((n) => n.startsWith('hk-'));
    expect(all).toHaveLength(129);
    expect(all).not.toContain('hk-101');
    expect(await store.getModel('hk-101')).toBeUndefined();
    expect((await store.getModel('hk-101', { includeDeleted: true }))?.deleted?.by).toBe('root');
  });

  it('hides deleted versions and lists expired pending uploads through a sparse index', async () => {
    await store.commit([{ kind: 'model', item: model('hk-v'), ifAbsent: true }]);
    const pending = (v: string, expires: string): ModelVersion => ({
      ...version('hk-v', v),
      status: 'pending',
      uploadExpiresAt: expires,
    });
    await store.commit([
      { kind: 'version', item: pending('1.0.0', '2026-01-01T00:00:00.000Z'), ifAbsent: true },
    ]);
    await store.commit([
      { kind: 'version', item: pending('1.1.0', '2026-01-05T00:00:00.000Z'), ifAbsent: true },
    ]);
    await store.commit([
      { kind: 'version', item: pending('1.2.0', '2026-01-02T00:00:00.000Z'), ifAbsent: true },
    ]);
    const expired = async () =>
      (await store.listExpiredUploads('2026-01-03T00:00:00.000Z', { limit: 10 })).items
        .filter((e) => e.model === 'hk-v')
        .map((e) => e.version);
    expect(await expired()).toEqual(['1.0.0', '1.2.0']);
    // Completed: out of the index.
    await store.commit([
      {
        kind: 'version',
        item: { ...pending('1.0.0', 'x'), status: 'ready', revision: 2 },
        expectRevision: 1,
      },
    ]);
    // Deleted: out of the index and out of every read.
    const deleted = {
      ...pending('1.2.0', '2026-01-02T00:00:00.000Z'),
      deleted: { at: '2026-01-03T00:00:00.000Z', by: 'system', reason: 'upload expired' as const },
      revision: 2,
    };
    await store.commit([{ kind: 'version', item: deleted, expectRevision: 1 }]);
    expect(await expired()).toEqual([]);
    expect(await store.getVersion('hk-v', '1.2.0')).toBeUndefined();
    expect((await store.getVersion('hk-v', '1.2.0', { includeDeleted: true }))?.deleted?.reason).toBe(
      'upload expired',
    );
    const listed = await store.listVersions('hk-v', { limit: 1 });
    expect(listed.items.map((v) => v.version)).toEqual(['1.0.0']);
    const next = await store.listVersions('hk-v', { limit: 1, cursor: listed.nextCursor });
    expect(next.items.map((v) => v.version)).toEqual(['1.1.0']);
    expect(next.nextCursor).toBeUndefined();
  });
});

describe('DynamoKeyStore with ApiKeys', () => {
  it('stores only a hash, authenticates, and revokes exactly once', async () => {
    const keyStore = new DynamoKeyStore(documentClient(), {
      keys: aws.resources.tables.keys,
      audit: aws.resources.tables.audit,
    });
    const keys = new ApiKeys({ store: keyStore, clock: { now: () => new Date() }, ids: ulids });
    const admin = { id: 'root', name: 'root', role: 'admin' as const };
    const { key, record } = await keys.create(admin, { name: 'ci', role: 'predictor' });
    const secret = key.slice('svl_'.length + 26 + 1);
    const stored = await keyStore.get(record.keyId);
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(stored?.hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(await keys.authenticate(key)).toEqual({
      id: record.keyId,
      name: 'ci',
      role: 'predictor',
      via: 'key',
    });
    const tampered = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    expect(((await codeOf(keys.authenticate(tampered))) as DomainError).code).toBe('unauthorized');
    const [r1, r2] = await Promise.allSettled([
      keys.revoke(admin, record.keyId),
      keys.revoke(admin, record.keyId),
    ]);
    expect([r1.status, r2.status].sort()).toEqual(['fulfilled', 'rejected']);
    expect(((await codeOf(keys.authenticate(key))) as DomainError).code).toBe('unauthorized');
  });
});

describe('S3ArtifactStore', () => {
  it('stores bytes with their SHA-256 in metadata and digests what is really there', async () => {
    const bytes = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 31) % 256);
    const sha = createHash('sha256').update(bytes).digest('hex');
    await artifacts.put('t/one', bytes, sha);
    expect(await artifacts.digest('t/one')).toEqual({ sha256: sha, size: bytes.length });
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: aws.resources.buckets.artifacts, Key: 't/one' }),
    );
    expect(head.Metadata?.sha256).toBe(sha);
    const got = await s3.send(
      new GetObjectCommand({ Bucket: aws.resources.buckets.artifacts, Key: 't/one' }),
    );
    expect(
      createHash('sha256')
        .update(await got.Body!.transformToByteArray())
        .digest('hex'),
    ).toBe(sha);
    expect(await artifacts.digest('t/missing')).toBeUndefined();
    expect(await artifacts.get('t/missing')).toBeUndefined();
  });

  it('hands out a presigned PUT that only accepts the declared metadata', async () => {
    const sha = createHash('sha256').update('payload').digest('hex');
    const req = await artifacts.presignPut('t/presigned', sha, 60);
    const ok = await fetch(req.url, { method: 'PUT', headers: req.headers, body: 'payload' });
    expect(ok.status).toBe(200);
    expect(await artifacts.digest('t/presigned')).toEqual({ sha256: sha, size: 7 });
    const url = await artifacts.presignGet('t/presigned', 60);
    expect(await (await fetch(url)).text()).toBe('payload');
  });

  it('releases an object to the lifecycle rule by tagging it, and shrugs at a missing one', async () => {
    await artifacts.put('t/released', new Uint8Array([1, 2, 3]), 'a'.repeat(64));
    await artifacts.release('t/released');
    const tags = await s3.send(
      new GetObjectTaggingCommand({ Bucket: aws.resources.buckets.artifacts, Key: 't/released' }),
    );
    expect(tags.TagSet).toEqual([{ Key: DELETED_ARTIFACT_TAG.key, Value: DELETED_ARTIFACT_TAG.value }]);
    await artifacts.release('t/never-uploaded');
  });
});
