/**
 * SQS worker: runs one scheduled drift check per message and stores the report (and at most one
 * alert per window). A check that cannot run for a reason a retry will not cure (no baseline, the
 * model is gone) is logged and dropped; anything else is retried through SQS and ends in the DLQ.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { isDomainError } from '../core/kernel/errors.js';
import { monitoringService } from './monitoring-wiring.js';
import { type Env, makeLogger } from './shared.js';

const logger = makeLogger('drift-worker');
const Message = z.object({ model: z.string(), from: z.iso.datetime(), to: z.iso.datetime() });

export function buildDriftWorker(env: Env = process.env) {
  const monitoring = monitoringService(env);
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      let msg: z.infer<typeof Message>;
      try {
        msg = Message.parse(JSON.parse(record.body));
      } catch {
        logger.error('malformed drift message dropped', { messageId: record.messageId });
        continue;
      }
      try {
        const report = await monitoring.check(msg.model, { from: msg.from, to: msg.to }, 'schedule');
        logger.info('drift report stored', {
          model: msg.model,
          reportId: report.id,
          rows: report.rows,
          datasetDrift: report.datasetDrift,
          alertId: report.alertId,
        });
      } catch (err) {
        if (isDomainError(err) && err.code !== 'unavailable') {
          logger.warn('drift check not run', { model: msg.model, code: err.code, message: err.message });
        } else {
          logger.error('drift check failed; will retry', { model: msg.model, error: err as Error });
          failures.push({ itemIdentifier: record.messageId });
        }
      }
    }
    return { batchItemFailures: failures };
  };
}

export function createHandler(env: Env = process.env) {
  let built: ReturnType<typeof buildDriftWorker> | undefined;
  return (event: SQSEvent) => {
    built ??= buildDriftWorker(env);
    return built(event);
  };
}

export const handler = createHandler();
