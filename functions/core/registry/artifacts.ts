/**
 * A version's artifact: registering a version with its bytes (inline, or by presigned upload),
 * completing an upload, verifying and checking the stored SHA-256, and download URLs.
 */
import type { Principal } from '../auth/principal.js';
import { conflict, integrityFailed, isConcurrentModification, validationFailed } from '../kernel/errors.js';
import type { InputSchema, OutputSchema } from '../kernel/model-io.js';
import { assertAllowedUrl } from '../net/url-policy.js';
import { verifiedDataset } from './datasets.js';
import type { Lifecycle } from './lifecycle.js';
import { productionVersions } from './models.js';
import type { PresignedRequest } from './ports.js';
import { type RegistryRecords, sha256Hex } from './records.js';
import { compareSemver, nextVersion, parseSemver } from './semver.js';
import type { DatasetRef, Framework, Model, ModelVersion, RuntimeTarget, Tags } from './types.js';

export const UPLOAD_URL_TTL_SECONDS = 15 * 60;
export const DOWNLOAD_URL_TTL_SECONDS = 5 * 60;

export type ArtifactInput = { readonly base64: string } | { readonly upload: true };

export interface RegisterVersionInput {
  readonly version?: string;
  readonly artifact: ArtifactInput;
  readonly sha256?: string;
  readonly framework: Framework;
  readonly runtime: RuntimeTarget;
  readonly inputSchema?: InputSchema;
  readonly outputSchema?: OutputSchema;
  readonly metrics?: Record<string, number>;
  readonly params?: Record<string, unknown>;
  readonly dataset?: DatasetRef;
  readonly parent?: string;
  readonly tags?: Tags;
  readonly description?: string;
}

export interface RegisterResult {
  readonly version: ModelVersion;
  readonly upload?: PresignedRequest;
}

/** The artifact of a registration: inline bytes with their digest, or the digest an upload must match. */
interface ResolvedArtifact {
  readonly bytes?: Uint8Array;
  readonly sha256: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export class Artifacts {
  constructor(
    private readonly records: RegistryRecords,
    private readonly lifecycle: Pick<Lifecycle, 'markUnusable'>,
  ) {}

  async register(principal: Principal, name: string, input: RegisterVersionInput): Promise<RegisterResult> {
    this.checkRegistration(input);
    await this.records.getModel(name);
    await this.checkParent(name, input.parent);
    const artifact = await resolveArtifact(input);
    const dataset = await verifiedDataset(this.records.deps.artifacts, input.dataset);
    // Each upload gets its own object key, so a retried or conflicting registration can never
    // overwrite the bytes of a version that already exists.
    const uploadId = this.records.deps.ids.next();
    return this.records.retrying(() =>
      this.commitVersion(principal, name, { ...input, dataset }, artifact, uploadId),
    );
  }

  /** Recomputes the SHA-256 of an uploaded artifact and makes the version usable, or unusable. */
  async completeUpload(principal: Principal, name: string, version: string): Promise<ModelVersion> {
    const v = await this.records.getVersion(name, version);
    if (v.status !== 'pending') {
      throw conflict(`version ${version} is ${v.status}, not waiting for an upload`, { status: v.status });
    }
    const stored = await this.records.deps.artifacts.digest(v.artifact.key);
    if (!stored) {
      throw conflict('no artifact has been uploaded yet; PUT it to the presigned URL first', {
        model: name,
        version,
      });
    }
    if (stored.sha256 !== v.artifact.sha256) {
      await this.lifecycle.markUnusable(
        principal,
        v,
        'uploaded artifact does not match the declared sha256',
        stored.sha256,
      );
      throw integrityFailed(
        'the uploaded artifact does not match the declared sha256; the version is unusable',
        {
          expected: v.artifact.sha256,
          actual: stored.sha256,
        },
      );
    }
    return this.records.updateVersion(principal, v, 'version.complete', (cur) => {
      if (cur.status !== 'pending') throw conflict(`version ${version} is ${cur.status}`);
      return {
        ...cur,
        status: 'ready',
        artifact: { ...cur.artifact, size: stored.size },
        lastVerifiedAt: this.records.now(),
      };
    });
  }

  /** Recomputes the stored artifact's SHA-256; a mismatch makes the version unusable for good. */
  async verify(
    principal: Principal,
    name: string,
    version: string,
  ): Promise<{ ok: true; sha256: string; size: number; verifiedAt: string }> {
    const v = await this.records.getVersion(name, version);
    if (v.status === 'pending') throw conflict(`version ${version} has no completed upload yet`);
    const stored = await this.records.deps.artifacts.digest(v.artifact.key);
    const actual = stored?.sha256 ?? 'missing';
    if (!stored || stored.sha256 !== v.artifact.sha256) {
      if (v.status !== 'unusable') {
        await this.lifecycle.markUnusable(
          principal,
          v,
          stored ? 'stored artifact does not match its recorded sha256' : 'stored artifact is missing',
          actual,
        );
      }
      throw integrityFailed(
        stored
          ? 'the stored artifact does not match its recorded sha256; the version is unusable'
          : 'the stored artifact is missing; the version is unusable',
        { expected: v.artifact.sha256, actual },
      );
    }
    if (v.status === 'unusable') {
      throw integrityFailed(
        `version ${version} was marked unusable earlier: ${v.unusableReason ?? 'unknown'}`,
        {
          expected: v.artifact.sha256,
          actual,
        },
      );
    }
    const verifiedAt = this.records.now();
    // Recording the check is best-effort: a concurrent stage change must not fail a read-only verify.
    await this.records.store
      .commit([
        {
          kind: 'version',
          item: { ...v, lastVerifiedAt: verifiedAt, revision: v.revision + 1 },
          expectRevision: v.revision,
        },
      ])
      .catch(() => undefined);
    return { ok: true, sha256: stored.sha256, size: stored.size, verifiedAt };
  }

  /** Read-only integrity check: recomputes the SHA-256 without recording anything. */
  async check(
    name: string,
    version: string,
  ): Promise<{ ok: boolean; expected: string; actual: string | null; status: string }> {
    const v = await this.records.getVersion(name, version);
    const stored = await this.records.deps.artifacts.digest(v.artifact.key);
    return {
      ok: stored?.sha256 === v.artifact.sha256 && v.status === 'ready',
      expected: v.artifact.sha256,
      actual: stored?.sha256 ?? null,
      status: v.status,
    };
  }

  async downloadUrl(
    name: string,
    version: string,
  ): Promise<{ url: string; sha256: string; expiresAt: string }> {
    const v = await this.records.getVersion(name, version);
    if (v.status !== 'ready') {
      throw conflict(`version ${version} is ${v.status}; only ready artifacts can be downloaded`, {
        status: v.status,
      });
    }
    const url = await this.records.deps.artifacts.presignGet(v.artifact.key, DOWNLOAD_URL_TTL_SECONDS);
    const expiresAt = new Date(
      this.records.deps.clock.now().getTime() + DOWNLOAD_URL_TTL_SECONDS * 1000,
    ).toISOString();
    return { url, sha256: v.artifact.sha256, expiresAt };
  }

  /** Every model's production version, for integrity sweeps and health checks. */
  productionVersions(): AsyncGenerator<{ model: string; version: string }> {
    return productionVersions(this.records.store);
  }

  /** What can be refused before reading anything. */
  private checkRegistration(input: RegisterVersionInput): void {
    if (input.version !== undefined) parseSemver(input.version);
    if (input.sha256 !== undefined && !SHA256_HEX.test(input.sha256)) {
      throw validationFailed('sha256 must be 64 lower-case hex characters', { field: 'sha256' });
    }
    if (input.runtime.type === 'sagemaker' && input.framework !== 'sagemaker' && input.framework !== 'onnx') {
      throw validationFailed('unsupported framework for a SageMaker runtime');
    }
    if (input.dataset) {
      assertAllowedUrl(
        input.dataset.uri,
        { schemes: ['s3'], allowInsecure: this.records.deps.allowInsecureUrls },
        'dataset.uri',
      );
    }
  }

  private async checkParent(name: string, parent: string | undefined): Promise<void> {
    if (parent === undefined) return;
    parseSemver(parent);
    if (!(await this.records.store.getVersion(name, parent))) {
      throw validationFailed(`parent version ${parent} does not exist in model ${name}`, { field: 'parent' });
    }
  }

  /**
   * One attempt to add the version: numbers it, stores inline bytes under their own key, and
   * commits the version with the model's counters. Losing a race removes the bytes it stored.
   */
  private async commitVersion(
    principal: Principal,
    name: string,
    input: RegisterVersionInput,
    artifact: ResolvedArtifact,
    uploadId: string,
  ): Promise<RegisterResult> {
    const { bytes, sha256 } = artifact;
    const current = await this.records.getModel(name);
    const version = input.version ?? nextVersion(current.latestVersion);
    const key = `models/${name}/${version}/${uploadId}`;
    const now = this.records.now();
    const item = newVersion(principal, input, {
      model: name,
      version,
      status: bytes ? 'ready' : 'pending',
      artifact: { key, sha256, size: bytes?.byteLength },
      now,
    });
    if (bytes) await this.records.deps.artifacts.put(key, bytes, sha256);
    try {
      await this.records.store.commit([
        { kind: 'model', item: withVersionAdded(current, version, now), expectRevision: current.revision },
        { kind: 'version', item, ifAbsent: true },
        this.records.audit(principal, 'version.register', {
          model: name,
          version,
          after: { version, status: item.status, sha256, framework: item.framework, runtime: item.runtime },
        }),
      ]);
    } catch (err) {
      if (bytes) await this.records.deps.artifacts.delete(key).catch(() => undefined);
      // An explicit version that now exists is a real conflict; an auto-numbered one that lost a
      // race is retried with the next number.
      if (
        input.version !== undefined &&
        isConcurrentModification(err) &&
        (await this.records.store.getVersion(name, version))
      ) {
        throw conflict(`version ${version} of model ${name} already exists; versions are immutable`, {
          model: name,
          version,
        });
      }
      throw err;
    }
    const upload = bytes
      ? undefined
      : await this.records.deps.artifacts.presignPut(key, sha256, UPLOAD_URL_TTL_SECONDS);
    return { version: item, upload };
  }
}

async function resolveArtifact(input: RegisterVersionInput): Promise<ResolvedArtifact> {
  if ('base64' in input.artifact) {
    const bytes = decodeBase64Strict(input.artifact.base64);
    const sha256 = await sha256Hex(bytes);
    if (input.sha256 !== undefined && input.sha256 !== sha256) {
      throw integrityFailed('the artifact does not match the declared sha256', {
        expected: input.sha256,
        actual: sha256,
      });
    }
    return { bytes, sha256 };
  }
  if (input.sha256 === undefined) {
    throw validationFailed('sha256 is required with artifact.upload, so the upload can be verified', {
      field: 'sha256',
    });
  }
  return { sha256: input.sha256 };
}

function newVersion(
  principal: Principal,
  input: RegisterVersionInput,
  at: Pick<ModelVersion, 'model' | 'version' | 'status' | 'artifact'> & { readonly now: string },
): ModelVersion {
  const { now, ...identity } = at;
  return {
    ...identity,
    stage: 'draft',
    framework: input.framework,
    runtime: input.runtime,
    inputSchema: input.inputSchema,
    outputSchema: input.outputSchema,
    metrics: input.metrics ?? {},
    params: input.params ?? {},
    dataset: input.dataset,
    parent: input.parent,
    tags: input.tags ?? {},
    description: input.description ?? '',
    createdAt: now,
    createdBy: principal.id,
    updatedAt: now,
    revision: 1,
  };
}

/** The model after a version is added: one more version, and the highest number as latest. */
function withVersionAdded(current: Model, version: string, now: string): Model {
  const latest =
    current.latestVersion && compareSemver(current.latestVersion, version) > 0
      ? current.latestVersion
      : version;
  return {
    ...current,
    latestVersion: latest,
    versionCount: current.versionCount + 1,
    updatedAt: now,
    revision: current.revision + 1,
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Node's decoder silently skips invalid characters; an artifact must decode exactly or not at all. */
export function decodeBase64Strict(text: string): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || !BASE64.test(compact)) {
    throw validationFailed('artifact.base64 is not valid base64', { field: 'artifact.base64' });
  }
  return Uint8Array.from(Buffer.from(compact, 'base64'));
}
