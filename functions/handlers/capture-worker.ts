/**
 * SQS worker for captured predictions. The queue packs many capture messages into one SQS
 * message; an invocation's bodies become gzip JSON lines in S3 under captures/<model>/<version>/
 * <date>/<hour>/ — the layout drift checks read — one object per model, version and hour for the
 * whole batch (the event source gathers up to QUEUES.captures.batchSize bodies over its batching
 * window), and each body is counted into the hourly serving aggregates as one group, once, and an
 * experiment's requests into its variants' metrics (functions/adapters/capture-recorder.ts).
 * A few DynamoDB calls per body, not per capture message: per message, the worker kept up with
 * about a hundred requests a second and captures landed minutes after the answer.
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
import { lambdaHandler, queueBatchEntry } from './entry.js';
import { instancesKeptFor } from './online-serving.js';
import { experimentStoreFor } from './serving-experiments.js';
import { type Env, envValue, makeLogger, predictionStore } from './shared.js';

const logger = makeLogger('capture-worker');

export function createHandler(env: Env = process.env) {
  const recorder = new CaptureRecorder(
    new S3Captures(s3Client(), envValue(env, BUCKETS.artifacts.env)),
    predictionStore(env),
    experimentStoreFor(env),
    instancesKeptFor(env),
  );
  const retryReason = (err: unknown, messageId: string) => {
    if (err instanceof CaptureInProgress) {
      // Another delivery of the same message is still writing it: an expected retry.
      logger.info('capture being written by another delivery; will retry', { messageId });
    } else {
      logger.error('capture not stored; will retry', { messageId, error: err as Error });
    }
  };
  return queueBatchEntry({
    logger,
    schema: CaptureQueueBody,
    name: 'capture',
    // Bodies are JSON or compressed JSON (functions/adapters/sqs-capture-queue.ts).
    decode: (body) => JSON.parse(decodeBody(body)),
    handleAll: async (items) => {
      for (const { message, record } of items) {
        if (message.malformed > 0) {
          // A retry cannot fix them; the well-formed ones in the same body are still stored.
          logger.error('malformed capture messages dropped', {
            messageId: record.messageId,
            malformed: message.malformed,
          });
        }
      }
      let failures: { index: number; error: unknown }[];
      try {
        // S3 first, every body's rows in one object per model, version and hour, each row naming
        // its body's group: a redelivered body may be stored again, and is read once.
        failures = await recorder.recordAll(items.map((i) => i.message.messages));
      } catch (err) {
        for (const { record } of items) retryReason(err, record.messageId);
        throw err;
      }
      for (const { index, error } of failures) retryReason(error, items[index]!.record.messageId);
      return failures.map((f) => items[f.index]!.record);
    },
  });
}

export const handler = await lambdaHandler(createHandler);
