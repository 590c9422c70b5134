/**
 * What serving needs from the registry only when a version fails (integrity check, load error,
 * fallback): the registry services with their lifecycle events, alerts and webhooks. Imported on
 * the first failure, not at init, so predict's cold start does not evaluate the registry's import
 * formats, archives, monitoring and SNS.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { InferenceDeps } from '../core/inference/service.js';
import type { ArtifactStore } from '../core/registry/ports.js';
import { lifecycleEvents } from './registry-events.js';
import { registryServices } from './registry-wiring.js';
import type { Env, registryStore } from './shared.js';

export function failureRecorder(
  env: Env,
  store: ReturnType<typeof registryStore>,
  artifacts: ArtifactStore,
  logger: Logger,
): InferenceDeps['registry'] {
  return registryServices(env, store, artifacts, lifecycleEvents(env, logger, { alerts: true }));
}
