/**
 * Soft deletion of models and versions, by people (DELETE routes) and by the integrity sweep
 * (pending uploads past their deadline). The item is kept, marked `deleted`, and the store hides
 * it from every read and listing; the audit trail stays; the artifact is tagged so the bucket's
 * lifecycle rule removes it after the retention period. A deleted version's number is never
 * handed out again (Model.highestVersion), and a deleted model's name stays taken, so an audit
 * trail always describes one model.
 *
 * The model's counters change in the same commit as the version: versionCount counts versions
 * that are not deleted, latestVersion is the highest of them, and aliases pointing at a deleted
 * version are removed with it.
 */

import type { Principal } from '../auth/principal.js';
import { conflict } from '../kernel/errors.js';
import { allItems, everyItem } from '../kernel/paging.js';
import type { ExpiredUpload, RegistryStore } from './ports.js';
import type { RegistryRecords } from './records.js';
import { compareSemver } from './semver.js';
import type { Deletion, Model, ModelVersion } from './types.js';

/**
 * Something outside the registry that still relies on a model or version and must refuse its
 * deletion: it answers why, or undefined. Experiments register one ("in a running experiment")
 * through RegistryDeps.deletionGuards; the registry itself checks production.
 */
export type DeletionGuard = (target: {
  readonly model: string;
  readonly version?: string;
}) => Promise<string | undefined>;

export interface DeletionResult {
  readonly model: string;
  readonly version?: string;
  readonly deleted: Deletion;
  /** Artifacts handed to the lifecycle rule, and those whose tagging failed (left in place). */
  readonly artifacts: { readonly released: number; readonly failed: number };
}

export class Deletions {
  constructor(private readonly records: RegistryRecords) {}

  async deleteVersion(principal: Principal, name: string, version: string): Promise<DeletionResult> {
    const removed = await this.records.retrying(async () => {
      const model = await this.records.getModel(name);
      const v = await this.records.getVersion(name, version);
      await this.assertDeletable(model, v.version);
      return this.commitVersionDeletion(principal, model, v, 'deleted');
    });
    return { ...removed.result, artifacts: await this.release([removed.key]) };
  }

  /**
   * Deletes a pending version whose upload deadline has passed (the sweep's work). Anything else
   * (completed meanwhile, already gone, not yet expired) is left alone: false.
   */
  async expireUpload(principal: Principal, name: string, version: string): Promise<boolean> {
    const removed = await this.records.retrying(async () => {
      const model = await this.records.store.getModel(name);
      const v = await this.records.store.getVersion(name, version);
      const expired =
        v?.status === 'pending' && v.uploadExpiresAt !== undefined && v.uploadExpiresAt <= this.records.now();
      if (!model || !v || !expired) return undefined;
      return this.commitVersionDeletion(principal, model, v, 'upload expired');
    });
    if (!removed) return false;
    await this.release([removed.key]);
    return true;
  }

  async deleteModel(principal: Principal, name: string): Promise<DeletionResult> {
    const deleted = await this.records.retrying(async () => {
      const model = await this.records.getModel(name);
      await this.assertDeletable(model);
      const deleted: Deletion = { at: this.records.now(), by: principal.id, reason: 'deleted' };
      await this.records.store.commit([
        {
          kind: 'model',
          item: { ...model, deleted, updatedAt: deleted.at, revision: model.revision + 1 },
          expectRevision: model.revision,
        },
        this.records.audit(principal, 'model.delete', {
          model: name,
          before: { versionCount: model.versionCount, latestVersion: model.latestVersion ?? null },
          after: { deleted },
        }),
      ]);
      return deleted;
    });
    // The model is gone for every reader now; its versions' artifacts follow it out of the bucket.
    const versions = await allItems((page) => this.records.store.listVersions(name, page));
    const keys = versions.map((v) => v.artifact.key);
    return { model: name, deleted, artifacts: await this.release(keys) };
  }

  /** Production (and whatever a guard protects) cannot be deleted; archive or roll back first. */
  private async assertDeletable(model: Model, version?: string): Promise<void> {
    if (
      model.productionVersion !== undefined &&
      (version === undefined || version === model.productionVersion)
    ) {
      throw conflict(
        version === undefined
          ? `model ${model.name} has a production version (${model.productionVersion}); archive it first`
          : `version ${version} is in production; promote another version or archive it first`,
        { model: model.name, productionVersion: model.productionVersion },
      );
    }
    for (const guard of this.records.deps.deletionGuards ?? []) {
      const reason = await guard({ model: model.name, version });
      if (reason !== undefined) {
        throw conflict(`${version === undefined ? `model ${model.name}` : `version ${version}`} ${reason}`, {
          model: model.name,
          version,
        });
      }
    }
  }

  /** One attempt: the version marked deleted and the model's counters and aliases, atomically. */
  private async commitVersionDeletion(
    principal: Principal,
    model: Model,
    v: ModelVersion,
    reason: Deletion['reason'],
  ): Promise<{ result: Omit<DeletionResult, 'artifacts'>; key: string }> {
    const deleted: Deletion = { at: this.records.now(), by: principal.id, reason };
    const aliases = Object.fromEntries(
      Object.entries(model.aliases ?? {}).filter(([, target]) => target !== v.version),
    );
    const removedAliases = Object.keys(model.aliases ?? {}).filter((a) => !(a in aliases));
    const latestVersion =
      model.latestVersion === v.version
        ? await this.highestOther(model.name, v.version)
        : model.latestVersion;
    const after: Model = {
      ...model,
      aliases,
      latestVersion,
      highestVersion: model.highestVersion ?? model.latestVersion,
      versionCount: Math.max(0, model.versionCount - 1),
      updatedAt: deleted.at,
      revision: model.revision + 1,
    };
    await this.records.store.commit([
      { kind: 'model', item: after, expectRevision: model.revision },
      {
        kind: 'version',
        item: { ...v, deleted, updatedAt: deleted.at, revision: v.revision + 1 },
        expectRevision: v.revision,
      },
      this.records.audit(principal, reason === 'deleted' ? 'version.delete' : 'version.expire', {
        model: model.name,
        version: v.version,
        before: { status: v.status, stage: v.stage, aliases: removedAliases },
        after: { deleted, latestVersion: latestVersion ?? null },
      }),
    ]);
    return { result: { model: model.name, version: v.version, deleted }, key: v.artifact.key };
  }

  /** The highest version other than `except` that is not deleted (versions are listed in order). */
  private async highestOther(name: string, except: string): Promise<string | undefined> {
    let best: string | undefined;
    for await (const v of everyItem((page) => this.records.store.listVersions(name, page))) {
      if (v.version !== except && (!best || compareSemver(v.version, best) > 0)) best = v.version;
    }
    return best;
  }

  private async release(keys: readonly string[]): Promise<DeletionResult['artifacts']> {
    const results = await Promise.allSettled(keys.map((k) => this.records.deps.artifacts.release(k)));
    const failed = results.filter((r) => r.status === 'rejected').length;
    return { released: keys.length - failed, failed };
  }
}

/** Every pending version whose upload deadline is before `now`, for the integrity sweep. */
export function expiredUploads(
  store: Pick<RegistryStore, 'listExpiredUploads'>,
  now: string,
): AsyncGenerator<ExpiredUpload> {
  return everyItem((page) => store.listExpiredUploads(now, page));
}
