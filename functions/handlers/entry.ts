/**
 * The Lambda entry of every function, one factory per kind of trigger: API routes (and the
 * authorizer), SQS queues, EventBridge schedules. Each takes wiring that is already built — the
 * handler module's createHandler(env) builds it when the handler is created, so a Lambda pays for
 * clients and services during init, not on its first event — and gives every invocation the
 * Powertools logger's Lambda context (request id, function name, cold start) through one middy
 * chain. Every handler module has the same shape: `createHandler(env)` and `handler`.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  ScheduledEvent,
  SQSBatchResponse,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import type { z } from 'zod';
import type { ProxyHandler } from '../http/api.js';
import type { Env } from './shared.js';
import { installSourceMappedStacks } from './stack-traces.js';

/** A Lambda handler as Lambda, the local runtime and tests call it (the latter without context). */
export type Entry<E, R> = (event: E, context?: Partial<Context>) => Promise<R>;

function withLoggerContext<E, R>(
  logger: Logger,
  run: (event: E, context: Context) => Promise<R>,
): Entry<E, R> {
  return middy(run).use(injectLambdaContext(logger)) as unknown as Entry<E, R>;
}

export interface ApiEntryOptions {
  /**
   * Skip the middy chain and set the logger's context directly. For inference, the hot path: the
   * chain costs about 2.5 µs a call (measured against a bare wrapper), setting the context about
   * 0.3 µs, and inference uses nothing else middy would bring.
   */
  readonly lean?: boolean;
}

/** An API function (one or more routes of the API, served through API Gateway's proxy integration). */
export function apiEntry(
  logger: Logger,
  api: ProxyHandler,
  options: ApiEntryOptions = {},
): Entry<APIGatewayProxyEvent, APIGatewayProxyResult> {
  if (!options.lean) return withLoggerContext(logger, api);
  return (event, context) => {
    if (context?.awsRequestId) logger.addContext(context as Context);
    return api(event, context);
  };
}

/** API Gateway's request authorizer. */
export function authorizerEntry<E, R>(logger: Logger, authorize: (event: E) => Promise<R>): Entry<E, R> {
  return withLoggerContext(logger, authorize);
}

/** A function run by an EventBridge schedule. */
export function scheduleEntry<R>(
  logger: Logger,
  run: (event: ScheduledEvent) => Promise<R>,
): Entry<ScheduledEvent, R> {
  return withLoggerContext(logger, run);
}

export interface QueueWorker<S extends z.ZodType> {
  readonly logger: Logger;
  /** The queue's message schema (functions/contract/messages.ts). */
  readonly schema: S;
  /** Names the messages in the log line of a dropped one, e.g. "integrity". */
  readonly name: string;
  /** The JSON of a body; default JSON.parse. Throwing means malformed, like a schema mismatch. */
  readonly decode?: (body: string) => unknown;
  /** Handles one message: returning means done, throwing means "retry this record". */
  readonly handle: (message: z.output<S>, record: SQSRecord) => Promise<void>;
  /** Handle a batch's records concurrently (default: one after another). */
  readonly parallel?: boolean;
}

/**
 * An SQS worker with partial batch responses: each record that throws is reported in
 * batchItemFailures (and only those come back); a body that does not parse is logged and
 * dropped, since a retry cannot fix it and would only park it in the DLQ later.
 */
export function queueEntry<S extends z.ZodType>(worker: QueueWorker<S>): Entry<SQSEvent, SQSBatchResponse> {
  const { logger, schema, name, handle } = worker;
  const decode = worker.decode ?? JSON.parse;
  const one = async (record: SQSRecord): Promise<void> => {
    let message: z.output<S>;
    try {
      message = schema.parse(decode(record.body));
    } catch {
      logger.error(`malformed ${name} message dropped`, { messageId: record.messageId });
      return;
    }
    await handle(message, record);
  };
  return withLoggerContext(logger, (event: SQSEvent, context: Context) =>
    processPartialResponse(event, one, new BatchProcessor(EventType.SQS), {
      context,
      processInParallel: worker.parallel ?? false,
      // Every record failing is still a partial response listing them all, as it always was:
      // Lambda then retries exactly those, instead of the whole batch on an invocation error.
      throwOnFullBatchFailure: false,
    }),
  );
}

export interface QueueBatchWorker<S extends z.ZodType> extends Omit<QueueWorker<S>, 'handle' | 'parallel'> {
  /**
   * Handles a whole batch's well-formed messages at once. Returns the records to retry; throwing
   * means "retry them all".
   */
  readonly handleAll: (
    items: readonly { message: z.output<S>; record: SQSRecord }[],
  ) => Promise<readonly SQSRecord[]>;
}

/**
 * queueEntry for a worker that does better with the batch together than record by record (the
 * capture worker writes one S3 object for all of it): the same partial batch responses, and
 * malformed bodies dropped the same way.
 */
export function queueBatchEntry<S extends z.ZodType>(
  worker: QueueBatchWorker<S>,
): Entry<SQSEvent, SQSBatchResponse> {
  const { logger, schema, name, handleAll } = worker;
  const decode = worker.decode ?? JSON.parse;
  return withLoggerContext(logger, async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const items: { message: z.output<S>; record: SQSRecord }[] = [];
    for (const record of event.Records) {
      try {
        items.push({ message: schema.parse(decode(record.body)), record });
      } catch {
        logger.error(`malformed ${name} message dropped`, { messageId: record.messageId });
      }
    }
    let failed: readonly SQSRecord[];
    try {
      failed = items.length ? await handleAll(items) : [];
    } catch {
      failed = items.map((i) => i.record);
    }
    return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };
  });
}

/**
 * A module's exported `handler`. On Lambda it is built during init (top-level await), so the
 * first event finds clients and wiring ready. Elsewhere — the local runtime and tests import the
 * module for its createHandler, and process.env there holds no function's bindings — it is
 * built on its first call instead.
 */
export async function lambdaHandler<E, R>(
  create: (env: Env) => Entry<E, R> | Promise<Entry<E, R>>,
  env: Env = process.env,
): Promise<Entry<E, R>> {
  // Deployed functions run without --enable-source-maps, which parses every map at load.
  installSourceMappedStacks();
  if (env.AWS_LAMBDA_FUNCTION_NAME) return create(env);
  let built: Promise<Entry<E, R>> | undefined;
  return async (event, context) => {
    built ??= Promise.resolve().then(() => create(env));
    return (await built)(event, context);
  };
}
