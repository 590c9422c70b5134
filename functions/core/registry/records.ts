/**
 * What every registry service shares: its dependencies, the reads that turn a missing item into
 * not_found, and the write discipline. Every mutation is one atomic commit of the changed items
 * plus its audit event, guarded by revisions, so concurrent writers can never leave two
 * production versions or a change without its audit record; a commit that lost such a race is
 * retried from a fresh read.
 */
import type { Principal } from '../auth/principal.js';
import { auditEvent } from '../kernel/audit.js';
import type { Clock, IdGenerator } from '../kernel/clock.js';
import { isConcurrentModification, notFound } from '../kernel/errors.js';
import type { ModelRunner } from '../kernel/runner.js';
import type { DeletionGuard } from './deletion.js';
import { type EventLog, type LifecycleEventSink, publishingStore } from './events.js';
import type { ArtifactStore, ImportObjects, RegistryStore, WriteOp } from './ports.js';
import type { OpenAlert } from './promotion-gate.js';
import { parseSemver } from './semver.js';
import type { Model, ModelVersion, ProductionChange } from './types.js';

export interface RegistryDeps {
  readonly store: RegistryStore;
  readonly artifacts: ArtifactStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Where dataset locations may point; s3:// and https:// (plus http:// locally). */
  readonly allowInsecureUrls?: boolean;
  /** What outside the registry may refuse a deletion (experiments: a running experiment). */
  readonly deletionGuards?: readonly DeletionGuard[];
  /** Where lifecycle events go after each committed change (none: not announced). */
  readonly events?: LifecycleEventSink;
  /** Hears of events that could not be published. */
  readonly log?: EventLog;
  /** Where versions may be imported from by s3:// URI (none: imports by URI are refused). */
  readonly imports?: ImportObjects;
  /** Runs an imported model's input example at registration (none: the smoke run is skipped). */
  readonly runner?: () => Promise<ModelRunner>;
  /**
   * The model's open alerts, read by the promotion gate when its policy forbids production under
   * an open high-severity data-quality alert (the monitoring table). Without it such a gate
   * refuses production: what it cannot check, it does not assume.
   */
  readonly alerts?: { openAlerts(model: string): Promise<readonly OpenAlert[]> };
}

/** Retries of a commit that lost an optimistic-concurrency race before reporting 409. */
const MAX_ATTEMPTS = 4;

export interface AuditFields {
  readonly model?: string;
  readonly version?: string;
  readonly before?: unknown;
  readonly after?: unknown;
  readonly comment?: string;
  readonly target?: string;
}

export class RegistryRecords {
  /** The store to commit through: with an event sink, it announces each committed change. */
  readonly store: RegistryStore;

  constructor(readonly deps: RegistryDeps) {
    this.store = deps.events ? publishingStore(deps.store, deps.events, deps.log) : deps.store;
  }

  now(): string {
    return this.deps.clock.now().toISOString();
  }

  async getModel(name: string): Promise<Model> {
    const model = await this.store.getModel(name);
    if (!model) throw notFound(`model ${name} does not exist`, { model: name });
    return model;
  }

  /** A version of a model that exists: a deleted model's versions are gone with it. */
  async getVersion(name: string, version: string): Promise<ModelVersion> {
    parseSemver(version);
    const [item, model] = await Promise.all([
      this.store.getVersion(name, version),
      this.store.getModel(name),
    ]);
    if (!model) throw notFound(`model ${name} does not exist`, { model: name });
    if (!item) {
      throw notFound(`version ${version} of model ${name} does not exist`, { model: name, version });
    }
    return item;
  }

  /** Runs attempt again while it loses optimistic-concurrency races, up to MAX_ATTEMPTS times. */
  async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (err) {
        if (!isConcurrentModification(err) || i >= MAX_ATTEMPTS) throw err;
      }
    }
  }

  /**
   * Read-modify-write of one version under its revision, retried on races. `first` saves the
   * first read; retries read again, and `change` sees (and may refuse) the fresh version.
   */
  async updateVersion(
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
      await this.store.commit([
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

  /**
   * Read-modify-write of a model under its revision, retried on races. `change` sees the fresh
   * model and returns its changed fields with the audit fields to record, or undefined when there
   * is nothing to change (nothing is written or audited then).
   */
  async updateModel(
    principal: Principal,
    name: string,
    action: string,
    change: (current: Model) => { readonly model: Partial<Model>; readonly audit: AuditFields } | undefined,
  ): Promise<Model> {
    return this.retrying(async () => {
      const before = await this.getModel(name);
      const changed = change(before);
      if (!changed) return before;
      const after: Model = {
        ...before,
        ...changed.model,
        updatedAt: this.now(),
        revision: before.revision + 1,
      };
      await this.store.commit([
        { kind: 'model', item: after, expectRevision: before.revision },
        this.audit(principal, action, { model: name, ...changed.audit }),
      ]);
      return after;
    });
  }

  /** The audit event of a change, as the write that commits it with the change. */
  audit(principal: Principal, action: string, e: AuditFields): WriteOp {
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

  /** A production-history entry, written in the same commit as the production change itself. */
  productionChange(
    principal: Principal,
    model: string,
    action: ProductionChange['action'],
    version: string | undefined,
    previous: string | undefined,
    comment: string,
  ): WriteOp {
    return {
      kind: 'productionChange',
      item: {
        model,
        at: this.now(),
        id: this.deps.ids.next(),
        action,
        version,
        previous,
        actor: principal.id,
        comment,
      },
    };
  }

  /** The version and its ancestors, newest first; bounded, and safe against a cycle of parents. */
  async lineage(name: string, v: ModelVersion): Promise<string[]> {
    const chain: string[] = [v.version];
    let parent = v.parent;
    while (parent && chain.length < 50 && !chain.includes(parent)) {
      chain.push(parent);
      parent = (await this.store.getVersion(name, parent))?.parent;
    }
    return chain;
  }
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
    'fairness',
    'unusableReason',
    'lastVerifiedAt',
    'failedUploads',
    'lastFailedUpload',
    'description',
    'tags',
    'deleted',
  ] as const) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) {
      const value = src[k];
      out[k] =
        k === 'validation' && value ? { passed: (value as { passed: boolean }).passed } : (value ?? null);
    }
  }
  return out;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Buffer.from(digest).toString('hex');
}
