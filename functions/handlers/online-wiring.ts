/**
 * Composition of online learning from a function's environment: the online worker (learns,
 * registers snapshots), the monitoring API (shows and resets learners) and the inference
 * function's feedback path (sends labelled predictions to the online queue when the model's
 * policy turns online learning on). Environment: SERVAL_TABLE_PREDICTIONS, SERVAL_TABLE_MONITORING,
 * SERVAL_TABLE_REGISTRY, SERVAL_TABLE_AUDIT; SERVAL_BUCKET_ARTIFACTS (the worker);
 * SERVAL_QUEUE_ONLINE (inference).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { documentClient, sqsClient } from '../adapters/aws-clients.js';
import { DynamoMonitoringStore } from '../adapters/dynamo-monitoring.js';
import { DynamoOnlineStore } from '../adapters/dynamo-online.js';
import { QueueSender } from '../adapters/sqs-sender.js';
import { systemClock, ulids } from '../adapters/system.js';
import { QUEUES, TABLES } from '../contract/resources.js';
import type { FeedbackResult } from '../core/inference/ports.js';
import { OnlineLearningPolicy } from '../core/monitoring/policy.js';
import { OnlineLearning, type OnlineRegistry } from '../core/online/worker.js';
import { artifactStore, type Env, envValue, registryServices, registryStore } from './shared.js';

/** The model's online-learning policy (defaults when the stored policy predates the block). */
export function onlinePolicyReader(env: Env): (model: string) => Promise<OnlineLearningPolicy | undefined> {
  // The adapter alone (not monitoring-wiring's service): the inference function's cold start reads this.
  const store = new DynamoMonitoringStore(documentClient(), {
    monitoring: envValue(env, TABLES.monitoring.env),
  });
  return async (model) => {
    const policy = await store.getPolicy(model);
    return policy ? OnlineLearningPolicy.parse(policy.onlineLearning ?? {}) : undefined;
  };
}

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

/** How long the feedback path trusts a model's cached policy. */
export const ONLINE_POLICY_CACHE_MS = 30_000;

/** Whether a model learns online, each answer trusted for ONLINE_POLICY_CACHE_MS. */
export function onlineEnabled(env: Env, now: () => number = Date.now): (model: string) => Promise<boolean> {
  const policy = onlinePolicyReader(env);
  const cache = new Map<string, { enabled: boolean; until: number }>();
  return async (model) => {
    const hit = cache.get(model);
    if (hit && hit.until > now()) return hit.enabled;
    const on = (await policy(model))?.enabled ?? false;
    cache.set(model, { enabled: on, until: now() + ONLINE_POLICY_CACHE_MS });
    return on;
  };
}

/**
 * Where captures are recorded (the capture worker, the inference function's spill): whether a
 * model's prediction items keep their instances, which only its online learner reads. Unbound to
 * the monitoring table, none do.
 */
export function instancesKeptFor(env: Env): ((model: string) => Promise<boolean>) | undefined {
  return env[TABLES.monitoring.env] ? onlineEnabled(env) : undefined;
}

/**
 * The feedback path's side of online learning: labelled predictions of models whose policy turns
 * it on go to the online queue, one message per model. Duplicates go too: the worker reads the
 * stored label and applies each prediction once, so a retry after a failed send loses nothing.
 */
export function onlineFeedbackSender(
  env: Env,
  now: () => number = Date.now,
): ((results: readonly FeedbackResult[]) => Promise<void>) | undefined {
  const url = env[QUEUES.online.env];
  if (!url) return undefined;
  const sender = new QueueSender<'online'>(sqsClient(), url, 'online-learning samples');
  const enabled = onlineEnabled(env, now);
  return async (results) => {
    const byModel = new Map<string, string[]>();
    for (const r of results) {
      if (r.status === 'unknown' || !r.model) continue;
      const ids = byModel.get(r.model) ?? [];
      ids.push(r.predictionId);
      byModel.set(r.model, ids);
    }
    const messages = [];
    for (const [model, predictionIds] of byModel)
      if (await enabled(model)) messages.push({ model, predictionIds });
    if (messages.length > 0) await sender.send(messages);
  };
}
