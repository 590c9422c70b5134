/**
 * API Gateway REQUEST authorizer: resolves `authorization: Bearer <jwt>` or `x-api-key` to a
 * principal. It authenticates only; each API handler checks the route's role from the route
 * table, so the answer is the same whichever route asked.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { withUsageIdentifier } from '../adapters/usage-plans.js';
import type { ApiKeys } from '../core/auth/api-keys.js';
import type { Principal } from '../core/auth/principal.js';
import type { Tokens } from '../core/auth/tokens.js';
import { isDomainError, unauthorized } from '../core/kernel/errors.js';
import { authorizerEntry, lambdaHandler } from './entry.js';
import { type Env, keyReader, makeLogger, tokens } from './shared.js';

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

export function buildAuthorizer(keys: ApiKeys, jwt: Tokens, now: () => number = Date.now) {
  let lastLogged = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  async function authenticate(event: APIGatewayRequestAuthorizerEvent): Promise<Principal> {
    const authorization = header(event, 'authorization');
    if (authorization !== undefined) {
      const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization.trim());
      if (!m) throw unauthorized();
      const claimed = await jwt.verify(m[1]!);
      // A token lives at most an hour, but its key's revocation ends it on the next request, and
      // the key record read for that decides the role too.
      return keys.principalOf(claimed.id);
    }
    return keys.authenticate(header(event, 'x-api-key'));
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

export function createHandler(env: Env = process.env) {
  const authorize = buildAuthorizer(keyReader(env), tokens(env));
  return authorizerEntry(logger, (event: APIGatewayRequestAuthorizerEvent) =>
    authorize(event).then((result) => withUsageIdentifier(result, env)),
  );
}

export const handler = await lambdaHandler(createHandler);
