/**
 * Idempotency keys over Powertools' idempotency utility: the first request with a key runs and its
 * answer is stored; a repeat with the same payload gets the stored answer, a different payload a
 * 409. Its own module so the API router (api.ts) does not import Powertools' idempotency (and its
 * JMESPath engine) into functions that take no keys, such as inference.
 */
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import { conflict } from '../core/kernel/errors.js';
import type { ApiResult, IdempotentRunner } from './api.js';

export function idempotentRunner(persistenceStore: BasePersistenceLayer): IdempotentRunner {
  return {
    run(context, input) {
      const config = new IdempotencyConfig({
        eventKeyJmesPath: 'key',
        payloadValidationJmesPath: 'payload',
        expiresAfterSeconds: 24 * 3600,
        throwOnNoIdempotencyKey: true,
      });
      if (typeof context?.getRemainingTimeInMillis === 'function')
        config.registerLambdaContext(context as Context);
      const idempotent = makeIdempotent(
        async (record: { key: string; payload: unknown }, run: () => Promise<ApiResult>) => {
          void record;
          return run();
        },
        { persistenceStore, config },
      );
      return idempotent({ key: input.key, payload: input.payload }, input.run).catch((err: unknown) => {
        throw asConflict(err);
      });
    },
  };
}

/** The utility's refusals, as the API answers them: 409s (anything else passes through). */
function asConflict(err: unknown): unknown {
  if (err instanceof IdempotencyValidationError) {
    return conflict('this idempotency-key was already used with a different request');
  }
  if (err instanceof IdempotencyAlreadyInProgressError) {
    return conflict('a request with this idempotency-key is still in progress; retry shortly');
  }
  return err;
}
