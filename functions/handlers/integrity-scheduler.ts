/**
 * Scheduled (EventBridge): enqueues every production artifact for a checksum check, one message
 * each, so a slow or failing check never holds up the others and retries go through SQS.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { ScheduledEvent } from 'aws-lambda';
import { sqsClient } from '../adapters/aws-clients.js';
import { QUEUES } from '../contract/resources.js';
import { productionVersions } from '../core/registry/models.js';
import { type Env, envValue, makeLogger, registryReader } from './shared.js';

const logger = makeLogger('integrity-scheduler');

export function buildIntegrityScheduler(env: Env = process.env) {
  const store = registryReader(env);
  const sqs = sqsClient();
  const queueUrl = envValue(env, QUEUES.integrity.env);
  return async (_event: ScheduledEvent): Promise<{ enqueued: number }> => {
    let batch: { model: string; version: string }[] = [];
    let enqueued = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const res = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((b, i) => ({ Id: String(i), MessageBody: JSON.stringify(b) })),
        }),
      );
      if (res.Failed?.length)
        throw new Error(`${res.Failed.length} integrity messages could not be enqueued`);
      enqueued += batch.length;
      batch = [];
    };
    for await (const pv of productionVersions(store)) {
      batch.push(pv);
      if (batch.length === 10) await flush();
    }
    await flush();
    logger.info('integrity sweep enqueued', { enqueued });
    return { enqueued };
  };
}

export function createHandler(env: Env = process.env) {
  let built: ReturnType<typeof buildIntegrityScheduler> | undefined;
  return (event: ScheduledEvent) => {
    built ??= buildIntegrityScheduler(env);
    return built(event);
  };
}

export const handler = createHandler();
