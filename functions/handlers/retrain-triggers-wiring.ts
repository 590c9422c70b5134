/**
 * Composition of the automatic retraining triggers (core/retraining/triggers.ts) for the
 * functions where their facts arise: the drift worker and the monitoring API (after a check),
 * and the retrain scheduler (schedule, new labels). Environment: SERVAL_TABLE_MONITORING,
 * SERVAL_TABLE_JOBS, SERVAL_TABLE_REGISTRY, SERVAL_TABLE_AUDIT, SERVAL_QUEUE_RETRAIN, and
 * SERVAL_TABLE_PREDICTIONS for the label count. A function not bound to the jobs table has no
 * triggers (undefined).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { documentClient } from '../adapters/aws-clients.js';
import { DynamoJobStore } from '../adapters/dynamo-jobs.js';
import { systemClock, ulids } from '../adapters/system.js';
import { TABLES } from '../contract/resources.js';
import { allItems } from '../core/kernel/paging.js';
import { MonitoringPolicy } from '../core/monitoring/policy.js';
import { RetrainTriggers } from '../core/retraining/triggers.js';
import { monitoringStore } from './monitoring-wiring.js';
import { retrainService } from './retraining-wiring.js';
import { type Env, envValue, predictionStore } from './shared.js';

export function retrainTriggers(env: Env): RetrainTriggers | undefined {
  if (!env[TABLES.jobs.env]) return undefined;
  const monitoring = monitoringStore(env);
  const retrain = retrainService(env);
  // Stored policies predate the retraining block: parsing fills its defaults (every trigger off).
  const parse = (p: unknown) => MonitoringPolicy.parse(p).retraining;
  return new RetrainTriggers({
    policy: async (model) => {
      const stored = await monitoring.getPolicy(model);
      return stored ? parse(stored) : undefined;
    },
    policies: async () =>
      (await allItems((page) => monitoring.listPolicies(page))).map((p) => ({
        model: p.model,
        retraining: parse(p.policy),
      })),
    reports: async (model, limit) => (await monitoring.listReports(model, { limit })).items,
    openAlerts: (model) => allItems((page) => monitoring.listAlerts({ ...page, model, status: 'open' })),
    countLabels: async (model, from, to, atMost) => {
      if (!env[TABLES.predictions.env]) throw new Error('this function cannot count labelled predictions');
      return (await predictionStore(env).labelled(model, from, to, { limit: atMost })).rows.length;
    },
    jobs: new DynamoJobStore(documentClient(), envValue(env, TABLES.jobs.env), env[TABLES.audit.env]),
    retrain,
    clock: systemClock,
    ids: ulids,
  });
}

/**
 * After a drift check: a trigger that cannot be evaluated never fails the check, whose report is
 * stored; the next check evaluates the same stored reports again.
 */
export async function afterDriftCheck(
  triggers: RetrainTriggers | undefined,
  model: string,
  logger: Logger,
): Promise<void> {
  if (!triggers) return;
  try {
    const outcome = await triggers.afterCheck(model);
    if (outcome) logger.info('retraining trigger evaluated', { ...outcome });
  } catch (err) {
    logger.error('retraining triggers could not be evaluated', { model, error: err as Error });
  }
}
