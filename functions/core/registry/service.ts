/**
 * The model registry's rules. Every mutation is one atomic commit of the changed items plus its
 * audit event, guarded by the model's revision, so concurrent writers can never leave two
 * production versions or a change without its audit record.
 */

import type { Principal } from '../auth/principal.js';
import { hasRole } from '../auth/roles.js';
import { auditEvent } from '../kernel/audit.js';
import type { Clock, IdGenerator } from '../kernel/clock.js';
import {
  conflict,
  forbidden,
  integrityFailed,
  isConcurrentModification,
  notFound,
  validationFailed,
} from '../kernel/errors.js';
import type { InputSchema, OutputSchema } from '../kernel/model-io.js';
import type { Page, PageRequest } from '../kernel/paging.js';
import type { ModelRunner } from '../kernel/runner.js';
import { assertAllowedUrl } from '../net/url-policy.js';
import type { ArtifactStore, PresignedRequest, RegistryStore, WriteOp } from './ports.js';
import { compareSemver, nextVersion, parseSemver } from './semver.js';
import { assertMoveAllowed } from './stages.js';
import type {
  DatasetRef,
  Framework,
  Model,
  ModelVersion,
  ProductionChange,
  RuntimeTarget,
  Stage,
  Tags,
} from './types.js';
import { type ValidationReport, type ValidationRequest, validateModel } from './validation.js';

export const UPLOAD_URL_TTL_SECONDS = 15 * 60;
export const DOWNLOAD_URL_TTL_SECONDS = 5 * 60;
/** Retries of a commit that lost an optimistic-concurrency race before reporting 409. */
const MAX_ATTEMPTS = 4;

export interface CreateModelInput {
  readonly name: string;
  readonly description?: string;
  readonly tags?: Tags;
  readonly requireValidation?: boolean;
  readonly fallback?: boolean;
}

export interface UpdateModelInput {
  readonly description?: string;
  readonly tags?: Tags;
  readonly requireValidation?: boolean;
  readonly fallback?: boolean;
}

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

export interface CompareResult {
  readonly a: VersionSummary;
  readonly b: VersionSummary;
  readonly metrics: Record<string, { a?: number; b?: number; delta?: number; relativeDelta?: number }>;
  readonly params: {
    readonly added: Record<string, unknown>;
    readonly removed: Record<string, unknown>;
    readonly changed: Record<string, { a: unknown; b: unknown }>;
    readonly unchanged: string[];
  };
  readonly schema: {
    readonly addedFeatures: string[];
    readonly removedFeatures: string[];
    readonly changedFeatures: Record<string, { a: unknown; b: unknown }>;
    readonly outputChanged: boolean;
  };
  readonly lineage: { readonly a: string[]; readonly b: string[]; readonly commonAncestor?: string };
}

interface VersionSummary {
  readonly version: string;
  readonly stage: Stage;
  readonly status: string;
  readonly createdAt: string;
  readonly sha256: string;
}

export interface RegistryDeps {
  readonly store: RegistryStore;
  readonly artifacts: ArtifactStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Where dataset locations may point; s3:// and https:// (plus http:// locally). */
  readonly allowInsecureUrls?: boolean;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export class Registry {
  constructor(private readonly deps: RegistryDeps) {}

  // ---- models ---------------------------------------------------------------------------

  async createModel(principal: Principal, input: CreateModelInput): Promise<Model> {
    const now = this.now();
    const model: Model = {
      name: input.name,
      description: input.description ?? '',
      tags: input.tags ?? {},
      createdAt: now,
      createdBy: principal.id,
      updatedAt: now,
      versionCount: 0,
      requireValidation: input.requireValidation ?? false,
      fallback: input.fallback ?? true,
      revision: 1,
    };
    try {
      await this.deps.store.commit([
        { kind: 'model', item: model, ifAbsent: true },
        this.audit(principal, 'model.create', { model: model.name, after: publicModel(model) }),
      ]);
    } catch (err) {
      if (isConcurrentModification(err)) {
        throw conflict(`model ${input.name} already exists`, { model: input.name });
      }
      throw err;
    }
    return model;
  }

  async getModel(name: string): Promise<Model> {
    const model = await this.deps.store.getModel(name);
    if (!model) throw notFound(`model ${name} does not exist`, { model: name });
    return model;
  }

  listModels(page: PageRequest): Promise<Page<Model>> {
    return this.deps.store.listModels(page);
  }

  async updateModel(principal: Principal, name: string, input: UpdateModelInput): Promise<Model> {
    return this.retrying(async () => {
      const before = await this.getModel(name);
      const after: Model = {
        ...before,
        description: input.description ?? before.description,
        tags: input.tags ?? before.tags,
        requireValidation: input.requireValidation ?? before.requireValidation,
        fallback: input.fallback ?? before.fallback ?? true,
        updatedAt: this.now(),
        revision: before.revision + 1,
      };
      await this.deps.store.commit([
        { kind: 'model', item: after, expectRevision: before.revision },
        this.audit(principal, 'model.update', {
          model: name,
          before: publicModel(before),
          after: publicModel(after),
        }),
      ]);
      return after;
    });
  }

  // ---- versions -------------------------------------------------------------------------

  async registerVersion(
    principal: Principal,
    name: string,
    input: RegisterVersionInput,
  ): Promise<RegisterResult> {
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
        { schemes: ['s3'], allowInsecure: this.deps.allowInsecureUrls },
        'dataset.uri',
      );
    }
    await this.getModel(name);
    if (input.parent !== undefined) {
      parseSemver(input.parent);
      if (!(await this.deps.store.getVersion(name, input.parent))) {
        throw validationFailed(`parent version ${input.parent} does not exist in model ${name}`, {
          field: 'parent',
        });
      }
    }

    let bytes: Uint8Array | undefined;
    let sha256: string;
    if ('base64' in input.artifact) {
      bytes = decodeBase64Strict(input.artifact.base64);
      sha256 = await sha256Hex(bytes);
      if (input.sha256 !== undefined && input.sha256 !== sha256) {
        throw integrityFailed('the artifact does not match the declared sha256', {
          expected: input.sha256,
          actual: sha256,
        });
      }
    } else {
      if (input.sha256 === undefined) {
        throw validationFailed('sha256 is required with artifact.upload, so the upload can be verified', {
          field: 'sha256',
        });
      }
      sha256 = input.sha256;
    }

    // Each upload gets its own object key, so a retried or conflicting registration can never
    // overwrite the bytes of a version that already exists.
    const uploadId = this.deps.ids.next();

    return this.retrying(async () => {
      const current = await this.getModel(name);
      const version = input.version ?? nextVersion(current.latestVersion);
      const key = `models/${name}/${version}/${uploadId}`;
      const now = this.now();
      const item: ModelVersion = {
        model: name,
        version,
        status: bytes ? 'ready' : 'pending',
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
        artifact: { key, sha256, size: bytes?.byteLength },
        createdAt: now,
        createdBy: principal.id,
        updatedAt: now,
        revision: 1,
      };
      const latest =
        current.latestVersion && compareSemver(current.latestVersion, version) > 0
          ? current.latestVersion
          : version;
      const updatedModel: Model = {
        ...current,
        latestVersion: latest,
        versionCount: current.versionCount + 1,
        updatedAt: now,
        revision: current.revision + 1,
      };
      if (bytes) await this.deps.artifacts.put(key, bytes, sha256);
      try {
        await this.deps.store.commit([
          { kind: 'model', item: updatedModel, expectRevision: current.revision },
          { kind: 'version', item, ifAbsent: true },
          this.audit(principal, 'version.register', {
            model: name,
            version,
            after: { version, status: item.status, sha256, framework: item.framework, runtime: item.runtime },
          }),
        ]);
      } catch (err) {
        if (bytes) await this.deps.artifacts.delete(key).catch(() => undefined);
        // An explicit version that now exists is a real conflict; an auto-numbered one that lost a
        // race is retried with the next number.
        if (
          input.version !== undefined &&
          isConcurrentModification(err) &&
          (await this.deps.store.getVersion(name, version))
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
        : await this.deps.artifacts.presignPut(key, sha256, UPLOAD_URL_TTL_SECONDS);
      return { version: item, upload };
    });
  }

  async getVersion(name: string, version: string): Promise<ModelVersion> {
    parseSemver(version);
    const item = await this.deps.store.getVersion(name, version);
    if (!item) {
      if (!(await this.deps.store.getModel(name)))
        throw notFound(`model ${name} does not exist`, { model: name });
      throw notFound(`version ${version} of model ${name} does not exist`, { model: name, version });
    }
    return item;
  }

  async listVersions(name: string, query: PageRequest & { stage?: Stage }): Promise<Page<ModelVersion>> {
    await this.getModel(name);
    return this.deps.store.listVersions(name, query);
  }

  /** Recomputes the SHA-256 of an uploaded artifact and makes the version usable, or unusable. */
  async completeUpload(principal: Principal, name: string, version: string): Promise<ModelVersion> {
    const v = await this.getVersion(name, version);
    if (v.status !== 'pending') {
      throw conflict(`version ${version} is ${v.status}, not waiting for an upload`, {
        status: v.status,
      });
    }
    const stored = await this.deps.artifacts.digest(v.artifact.key);
    if (!stored) {
      throw conflict('no artifact has been uploaded yet; PUT it to the presigned URL first', {
        model: name,
        version,
      });
    }
    if (stored.sha256 !== v.artifact.sha256) {
      await this.markUnusable(
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
    return this.updateVersion(principal, v, 'version.complete', (cur) => {
      if (cur.status !== 'pending') throw conflict(`version ${version} is ${cur.status}`);
      return {
        ...cur,
        status: 'ready',
        artifact: { ...cur.artifact, size: stored.size },
        lastVerifiedAt: this.now(),
      };
    });
  }

  /** Recomputes the stored artifact's SHA-256; a mismatch makes the version unusable for good. */
  async verifyArtifact(
    principal: Principal,
    name: string,
    version: string,
  ): Promise<{ ok: true; sha256: string; size: number; verifiedAt: string }> {
    const v = await this.getVersion(name, version);
    if (v.status === 'pending') throw conflict(`version ${version} has no completed upload yet`);
    const stored = await this.deps.artifacts.digest(v.artifact.key);
    const actual = stored?.sha256 ?? 'missing';
    if (!stored || stored.sha256 !== v.artifact.sha256) {
      if (v.status !== 'unusable') {
        await this.markUnusable(
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
    const verifiedAt = this.now();
    // Recording the check is best-effort: a concurrent stage change must not fail a read-only verify.
    await this.deps.store
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
  async checkArtifact(
    name: string,
    version: string,
  ): Promise<{ ok: boolean; expected: string; actual: string | null; status: string }> {
    const v = await this.getVersion(name, version);
    const stored = await this.deps.artifacts.digest(v.artifact.key);
    return {
      ok: stored?.sha256 === v.artifact.sha256 && v.status === 'ready',
      expected: v.artifact.sha256,
      actual: stored?.sha256 ?? null,
      status: v.status,
    };
  }

  /** Every model's production version, for integrity sweeps and health checks. */
  productionVersions(): AsyncGenerator<{ model: string; version: string }> {
    return productionVersions(this.deps.store);
  }

  async artifactUrl(
    name: string,
    version: string,
  ): Promise<{ url: string; sha256: string; expiresAt: string }> {
    const v = await this.getVersion(name, version);
    if (v.status !== 'ready') {
      throw conflict(`version ${version} is ${v.status}; only ready artifacts can be downloaded`, {
        status: v.status,
      });
    }
    const url = await this.deps.artifacts.presignGet(v.artifact.key, DOWNLOAD_URL_TTL_SECONDS);
    const expiresAt = new Date(
      this.deps.clock.now().getTime() + DOWNLOAD_URL_TTL_SECONDS * 1000,
    ).toISOString();
    return { url, sha256: v.artifact.sha256, expiresAt };
  }

  // ---- approval and stages ----------------------------------------------------------------

  async decideApproval(
    principal: Principal,
    name: string,
    version: string,
    decision: 'approved' | 'rejected',
    comment: string,
  ): Promise<ModelVersion> {
    if (!hasRole(principal.role, 'approver')) throw forbidden('approving needs the approver role');
    return this.updateVersion(
      principal,
      await this.getVersion(name, version),
      `version.${decision}`,
      (cur) => {
        if (cur.createdBy === principal.id) {
          throw forbidden('the principal that registered a version cannot approve or reject it (four eyes)', {
            registeredBy: cur.createdBy,
          });
        }
        if (cur.stage === 'production' || cur.stage === 'archived') {
          throw conflict(`a version in ${cur.stage} cannot be approved or rejected`, {
            stage: cur.stage,
          });
        }
        if (cur.status !== 'ready')
          throw conflict(`version ${version} is ${cur.status}`, { status: cur.status });
        return {
          ...cur,
          approval: { decision, by: principal.id, byName: principal.name, comment, at: this.now() },
        };
      },
    );
  }

  async recordValidation(
    principal: Principal,
    name: string,
    version: string,
    report: { passed: boolean; [k: string]: unknown },
  ): Promise<ModelVersion> {
    return this.updateVersion(principal, await this.getVersion(name, version), 'version.validate', (cur) => ({
      ...cur,
      validation: { passed: report.passed, ranAt: this.now(), by: principal.id, report },
    }));
  }

  /**
   * Runs the validation report on the stored artifact (after checking its SHA-256) and records
   * the summary on the version, where a model's `requireValidation` policy looks for it.
   */
  async validate(
    principal: Principal,
    name: string,
    version: string,
    request: ValidationRequest,
    runner: ModelRunner,
  ): Promise<ValidationReport> {
    const v = await this.getVersion(name, version);
    if (v.status !== 'ready') throw conflict(`version ${version} is ${v.status}`, { status: v.status });
    if (v.framework !== 'onnx') {
      throw conflict('validation runs ONNX artifacts; this version is served by a SageMaker endpoint', {
        framework: v.framework,
      });
    }
    if (!v.inputSchema || !v.outputSchema) {
      throw conflict('validation needs the inputSchema and outputSchema the version was registered with', {
        inputSchema: Boolean(v.inputSchema),
        outputSchema: Boolean(v.outputSchema),
      });
    }
    const bytes = await this.deps.artifacts.get(v.artifact.key);
    const actual = bytes ? await sha256Hex(bytes) : 'missing';
    if (actual !== v.artifact.sha256) {
      await this.markUnusable(principal, v, 'stored artifact does not match its recorded sha256', actual);
      throw integrityFailed(
        'the stored artifact does not match its recorded sha256; the version is unusable',
        {
          expected: v.artifact.sha256,
          actual,
        },
      );
    }
    const report = await validateModel({
      artifact: bytes!,
      inputSchema: v.inputSchema,
      outputSchema: v.outputSchema,
      request,
      runner,
    });
    await this.recordValidation(principal, name, version, report as unknown as { passed: boolean });
    return report;
  }

  async transition(
    principal: Principal,
    name: string,
    version: string,
    to: Stage,
    comment = '',
  ): Promise<ModelVersion> {
    if (to === 'production') return this.promote(principal, name, version, 'promote', comment);
    return this.retrying(async () => {
      const model = await this.getModel(name);
      const v = await this.getVersion(name, version);
      assertMoveAllowed(v.stage, to);
      if (to !== 'archived' && v.status !== 'ready') {
        throw conflict(`version ${version} is ${v.status}; only ready versions move forward`, {
          status: v.status,
        });
      }
      const now = this.now();
      const after: ModelVersion = { ...v, stage: to, updatedAt: now, revision: v.revision + 1 };
      const archivingProduction = v.stage === 'production';
      if (archivingProduction && !hasRole(principal.role, 'approver')) {
        throw forbidden('archiving the production version needs the approver role');
      }
      const ops: WriteOp[] = [
        {
          kind: 'model',
          item: {
            ...model,
            productionVersion: archivingProduction ? undefined : model.productionVersion,
            updatedAt: now,
            revision: model.revision + 1,
          },
          expectRevision: model.revision,
        },
        { kind: 'version', item: after, expectRevision: v.revision },
        this.audit(principal, 'version.transition', {
          model: name,
          version,
          before: { stage: v.stage },
          after: { stage: to },
          comment,
        }),
      ];
      if (archivingProduction) {
        ops.push({
          kind: 'productionChange',
          item: this.change(principal, name, 'archive', undefined, version, comment),
        });
      }
      await this.deps.store.commit(ops);
      return after;
    });
  }

  /** Rolls production back to the version that was production before (or to `toVersion`). */
  async rollback(
    principal: Principal,
    name: string,
    toVersion?: string,
    comment = '',
  ): Promise<ModelVersion> {
    if (!hasRole(principal.role, 'approver')) throw forbidden('rollback needs the approver role');
    let target = toVersion;
    if (target === undefined) {
      const model = await this.getModel(name);
      const history = await this.deps.store.listProductionChanges(name, { limit: 50 });
      target = history.items.find(
        (c) => c.previous !== undefined && c.previous !== model.productionVersion,
      )?.previous;
      if (!target) {
        throw conflict(`model ${name} has no previous production version to roll back to`, {
          model: name,
        });
      }
    }
    return this.promote(principal, name, target, 'rollback', comment);
  }

  async productionHistory(name: string, page: PageRequest): Promise<Page<ProductionChange>> {
    await this.getModel(name);
    return this.deps.store.listProductionChanges(name, page);
  }

  async compare(name: string, a: string, b: string): Promise<CompareResult> {
    const [va, vb] = await Promise.all([this.getVersion(name, a), this.getVersion(name, b)]);
    const [la, lb] = await Promise.all([this.lineage(name, va), this.lineage(name, vb)]);
    return {
      a: summary(va),
      b: summary(vb),
      metrics: compareMetrics(va.metrics, vb.metrics),
      params: compareParams(va.params, vb.params),
      schema: compareSchemas(va, vb),
      lineage: { a: la, b: lb, commonAncestor: la.find((x) => lb.includes(x)) },
    };
  }

  // ---- internals --------------------------------------------------------------------------

  private async promote(
    principal: Principal,
    name: string,
    version: string,
    action: 'promote' | 'rollback',
    comment: string,
  ): Promise<ModelVersion> {
    return this.retrying(async () => {
      const model = await this.getModel(name);
      const v = await this.getVersion(name, version);
      if (model.productionVersion === version) {
        throw conflict(`version ${version} is already in production`, { version });
      }
      // The lifecycle is checked before the role, so a wrong move is explained as such to anyone.
      if (action === 'promote') assertMoveAllowed(v.stage, 'production');
      else if (v.stage === 'archived') {
        throw conflict(`version ${version} is archived; move it to staging before rolling back to it`);
      }
      if (!hasRole(principal.role, 'approver')) {
        throw forbidden('moving a version to production needs the approver role');
      }
      if (v.status !== 'ready') {
        throw conflict(`version ${version} is ${v.status}; it cannot serve production`, {
          status: v.status,
        });
      }
      if (v.approval?.decision !== 'approved') {
        throw conflict(`version ${version} needs an approval before production`, {
          approval: v.approval?.decision ?? 'none',
        });
      }
      if (model.requireValidation && v.validation?.passed !== true) {
        throw conflict(`model ${name} requires a passing validation report before production`, {
          validation: v.validation ? 'failed' : 'none',
        });
      }
      const now = this.now();
      const after: ModelVersion = { ...v, stage: 'production', updatedAt: now, revision: v.revision + 1 };
      const ops: WriteOp[] = [
        {
          kind: 'model',
          item: { ...model, productionVersion: version, updatedAt: now, revision: model.revision + 1 },
          expectRevision: model.revision,
        },
        { kind: 'version', item: after, expectRevision: v.revision },
      ];
      const previous = model.productionVersion;
      if (previous !== undefined) {
        const prev = await this.getVersion(name, previous);
        ops.push({
          kind: 'version',
          item: { ...prev, stage: 'staging', updatedAt: now, revision: prev.revision + 1 },
          expectRevision: prev.revision,
        });
      }
      ops.push(
        { kind: 'productionChange', item: this.change(principal, name, action, version, previous, comment) },
        this.audit(principal, action === 'promote' ? 'version.promote' : 'model.rollback', {
          model: name,
          version,
          before: { productionVersion: previous ?? null, stage: v.stage },
          after: { productionVersion: version },
          comment,
        }),
      );
      await this.deps.store.commit(ops);
      return after;
    });
  }

  /**
   * Records that serving a version failed for a reason other than its checksum (which
   * verifyArtifact records by making the version unusable): e.g. the runtime could not load it,
   * and whether another version answered instead.
   */
  async recordServingFailure(
    principal: Principal,
    name: string,
    version: string,
    reason: string,
    servedBy?: string,
  ): Promise<void> {
    await this.deps.store.commit([
      this.audit(principal, 'version.serving_failed', {
        model: name,
        version,
        after: { reason, servedBy: servedBy ?? null },
      }),
    ]);
  }

  private async markUnusable(
    principal: Principal,
    v: ModelVersion,
    reason: string,
    actual: string,
  ): Promise<void> {
    await this.updateVersion(principal, v, 'version.integrity_failed', (cur) => ({
      ...cur,
      status: 'unusable',
      unusableReason: `${reason} (expected ${cur.artifact.sha256}, found ${actual})`,
    }));
  }

  /** Read-modify-write of one version under the model's revision, retried on races. */
  private async updateVersion(
    principal: Principal,
    first: ModelVersion,
    action: string,
    change: (current: ModelVersion) => ModelVersion,
  ): Promise<ModelVersion> {
    let current: ModelVersion | undefined = first;
    return this.retrying(async () => {
      const v = current ?? (await this.getVersion(first.model, first.version));
      current = undefined;
      const changed = change(v);
      const after: ModelVersion = { ...changed, updatedAt: this.now(), revision: v.revision + 1 };
      await this.deps.store.commit([
        { kind: 'version', item: after, expectRevision: v.revision },
        this.audit(principal, action, {
          model: v.model,
          version: v.version,
          before: diffView(v, after, 'before'),
          after: diffView(v, after, 'after'),
          comment: after.approval !== v.approval ? after.approval?.comment : undefined,
        }),
      ]);
      return after;
    });
  }

  private async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (err) {
        if (!isConcurrentModification(err) || i >= MAX_ATTEMPTS) throw err;
      }
    }
  }

  private async lineage(name: string, v: ModelVersion): Promise<string[]> {
    const chain: string[] = [v.version];
    let parent = v.parent;
    while (parent && chain.length < 50 && !chain.includes(parent)) {
      chain.push(parent);
      parent = (await this.deps.store.getVersion(name, parent))?.parent;
    }
    return chain;
  }

  private change(
    principal: Principal,
    model: string,
    action: ProductionChange['action'],
    version: string | undefined,
    previous: string | undefined,
    comment: string,
  ): ProductionChange {
    return {
      model,
      at: this.now(),
      id: this.deps.ids.next(),
      action,
      version,
      previous,
      actor: principal.id,
      comment,
    };
  }

  private audit(
    principal: Principal,
    action: string,
    e: {
      model?: string;
      version?: string;
      before?: unknown;
      after?: unknown;
      comment?: string;
      target?: string;
    },
  ): WriteOp {
    const target = e.target ?? (e.model ? `model/${e.model}${e.version ? `@${e.version}` : ''}` : 'system');
    const item = auditEvent(this.deps, principal, action, target, {
      model: e.model,
      version: e.version,
      before: e.before,
      after: e.after,
      comment: e.comment || undefined,
    });
    return { kind: 'audit', item };
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }
}

/** Every model's production version, reading only the registry (no artifacts, no audit). */
export async function* productionVersions(
  store: Pick<RegistryStore, 'listModels'>,
): AsyncGenerator<{ model: string; version: string }> {
  let cursor: string | undefined;
  do {
    const page = await store.listModels({ limit: 100, cursor });
    for (const m of page.items) {
      if (m.productionVersion) yield { model: m.name, version: m.productionVersion };
    }
    cursor = page.nextCursor;
  } while (cursor);
}

function publicModel(m: Model): Record<string, unknown> {
  return {
    description: m.description,
    tags: m.tags,
    requireValidation: m.requireValidation,
    fallback: m.fallback ?? true,
  };
}

/** Only the fields a version change touched, so audit events stay small and readable. */
function diffView(
  before: ModelVersion,
  after: ModelVersion,
  side: 'before' | 'after',
): Record<string, unknown> {
  const src = side === 'before' ? before : after;
  const out: Record<string, unknown> = {};
  for (const k of [
    'status',
    'stage',
    'approval',
    'validation',
    'unusableReason',
    'lastVerifiedAt',
  ] as const) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) {
      const value = src[k];
      out[k] =
        k === 'validation' && value ? { passed: (value as { passed: boolean }).passed } : (value ?? null);
    }
  }
  return out;
}

function summary(v: ModelVersion): VersionSummary {
  return {
    version: v.version,
    stage: v.stage,
    status: v.status,
    createdAt: v.createdAt,
    sha256: v.artifact.sha256,
  };
}

export function compareMetrics(
  a: Record<string, number>,
  b: Record<string, number>,
): CompareResult['metrics'] {
  const out: CompareResult['metrics'] = {};
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[k];
    const y = b[k];
    if (x !== undefined && y !== undefined) {
      out[k] = { a: x, b: y, delta: y - x, relativeDelta: x !== 0 ? (y - x) / Math.abs(x) : undefined };
    } else out[k] = { a: x, b: y };
  }
  return out;
}

export function compareParams(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): CompareResult['params'] {
  const added: Record<string, unknown> = {};
  const removed: Record<string, unknown> = {};
  const changed: Record<string, { a: unknown; b: unknown }> = {};
  const unchanged: string[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (!(k in a)) added[k] = b[k];
    else if (!(k in b)) removed[k] = a[k];
    else if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) changed[k] = { a: a[k], b: b[k] };
    else unchanged.push(k);
  }
  return { added, removed, changed, unchanged };
}

function compareSchemas(a: ModelVersion, b: ModelVersion): CompareResult['schema'] {
  const fa = new Map((a.inputSchema?.features ?? []).map((f) => [f.name, f]));
  const fb = new Map((b.inputSchema?.features ?? []).map((f) => [f.name, f]));
  const changedFeatures: Record<string, { a: unknown; b: unknown }> = {};
  for (const [n, f] of fa) {
    const g = fb.get(n);
    if (g && JSON.stringify(f) !== JSON.stringify(g)) changedFeatures[n] = { a: f, b: g };
  }
  return {
    addedFeatures: [...fb.keys()].filter((n) => !fa.has(n)),
    removedFeatures: [...fa.keys()].filter((n) => !fb.has(n)),
    changedFeatures,
    outputChanged: JSON.stringify(a.outputSchema ?? null) !== JSON.stringify(b.outputSchema ?? null),
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

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Buffer.from(digest).toString('hex');
}
