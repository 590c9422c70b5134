/** Models and the reading of their versions: create, read, list, update, and a model's overview. */
import type { Principal } from '../auth/principal.js';
import { hasRole } from '../auth/roles.js';
import { conflict, forbidden, isConcurrentModification } from '../kernel/errors.js';
import { everyItem, type Page, type PageRequest } from '../kernel/paging.js';
import { type AliasMap, aliasesOf } from './aliases.js';
import type { ModelQuery, RegistryStore } from './ports.js';
import type { PromotionGate } from './promotion-gate.js';
import type { RegistryRecords } from './records.js';
import { type Model, type ModelVersion, STAGES, type Stage, type Tags } from './types.js';
import type { Thresholds } from './validation-report.js';

/**
 * The model fields that decide what may reach production. Whoever can change them can open the
 * gate they guard, so after creation only admins change them (403 otherwise, and the refused
 * attempt is audited). `fallback` is not among them: it chooses which earlier production version
 * answers when production's artifact is broken, not what may become production.
 */
export const GATE_FIELDS = [
  'requireValidation',
  'allowUnservableProduction',
  'minValidationRows',
  'requiredThresholds',
  'promotionGate',
] as const;
export type GateField = (typeof GATE_FIELDS)[number];

export interface CreateModelInput {
  readonly name: string;
  readonly description?: string;
  readonly tags?: Tags;
  readonly requireValidation?: boolean;
  readonly fallback?: boolean;
  readonly allowUnservableProduction?: boolean;
  readonly minValidationRows?: number;
  readonly requiredThresholds?: Thresholds;
  readonly promotionGate?: PromotionGate;
}

/** What PATCH may change on a version; everything else about a version is immutable. */
export interface UpdateVersionInput {
  readonly description?: string;
  readonly tags?: Tags;
}

export interface UpdateModelInput {
  readonly description?: string;
  readonly tags?: Tags;
  readonly requireValidation?: boolean;
  readonly fallback?: boolean;
  readonly allowUnservableProduction?: boolean;
  /** null removes the minimum. */
  readonly minValidationRows?: number | null;
  /** null removes the required thresholds. */
  readonly requiredThresholds?: Thresholds | null;
  /** null removes the fairness and quality-alert rules. */
  readonly promotionGate?: PromotionGate | null;
}

/** A model with its versions grouped by stage and the versions its aliases point at. */
export interface ModelOverview {
  readonly model: Model;
  readonly versionsByStage: Record<Stage, string[]>;
  readonly aliases: AliasMap;
}

export class Models {
  constructor(private readonly records: RegistryRecords) {}

  async create(principal: Principal, input: CreateModelInput): Promise<Model> {
    // A new model's gates may start stricter than the defaults, never looser, unless an admin
    // creates it: otherwise a scientist could create a model whose gate is already open.
    if (input.allowUnservableProduction === true && !hasRole(principal.role, 'admin')) {
      throw forbidden('only an admin may create a model with allowUnservableProduction: it opens a gate', {
        fields: ['allowUnservableProduction'],
        needs: 'admin',
      });
    }
    const now = this.records.now();
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
      allowUnservableProduction: input.allowUnservableProduction ?? false,
      ...(input.minValidationRows !== undefined ? { minValidationRows: input.minValidationRows } : {}),
      ...(input.requiredThresholds !== undefined ? { requiredThresholds: input.requiredThresholds } : {}),
      ...(input.promotionGate !== undefined ? { promotionGate: input.promotionGate } : {}),
      revision: 1,
    };
    try {
      await this.records.store.commit([
        { kind: 'model', item: model, ifAbsent: true },
        this.records.audit(principal, 'model.create', { model: model.name, after: publicModel(model) }),
      ]);
    } catch (err) {
      if (isConcurrentModification(err)) {
        const existing = await this.records.store.getModel(input.name, { includeDeleted: true });
        throw conflict(
          existing?.deleted
            ? `model ${input.name} was deleted; its name stays taken so its audit trail names one model`
            : `model ${input.name} already exists`,
          { model: input.name },
        );
      }
      throw err;
    }
    return model;
  }

  get(name: string): Promise<Model> {
    return this.records.getModel(name);
  }

  /** Models matching the query (matchesModelQuery), by name. */
  list(query: ModelQuery): Promise<Page<Model>> {
    return this.records.store.listModels(query);
  }

  async update(principal: Principal, name: string, input: UpdateModelInput): Promise<Model> {
    const admin = hasRole(principal.role, 'admin');
    if (!admin) {
      const current = await this.records.getModel(name);
      const changed = gateChanges(current, input);
      if (changed.length > 0) {
        // The refusal is recorded: trying to loosen a gate without the role is worth knowing about.
        await this.records.store.commit([
          this.records.audit(principal, 'model.gate_change_refused', {
            model: name,
            before: pick(publicModel(current), changed),
            after: pick(publicModel(withInput(current, input)), changed),
          }),
        ]);
        throw gateForbidden(changed);
      }
    }
    return this.records.updateModel(principal, name, 'model.update', (before) => {
      // Re-checked on the fresh read: the policy may have changed since the check above.
      const changed = admin ? [] : gateChanges(before, input);
      if (changed.length > 0) throw gateForbidden(changed);
      const after = withInput(before, input);
      // Explicit undefined, so that a removed gate does not survive the merge with `before`.
      const model: Partial<Model> = {
        ...after,
        minValidationRows: after.minValidationRows,
        requiredThresholds: after.requiredThresholds,
        promotionGate: after.promotionGate,
      };
      return { model, audit: { before: publicModel(before), after: publicModel(after) } };
    });
  }

  async overview(name: string): Promise<ModelOverview> {
    const model = await this.records.getModel(name);
    const versionsByStage = Object.fromEntries(STAGES.map((s) => [s, [] as string[]])) as Record<
      Stage,
      string[]
    >;
    for await (const v of this.allVersions(name)) versionsByStage[v.stage].push(v.version);
    return {
      model,
      versionsByStage,
      aliases: aliasesOf(model),
    };
  }

  getVersion(name: string, version: string): Promise<ModelVersion> {
    return this.records.getVersion(name, version);
  }

  /** Changes a version's description and tags, audited with before and after. */
  async updateVersion(
    principal: Principal,
    name: string,
    version: string,
    input: UpdateVersionInput,
  ): Promise<ModelVersion> {
    const v = await this.records.getVersion(name, version);
    return this.records.updateVersion(principal, v, 'version.update', (cur) => ({
      ...cur,
      description: input.description ?? cur.description,
      tags: input.tags ?? cur.tags,
    }));
  }

  async listVersions(name: string, query: PageRequest & { stage?: Stage }): Promise<Page<ModelVersion>> {
    await this.records.getModel(name);
    return this.records.store.listVersions(name, query);
  }

  /** Every version of a model, page by page: a model's versions are few (hundreds at most). */
  private allVersions(name: string): AsyncGenerator<ModelVersion> {
    return everyItem((page) => this.listVersions(name, page));
  }
}

/** Every model's production version, reading only the registry (no artifacts, no audit). */
export async function* productionVersions(
  store: Pick<RegistryStore, 'listModels'>,
): AsyncGenerator<{ model: string; version: string }> {
  for await (const m of everyItem((page) => store.listModels(page))) {
    if (m.productionVersion) yield { model: m.name, version: m.productionVersion };
  }
}

function publicModel(m: Model): Record<string, unknown> {
  return {
    description: m.description,
    tags: m.tags,
    requireValidation: m.requireValidation,
    fallback: m.fallback ?? true,
    allowUnservableProduction: m.allowUnservableProduction ?? false,
    minValidationRows: m.minValidationRows ?? null,
    requiredThresholds: m.requiredThresholds ?? null,
    promotionGate: m.promotionGate ?? null,
  };
}

/** The model with an update applied; null removes an optional gate. */
function withInput(before: Model, input: UpdateModelInput): Model {
  const { minValidationRows: _rows, requiredThresholds: _thresholds, promotionGate: _gate, ...rest } = before;
  const gate = input.promotionGate === undefined ? before.promotionGate : input.promotionGate;
  const rows = input.minValidationRows === undefined ? before.minValidationRows : input.minValidationRows;
  const thresholds =
    input.requiredThresholds === undefined ? before.requiredThresholds : input.requiredThresholds;
  return {
    ...rest,
    description: input.description ?? before.description,
    tags: input.tags ?? before.tags,
    requireValidation: input.requireValidation ?? before.requireValidation,
    fallback: input.fallback ?? before.fallback ?? true,
    allowUnservableProduction: input.allowUnservableProduction ?? before.allowUnservableProduction ?? false,
    ...(rows != null ? { minValidationRows: rows } : {}),
    ...(thresholds != null ? { requiredThresholds: thresholds } : {}),
    ...(gate != null ? { promotionGate: gate } : {}),
  };
}

/** The gate fields an update would change (naming a field with its current value changes nothing). */
function gateChanges(before: Model, input: UpdateModelInput): GateField[] {
  const was = publicModel(before);
  const will = publicModel(withInput(before, input));
  return GATE_FIELDS.filter((f) => !sameValue(was[f], will[f]));
}

function gateForbidden(fields: readonly GateField[]) {
  return forbidden(`only an admin may change the promotion gates (${fields.join(', ')})`, {
    fields,
    needs: 'admin',
  });
}

function pick(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}

/** Deep equality of JSON values, whatever the order of object keys (a store may reorder them). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return (
    ka.length === kb.length &&
    ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}
