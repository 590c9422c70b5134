/** Lambda entry for API key administration. */
import { createApiHandler, operation, type ProxyHandler } from '../http/api.js';
import { CONTRACT } from '../http/contract.js';
import { apiEntry, lambdaHandler } from './entry.js';
import { idempotencyLayer } from './idempotency.js';
import { apiKeys, type Env, makeLogger, modes, tokens } from './shared.js';

const logger = makeLogger('auth');

export function buildAuthApi(env: Env = process.env): ProxyHandler {
  const keys = apiKeys(env);
  const jwt = tokens(env);
  return createApiHandler(
    'auth',
    {
      issueToken: operation({
        ...CONTRACT.issueToken,
        handle: ({ principal, body }) => jwt.issue(principal, body.ttlSeconds),
      }),
      createKey: operation({
        ...CONTRACT.createKey,
        handle: async ({ principal, body }) => {
          const { key, record } = await keys.create(principal, body);
          return { ...record, key, notice: 'store this key now: it is shown once and kept only as a hash' };
        },
      }),
      listKeys: operation({
        ...CONTRACT.listKeys,
        handle: async ({ query }) => {
          const page = await keys.list(query);
          return { items: page.items, nextCursor: page.nextCursor ?? null };
        },
      }),
      revokeKey: operation({
        ...CONTRACT.revokeKey,
        handle: ({ principal, params }) => keys.revoke(principal, params.keyId),
      }),
    },
    { logger, idempotency: idempotencyLayer(env), writeGate: modes(env) },
  );
}

/** The Lambda entry for a given environment (the local runtime passes each function its own). */
export function createHandler(env: Env = process.env) {
  return apiEntry(logger, buildAuthApi(env));
}

export const handler = await lambdaHandler(createHandler);
