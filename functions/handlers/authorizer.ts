/**
 * API Gateway REQUEST authorizer: resolves `authorization: Bearer <jwt>` or `x-api-key` to a
 * principal. It authenticates only; each API handler checks the route's role from the route
 * table, so the answer is the same whichever route asked, and a checked credential is remembered
 * for SERVAL_AUTH_CACHE_TTL_SECONDS (functions/contract/limits.ts) whatever the route.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { withUsageIdentifier } from '../adapters/usage-plans.js';
import { AUTH_CACHE_TTL_ENV, authCacheTtlSeconds } from '../contract/limits.js';
import type { ApiKeys } from '../core/auth/api-keys.js';
import { type Authenticated, CredentialCache } from '../core/auth/credential-cache.js';
import type { Principal } from '../core/auth/principal.js';
import type { Tokens } from '../core/auth/tokens.js';
import { isDomainError, unauthorized } from '../core/kernel/errors.js';
import { authorizerEntry, lambdaHandler } from './entry.js';
import { type Env, keyReader, keyReadStore, makeLogger, tokens } from './shared.js';

const logger = makeLogger('authorizer');

function header(event: APIGatewayRequestAuthorizerEvent, name: string): string | undefined {
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === name && v) return v;
  return undefined;
}

/** The policy covers every method of the API: the role check happens in the handlers. */
function allowAll(methodArn: string, principal: Principal): APIGatewayAuthorizerResult {
  const [arnPrefix, stage] = methodArn.split('/');
  return {
    principalId: principal.id,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${arnPrefix}/${stage}/*` }],
    },
    context: { role: principal.role, name: principal.name, keyId: principal.id, via: principal.via ?? 'key' },
  };
}

/**
 * Thrown when the credential could not be checked (the key store unreachable): API Gateway answers
 * any error other than 'Unauthorized' with its AUTHORIZER_FAILURE response (503 + Retry-After,
 * lib/constructs/api.ts), and the local gateway does the same. A 401 here would tell every client
 * its key is bad, and some would throw the key away.
 */
export const STORE_UNAVAILABLE = 'the key store is unreachable; retry shortly';

/** At most one log line per this interval while the store is down, not one stack per request. */
const OUTAGE_LOG_INTERVAL_MS = 10_000;

/**
 * `cacheTtlSeconds`: how long a checked credential is trusted (0: checked on every request). The
 * decision depends on the credential alone (the policy covers the whole stage and is rebuilt from
 * each request's methodArn), so the cache is keyed by the credential and nothing else.
 */
export function buildAuthorizer(
  keys: ApiKeys,
  jwt: Tokens,
  now: () => number = Date.now,
  cacheTtlSeconds = 0,
) {
  let lastLogged = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  const cache = new CredentialCache(cacheTtlSeconds * 1000, now);
  async function viaToken(authorization: string): Promise<Authenticated> {
    const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization.trim());
    if (!m) throw unauthorized();
    const claimed = await jwt.verifyUntil(m[1]!);
    // A token lives at most an hour, but its key's revocation ends it within the cache TTL, and
    // the key record read for that decides the role too.
    const key = await keys.principalUntil(claimed.principal.id);
    return { principal: key.principal, notAfter: Math.min(claimed.notAfter, key.notAfter) };
  }
  function authenticate(event: APIGatewayRequestAuthorizerEvent): Promise<Principal> {
    // A bearer token wins over x-api-key when both are sent, so the credential is the one used.
    const authorization = header(event, 'authorization');
    if (authorization !== undefined) {
      return cache.resolve(`authorization:${authorization}`, () => viaToken(authorization));
    }
    const key = header(event, 'x-api-key');
    if (key === undefined) return Promise.reject(unauthorized());
    return cache.resolve(`x-api-key:${key}`, () => keys.authenticateUntil(key));
  }
  return async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    try {
      const principal = await authenticate(event);
      return allowAll(event.methodArn, principal);
    } catch (err) {
      // API Gateway turns exactly this message into a 401 (gateway response UNAUTHORIZED).
      if (isDomainError(err)) throw new Error('Unauthorized');
      if (now() - lastLogged >= OUTAGE_LOG_INTERVAL_MS) {
        logger.error('authorizer could not check the credential', {
          error: err as Error,
          ...(suppressed > 0 ? { sameFailuresSinceLastLog: suppressed } : {}),
        });
        lastLogged = now();
        suppressed = 0;
      } else suppressed++;
      throw new Error(STORE_UNAVAILABLE, { cause: err });
    }
  };
}

export function createHandler(env: Env = process.env, store = keyReadStore(env)) {
  const ttl = authCacheTtlSeconds(env[AUTH_CACHE_TTL_ENV]);
  const authorize = buildAuthorizer(keyReader(env, store), tokens(env), Date.now, ttl);
  return authorizerEntry(logger, (event: APIGatewayRequestAuthorizerEvent) =>
    authorize(event).then((result) => withUsageIdentifier(result, env)),
  );
}

/** A key id no key has (ids are ULIDs): a read of it finds nothing. */
const PRIME_KEY_ID = '#warm-up';

/**
 * The Lambda entry. At init it primes the read of a key's record (functions/adapters/
 * sdk-priming.ts), as the inference function primes its reads: the SDK's first-call work is done
 * without the network, so an environment initialised ahead of its first request (provisioned
 * concurrency, or Lambda's own pre-initialisation) checks that request's key without it.
 */
export async function createLambdaHandler(env: Env = process.env) {
  const store = keyReadStore(env);
  await store.prime(PRIME_KEY_ID);
  return createHandler(env, store);
}

export const handler = await lambdaHandler(createLambdaHandler);
