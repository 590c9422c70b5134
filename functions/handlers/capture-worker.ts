/**
 * SQS worker for captured predictions. The queue packs many capture messages into one SQS
 * message; each such body becomes gzip JSON lines in S3 under captures/<model>/<version>/<date>/
 * <hour>/ — the layout drift checks read — and is counted into the hourly serving aggregates as
 * one group, once, and an experiment's requests into its variants' metrics (functions/adapters/
 * capture-recorder.ts). One S3 object and a few DynamoDB
 * calls per body, not per capture message: per message, the worker kept up with about a hundred
 * requests a second and captures landed minutes after the answer.
 * Malformed messages are dropped (a retry cannot fix them); store failures are retried through
 * partial batch responses and end in the DLQ.
 */
import { s3Client } from '../adapters/aws-clients.js';
import { CaptureRecorder } from '../adapters/capture-recorder.js';
import { CaptureInProgress } from '../adapters/dynamo-predictions.js';
import { S3Captures } from '../adapters/s3-captures.js';
import { decodeBody } from '../adapters/sqs-capture-queue.js';
import { CaptureQueueBody } from '../contract/messages.js';
import { BUCKETS } from '../contract/resources.js';
import { lambdaHandler, queueEntry } from './entry.js';
import { experimentStoreFor } from './serving-experiments.js';
import { type Env, envValue, makeLogger, predictionStore } from './shared.js';

const logger = makeLogger('capture-worker');

export function createHandler(env: Env = process.env) {
  const recorder = new CaptureRecorder(
    new S3Captures(s3Client(), envValue(env, BUCKETS.artifacts.env)),
    predictionStore(env),
    experimentStoreFor(env),
  );
  return queueEntry({
    logger,
    schema: CaptureQueueBody,
    name: 'capture',
    // Bodies are JSON or compressed JSON (functions/adapters/sqs-capture-queue.ts).
    decode: (body) => JSON.parse(decodeBody(body)),
    handle: async ({ messages, malformed }, record) => {
      if (malformed > 0) {
        // A retry cannot fix them; the well-formed ones in the same body are still stored.
        logger.error('malformed capture messages dropped', { messageId: record.messageId, malformed });
      }
      try {
        // S3 first, named by the group's id: a redelivery overwrites the same objects instead of
        // duplicating rows, and the aggregates count the group once.
        await recorder.record(messages);
      } catch (err) {
        if (err instanceof CaptureInProgress) {
          // Another delivery of the same message is still writing it: an expected retry.
          logger.info('capture being written by another delivery; will retry', {
            messageId: record.messageId,
          });
        } else {
          logger.error('capture not stored; will retry', {
            messageId: record.messageId,
            error: err as Error,
          });
        }
        throw err;
      }
    },
  });
}

export const handler = await lambdaHandler(createHandler);
