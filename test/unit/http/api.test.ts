import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { conflict } from '../../../functions/core/kernel/errors.js';
import { createApiHandler, operation } from '../../../functions/http/api.js';
import { CreateKeyBody, KeyParams, PageQuery } from '../../../functions/http/schemas.js';

const logs: string[] = [];
const logger = new Logger({ serviceName: 'test', logLevel: 'DEBUG' });
// Capture instead of printing, so a test can check what reaches the logs.
(logger as unknown as { printLog: (level: unknown, log: { getAttributes(): unknown }) => void }).printLog = (
  _level,
  log,
) => {
  logs.push(
    JSON.stringify(log.getAttributes(), (_k, v) => (v instanceof Error ? { message: v.message } : v)),
  );
};

/** These operations answer what they were given, to test the router: not the real answers' shapes. */
const echo = (answer: unknown): never => answer as never;

const handler = createApiHandler(
  'auth',
  {
    issueToken: operation({ handle: async () => echo({}) }),
    createKey: operation({
      body: CreateKeyBody,
      status: 201,
      handle: async ({ body, principal }) => echo({ body, by: principal.id }),
    }),
    listKeys: operation({ query: PageQuery, handle: async ({ query }) => echo({ query }) }),
    revokeKey: operation({
      params: KeyParams,
      handle: async ({ params }) => {
        if (params.keyId.startsWith('0')) throw conflict('already revoked', { keyId: params.keyId });
        throw new Error('secret internal detail at /srv/app.js:12');
      },
    }),
  },
  { logger },
);

function event(
  method: string,
  resource: string,
  opts: {
    body?: string;
    role?: string;
    headers?: Record<string, string>;
    params?: Record<string, string>;
    query?: Record<string, string>;
  } = {},
): APIGatewayProxyEvent {
  return {
    httpMethod: method,
    resource,
    path: resource,
    body: opts.body ?? null,
    headers: { 'content-type': 'application/json', ...opts.headers },
    multiValueHeaders: {},
    isBase64Encoded: false,
    pathParameters: opts.params ?? null,
    queryStringParameters: opts.query ?? null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {
      requestId: 'req-1',
      authorizer: opts.role === undefined ? null : { principalId: 'p1', role: opts.role, name: 'P' },
    } as never,
  };
}

const parse = (r: { body: string }) => JSON.parse(r.body);

describe('createApiHandler', () => {
  it('checks the route table role: no principal → 401, too low → 403, enough → runs', async () => {
    const body = JSON.stringify({ name: 'k', role: 'viewer' });
    expect((await handler(event('POST', '/v1/auth/keys', { body }))).statusCode).toBe(401);
    const low = await handler(event('POST', '/v1/auth/keys', { body, role: 'approver' }));
    expect(low.statusCode).toBe(403);
    expect(parse(low).error.details).toEqual({ required: 'admin', role: 'approver' });
    const ok = await handler(event('POST', '/v1/auth/keys', { body, role: 'admin' }));
    expect(ok.statusCode).toBe(201);
    expect(parse(ok)).toEqual({ body: { name: 'k', role: 'viewer' }, by: 'p1' });
    expect((await handler(event('POST', '/v1/auth/keys', { body, role: 'superuser' }))).statusCode).toBe(401);
  });

  it('rejects bodies that are not JSON, not declared, or of the wrong content type', async () => {
    const bad = await handler(event('POST', '/v1/auth/keys', { body: '{"name":', role: 'admin' }));
    expect(bad.statusCode).toBe(400);
    expect(parse(bad).error.code).toBe('validation_failed');
    const wrongType = await handler(
      event('POST', '/v1/auth/keys', {
        body: 'a=b',
        role: 'admin',
        headers: { 'content-type': 'text/plain' },
      }),
    );
    expect(wrongType.statusCode).toBe(400);
    const bodyOnGet = await handler(event('GET', '/v1/auth/keys', { body: '{"x":1}', role: 'admin' }));
    expect(bodyOnGet.statusCode).toBe(400);
    const zod = await handler(
      event('POST', '/v1/auth/keys', { body: '{"name":"k","role":"god"}', role: 'admin' }),
    );
    expect(parse(zod).error.details.issues[0].path).toBe('role');
  });

  it('reads content-type and idempotency-key in any spelling, the last of several', async () => {
    // API Gateway passes headers as the client spelled them.
    const body = JSON.stringify({ name: 'k', role: 'viewer' });
    const only = (headers: Record<string, string>) => ({
      ...event('POST', '/v1/auth/keys', { body, role: 'admin' }),
      headers,
    });
    expect((await handler(only({ 'Content-Type': 'application/json' }))).statusCode).toBe(201);
    expect((await handler(only({ 'CONTENT-TYPE': 'Application/JSON; charset=utf-8' }))).statusCode).toBe(201);
    const last = await handler(only({ 'content-type': 'application/json', 'Content-Type': 'text/plain' }));
    expect(last.statusCode).toBe(400);
    expect(parse(last).error.details).toEqual({ contentType: 'text/plain' });
    expect(
      (await handler(only({ 'Content-Type': 'text/plain', 'content-type': 'application/json' }))).statusCode,
    ).toBe(201);

    const keys: string[] = [];
    const idempotent = createApiHandler(
      'auth',
      {
        issueToken: operation({ handle: async () => echo({}) }),
        createKey: operation({
          body: CreateKeyBody,
          status: 201,
          handle: async ({ body }) => echo({ body }),
        }),
        listKeys: operation({ handle: async () => echo({}) }),
        revokeKey: operation({ params: KeyParams, handle: async () => echo({}) }),
      },
      {
        logger,
        idempotency: {
          run: async (_context, { key, run }) => {
            keys.push(key);
            return run();
          },
        },
      },
    );
    const withKey = (headers: Record<string, string>) =>
      idempotent({
        ...only({ 'content-type': 'application/json' }),
        headers: { 'content-type': 'application/json', ...headers },
      });
    expect((await withKey({ 'Idempotency-Key': 'mint-1' })).statusCode).toBe(201);
    expect(keys).toEqual(['p1:createKey:mint-1']);
    const refused = await withKey({ 'IDEMPOTENCY-KEY': 'has space' });
    expect(refused.statusCode).toBe(400);
    expect(parse(refused).error.message).toMatch(/idempotency-key/);
    expect((await withKey({})).statusCode).toBe(201);
    expect(keys).toEqual(['p1:createKey:mint-1']);
  });

  it('validates query and path parameters', async () => {
    expect(
      (await handler(event('GET', '/v1/auth/keys', { role: 'admin', query: { limit: '1000' } }))).statusCode,
    ).toBe(400);
    expect(
      parse(await handler(event('GET', '/v1/auth/keys', { role: 'admin', query: { limit: '7' } }))),
    ).toEqual({
      query: { limit: 7 },
    });
    const traversal = await handler(
      event('DELETE', '/v1/auth/keys/{keyId}', { role: 'admin', params: { keyId: '../x' } }),
    );
    expect(traversal.statusCode).toBe(400);
  });

  it('refuses a query parameter the route does not take, naming those it takes', async () => {
    // Parsing alone would drop it, and a misspelt filter would answer as if none had been asked for.
    const typo = await handler(event('GET', '/v1/auth/keys', { role: 'admin', query: { limt: '7' } }));
    expect(typo.statusCode).toBe(400);
    expect(parse(typo).error).toEqual({
      code: 'validation_failed',
      message: 'unknown query parameter limt: GET /v1/auth/keys takes limit, cursor',
      details: { parameter: 'limt', accepted: ['limit', 'cursor'] },
    });
    // A route without a query schema takes none.
    const none = await handler(
      event('DELETE', '/v1/auth/keys/{keyId}', {
        role: 'admin',
        params: { keyId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' },
        query: { force: '1' },
      }),
    );
    expect(none.statusCode).toBe(400);
    expect(parse(none).error.message).toBe(
      'unknown query parameter force: DELETE /v1/auth/keys/{keyId} takes none',
    );
    const long = await handler(
      event('GET', '/v1/auth/keys', { role: 'admin', query: { ['x'.repeat(5000)]: '1' } }),
    );
    expect(parse(long).error.details.parameter).toBe(`${'x'.repeat(64)}…`);
    // The declared ones still pass, with no query at all too.
    expect(
      (await handler(event('GET', '/v1/auth/keys', { role: 'admin', query: { cursor: 'c' } }))).statusCode,
    ).toBe(200);
    expect((await handler(event('GET', '/v1/auth/keys', { role: 'admin' }))).statusCode).toBe(200);
  });

  it('parses a path parameter the same on every request (results are cached per raw value, refusals are not)', async () => {
    const revoke = (keyId: string) =>
      handler(event('DELETE', '/v1/auth/keys/{keyId}', { role: 'admin', params: { keyId } }));
    for (let i = 0; i < 3; i++) {
      expect((await revoke('../x')).statusCode).toBe(400);
      const again = await revoke('01ARZ3NDEKTSV4RRFFQ69G5FAV');
      expect(again.statusCode).toBe(409);
      expect(parse(again).error.details).toEqual({ keyId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' });
    }
  });

  it('answers domain errors with their code and hides internal ones behind the request id', async () => {
    const conflict = await handler(
      event('DELETE', '/v1/auth/keys/{keyId}', {
        role: 'admin',
        params: { keyId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' },
      }),
    );
    expect(conflict.statusCode).toBe(409);
    expect(parse(conflict).error).toEqual({
      code: 'conflict',
      message: 'already revoked',
      details: { keyId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' },
    });
    logs.length = 0;
    const internal = await handler(
      event('DELETE', '/v1/auth/keys/{keyId}', {
        role: 'admin',
        params: { keyId: '7ZZZZZZZZZZZZZZZZZZZZZZZZZ' },
      }),
    );
    expect(internal.statusCode).toBe(500);
    expect(internal.body).not.toContain('secret internal detail');
    expect(internal.body).not.toContain('/srv/app.js');
    expect(parse(internal).error.details).toEqual({ requestId: 'req-1' });
    expect(logs.join('\n')).toContain('secret internal detail'); // the operator still sees it
  });

  it('answers an unknown route with 404', async () => {
    expect((await handler(event('PUT', '/v1/auth/keys', { role: 'admin' }))).statusCode).toBe(404);
  });
});
