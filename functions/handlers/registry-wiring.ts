/**
 * The registry's services over its stores, for the functions that change the registry. Apart
 * from shared.ts so that functions which only read the registry (inference) do not load the
 * registry's rules at init.
 */
import type { DynamoRegistryStore } from '../adapters/dynamo-registry.js';
import { systemClock, ulids } from '../adapters/system.js';
import type { ArtifactStore } from '../core/registry/ports.js';
import type { RegistryDeps } from '../core/registry/records.js';
import { type RegistryServices, registryServices as servicesOver } from '../core/registry/services.js';
import { artifactStore, type Env, registryStore } from './shared.js';

/**
 * `store`: pass one already built for the same environment, so a handler keeps one client.
 * `announce`: where lifecycle events go (registry-events.ts builds it); without it, changes are
 * audited but not announced. `deletionGuards`: what outside the registry refuses deletions.
 */
export function registryServices(
  env: Env,
  store: DynamoRegistryStore = registryStore(env),
  artifacts: ArtifactStore = artifactStore(env),
  announce: Pick<RegistryDeps, 'events' | 'log' | 'deletionGuards' | 'imports' | 'runner' | 'alerts'> = {},
): RegistryServices {
  return servicesOver({
    store,
    artifacts,
    clock: systemClock,
    ids: ulids,
    ...announce,
  });
}
