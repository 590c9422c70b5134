/**
 * SQS worker for captured predictions. The queue packs many capture messages into one SQS
 * message; each capture message (one served request, or one part of a large one) becomes gzip
 * JSON lines in S3 under captures/<model>/<version>/<date>/<hour>/ — the layout drift checks
 * read — and is counted into the hourly serving aggregates, once per message id.
 * Malformed messages are dropped (a retry cannot fix them); store failures are retried through
 * partial batch responses and end in the DLQ.
 */
import { s3Client } from '../adapters/aws-clients.js';
import { CaptureInProgress } from '../adapters/dynamo-predictions.js';
import { S3Captures } from '../adapters/s3-captures.js';
import { decodeBody } from '../adapters/sqs-capture-queue.js';
import { CaptureQueueBody } from '../contract/messages.js';
import { BUCKETS } from '../contract/resources.js';
import { captureRows, toCaptureBatch } from '../core/inference/capture-records.js';
import { lambdaHandler, queueEntry } from './entry.js';
import { type Env, envValue, makeLogger, predictionStore } from './shared.js';

const logger = makeLogger('capture-worker');

export function createHandler(env: Env = process.env) {
  const captures = new S3Captures(s3Client(), envValue(env, BUCKETS.artifacts.env));
  const store = predictionStore(env);
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
        for (const message of messages) {
          const rows = captureRows(message);
          // S3 first: the file name is the capture message's id, so a redelivery overwrites the
          // same object instead of duplicating rows; the aggregates then count it once.
          if (rows.length) await captures.writeCaptures(message.model, rows, safeFileId(message.id));
          await store.record(toCaptureBatch(message));
        }
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

function safeFileId(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

export const handler = await lambdaHandler(createHandler);
