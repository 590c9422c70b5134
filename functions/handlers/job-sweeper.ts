/**
 * Scheduled (EventBridge, every 5 minutes): running retraining jobs whose heartbeat is older than
 * the stale timeout are resumed from their checkpoint (a continuation on the retrain queue), or
 * failed with a clear error when they never wrote one.
 */
import { lambdaHandler, scheduleEntry } from './entry.js';
import { retrainService } from './retraining-wiring.js';
import { type Env, makeLogger } from './shared.js';

const logger = makeLogger('job-sweeper');

export function createHandler(env: Env = process.env) {
  const service = retrainService(env);
  return scheduleEntry(logger, async () => {
    const swept = await service.sweep();
    logger.info('retraining jobs swept', { ...swept });
    return swept;
  });
}

export const handler = await lambdaHandler(createHandler);
