/**
 * Composition of online learning from a function's environment: the online worker (learns,
 * registers snapshots) and the monitoring API (shows and resets learners). The serving side (the
 * policy check, the feedback path's sends) is online-serving.ts. Environment:
 * SERVAL_TABLE_PREDICTIONS, SERVAL_TABLE_MONITORING, SERVAL_TABLE_REGISTRY, SERVAL_TABLE_AUDIT;
 * SERVAL_BUCKET_ARTIFACTS.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { documentClient } from '../adapters/aws-clients.js';
import { DynamoOnlineStore } from '../adapters/dynamo-online.js';
import { systemClock, ulids } from '../adapters/system.js';
import { TABLES } from '../contract/resources.js';
import { OnlineLearning, type OnlineRegistry } from '../core/online/worker.js';
import { onlinePolicyReader } from './online-serving.js';
import { registryServices } from './registry-wiring.js';
import { artifactStore, type Env, envValue, registryStore } from './shared.js';

function registryPort(env: Env): OnlineRegistry {
  const store = registryStore(env);
  let services: ReturnType<typeof registryServices> | undefined;
  let artifacts: ReturnType<typeof artifactStore> | undefined;
  // Built on first use: the monitoring API only reads models, and is bound to no model writes.
  const registry = () => {
    artifacts ??= artifactStore(env);
    services ??= registryServices(env, store, artifacts);
    return services;
  };
  return {
    getModel: (name) => store.getModel(name),
    getVersion: (name, version) => store.getVersion(name, version),
    artifact: (v) => {
      artifacts ??= artifactStore(env);
      return artifacts.get(v.artifact.key, v.artifact.versionId);
    },
    registerStaging: async (principal, name, input) => {
      const r = registry();
      const { version } = await r.artifacts.register(principal, name, input);
      await r.lifecycle.transition(principal, name, version.version, 'testing', 'online-learning snapshot');
      return r.lifecycle.transition(principal, name, version.version, 'staging', 'online-learning snapshot');
    },
    recordValidation: async (principal, name, version, report) => {
      await registry().validation.record(principal, name, version, report);
    },
  };
}

export function onlineLearning(
  env: Env,
  log?: { info(message: string, extra?: Record<string, unknown>): void },
): OnlineLearning {
  const store = new DynamoOnlineStore(
    documentClient(),
    envValue(env, TABLES.predictions.env),
    env[TABLES.audit.env],
  );
  return new OnlineLearning({
    store,
    captures: store,
    policy: onlinePolicyReader(env),
    registry: registryPort(env),
    clock: systemClock,
    ids: ulids,
    sleep: (ms) => sleep(ms),
    ...(log ? { log } : {}),
  });
}
