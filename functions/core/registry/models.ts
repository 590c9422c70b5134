/** Models and the reading of their versions: create, read, list, update, and a model's overview. */
import type { Principal } from '../auth/principal.js';
import { conflict, isConcurrentModification } from '../kernel/errors.js';
import { everyItem, type Page, type PageRequest } from '../kernel/paging.js';
import { type AliasMap, aliasesOf } from './aliases.js';
import type { ModelQuery, RegistryStore } from './ports.js';
import type { RegistryRecords } from './records.js';
import { type Model, type ModelVersion, STAGES, type Stage, type Tags } from './types.js';

export interface CreateModelInput {
  readonly name: string;
  readonly description?: string;
  readonly tags?: Tags;
  readonly requireValidation?: boolean;
  readonly fallback?: boolean;
  readonly allowUnservableProduction?: boolean;
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

  update(principal: Principal, name: string, input: UpdateModelInput): Promise<Model> {
    return this.records.updateModel(principal, name, 'model.update', (before) => {
      const model = {
        description: input.description ?? before.description,
        tags: input.tags ?? before.tags,
        requireValidation: input.requireValidation ?? before.requireValidation,
        fallback: input.fallback ?? before.fallback ?? true,
        allowUnservableProduction:
          input.allowUnservableProduction ?? before.allowUnservableProduction ?? false,
      };
      return { model, audit: { before: publicModel(before), after: publicModel({ ...before, ...model }) } };
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

/**
 * Whether a model belongs in a listing: not deleted, `q` a case-insensitive substring of its name
 * or description, and every tag filter among its tags. Both stores page with it, so a page is
 * filled with matches rather than cut short by them.
 */
export function matchesModelQuery(m: Model, query: Pick<ModelQuery, 'q' | 'tags'>): boolean {
  if (m.deleted) return false;
  if (query.q) {
    const needle = query.q.toLowerCase();
    if (!m.name.toLowerCase().includes(needle) && !m.description.toLowerCase().includes(needle)) {
      return false;
    }
  }
  return (query.tags ?? []).every((t) => Object.hasOwn(m.tags, t.key) && m.tags[t.key] === t.value);
}

function publicModel(m: Model): Record<string, unknown> {
  return {
    description: m.description,
    tags: m.tags,
    requireValidation: m.requireValidation,
    fallback: m.fallback ?? true,
    allowUnservableProduction: m.allowUnservableProduction ?? false,
  };
}
