/**
 * Scheduled (EventBridge, every minute): enqueues one analysis per running experiment. The
 * analysis itself (results snapshot, a canary's step) runs in the worker, one message each, so a
 * slow or failing experiment holds up no other and ends in the DLQ on its own.
 */
import type { ScheduledEvent } from 'aws-lambda';
import { sqsClient } from '../adapters/sqs-client.js';
import { QueueSender } from '../adapters/sqs-sender.js';
import { QUEUES } from '../contract/resources.js';
import { lambdaHandler, scheduleEntry } from './entry.js';
import { enqueueRunning } from './experiments-analysis.js';
import { experimentStore } from './experiments-wiring.js';
import { type Env, envValue, makeLogger } from './shared.js';

const logger = makeLogger('experiments-scheduler');

export function createHandler(env: Env = process.env) {
  const queue = new QueueSender<'experiments'>(
    sqsClient(),
    envValue(env, QUEUES.experiments.env),
    'experiment analyses',
  );
  const run = enqueueRunning(experimentStore(env), queue);
  return scheduleEntry(logger, async (event: ScheduledEvent) => {
    const result = await run(event);
    logger.info('experiment analyses enqueued', result);
    return result;
  });
}

export const handler = await lambdaHandler(createHandler);
