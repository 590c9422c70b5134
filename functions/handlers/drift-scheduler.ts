/**
 * Scheduled (EventBridge, every 15 minutes): enqueues one drift check per monitored model whose
 * policy interval is due. The claim in the monitoring table makes overlapping runs enqueue a model
 * once; the message carries the exact window, so a redelivery checks the same window.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { ScheduledEvent } from 'aws-lambda';
import { sqsClient } from '../adapters/aws-clients.js';
import { QUEUES } from '../contract/resources.js';
import { monitoringService } from './monitoring-wiring.js';
import { type Env, envValue, makeLogger } from './shared.js';

const logger = makeLogger('drift-scheduler');

export function buildDriftScheduler(env: Env = process.env) {
  const monitoring = monitoringService(env, { events: false });
  const sqs = sqsClient();
  const queueUrl = envValue(env, QUEUES.drift.env);
  return async (_event: ScheduledEvent): Promise<{ enqueued: number }> => {
    const due = await monitoring.claimDueChecks();
    for (let i = 0; i < due.length; i += 10) {
      const batch = due.slice(i, i + 10);
      const res = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((d, j) => ({ Id: String(j), MessageBody: JSON.stringify(d) })),
        }),
      );
      if (res.Failed?.length) throw new Error(`${res.Failed.length} drift checks could not be enqueued`);
    }
    logger.info('drift checks enqueued', { enqueued: due.length });
    return { enqueued: due.length };
  };
}

export function createHandler(env: Env = process.env) {
  let built: ReturnType<typeof buildDriftScheduler> | undefined;
  return (event: ScheduledEvent) => {
    built ??= buildDriftScheduler(env);
    return built(event);
  };
}

export const handler = createHandler();
