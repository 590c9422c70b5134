/**
 * A version's way through the stages: approval, transitions, promotion to production and
 * rollback, and the records of what went wrong with a version (unusable, failed to serve).
 */
import type { Principal } from '../auth/principal.js';
import { hasRole } from '../auth/roles.js';
import { conflict, forbidden, gateFailed } from '../kernel/errors.js';
import type { Page, PageRequest } from '../kernel/paging.js';
import type { RegistryStore, WriteOp } from './ports.js';
import { gateFailures, type OpenAlert } from './promotion-gate.js';
import type { RegistryRecords } from './records.js';
import { assertMoveAllowed } from './stages.js';
import type { Model, ModelVersion, ProductionChange, Stage } from './types.js';
import { validationShortfall } from './validation-gate.js';

type ProductionAction = 'promote' | 'rollback';

export class Lifecycle {
  constructor(private readonly records: RegistryRecords) {}

  async decideApproval(
    principal: Principal,
    name: string,
    version: string,
    decision: 'approved' | 'rejected',
    comment: string,
  ): Promise<ModelVersion> {
    if (!hasRole(principal.role, 'approver')) throw forbidden('approving needs the approver role');
    const v = await this.records.getVersion(name, version);
    return this.records.updateVersion(principal, v, `version.${decision}`, (cur) => {
      if (cur.createdBy === principal.id) {
        throw forbidden('the principal that registered a version cannot approve or reject it (four eyes)', {
          registeredBy: cur.createdBy,
        });
      }
      if (cur.stage === 'production' || cur.stage === 'archived') {
        throw conflict(`a version in ${cur.stage} cannot be approved or rejected`, { stage: cur.stage });
      }
      if (cur.status !== 'ready')
        throw conflict(`version ${version} is ${cur.status}`, { status: cur.status });
      return {
        ...cur,
        approval: { decision, by: principal.id, byName: principal.name, comment, at: this.records.now() },
      };
    });
  }

  async transition(
    principal: Principal,
    name: string,
    version: string,
    to: Stage,
    comment = '',
  ): Promise<ModelVersion> {
    if (to === 'production') return this.promote(principal, name, version, 'promote', comment);
    return this.records.retrying(async () => {
      const model = await this.records.getModel(name);
      const v = await this.records.getVersion(name, version);
      assertMoveAllowed(v.stage, to);
      if (to !== 'archived' && v.status !== 'ready') {
        throw conflict(`version ${version} is ${v.status}; only ready versions move forward`, {
          status: v.status,
        });
      }
      const now = this.records.now();
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
        this.records.audit(principal, 'version.transition', {
          model: name,
          version,
          before: { stage: v.stage },
          after: { stage: to },
          comment,
        }),
      ];
      if (archivingProduction) {
        ops.push(this.records.productionChange(principal, name, 'archive', undefined, version, comment));
      }
      await this.records.store.commit(ops);
      return after;
    });
  }

  /**
   * Rolls production back to the version that was production before, or to `toVersion`, which
   * must have been in production before.
   */
  async rollback(
    principal: Principal,
    name: string,
    toVersion?: string,
    comment = '',
  ): Promise<ModelVersion> {
    if (!hasRole(principal.role, 'approver')) throw forbidden('rollback needs the approver role');
    if (toVersion !== undefined) await this.assertWasProduction(name, toVersion);
    const target = toVersion ?? (await this.previousProduction(name));
    return this.promote(principal, name, target, 'rollback', comment);
  }

  /**
   * A rollback returns to a version production has already run; anything else would skip the
   * stages (a draft approved by someone else could go straight to production). The production
   * history is append-only, so a version found in it stays a legitimate target.
   */
  private async assertWasProduction(name: string, version: string): Promise<void> {
    await this.records.getModel(name);
    let cursor: string | undefined;
    do {
      const page = await this.records.store.listProductionChanges(name, { limit: 100, cursor });
      if (page.items.some((c) => c.version === version || c.previous === version)) return;
      cursor = page.nextCursor;
    } while (cursor);
    throw conflict(
      `version ${version} has never been in production; a rollback only returns to an earlier production version (promote it through the stages instead)`,
      { version },
    );
  }

  async productionHistory(name: string, page: PageRequest): Promise<Page<ProductionChange>> {
    await this.records.getModel(name);
    return this.records.store.listProductionChanges(name, page);
  }

  /**
   * Records that serving a version failed for a reason other than its checksum (which
   * markUnusable records): e.g. the runtime could not load it, and whether another version
   * answered instead.
   */
  async recordServingFailure(
    principal: Principal,
    name: string,
    version: string,
    reason: string,
    servedBy?: string,
  ): Promise<void> {
    await this.records.store.commit([
      this.records.audit(principal, 'version.serving_failed', {
        model: name,
        version,
        after: { reason, servedBy: servedBy ?? null },
      }),
    ]);
  }

  /** The artifact failed a checksum check: the version may never serve or be promoted again. */
  async markUnusable(principal: Principal, v: ModelVersion, reason: string, actual: string): Promise<void> {
    await this.records.updateVersion(principal, v, 'version.integrity_failed', (cur) => ({
      ...cur,
      status: 'unusable',
      unusableReason: `${reason} (expected ${cur.artifact.sha256}, found ${actual})`,
    }));
  }

  /** The artifact is not a model that can serve with its schema: the version is unusable for good. */
  async markInvalid(principal: Principal, v: ModelVersion, reason: string): Promise<void> {
    await this.records.updateVersion(principal, v, 'version.invalid_model', (cur) => ({
      ...cur,
      status: 'unusable',
      unusableReason: reason,
    }));
  }

  /**
   * The model's open alerts when its gate needs them. Not on rollback: a rollback is how an
   * incident (often the very alert) is answered, and must not wait for it to be acknowledged.
   */
  private async openAlerts(
    model: Model,
    action: ProductionAction,
  ): Promise<readonly OpenAlert[] | undefined> {
    if (action !== 'promote' || !model.promotionGate?.noOpenCriticalQualityAlert) return undefined;
    const source = this.records.deps.alerts;
    if (!source) {
      return [
        {
          id: 'unavailable',
          kind: 'quality',
          severity: 'high',
          title: 'the open alerts cannot be read here, so the quality-alert rule cannot be checked',
        },
      ];
    }
    return source.openAlerts(model.name);
  }

  /** Makes `version` the one production version, moving the previous one back to staging. */
  private promote(
    principal: Principal,
    name: string,
    version: string,
    action: ProductionAction,
    comment: string,
  ): Promise<ModelVersion> {
    return this.records.retrying(async () => {
      const model = await this.records.getModel(name);
      const v = await this.records.getVersion(name, version);
      assertPromotable(principal, model, v, action, await this.openAlerts(model, action));
      const now = this.records.now();
      const after: ModelVersion = { ...v, stage: 'production', updatedAt: now, revision: v.revision + 1 };
      const previous = model.productionVersion;
      await this.records.store.commit([
        {
          kind: 'model',
          item: { ...model, productionVersion: version, updatedAt: now, revision: model.revision + 1 },
          expectRevision: model.revision,
        },
        { kind: 'version', item: after, expectRevision: v.revision },
        ...(previous === undefined ? [] : [await this.backToStaging(name, previous, now)]),
        this.records.productionChange(principal, name, action, version, previous, comment),
        this.records.audit(principal, action === 'promote' ? 'version.promote' : 'model.rollback', {
          model: name,
          version,
          before: { productionVersion: previous ?? null, stage: v.stage },
          after: { productionVersion: version },
          comment,
        }),
      ]);
      return after;
    });
  }

  /** The write that returns the outgoing production version to staging. */
  private async backToStaging(name: string, version: string, now: string): Promise<WriteOp> {
    const prev = await this.records.getVersion(name, version);
    return {
      kind: 'version',
      item: { ...prev, stage: 'staging', updatedAt: now, revision: prev.revision + 1 },
      expectRevision: prev.revision,
    };
  }

  /** The most recent earlier production version that is not production now. */
  private async previousProduction(name: string): Promise<string> {
    const model = await this.records.getModel(name);
    const history = await this.records.store.listProductionChanges(name, { limit: 50 });
    const target = previousProductionIn(history.items, model.productionVersion);
    if (!target) {
      throw conflict(`model ${name} has no previous production version to roll back to`, { model: name });
    }
    return target;
  }
}

function previousProductionIn(
  history: readonly ProductionChange[],
  current: string | undefined,
): string | undefined {
  return history.find((c) => c.previous !== undefined && c.previous !== current)?.previous;
}

/**
 * The version to suggest rolling production back to (alerts, health): the version a rollback
 * without `toVersion` would pick, if a rollback to it would be accepted (ready, not archived),
 * else the next earlier production version that would be.
 */
export async function rollbackCandidate(
  store: Pick<RegistryStore, 'getModel' | 'getVersion' | 'listProductionChanges'>,
  name: string,
): Promise<string | undefined> {
  const model = await store.getModel(name);
  if (!model) return undefined;
  const history = (await store.listProductionChanges(name, { limit: 50 })).items;
  const tried = new Set<string>();
  for (const c of history) {
    const candidate = c.previous;
    if (candidate === undefined || candidate === model.productionVersion || tried.has(candidate)) continue;
    tried.add(candidate);
    const v = await store.getVersion(name, candidate);
    if (v && v.status === 'ready' && v.stage !== 'archived') return candidate;
  }
  return undefined;
}

/**
 * The rules for production, in the order their refusals are reported: the lifecycle before the
 * role, so a wrong move is explained as such to anyone; then the version's readiness, its
 * approval, and the model's validation policy.
 */
function assertPromotable(
  principal: Principal,
  model: Model,
  v: ModelVersion,
  action: ProductionAction,
  alerts: readonly OpenAlert[] | undefined,
): void {
  if (model.productionVersion === v.version) {
    throw conflict(`version ${v.version} is already in production`, { version: v.version });
  }
  if (action === 'promote') assertMoveAllowed(v.stage, 'production');
  else if (v.stage === 'archived') {
    throw conflict(`version ${v.version} is archived; move it to staging before rolling back to it`);
  }
  if (!hasRole(principal.role, 'approver')) {
    throw forbidden('moving a version to production needs the approver role');
  }
  if (v.status !== 'ready') {
    throw conflict(`version ${v.version} is ${v.status}; it cannot serve production`, { status: v.status });
  }
  const unservable = model.allowUnservableProduction ? null : servingProblem(v);
  if (unservable) {
    throw conflict(
      `version ${v.version} cannot serve predictions: ${unservable}. Production refuses it unless the model's allowUnservableProduction is true`,
      { version: v.version, reason: unservable, allowUnservableProduction: false },
    );
  }
  if (v.approval?.decision !== 'approved') {
    throw conflict(`version ${v.version} needs an approval before production`, {
      approval: v.approval?.decision ?? 'none',
    });
  }
  const failed = gateFailures(model, v, alerts);
  if (failed.length > 0) {
    const validation = failed.find((f) => f.check === 'validation');
    throw gateFailed(
      failed.length === 1 && validation
        ? `model ${model.name} requires a passing validation report before production: ${validationShortfall(model, v)?.message}`
        : `version ${v.version} does not pass the promotion gate of model ${model.name}: ${failed.map((f) => f.message).join('; ')}`,
      // The validation shortfall's own fields stay at the top, as before the other checks existed.
      { ...(validation?.details ?? {}), failedChecks: failed },
    );
  }
}

/**
 * Why a version could not answer a prediction, or null when it can: serving needs both schemas,
 * and an ONNX artifact read as a model (at registration, or loaded by a validation run) that did
 * not fail to load in its latest validation.
 */
export function servingProblem(v: ModelVersion): string | null {
  if (!v.inputSchema || !v.outputSchema) {
    return 'it has no input and output schema (declare them, or register an ONNX graph they can be derived from)';
  }
  if (v.framework !== 'onnx') return null;
  const loads = loadCheck(v);
  if (loads === false) return 'its latest validation report says the artifact does not load';
  if (!v.graph && loads !== true) {
    return 'its artifact has never been read as an ONNX model (it predates that check); validate it to load it once';
  }
  return null;
}

/** The `loads` check of the version's latest validation report: passed, failed, or not run. */
function loadCheck(v: ModelVersion): boolean | null {
  const checks = v.validation?.report.checks;
  if (!Array.isArray(checks)) return null;
  const loads = checks.find(
    (c): c is { name: string; passed: boolean; skipped?: boolean } =>
      typeof c === 'object' && c !== null && (c as { name?: unknown }).name === 'loads',
  );
  if (!loads || loads.skipped) return null;
  return loads.passed === true;
}
