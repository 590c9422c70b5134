/**
 * SQS worker for captured predictions. The queue packs many capture messages into one SQS
 * message; each capture message (one served request, or one part of a large one) becomes gzip
 * JSON lines in S3 under captures/<model>/<version>/<date>/<hour>/ — the layout drift checks
 * read — and is counted into the hourly serving aggregates, once per message id.
 * Malformed messages are dropped (a retry cannot fix them); store failures are retried through
 * partial batch responses and end in the DLQ.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { documentClient, s3Client } from '../adapters/aws-clients.js';
import { CaptureInProgress, DynamoPredictionStore } from '../adapters/dynamo-predictions.js';
import { S3Captures } from '../adapters/s3-captures.js';
import { decodeBody } from '../adapters/sqs-capture-queue.js';
import { BUCKETS, TABLES } from '../contract/resources.js';
import { captureRows, parseCaptureBody, toCaptureBatch } from '../core/inference/capture-records.js';
import { type Env, envValue, makeLogger } from './shared.js';

const logger = makeLogger('capture-worker');

export function buildCaptureWorker(env: Env = process.env) {
  const captures = new S3Captures(s3Client(), envValue(env, BUCKETS.artifacts.env));
  const store = new DynamoPredictionStore(documentClient(), envValue(env, TABLES.predictions.env));
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      const { messages, malformed } = readBody(record.body);
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
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  };
}

/** A body as the capture queue sent it (JSON, or compressed JSON); one that cannot be read is malformed. */
function readBody(body: string): ReturnType<typeof parseCaptureBody> {
  let json: string;
  try {
    json = decodeBody(body);
  } catch {
    return { messages: [], malformed: 1 };
  }
  return parseCaptureBody(json);
}

function safeFileId(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function createHandler(env: Env = process.env) {
  let built: ReturnType<typeof buildCaptureWorker> | undefined;
  return (event: SQSEvent) => {
    built ??= buildCaptureWorker(env);
    return built(event);
  };
}

export const handler = createHandler();
