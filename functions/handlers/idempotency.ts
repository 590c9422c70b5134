/**
 * The idempotency table of the API functions that take idempotency keys. Not in shared.ts, which
 * every function imports: Powertools' persistence layer (and its JMESPath engine) would then be
 * evaluated at init by functions that never take a key, such as inference.
 */
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { dynamoClient } from '../adapters/aws-clients.js';
import { TABLES } from '../contract/resources.js';
import type { IdempotentRunner } from '../http/api.js';
import { idempotentRunner } from '../http/idempotency.js';
import { type Env, envValue } from './shared.js';

export function idempotencyLayer(env: Env): IdempotentRunner {
  return idempotentRunner(
    new DynamoDBPersistenceLayer({
      tableName: envValue(env, TABLES.idempotency.env),
      awsSdkV3Client: dynamoClient(),
    }),
  );
}
