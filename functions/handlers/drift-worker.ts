/**
 * SQS worker: runs one scheduled drift check per message and stores the report (and at most one
 * alert per window). A check that cannot run for a reason a retry will not cure (no baseline, the
 * model is gone) is logged and dropped; anything else is retried through SQS and ends in the DLQ.
 */
import { DriftMessage } from '../contract/messages.js';
import { isDomainError } from '../core/kernel/errors.js';
import { lambdaHandler, queueEntry } from './entry.js';
import { monitoringService } from './monitoring-wiring.js';
import { afterDriftCheck, retrainTriggers } from './retrain-triggers-wiring.js';
import { type Env, makeLogger } from './shared.js';

const logger = makeLogger('drift-worker');

export function createHandler(env: Env = process.env) {
  const monitoring = monitoringService(env);
  const triggers = retrainTriggers(env);
  return queueEntry({
    logger,
    schema: DriftMessage,
    name: 'drift',
    handle: async (msg) => {
      try {
        const report = await monitoring.check(msg.model, { from: msg.from, to: msg.to }, 'schedule');
        logger.info('drift report stored', {
          model: msg.model,
          reportId: report.id,
          rows: report.rows,
          datasetDrift: report.datasetDrift,
          alertId: report.alertId,
        });
        await afterDriftCheck(triggers, msg.model, logger);
      } catch (err) {
        if (!isDomainError(err) || err.code === 'unavailable') {
          logger.error('drift check failed; will retry', { model: msg.model, error: err as Error });
          throw err;
        }
        logger.warn('drift check not run', { model: msg.model, code: err.code, message: err.message });
      }
    },
  });
}

export const handler = await lambdaHandler(createHandler);
