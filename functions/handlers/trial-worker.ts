/**
 * SQS worker: one trial of a fanned-out retraining search per message (RetrainService.runTrial):
 * the candidate's cross-validation, its result stored once, and the continuation that gathers
 * the rung sent by whichever trial completes it.
 */
import { TrialMessage } from '../contract/messages.js';
import { lambdaHandler, queueEntry } from './entry.js';
import { retrainService } from './retraining-wiring.js';
import { type Env, makeLogger } from './shared.js';

const logger = makeLogger('trial-worker');

export function createHandler(env: Env = process.env) {
  const service = retrainService(env);
  return queueEntry({
    logger,
    schema: TrialMessage,
    name: 'trial',
    handle: async (message) => {
      await service.runTrial(message);
      logger.info('trial handled', { ...message });
    },
  });
}

export const handler = await lambdaHandler(createHandler);
