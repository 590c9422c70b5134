/**
 * Scheduled (EventBridge, every 15 minutes): the retraining triggers that no check raises — a
 * model's schedule, and enough labelled predictions since its last job (docs/retraining.md,
 * "Triggers"). Each firing goes through RetrainService.request: one active job per model, so an
 * overlapping run records a duplicate on the job rather than queueing a second one.
 */
import { TABLES } from '../contract/resources.js';
import { lambdaHandler, scheduleEntry } from './entry.js';
import { retrainTriggers } from './retrain-triggers-wiring.js';
import { type Env, envValue, makeLogger } from './shared.js';

const logger = makeLogger('retrain-scheduler');

export function createHandler(env: Env = process.env) {
  // Unbound to the jobs table there are no triggers: say which variable is missing, at creation.
  envValue(env, TABLES.jobs.env);
  const triggers = retrainTriggers(env);
  if (!triggers) throw new Error('the retrain scheduler is not bound to the jobs table');
  return scheduleEntry(logger, async () => {
    const outcomes = await triggers.tick();
    for (const o of outcomes) logger.info('retraining trigger evaluated', { ...o });
    return { evaluated: outcomes.length, queued: outcomes.filter((o) => o.jobId && !o.refused).length };
  });
}

export const handler = await lambdaHandler(createHandler);
