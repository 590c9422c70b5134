/**
 * Scheduled (EventBridge): enqueues every production artifact for a checksum check, and every
 * pending version whose upload deadline has passed for deletion, one message each, so a slow or
 * failing one never holds up the others and retries go through SQS.
 */
import { sqsClient } from '../adapters/sqs-client.js';
import { QueueSender } from '../adapters/sqs-sender.js';
import type { IntegrityMessage } from '../contract/messages.js';
import { QUEUES } from '../contract/resources.js';
import { expiredUploads } from '../core/registry/deletion.js';
import { productionVersions } from '../core/registry/models.js';
import { lambdaHandler, scheduleEntry } from './entry.js';
import { type Env, envValue, makeLogger, registryReader } from './shared.js';

const logger = makeLogger('integrity-scheduler');

export function createHandler(env: Env = process.env) {
  const store = registryReader(env);
  const queue = new QueueSender<'integrity'>(
    sqsClient(),
    envValue(env, QUEUES.integrity.env),
    'integrity messages',
  );
  return scheduleEntry(logger, async () => {
    const targets: IntegrityMessage[] = [];
    for await (const pv of productionVersions(store)) targets.push(pv);
    const verify = targets.length;
    for await (const up of expiredUploads(store, new Date().toISOString())) {
      targets.push({ model: up.model, version: up.version, action: 'expire' });
    }
    const enqueued = await queue.send(targets);
    logger.info('integrity sweep enqueued', { enqueued, verify, expire: targets.length - verify });
    return { enqueued };
  });
}

export const handler = await lambdaHandler(createHandler);
