/**
 * SQS worker for online learning: each message is one feedback request's labelled predictions of
 * one model, applied to the model's learner (functions/core/online/worker.ts) under conditional
 * writes on its revision, each sample once. A message whose writers kept losing the race throws
 * and comes back alone (partial batch response); the samples it had applied are not applied again.
 */
import { OnlineMessage } from '../contract/messages.js';
import { lambdaHandler, queueEntry } from './entry.js';
import { onlineLearning } from './online-wiring.js';
import { type Env, makeLogger } from './shared.js';

const logger = makeLogger('online-worker');

export function createHandler(env: Env = process.env) {
  const online = onlineLearning(env, { info: (message, extra) => logger.info(message, extra ?? {}) });
  return queueEntry({
    logger,
    schema: OnlineMessage,
    name: 'online',
    handle: async (message) => {
      const outcome = await online.handle(message.model, message.predictionIds);
      logger.info('online samples handled', { ...outcome });
    },
  });
}

export const handler = await lambdaHandler(createHandler);
