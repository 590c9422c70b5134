/**
 * The local stand-in for API Gateway (REST, Lambda proxy integration): matches a request to the
 * route table, runs the REQUEST authorizer, turns the request into the proxy event the handler
 * would receive on AWS and turns the handler's result back into HTTP.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayRequestAuthorizerEvent,
  Context,
} from 'aws-lambda';
import type { FunctionId } from '../functions/contract/resources.js';
import { ROUTES, type Route } from '../functions/contract/routes.js';
import { errorBody } from '../functions/http/errors.js';
import { lambdaContext } from './lambda-context.js';
import type { RateLimiter } from './rate-limit.js';

/** API Gateway's payload limit for REST APIs. */
export const GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

export type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
export type Authorizer = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

export interface GatewayOptions {
  readonly handlers: Partial<Record<FunctionId, ApiHandler>>;
  readonly authorizer: Authorizer;
  readonly stage?: string;
  /** Extra non-API responder (static files); return true when it answered. */
  readonly fallback?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  readonly onError?: (err: unknown) => void;
  /** Per-caller throttle and quota, standing in for API Gateway usage plans (local/rate-limit.ts). */
  readonly rateLimiter?: Pick<RateLimiter, 'admit'>;
}

interface CompiledRoute {
  readonly route: Route;
  readonly segments: readonly string[];
}

const compiled: CompiledRoute[] = ROUTES.map((route) => ({
  route,
  segments: route.path.split('/').slice(1),
}));

export interface RouteMatch {
  readonly route: Route;
  readonly params: Record<string, string>;
}

/** Finds the route for a path; `methods` lists what the path allows when the method is wrong. */
export function matchRoute(method: string, pathname: string): { match?: RouteMatch; methods: string[] } {
  const parts = pathname.split('/').slice(1);
  const methods: string[] = [];
  for (const c of compiled) {
    if (c.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const seg = c.segments[i]!;
      const part = parts[i]!;
      if (seg.startsWith('{')) {
        let value: string;
        try {
          value = decodeURIComponent(part);
        } catch {
          ok = false;
          break;
        }
        if (value === '') ok = false;
        else params[seg.slice(1, -1)] = value;
      } else if (seg !== part) ok = false;
    }
    if (!ok) continue;
    if (c.route.method === method) return { match: { route: c.route, params }, methods };
    methods.push(c.route.method);
  }
  return { methods };
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

class BodyTooLarge extends Error {}

/** Past this, an oversize body is not even drained: the connection is cut after the 413. */
const DRAIN_LIMIT_BYTES = 8 * GATEWAY_MAX_BODY_BYTES;

/**
 * Reads the body, or throws BodyTooLarge once it is past the limit. An oversize body is drained
 * (discarded) so the client reads the 413 instead of a broken pipe.
 */
async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > DRAIN_LIMIT_BYTES) req.destroy();
    if (size <= GATEWAY_MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > GATEWAY_MAX_BODY_BYTES) throw new BodyTooLarge();
  return Buffer.concat(chunks);
}

function headerMaps(req: http.IncomingMessage) {
  const headers: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    headers[name] = value; // API Gateway keeps the last value of a repeated header
    multi[name] = [...(multi[name] ?? []), value];
  }
  return { headers, multi };
}

function queryMaps(url: URL) {
  if ([...url.searchParams.keys()].length === 0) return { single: null, multi: null };
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    single[k] = v;
    multi[k] = [...(multi[k] ?? []), v];
  }
  return { single, multi };
}

/** Gateways being stopped: their connections close after the response in progress. */
const draining = new WeakSet<http.Server>();

/**
 * Stops taking connections and lets the requests in progress finish (each connection closes after
 * its response), for at most `graceMs`; then cuts what is left. Resolves with whether all finished.
 */
export function closeGateway(server: http.Server, graceMs: number): Promise<boolean> {
  draining.add(server);
  return new Promise((resolve) => {
    if (!server.listening) {
      server.closeAllConnections();
      resolve(true);
      return;
    }
    const timer = setTimeout(() => {
      server.closeAllConnections();
      resolve(false);
    }, graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve(true);
    });
    server.closeIdleConnections();
  });
}

export function createGateway(options: GatewayOptions): http.Server {
  const stage = options.stage ?? 'local';
  // Node's own Host check answers with an empty body; the handler refuses such requests itself.
  const server = http.createServer({ requireHostHeader: false }, async (req, res) => {
    const requestId = randomUUID();
    // While stopping, a keep-alive connection must not wait idle for its next request: close() would
    // wait for it, and the client would send that request into a closing socket.
    res.once('finish', () => {
      if (draining.has(server)) setImmediate(() => server.closeIdleConnections());
    });
    if (draining.has(server)) res.setHeader('connection', 'close');
    try {
      if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined) {
        req.resume();
        send(res, 400, errorBody('validation_failed', 'HTTP/1.1 requests need a Host header'));
        return;
      }
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        req.resume();
        send(res, 400, errorBody('validation_failed', 'the request target is not a valid URL'));
        return;
      }
      const method = (req.method ?? 'GET').toUpperCase();
      // The raw target decides, not the parsed path: URL parsing resolves dot segments, so
      // /v1/x/%2e%2e/%2e%2e/… would otherwise leave the API for the dashboard's fallback.
      if (!isApiTarget(req.url ?? '/') && options.fallback?.(req, res)) return;
      const { match, methods } = matchRoute(method, url.pathname);
      if (!match) {
        // Drain so the client sees the answer instead of a reset connection.
        req.resume();
        if (methods.length > 0) {
          send(
            res,
            404,
            errorBody('not_found', `${method} is not served at ${url.pathname}`, { allow: methods }),
            {
              allow: methods.join(', '),
            },
          );
        } else {
          send(res, 404, errorBody('not_found', `no route ${method} ${url.pathname}`));
        }
        return;
      }
      let body: Buffer;
      try {
        body = await readBody(req);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          send(
            res,
            413,
            errorBody('payload_too_large', `request bodies are limited to ${GATEWAY_MAX_BODY_BYTES} bytes`, {
              limit: GATEWAY_MAX_BODY_BYTES,
            }),
            { connection: 'close' },
          );
          return;
        }
        throw err;
      }
      const { headers, multi } = headerMaps(req);
      const query = queryMaps(url);
      const sourceIp = req.socket.remoteAddress ?? '127.0.0.1';
      const { route, params } = match;

      let authorizerContext: Record<string, unknown> | null = null;
      if (route.role !== 'none') {
        const authEvent: APIGatewayRequestAuthorizerEvent = {
          type: 'REQUEST',
          methodArn: `arn:aws:execute-api:local:000000000000:serval/${stage}/${method}${route.path}`,
          resource: route.path,
          path: url.pathname,
          httpMethod: method,
          headers,
          multiValueHeaders: multi,
          pathParameters: params,
          queryStringParameters: query.single,
          multiValueQueryStringParameters: query.multi,
          stageVariables: null,
          requestContext: {} as APIGatewayRequestAuthorizerEvent['requestContext'],
        };
        try {
          const result = await options.authorizer(authEvent);
          const allowed = result.policyDocument.Statement.some((s) => s.Effect === 'Allow');
          if (!allowed) {
            send(res, 403, errorBody('forbidden', 'the authorizer denied this request'));
            return;
          }
          authorizerContext = { principalId: result.principalId, ...(result.context ?? {}) };
        } catch (err) {
          // Only 'Unauthorized' means a bad credential; anything else is AUTHORIZER_FAILURE, which
          // the stack answers with 503 + Retry-After (lib/constructs/api.ts): the caller should
          // retry, not conclude its key is bad.
          if ((err as Error)?.message === 'Unauthorized') {
            send(res, 401, errorBody('unauthorized', unauthorizedMessage(headers)));
          } else {
            send(
              res,
              503,
              errorBody('unavailable', 'the credential could not be checked right now; retry shortly'),
              { 'retry-after': '1' },
            );
          }
          return;
        }
      }

      // --- rate limits (local/rate-limit.ts): after the authorizer, as API Gateway meters the
      // usage identifier it returns; public routes are limited per source IP. ---
      const refused = options.rateLimiter?.admit(
        authorizerContext ? String(authorizerContext.principalId) : undefined,
        sourceIp,
      );
      if (refused) {
        send(res, refused.status, refused.body, refused.headers);
        return;
      }
      // --- end rate limits ---

      const handler = options.handlers[route.fn];
      if (!handler) {
        send(res, 404, errorBody('not_found', `no route ${method} ${url.pathname}`));
        return;
      }
      const event: APIGatewayProxyEvent = {
        resource: route.path,
        path: url.pathname,
        httpMethod: method,
        headers,
        multiValueHeaders: multi,
        queryStringParameters: query.single,
        multiValueQueryStringParameters: query.multi,
        pathParameters: Object.keys(params).length ? params : null,
        stageVariables: null,
        body: body.length ? body.toString('utf8') : null,
        isBase64Encoded: false,
        requestContext: {
          accountId: '000000000000',
          apiId: 'serval',
          authorizer: authorizerContext,
          httpMethod: method,
          identity: { sourceIp, userAgent: req.headers['user-agent'] ?? null } as never,
          path: `/${stage}${url.pathname}`,
          protocol: `HTTP/${req.httpVersion}`,
          requestId,
          requestTimeEpoch: Date.now(),
          resourceId: route.operationId,
          resourcePath: route.path,
          stage,
        },
      };
      const result = await handler(event, lambdaContext(`serval-${route.fn}`, { requestId }));
      const outHeaders: Record<string, string> = {};
      for (const [k, v] of Object.entries(result.headers ?? {})) outHeaders[k] = String(v);
      res.writeHead(result.statusCode, outHeaders);
      res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
    } catch (err) {
      // Mirrors API Gateway's answer when the integration itself fails; no detail leaks.
      options.onError?.(err);
      if (!res.headersSent) send(res, 500, errorBody('internal', 'internal error', { requestId }));
      else res.end();
    }
  });
  // Requests Node's parser refuses (bad framing, oversize headers, control characters) still get
  // the API's JSON error shape, as API Gateway answers them with its own error body.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify(
      errorBody('validation_failed', tooLarge ? 'request headers are too large' : 'the request is malformed'),
    );
    socket.end(
      `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
        'content-type: application/json; charset=utf-8\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  return server;
}

/**
 * Says which credential failed: a caller who sent a bearer token needs to hear that the token is
 * the problem (it expires within the hour), not to be told to send an API key.
 */
export function unauthorizedMessage(headers: Readonly<Record<string, string | undefined>>): string {
  const authorization = Object.entries(headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  if (authorization !== undefined) {
    return 'the bearer token is invalid or expired; exchange an API key for a new one (POST /v1/auth/token)';
  }
  return 'a valid API key (x-api-key) or bearer token is required';
}

/** Whether a raw request target names the API (`/v1`, `/v1/…`, `/v1?…`), before any normalisation. */
export function isApiTarget(target: string): boolean {
  return /^\/v1(?:[/?#]|$)/i.test(target);
}
