/**
 * The serving side of online learning, in the inference function and the capture worker: whether
 * a model learns online (its policy, cached), and the feedback path's send of labelled
 * predictions to the online queue. The learner itself is composed in online-wiring.ts, which
 * predict's cold start does not load. Environment: SERVAL_TABLE_MONITORING, SERVAL_QUEUE_ONLINE.
 */
import { documentClient } from '../adapters/aws-clients.js';
import type { DynamoMonitoringStore } from '../adapters/dynamo-monitoring.js';
import { deferredSqsClient } from '../adapters/sqs-deferred.js';
import { QueueSender } from '../adapters/sqs-sender.js';
import { QUEUES, TABLES } from '../contract/resources.js';
import type { FeedbackResult } from '../core/inference/ports.js';
import type { OnlineLearningPolicy } from '../core/monitoring/policy.js';
import { type Env, envValue } from './shared.js';

/** The model's online-learning policy (defaults when the stored policy predates the block). */
export function onlinePolicyReader(env: Env): (model: string) => Promise<OnlineLearningPolicy | undefined> {
  // The adapter alone (not monitoring-wiring's service), and it and the policy's schemas imported
  // on first use (feedback, a capture spill): the inference function builds this at init, and
  // predict's cold start loads neither.
  const monitoring = envValue(env, TABLES.monitoring.env);
  let store: Promise<DynamoMonitoringStore> | undefined;
  return async (model) => {
    store ??= import('../adapters/dynamo-monitoring.js').then(
      ({ DynamoMonitoringStore }) => new DynamoMonitoringStore(documentClient(), { monitoring }),
    );
    const policy = await (await store).getPolicy(model);
    if (!policy) return undefined;
    const { OnlineLearningPolicy } = await import('../core/monitoring/policy.js');
    return OnlineLearningPolicy.parse(policy.onlineLearning ?? {});
  };
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
  const sender = new QueueSender<'online'>(deferredSqsClient(), url, 'online-learning samples');
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
