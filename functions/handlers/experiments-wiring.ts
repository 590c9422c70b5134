/**
 * Composition of experiments from a function's environment, for the experiments API, the analysis
 * scheduler and worker, serving (inference, capture worker) and the registry's deletion guard.
 *
 * Environment: SERVAL_TABLE_EXPERIMENTS (required); SERVAL_TABLE_AUDIT (to create and change
 * experiments); SERVAL_TABLE_REGISTRY (the service: variants are registry versions, and conclude
 * promotes through the registry's lifecycle); SERVAL_TABLE_MONITORING and SERVAL_QUEUE_WEBHOOKS
 * (events, and the alert of a rolled-back canary).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { documentClient } from '../adapters/aws-clients.js';
import { DynamoExperimentStore } from '../adapters/dynamo-experiments.js';
import { systemClock, ulids } from '../adapters/system.js';
import { BUCKETS, TABLES } from '../contract/resources.js';
import type { Experiment } from '../core/experiments/definition.js';
import type { ExperimentNotices, ExperimentRegistry } from '../core/experiments/ports.js';
import { ExperimentService } from '../core/experiments/service.js';
import { allItems } from '../core/kernel/paging.js';
import type { DeletionGuard } from '../core/registry/deletion.js';
import type { ArtifactStore } from '../core/registry/ports.js';
import { monitoringService, openAlertsReader } from './monitoring-wiring.js';
import { lifecycleEvents } from './registry-events.js';
import { registryServices } from './registry-wiring.js';
import { artifactStore, type Env, envValue, makeLogger, registryStore } from './shared.js';
import { eventPublisher } from './webhooks-wiring.js';

export function experimentStore(env: Env): DynamoExperimentStore {
  return new DynamoExperimentStore(documentClient(), envValue(env, TABLES.experiments.env), {
    auditTable: env[TABLES.audit.env],
  });
}

/**
 * Promotion moves production and nothing else: it never touches an artifact, so a function bound
 * to no bucket gets a store that says so if it were ever asked.
 */
const NO_ARTIFACTS = new Proxy({} as ArtifactStore, {
  get: (_target, method) => () =>
    Promise.reject(new Error(`experiments have no artifacts bucket (ArtifactStore.${String(method)})`)),
});

function registryPort(env: Env, logger: Logger): ExperimentRegistry {
  const store = registryStore(env);
  const artifacts = env[BUCKETS.artifacts.env] ? artifactStore(env) : NO_ARTIFACTS;
  // Promotions announce version.promoted like any other; the registry's rules decide them.
  const registry = registryServices(env, store, artifacts, {
    ...lifecycleEvents(env, logger),
    // The promotion gate's quality-alert rule applies to a concluded experiment's winner too.
    ...(env[TABLES.monitoring.env] ? { alerts: openAlertsReader(env) } : {}),
  });
  return {
    getModel: (name) => store.getModel(name),
    getVersion: (model, version) => store.getVersion(model, version),
    promote: async (principal, model, version, comment) => {
      await registry.lifecycle.transition(principal, model, version, 'production', comment);
    },
  };
}

function notices(env: Env): ExperimentNotices {
  const publisher = eventPublisher(env);
  return {
    alert: async (a) => {
      await monitoringService(env).raiseOperationalAlert({
        kind: 'experiment',
        key: a.experimentId,
        model: a.model,
        severity: a.severity,
        title: a.title,
        recommendation: a.message,
        details: a.details,
      });
    },
    event: (type, data) =>
      publisher.publish({ id: ulids.next(), type, at: systemClock.now().toISOString(), data }),
  };
}

export function experimentService(env: Env, logger: Logger = makeLogger('experiments')): ExperimentService {
  return new ExperimentService({
    store: experimentStore(env),
    registry: registryPort(env, logger),
    notices: notices(env),
    clock: systemClock,
    ids: ulids,
    log: { warn: (message, extra) => logger.warn(message, extra ?? {}) },
  });
}

/**
 * The registry's guard: a version a running or paused experiment uses (and a model with such an
 * experiment) cannot be deleted, since serving would route subjects to it or resume with it.
 */
export function experimentDeletionGuard(env: Env): DeletionGuard {
  return async ({ model, version }) => {
    const store = experimentStore(env);
    const running = await store.running(model);
    const paused = await allItems((page) => store.list({ ...page, model, state: 'paused' }));
    const using = [...(running ? [running] : []), ...paused].filter(
      (e: Experiment) => version === undefined || e.variants.some((v) => v.version === version),
    );
    const e = using[0];
    if (!e) return undefined;
    return `is used by the ${e.state} experiment ${e.id} (${e.name}); conclude it first`;
  };
}
