/**
 * Scheduled (EventBridge, every 15 minutes): enqueues one drift check per monitored model whose
 * policy interval is due. The claim in the monitoring table makes overlapping runs enqueue a model
 * once; the message carries the exact window, so a redelivery checks the same window.
 */
import { sqsClient } from '../adapters/sqs-client.js';
import { QueueSender } from '../adapters/sqs-sender.js';
import { QUEUES } from '../contract/resources.js';
import { lambdaHandler, scheduleEntry } from './entry.js';
import { monitoringService } from './monitoring-wiring.js';
import { type Env, envValue, makeLogger } from './shared.js';

const logger = makeLogger('drift-scheduler');

export function createHandler(env: Env = process.env) {
  const monitoring = monitoringService(env, { events: false });
  const queue = new QueueSender<'drift'>(sqsClient(), envValue(env, QUEUES.drift.env), 'drift checks');
  return scheduleEntry(logger, async () => {
    const enqueued = await queue.send(await monitoring.claimDueChecks());
    logger.info('drift checks enqueued', { enqueued });
    return { enqueued };
  });
}

export const handler = await lambdaHandler(createHandler);
