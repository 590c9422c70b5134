/**
 * Aliases: named pointers from a model to one of its versions (champion, challenger, shadow…), as
 * MLflow has them. They are data on the model, set and removed by people, audited, and served by
 * name. Two names are the registry's own and cannot be set: `production`, which moves only
 * through promotion and rollback (with their gates and four eyes), and `latest`, the highest
 * registered version.
 */
import type { Principal } from '../auth/principal.js';
import { conflict, notFound, validationFailed } from '../kernel/errors.js';
import type { RegistryRecords } from './records.js';
import type { Model } from './types.js';

export const MANAGED_ALIASES = ['production', 'latest'] as const;

/** Lower-case words joined by '-' or '_': readable in URLs, never mistaken for a version. */
export const ALIAS_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;

/** Every alias of a model, managed ones included (null where they point nowhere yet). */
export interface AliasMap {
  readonly production: string | null;
  readonly latest: string | null;
  readonly [alias: string]: string | null;
}

export function aliasesOf(model: Model): AliasMap {
  return {
    ...(model.aliases ?? {}),
    production: model.productionVersion ?? null,
    latest: model.latestVersion ?? null,
  };
}

/** The version an alias points at, or undefined when it points nowhere (or does not exist). */
export function aliasTarget(model: Model, alias: string): string | undefined {
  if (alias === 'production') return model.productionVersion;
  if (alias === 'latest') return model.latestVersion;
  return model.aliases?.[alias];
}

export function isManagedAlias(alias: string): boolean {
  return (MANAGED_ALIASES as readonly string[]).includes(alias);
}

function checkSettable(alias: string): void {
  if (isManagedAlias(alias)) {
    throw validationFailed(
      alias === 'production'
        ? 'alias production is moved only by promotion and rollback; transition a version to production instead'
        : 'alias latest always names the highest registered version; it cannot be set',
      { alias, managed: true },
    );
  }
  if (!ALIAS_PATTERN.test(alias)) {
    throw validationFailed('an alias is a lower-case letter, then up to 62 letters, digits, - or _', {
      alias,
    });
  }
}

export class Aliases {
  constructor(private readonly records: RegistryRecords) {}

  /** Points `alias` at `version` (creating or moving it). The version must be able to serve. */
  async set(principal: Principal, name: string, alias: string, version: string): Promise<AliasMap> {
    checkSettable(alias);
    const target = await this.records.getVersion(name, version);
    if (target.status !== 'ready') {
      throw conflict(`version ${version} is ${target.status}; only a verified version can carry an alias`, {
        model: name,
        version,
        status: target.status,
      });
    }
    const after = await this.records.updateModel(principal, name, 'alias.set', (before) => {
      const previous = before.aliases?.[alias];
      if (previous === version) return undefined;
      return {
        model: { aliases: { ...(before.aliases ?? {}), [alias]: version } },
        audit: { version, before: { alias, version: previous ?? null }, after: { alias, version } },
      };
    });
    return aliasesOf(after);
  }

  async remove(principal: Principal, name: string, alias: string): Promise<AliasMap> {
    checkSettable(alias);
    const after = await this.records.updateModel(principal, name, 'alias.delete', (before) => {
      const previous = before.aliases?.[alias];
      if (previous === undefined) {
        throw notFound(`model ${name} has no alias ${alias}`, { model: name, alias });
      }
      const { [alias]: _removed, ...rest } = before.aliases ?? {};
      return {
        model: { aliases: rest },
        audit: { version: previous, before: { alias, version: previous }, after: null },
      };
    });
    return aliasesOf(after);
  }
}
