/**
 * A version's artifact: registering a version with its bytes (inline, or by presigned upload),
 * completing an upload, verifying and checking the stored SHA-256, and download URLs.
 */
import { ARTIFACT_PREFIXES } from '../../contract/artifact-keys.js';
import type { Principal } from '../auth/principal.js';
import {
  conflict,
  forbidden,
  integrityFailed,
  isConcurrentModification,
  isDomainError,
  unsupported,
  validationFailed,
} from '../kernel/errors.js';
import type { InputSchema } from '../kernel/model-io.js';
import { assertAllowedUrl } from '../net/url-policy.js';
import { verifiedDataset } from './datasets.js';
import type { Imported, ImportSource } from './imports.js';
import type { Lifecycle } from './lifecycle.js';
import { productionVersions } from './models.js';
import type { PresignedRequest } from './ports.js';
import type { RegistryRecords } from './records.js';
import { sha256Hex } from './records.js';
import {
  type ArtifactReading,
  decodeBase64Strict,
  mergeImported,
  newVersion,
  type RegisterVersionInput,
  type ResolvedArtifact,
  readArtifact,
  resolveArtifact,
  withVersionAdded,
} from './registration.js';
import { nextVersion, parseSemver } from './semver.js';
import type { ArtifactRef, ModelVersion } from './types.js';

/**
 * Import formats (YAML, tar archives) are loaded on the first registration that needs them: every
 * function that builds the registry services (inference among them, for its failure records)
 * would otherwise evaluate the YAML parser and tar-stream at init.
 */
const importFormats = () => import('./imports.js');

export const UPLOAD_URL_TTL_SECONDS = 15 * 60;
export const DOWNLOAD_URL_TTL_SECONDS = 5 * 60;
/**
 * How long a pending version waits for its upload to be completed. Until then a failed completion
 * can be retried (with the same URL while it lasts, or a fresh one from …/upload-url); after it
 * completion is refused and the integrity sweep deletes the version (Deletions.expireUpload).
 */
export const PENDING_UPLOAD_TTL_SECONDS = 7 * 24 * 60 * 60;

export interface RegisterResult {
  readonly version: ModelVersion;
  readonly upload?: PresignedRequest;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export class Artifacts {
  constructor(
    private readonly records: RegistryRecords,
    private readonly lifecycle: Pick<Lifecycle, 'markUnusable' | 'markInvalid'>,
  ) {}

  async register(principal: Principal, name: string, given: RegisterVersionInput): Promise<RegisterResult> {
    this.checkRegistration(given);
    await this.records.getModel(name);
    await this.checkParent(name, given.parent);
    const imported = await this.imported(given);
    const input = imported?.input ?? given;
    const artifact = imported?.artifact ?? (await resolveArtifact(input));
    const read =
      artifact.bytes && input.framework === 'onnx' ? readArtifact(artifact.bytes, input) : undefined;
    if (imported?.example && artifact.bytes && read) {
      await this.smokeRun(artifact.bytes, read.inputSchema, imported.example);
    }
    const dataset = await verifiedDataset(this.records.deps.artifacts, input.dataset);
    // An upload of an archive is unpacked at completion; until then the version knows its format.
    const source =
      imported?.source ??
      (given.format !== undefined && given.format !== 'onnx' ? { format: given.format } : undefined);
    // Each upload gets its own object key, so a retried or conflicting registration can never
    // overwrite the bytes of a version that already exists.
    const uploadId = this.records.deps.ids.next();
    return this.records.retrying(() =>
      this.commitVersion(
        principal,
        name,
        { ...input, ...read, dataset, ...(source ? { source } : {}) },
        artifact,
        uploadId,
      ),
    );
  }

  /**
   * The ONNX file of an import (an S3 object or directory, or inline archive bytes), with what
   * the source declares merged under what the caller declared; undefined for a plain ONNX
   * registration. A declared sha256 is checked against the source object as it was read.
   */
  private async imported(input: RegisterVersionInput): Promise<
    | {
        input: RegisterVersionInput;
        artifact: ResolvedArtifact;
        source: ImportSource;
        example?: readonly unknown[];
      }
    | undefined
  > {
    const format = input.format ?? 'onnx';
    let unpacked: Imported;
    let source: ImportSource;
    if ('uri' in input.artifact) {
      const uri = input.artifact.uri;
      const objects = this.records.deps.imports;
      if (!objects) throw unsupported('this deployment does not import from S3 URIs');
      const refusal = objects.refusal(uri);
      if (refusal) throw forbidden(refusal, { field: 'artifact.uri' });
      if (uri.endsWith('/')) {
        if (format !== 'mlflow') {
          throw validationFailed('a directory URI (ending in /) is imported as format "mlflow" only', {
            field: 'artifact.uri',
          });
        }
        if (input.sha256 !== undefined) {
          throw validationFailed('sha256 names one object; a directory has none', { field: 'sha256' });
        }
        const files = await objects.readDirectory(uri, (await import('./archive.js')).MAX_UNPACKED_BYTES);
        if (files.size === 0) {
          throw validationFailed(`nothing under ${uri}`, { field: 'artifact.uri' });
        }
        unpacked = (await importFormats()).unpackMlflow(files);
        source = { format, uri, files: unpacked.files };
      } else {
        const object = await objects.get(uri);
        if (!object) throw validationFailed(`${uri} does not exist`, { field: 'artifact.uri' });
        const sha256 = await this.checkedDigest(object.bytes, input.sha256);
        unpacked = await (await importFormats()).unpackObject(format, object.bytes);
        source = {
          format,
          uri,
          sha256,
          size: object.size,
          ...(object.etag ? { etag: object.etag } : {}),
          ...(unpacked.files.length > 0 ? { files: unpacked.files } : {}),
        };
      }
    } else if ('base64' in input.artifact && format !== 'onnx') {
      const bytes = decodeBase64Strict(input.artifact.base64);
      const sha256 = await this.checkedDigest(bytes, input.sha256);
      unpacked = await (await importFormats()).unpackObject(format, bytes);
      source = { format, sha256, size: bytes.byteLength, files: unpacked.files };
    } else {
      return undefined;
    }
    if (unpacked.mlflow && Object.keys(unpacked.mlflow).length > 0)
      source = { ...source, mlflow: unpacked.mlflow };
    return {
      input: mergeImported(input, unpacked),
      artifact: { bytes: unpacked.onnx, sha256: await sha256Hex(unpacked.onnx) },
      source,
      ...(unpacked.example ? { example: unpacked.example } : {}),
    };
  }

  private async checkedDigest(bytes: Uint8Array, declared: string | undefined): Promise<string> {
    const sha256 = await sha256Hex(bytes);
    if (declared !== undefined && declared !== sha256) {
      throw integrityFailed('the source object does not match the declared sha256', {
        expected: declared,
        actual: sha256,
      });
    }
    return sha256;
  }

  private async smokeRun(onnx: Uint8Array, schema: InputSchema, example: readonly unknown[]): Promise<void> {
    const runner = this.records.deps.runner;
    if (runner) await (await importFormats()).smokeRun(await runner(), onnx, schema, example);
  }

  /**
   * Recomputes the SHA-256 of an uploaded artifact and makes the version ready. Bytes that do not
   * match are recorded (and audited) as a failed attempt and the version stays pending: only a
   * completed, verified version is immutable, so a bad upload does not burn the version number.
   *
   * The presigned URL outlives completion (up to UPLOAD_URL_TTL_SECONDS), and not every store can
   * refuse a second write to it (S3 does: the URL is signed with `If-None-Match: *` and the
   * checksum; s3rver does not). So the upload key is only a drop box: completion copies it to a
   * key under models/ that no URL was ever issued for, verifies the copy, pins its object
   * version, and the version reads that copy from then on. A later PUT to the URL writes only
   * the drop box, which nothing reads.
   */
  async completeUpload(principal: Principal, name: string, version: string): Promise<ModelVersion> {
    const v = this.assertUploadOpen(await this.records.getVersion(name, version));
    const store = this.records.deps.artifacts;
    const key = `models/${name}/${version}/${this.records.deps.ids.next()}`;
    const written = await store.copy(v.artifact.key, key);
    if (!written) {
      throw conflict('no artifact has been uploaded yet; PUT it to the presigned URL first', {
        model: name,
        version,
      });
    }
    let completed = false;
    try {
      const stored = await store.digest(key, written.versionId);
      if (!stored) throw conflict('the uploaded artifact disappeared before it could be read; retry', {});
      if (stored.sha256 !== v.artifact.sha256) throw await this.failedUpload(principal, v, stored);
      if (v.source && v.source.format !== 'onnx') {
        const archive = { ...v.artifact, key, size: stored.size, ...written };
        const done = await this.completeArchive(principal, v, archive);
        completed = true;
        await store.delete(key).catch(() => undefined);
        await store.release(v.artifact.key).catch(() => undefined);
        return done;
      }
      const artifact = { ...v.artifact, key, size: stored.size, ...written };
      const read = v.framework === 'onnx' ? await this.readUploaded(principal, v, artifact) : undefined;
      const done = await this.records.updateVersion(principal, v, 'version.complete', (cur) => {
        if (cur.status !== 'pending' || cur.artifact.key !== v.artifact.key) {
          throw conflict(`version ${version} changed while its upload was checked; complete it again`);
        }
        const { uploadExpiresAt: _done, ...rest } = cur;
        return {
          ...rest,
          ...read,
          status: 'ready',
          artifact: { ...cur.artifact, key, size: stored.size, ...written },
          lastVerifiedAt: this.records.now(),
        };
      });
      completed = true;
      // The drop box goes to the lifecycle rule; on S3 its URL can no longer write it (412).
      await store.release(v.artifact.key).catch(() => undefined);
      return done;
    } finally {
      if (!completed) await store.delete(key).catch(() => undefined);
    }
  }

  /**
   * Completes the upload of an archive (SageMaker model.tar.gz, MLflow directory packed by the
   * CLI) whose checksum matched: its ONNX file becomes the version's artifact under a key of its
   * own, and the archive's digest is kept as the version's source. An archive that holds no
   * usable model leaves the version unusable, as any completed upload that is not a model does.
   */
  private async completeArchive(
    principal: Principal,
    v: ModelVersion,
    archive: ArtifactRef,
  ): Promise<ModelVersion> {
    const store = this.records.deps.artifacts;
    const bytes = await store.get(archive.key, archive.versionId);
    if (!bytes) throw conflict('the uploaded artifact disappeared before it could be read; retry', {});
    const format = v.source!.format;
    let input: RegisterVersionInput;
    let read: ArtifactReading;
    let unpacked: Imported;
    try {
      unpacked = await (await importFormats()).unpackObject(format, bytes);
      input = mergeImported(v as unknown as RegisterVersionInput, unpacked);
      read = readArtifact(unpacked.onnx, input);
      if (unpacked.example) await this.smokeRun(unpacked.onnx, read.inputSchema, unpacked.example);
    } catch (err) {
      if (isDomainError(err) && (err.code === 'invalid_model' || err.code === 'validation_failed')) {
        await this.lifecycle.markInvalid(principal, v, err.message);
      }
      throw err;
    }
    const sha256 = await sha256Hex(unpacked.onnx);
    const key = `${ARTIFACT_PREFIXES.models}${v.model}/${v.version}/${this.records.deps.ids.next()}`;
    const written = await store.put(key, unpacked.onnx, sha256);
    try {
      return await this.records.updateVersion(principal, v, 'version.complete', (cur) => {
        if (cur.status !== 'pending' || cur.artifact.key !== v.artifact.key) {
          throw conflict(`version ${v.version} changed while its upload was checked; complete it again`);
        }
        const { uploadExpiresAt: _done, ...rest } = cur;
        return {
          ...rest,
          ...read,
          metrics: input.metrics ?? {},
          params: input.params ?? {},
          status: 'ready',
          artifact: { key, sha256, size: unpacked.onnx.byteLength, ...written },
          source: {
            format,
            sha256: archive.sha256,
            ...(archive.size !== undefined ? { size: archive.size } : {}),
            files: unpacked.files,
            ...(unpacked.mlflow && Object.keys(unpacked.mlflow).length > 0
              ? { mlflow: unpacked.mlflow }
              : {}),
          },
          lastVerifiedAt: this.records.now(),
        };
      });
    } catch (err) {
      await store.delete(key).catch(() => undefined);
      throw err;
    }
  }

  /** Records an upload whose bytes do not match the declared SHA-256; returns the error to throw. */
  private async failedUpload(
    principal: Principal,
    v: ModelVersion,
    stored: { readonly sha256: string; readonly size: number },
  ): Promise<Error> {
    const failed = await this.records.updateVersion(principal, v, 'version.upload_failed', (cur) => {
      // The key is compared so that a fresh upload URL issued meanwhile is not blamed for these bytes.
      if (cur.status !== 'pending' || cur.artifact.key !== v.artifact.key) {
        throw conflict(`version ${v.version} changed while its upload was checked; complete it again`);
      }
      return {
        ...cur,
        failedUploads: (cur.failedUploads ?? 0) + 1,
        lastFailedUpload: { at: this.records.now(), sha256: stored.sha256, size: stored.size },
      };
    });
    return integrityFailed(
      'the uploaded artifact does not match the declared sha256; the version stays pending: ' +
        'upload the right bytes (POST …/upload-url for a fresh URL) and complete it again',
      {
        expected: v.artifact.sha256,
        actual: stored.sha256,
        failedUploads: failed.failedUploads,
        uploadExpiresAt: failed.uploadExpiresAt ?? null,
      },
    );
  }

  /**
   * A fresh presigned upload for a pending version. Each URL writes its own object key (the
   * version is switched to it), so bytes still arriving at an older URL can never be mistaken
   * for this upload; the older object is handed to the lifecycle rule.
   */
  async uploadUrl(
    principal: Principal,
    name: string,
    version: string,
  ): Promise<{ version: ModelVersion; upload: PresignedRequest }> {
    const first = this.assertUploadOpen(await this.records.getVersion(name, version));
    const key = `${ARTIFACT_PREFIXES.uploads}${name}/${version}/${this.records.deps.ids.next()}`;
    let previousKey = first.artifact.key;
    const after = await this.records.updateVersion(principal, first, 'version.upload_url', (cur) => {
      this.assertUploadOpen(cur);
      previousKey = cur.artifact.key;
      return { ...cur, artifact: { ...cur.artifact, key } };
    });
    await this.records.deps.artifacts.release(previousKey).catch(() => undefined);
    return { version: after, upload: await this.presignUpload(after) };
  }

  /** A pending version whose upload may still be completed; anything else is a conflict. */
  private assertUploadOpen(v: ModelVersion): ModelVersion {
    if (v.status !== 'pending') {
      throw conflict(`version ${v.version} is ${v.status}, not waiting for an upload`, { status: v.status });
    }
    if (v.uploadExpiresAt !== undefined && v.uploadExpiresAt <= this.records.now()) {
      throw conflict(
        `the upload of version ${v.version} expired at ${v.uploadExpiresAt}; register a new version`,
        { status: v.status, uploadExpiresAt: v.uploadExpiresAt },
      );
    }
    return v;
  }

  /** A presigned PUT that lasts UPLOAD_URL_TTL_SECONDS, or less when the version expires sooner. */
  private presignUpload(v: ModelVersion): Promise<PresignedRequest> {
    const untilExpiry = v.uploadExpiresAt
      ? Math.floor((Date.parse(v.uploadExpiresAt) - this.records.deps.clock.now().getTime()) / 1000)
      : UPLOAD_URL_TTL_SECONDS;
    const ttl = Math.max(1, Math.min(UPLOAD_URL_TTL_SECONDS, untilExpiry));
    return this.records.deps.artifacts.presignPut(v.artifact.key, v.artifact.sha256, ttl);
  }

  /**
   * Reads the graph of a completed upload. Its checksum matched, so these bytes are the version's
   * for good: a file that is not a model, or that contradicts the declared schema, leaves the
   * version unusable and the caller must register again.
   */
  private async readUploaded(
    principal: Principal,
    v: ModelVersion,
    copy: ArtifactRef,
  ): Promise<ArtifactReading> {
    const bytes = await this.records.deps.artifacts.get(copy.key, copy.versionId);
    if (!bytes) throw conflict('the uploaded artifact disappeared before it could be read; retry', {});
    try {
      return readArtifact(bytes, v);
    } catch (err) {
      if (isDomainError(err) && (err.code === 'invalid_model' || err.code === 'validation_failed')) {
        await this.lifecycle.markInvalid(principal, v, err.message);
        if (err.code === 'invalid_model') throw err;
        throw validationFailed(`${err.message}; the version is unusable, register it again`, err.details);
      }
      throw err;
    }
  }

  /** Recomputes the stored artifact's SHA-256; a mismatch makes the version unusable for good. */
  async verify(
    principal: Principal,
    name: string,
    version: string,
  ): Promise<{ ok: true; sha256: string; size: number; verifiedAt: string }> {
    const v = await this.records.getVersion(name, version);
    if (v.status === 'pending') throw conflict(`version ${version} has no completed upload yet`);
    const stored = await this.records.deps.artifacts.digest(v.artifact.key, v.artifact.versionId);
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
    const stored = await this.records.deps.artifacts.digest(v.artifact.key, v.artifact.versionId);
    return {
      ok: stored?.sha256 === v.artifact.sha256 && v.status === 'ready',
      expected: v.artifact.sha256,
      actual: stored?.sha256 ?? null,
      status: v.status,
    };
  }

  /** What the last verification left on a version: its status (a mismatch makes it unusable) and when. */
  async lastVerification(
    name: string,
    version: string,
  ): Promise<{ status: string; lastVerifiedAt?: string }> {
    const v = await this.records.getVersion(name, version);
    return { status: v.status, ...(v.lastVerifiedAt ? { lastVerifiedAt: v.lastVerifiedAt } : {}) };
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
    const url = await this.records.deps.artifacts.presignGet(
      v.artifact.key,
      DOWNLOAD_URL_TTL_SECONDS,
      v.artifact.versionId,
    );
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
    if (('uri' in input.artifact || (input.format ?? 'onnx') !== 'onnx') && input.framework !== 'onnx') {
      throw validationFailed(
        'an import (artifact.uri or a format) registers an ONNX model: framework "onnx"',
        {
          field: 'framework',
        },
      );
    }
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
    input: RegisterVersionInput & Partial<ArtifactReading>,
    artifact: ResolvedArtifact,
    uploadId: string,
  ): Promise<RegisterResult> {
    const { bytes, sha256 } = artifact;
    const current = await this.records.getModel(name);
    const version = input.version ?? nextVersion(current.highestVersion ?? current.latestVersion);
    // Inline bytes are written by Serval itself; an upload gets a key of its own under uploads/,
    // which completion copies from (completeUpload).
    const key = `${bytes ? ARTIFACT_PREFIXES.models : ARTIFACT_PREFIXES.uploads}${name}/${version}/${uploadId}`;
    const now = this.records.now();
    const written = bytes ? await this.records.deps.artifacts.put(key, bytes, sha256) : {};
    const registered = newVersion(principal, input, {
      model: name,
      version,
      status: bytes ? 'ready' : 'pending',
      artifact: { key, sha256, size: bytes?.byteLength, ...written },
      now,
    });
    // Inline bytes are hashed here as they are stored: that is a verification, as complete() is.
    const item = bytes ? { ...registered, lastVerifiedAt: now } : registered;
    const pending: ModelVersion = bytes
      ? item
      : {
          ...item,
          uploadExpiresAt: new Date(Date.parse(now) + PENDING_UPLOAD_TTL_SECONDS * 1000).toISOString(),
        };
    try {
      await this.records.store.commit([
        { kind: 'model', item: withVersionAdded(current, version, now), expectRevision: current.revision },
        { kind: 'version', item: pending, ifAbsent: true },
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
      const existing =
        input.version !== undefined && isConcurrentModification(err)
          ? await this.records.store.getVersion(name, version, { includeDeleted: true })
          : undefined;
      if (existing) {
        throw conflict(
          existing.deleted
            ? `version ${version} of model ${name} was deleted; a deleted version's number is not reused`
            : `version ${version} of model ${name} already exists; versions are immutable`,
          { model: name, version },
        );
      }
      throw err;
    }
    const upload = bytes ? undefined : await this.presignUpload(pending);
    return { version: pending, upload };
  }
}
