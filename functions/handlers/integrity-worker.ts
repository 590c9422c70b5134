/**
 * SQS worker: deletes pending versions whose upload expired, and recomputes each artifact's
 * SHA-256. A mismatch is a result, not a failure: the registry marks the version unusable and
 * audits it, the `version.integrity_failed` event goes out with its alert (deduplicated per
 * version), and the message is done. Only errors that a retry may cure (a store unreachable) are
 * reported as batch item failures.
 */
import { IntegrityMessage } from '../contract/messages.js';
import { SYSTEM_PRINCIPAL } from '../core/auth/principal.js';
import { isDomainError } from '../core/kernel/errors.js';
import { lambdaHandler, queueEntry } from './entry.js';
import { lifecycleEvents } from './registry-events.js';
import { registryServices } from './registry-wiring.js';
import { type Env, makeLogger } from './shared.js';

const logger = makeLogger('integrity-worker');

export function createHandler(env: Env = process.env) {
  const registry = registryServices(
    env,
    undefined,
    undefined,
    lifecycleEvents(env, logger, { alerts: true }),
  );
  return queueEntry({
    logger,
    schema: IntegrityMessage,
    name: 'integrity',
    handle: async (target) => {
      if (target.action === 'expire') {
        // Re-checked with a strong read: a version completed since the sweep is left alone.
        const expired = await registry.deletions.expireUpload(SYSTEM_PRINCIPAL, target.model, target.version);
        logger.info(expired ? 'expired upload deleted' : 'upload no longer expired', target);
        return;
      }
      try {
        const res = await registry.artifacts.verify(SYSTEM_PRINCIPAL, target.model, target.version);
        logger.info('artifact verified', { ...target, sha256: res.sha256 });
      } catch (err) {
        if (!isDomainError(err)) {
          logger.error('artifact check errored; will retry', { ...target, error: err as Error });
          throw err;
        }
        logger.warn('artifact check failed', { ...target, code: err.code, details: err.details });
      }
    },
  });
}

export const handler = await lambdaHandler(createHandler);
