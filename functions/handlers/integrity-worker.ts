/**
 * SQS worker: recomputes each artifact's SHA-256. A mismatch is a result, not a failure: the
 * registry marks the version unusable and audits it, and the message is done. Only errors that a
 * retry may cure (a store unreachable) are reported as batch item failures.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { SYSTEM_PRINCIPAL } from '../core/auth/principal.js';
import { isDomainError } from '../core/kernel/errors.js';
import { type Env, makeLogger, registryServices } from './shared.js';

const logger = makeLogger('integrity-worker');
const Message = z.object({ model: z.string(), version: z.string() });

export function buildIntegrityWorker(env: Env = process.env) {
  const registry = registryServices(env);
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      let target: z.infer<typeof Message>;
      try {
        target = Message.parse(JSON.parse(record.body));
      } catch {
        // A malformed message can never succeed; retrying would only park it in the DLQ later.
        logger.error('malformed integrity message dropped', { messageId: record.messageId });
        continue;
      }
      try {
        const res = await registry.artifacts.verify(SYSTEM_PRINCIPAL, target.model, target.version);
        logger.info('artifact verified', { ...target, sha256: res.sha256 });
      } catch (err) {
        if (isDomainError(err)) {
          logger.warn('artifact check failed', { ...target, code: err.code, details: err.details });
        } else {
          logger.error('artifact check errored; will retry', { ...target, error: err as Error });
          failures.push({ itemIdentifier: record.messageId });
        }
      }
    }
    return { batchItemFailures: failures };
  };
}

export function createHandler(env: Env = process.env) {
  let built: ReturnType<typeof buildIntegrityWorker> | undefined;
  return (event: SQSEvent) => {
    built ??= buildIntegrityWorker(env);
    return built(event);
  };
}

export const handler = createHandler();
