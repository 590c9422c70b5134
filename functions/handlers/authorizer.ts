/**
 * API Gateway REQUEST authorizer: resolves `x-api-key` to a principal. It authenticates only;
 * each API handler checks the route's role from the route table, so the answer is the same
 * whichever route asked and API Gateway may cache it per key.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { ApiKeys } from '../core/auth/api-keys.js';
import type { Principal } from '../core/auth/principal.js';
import { DomainError } from '../core/errors.js';
import { type Env, keyReader, makeLogger } from './shared.js';

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
    context: { role: principal.role, name: principal.name, keyId: principal.id },
  };
}

export function buildAuthorizer(keys: ApiKeys) {
  return async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    try {
      const principal = await keys.authenticate(header(event, 'x-api-key'));
      return allowAll(event.methodArn, principal);
    } catch (err) {
      if (!(err instanceof DomainError)) logger.error('authorizer failed', { error: err as Error });
      // API Gateway turns exactly this message into a 401 (gateway response UNAUTHORIZED).
      throw new Error('Unauthorized');
    }
  };
}

export function createHandler(env: Env = process.env) {
  let built: ReturnType<typeof buildAuthorizer> | undefined;
  return (event: APIGatewayRequestAuthorizerEvent) => {
    built ??= buildAuthorizer(keyReader(env));
    return built(event);
  };
}

export const handler = createHandler();
