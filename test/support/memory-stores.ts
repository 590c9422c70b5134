/**
 * In-memory implementations of the core's ports with the same atomicity and condition semantics
 * as the DynamoDB/S3 adapters, for unit tests of the rules without a network.
 */
import { createHash } from 'node:crypto';
import type { ApiKeyRecord, KeyStore } from '../../functions/core/auth/api-keys.js';
import type { AuditEvent } from '../../functions/core/kernel/audit.js';
import type { Clock, IdGenerator } from '../../functions/core/kernel/clock.js';
import { concurrentModification } from '../../functions/core/kernel/errors.js';
import type { InputSchema } from '../../functions/core/kernel/model-io.js';
import type { Page, PageRequest } from '../../functions/core/kernel/paging.js';
import type {
  ArtifactStore,
  AuditQuery,
  AuditReader,
  ExpiredUpload,
  ModelQuery,
  PresignedRequest,
  ReadOptions,
  RegistryStore,
  StoredObject,
  VersionQuery,
  WriteOp,
  WrittenObject,
} from '../../functions/core/registry/ports.js';
import type { RegistryDeps } from '../../functions/core/registry/records.js';
import { compareSemver } from '../../functions/core/registry/semver.js';
import { type RegistryServices, registryServices } from '../../functions/core/registry/services.js';
import { matchesModelQuery, notDeleted } from '../../functions/core/registry/store-reads.js';
import type { Model, ModelVersion, ProductionChange } from '../../functions/core/registry/types.js';

function paginate<T>(all: T[], page: PageRequest): Page<T> {
  const start = page.cursor ? Number(page.cursor) : 0;
  const items = all.slice(start, start + page.limit);
  const next = start + page.limit;
  return { items, nextCursor: next < all.length ? String(next) : undefined };
}

const clone = <T>(x: T): T => structuredClone(x);

export class MemoryRegistryStore implements RegistryStore, AuditReader {
  readonly models = new Map<string, Model>();
  readonly versions = new Map<string, ModelVersion>();
  readonly changes: ProductionChange[] = [];
  readonly audits: AuditEvent[] = [];
  commits = 0;
  /** Called before each commit is applied; lets a test interleave a competing write. */
  beforeCommit?: () => Promise<void> | void;

  async commit(ops: readonly WriteOp[]): Promise<void> {
    await this.beforeCommit?.();
    for (const op of ops) {
      if (op.kind !== 'model' && op.kind !== 'version') continue;
      const existing =
        op.kind === 'model'
          ? this.models.get(op.item.name)
          : this.versions.get(`${op.item.model}@${op.item.version}`);
      if (op.ifAbsent && existing) throw concurrentModification();
      if (op.expectRevision !== undefined && existing?.revision !== op.expectRevision) {
        throw concurrentModification();
      }
    }
    this.commits++;
    for (const op of ops) {
      if (op.kind === 'model') this.models.set(op.item.name, clone(op.item));
      else if (op.kind === 'version')
        this.versions.set(`${op.item.model}@${op.item.version}`, clone(op.item));
      else if (op.kind === 'productionChange') this.changes.push(clone(op.item));
      else this.audits.push(clone(op.item));
    }
  }

  async getModel(name: string, options: ReadOptions = {}) {
    const m = this.models.get(name);
    return m && clone(options.includeDeleted ? m : notDeleted(m));
  }

  async listModels(q: ModelQuery) {
    const all = [...this.models.values()]
      .filter((m) => matchesModelQuery(m, q))
      .sort((a, b) => a.name.localeCompare(b.name));
    return paginate(all.map(clone), q);
  }

  async getVersion(model: string, version: string, options: ReadOptions = {}) {
    const v = this.versions.get(`${model}@${version}`);
    return v && clone(options.includeDeleted ? v : notDeleted(v));
  }

  async listVersions(model: string, q: VersionQuery) {
    const all = [...this.versions.values()]
      .filter((v) => v.model === model && !v.deleted && (!q.stage || v.stage === q.stage))
      .sort((a, b) => compareSemver(a.version, b.version));
    return paginate(all.map(clone), q);
  }

  async listExpiredUploads(before: string, page: PageRequest): Promise<Page<ExpiredUpload>> {
    const all = [...this.versions.values()]
      .filter((v) => v.status === 'pending' && !v.deleted && v.uploadExpiresAt && v.uploadExpiresAt < before)
      .map((v) => ({ model: v.model, version: v.version, uploadExpiresAt: v.uploadExpiresAt! }))
      .sort((a, b) => a.uploadExpiresAt.localeCompare(b.uploadExpiresAt));
    return paginate(all, page);
  }

  async listProductionChanges(model: string, page: PageRequest) {
    const all = this.changes.filter((c) => c.model === model).reverse();
    return paginate(all.map(clone), page);
  }

  async list(q: AuditQuery) {
    const all = this.audits
      .filter(
        (e) =>
          (!q.model || e.model === q.model) &&
          (!q.actor || e.actor === q.actor) &&
          (!q.since || e.at >= q.since),
      )
      .reverse();
    return paginate(all.map(clone), q);
  }
}

/**
 * Unversioned by default, like s3rver: `objects` holds what each key holds now (tests tamper
 * with it directly). With `versioned`, every write also keeps an object version, as S3 does in
 * the artifacts bucket, and reads naming a version get exactly it.
 */
export class MemoryArtifactStore implements ArtifactStore {
  readonly objects = new Map<string, Uint8Array>();
  /** `${key}#${versionId}` → bytes, when versioned. */
  readonly versions = new Map<string, Uint8Array>();
  private written = 0;

  constructor(
    readonly bucket = 'serval-artifacts',
    readonly options: { readonly versioned?: boolean } = {},
  ) {}

  private write(key: string, bytes: Uint8Array): WrittenObject {
    this.objects.set(key, Uint8Array.from(bytes));
    if (!this.options.versioned) return {};
    const versionId = `v${++this.written}`;
    this.versions.set(`${key}#${versionId}`, Uint8Array.from(bytes));
    return { versionId };
  }

  private read(key: string, versionId?: string): Uint8Array | undefined {
    return versionId === undefined ? this.objects.get(key) : this.versions.get(`${key}#${versionId}`);
  }

  /** A client's PUT to a URL from presignPut (no conditional write or checksum, as s3rver). */
  async putViaUrl(url: string, bytes: Uint8Array): Promise<void> {
    this.write(url.replace(/^memory:\/\/put\//, ''), bytes);
  }

  keyOf(uri: string): string | undefined {
    const prefix = `s3://${this.bucket}/`;
    return uri.startsWith(prefix) && uri.length > prefix.length ? uri.slice(prefix.length) : undefined;
  }

  async put(key: string, bytes: Uint8Array): Promise<WrittenObject> {
    return this.write(key, bytes);
  }

  async copy(from: string, to: string): Promise<WrittenObject | undefined> {
    const b = this.objects.get(from);
    return b && this.write(to, b);
  }

  async digest(key: string, versionId?: string): Promise<StoredObject | undefined> {
    const b = this.read(key, versionId);
    return b && { sha256: createHash('sha256').update(b).digest('hex'), size: b.byteLength };
  }

  async get(key: string, versionId?: string) {
    return this.read(key, versionId);
  }

  async presignPut(key: string, sha256: string, expiresIn: number): Promise<PresignedRequest> {
    return {
      url: `memory://put/${key}`,
      method: 'PUT',
      headers: { 'x-amz-meta-sha256': sha256 },
      expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString(),
    };
  }

  async presignGet(key: string, _ttl?: number, versionId?: string) {
    return `memory://get/${key}${versionId ? `?versionId=${versionId}` : ''}`;
  }

  async delete(key: string) {
    this.objects.delete(key);
  }

  /** Keys handed to the lifecycle rule (tagged, on S3). */
  readonly released = new Set<string>();

  async release(key: string) {
    this.released.add(key);
  }
}

export class MemoryKeyStore implements KeyStore {
  readonly keys = new Map<string, ApiKeyRecord>();
  readonly audits: AuditEvent[] = [];

  async create(record: ApiKeyRecord, audit: AuditEvent) {
    this.keys.set(record.keyId, clone(record));
    this.audits.push(audit);
  }

  async get(keyId: string) {
    const k = this.keys.get(keyId);
    return k && clone(k);
  }

  async list(page: PageRequest) {
    return paginate([...this.keys.values()].map(clone), page);
  }

  async revoke(keyId: string, revokedAt: string, revokedBy: string, audit: AuditEvent) {
    const k = this.keys.get(keyId);
    if (!k || k.revokedAt) return false;
    this.keys.set(keyId, { ...k, revokedAt, revokedBy });
    this.audits.push(audit);
    return true;
  }
}

/** A clock that advances 1 ms per reading, so every event has a distinct, ordered time. */
export class SteppingClock implements Clock {
  constructor(private t = Date.parse('2026-01-01T00:00:00.000Z')) {}
  now() {
    return new Date(this.t++);
  }
  advance(ms: number) {
    this.t += ms;
  }
}

export class CountingIds implements IdGenerator {
  private n = 0;
  next() {
    return `01J${String(++this.n).padStart(23, '0')}`;
  }
}

/** The registry's services over in-memory stores, a stepping clock and counting ids. */
export function memoryRegistry(
  extra: Partial<Omit<RegistryDeps, 'store' | 'artifacts' | 'clock'>> = {},
  options: { readonly versionedArtifacts?: boolean } = {},
): {
  store: MemoryRegistryStore;
  artifacts: MemoryArtifactStore;
  clock: SteppingClock;
  registry: RegistryServices;
} {
  const store = new MemoryRegistryStore();
  const artifacts = new MemoryArtifactStore(undefined, { versioned: options.versionedArtifacts });
  const clock = new SteppingClock();
  return {
    store,
    artifacts,
    clock,
    registry: registryServices({ store, artifacts, clock, ids: new CountingIds(), ...extra }),
  };
}

/**
 * A registry holding one model `m` with one ready draft version 1.0.0 of the given input schema:
 * the registry the monitoring service reads, without going through registration.
 */
export async function oneVersionRegistry(inputSchema: InputSchema): Promise<MemoryRegistryStore> {
  const registry = new MemoryRegistryStore();
  await registry.commit([
    {
      kind: 'model',
      item: {
        name: 'm',
        description: '',
        tags: {},
        createdAt: '',
        createdBy: 'p',
        updatedAt: '',
        versionCount: 1,
        latestVersion: '1.0.0',
        requireValidation: false,
        revision: 1,
      },
    },
    {
      kind: 'version',
      item: {
        model: 'm',
        version: '1.0.0',
        status: 'ready',
        stage: 'draft',
        framework: 'onnx',
        runtime: { type: 'lambda' },
        metrics: {},
        params: {},
        tags: {},
        description: '',
        artifact: { key: 'k', sha256: 'x'.repeat(64) },
        createdAt: '',
        createdBy: 'p',
        updatedAt: '',
        revision: 1,
        inputSchema,
      },
    },
  ]);
  return registry;
}
