/**
 * Turns API Gateway proxy events into calls of typed operations: route lookup, the role check
 * from the route table, JSON parsing and zod validation, idempotency keys, and error mapping.
 * Handlers declare operations; they never touch raw events.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { type $ZodType, parse as zodParse } from 'zod/v4/core';
import type { FunctionId } from '../contract/resources.js';
import { ROUTES, type Route } from '../contract/routes.js';
import type { Principal } from '../core/auth/principal.js';
import { hasRole, isRole } from '../core/auth/roles.js';
import {
  conflict,
  forbidden,
  notFound,
  payloadTooLarge,
  unauthorized,
  validationFailed,
} from '../core/kernel/errors.js';
import { stringifyShared } from '../core/kernel/shared-json.js';
import type { AnswerOf } from './answers/index.js';
import { mapError } from './errors.js';

/** Lambda's synchronous invocation payload limit; API Gateway's own is 10 MB. */
export const MAX_BODY_BYTES = 6 * 1024 * 1024 - 64 * 1024;
/** Lambda's response limit is 6 MB too (the proxy envelope and headers take their share). */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024 - 64 * 1024;

/** An answer that is not JSON (e.g. Prometheus text): sent as is with its content type. */
export class TextBody {
  constructor(
    readonly text: string,
    readonly contentType: string,
  ) {}
}
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

export interface ApiRequest<P, Q, B> {
  readonly principal: Principal;
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly requestId: string;
  /** The body as received (decoded from base64 when it was); undefined when there was none. */
  readonly bodyText: string | undefined;
}

export interface ApiResult {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export interface Operation<P = unknown, Q = unknown, B = unknown, R = unknown> {
  // zod's core type: classic and zod/mini schemas alike (inference-schemas.ts says why both).
  readonly params?: $ZodType<P>;
  readonly query?: $ZodType<Q>;
  readonly body?: $ZodType<B>;
  /** Status of a successful answer (default 200). */
  readonly status?: number;
  /** Answer fields holding a secret shown once: never cached for idempotent replays (contract.ts). */
  readonly secretFields?: readonly string[];
  handle(req: ApiRequest<P, Q, B>): Promise<R>;
}

/** Declares an operation with its types inferred from its schemas and what it answers. */
export function operation<P = Record<string, never>, Q = Record<string, never>, B = undefined, R = unknown>(
  o: Operation<P, Q, B, R>,
): Operation<P, Q, B, R> {
  return o;
}

/**
 * Each operation of a function, whose answer must be what its answer schema describes
 * (functions/http/answers): checked here at compile time; the tests check the JSON itself.
 */
type OperationsOf<F extends FunctionId> = {
  readonly [K in Extract<Route, { fn: F }>['operationId']]: Operation<
    // biome-ignore lint/suspicious/noExplicitAny: each operation has its own request types
    any,
    // biome-ignore lint/suspicious/noExplicitAny: as above
    any,
    // biome-ignore lint/suspicious/noExplicitAny: as above
    any,
    AnswerOf<K>
  >;
};

export interface ApiOptions {
  readonly logger: Logger;
  /** Refuses changes in maintenance mode; absent: no mode check (tests of the router alone). */
  readonly writeGate?: { assertWritable(): Promise<void> };
  /**
   * Runs an operation once per idempotency key (functions/http/idempotency.ts, over the DynamoDB
   * table on AWS and locally); absent: keys are ignored. Passed in rather than imported, so a
   * function without idempotency (inference) does not load Powertools' idempotency at init.
   */
  readonly idempotency?: IdempotentRunner;
}

/** Stores each key's answer and replays it; a second run of the same key never executes. */
export interface IdempotentRunner {
  run(
    context: Partial<Context> | undefined,
    input: { key: string; payload: unknown; run: () => Promise<ApiResult> },
  ): Promise<ApiResult>;
}

export type ProxyHandler = (
  event: APIGatewayProxyEvent,
  context?: Partial<Context>,
) => Promise<APIGatewayProxyResult>;

export function createApiHandler<F extends FunctionId>(
  fn: F,
  operations: OperationsOf<F>,
  options: ApiOptions,
): ProxyHandler {
  const routes = ROUTES.filter((r) => r.fn === fn);
  const ops = operations as Record<string, Operation>;
  return async (event, context) => {
    const requestId = event.requestContext?.requestId ?? context?.awsRequestId ?? 'unknown';
    const route = routes.find((r) => r.method === event.httpMethod && r.path === event.resource);
    try {
      if (!route) throw notFound(`no route ${event.httpMethod} ${event.path}`);
      const operation = ops[route.operationId];
      if (!operation) throw notFound(`no route ${event.httpMethod} ${event.path}`);
      const principal = authorize(route, event);
      if (MUTATING.has(route.method) && !('duringMaintenance' in route && route.duringMaintenance)) {
        await options.writeGate?.assertWritable();
      }
      const bodyText = textOf(event);
      const body = parseBody(bodyText, headerOf(event, 'content-type'));
      const request: ApiRequest<unknown, unknown, unknown> = {
        principal,
        params: parseParams(operation.params, event.pathParameters),
        query: parseQuery(operation.query, queryOf(event), route),
        // Only an absent body means {}; a JSON null is a body, and a wrong one.
        body: operation.body
          ? zodParse(operation.body, body === undefined ? {} : body)
          : rejectUnexpectedBody(body),
        requestId,
        bodyText,
      };
      // Read only where it can take effect: a change, in a function that keeps keys.
      const idempotency = MUTATING.has(route.method) ? options.idempotency : undefined;
      const idempotencyKey = idempotency ? headerOf(event, 'idempotency-key') : undefined;
      let result: ApiResult;
      if (idempotency && idempotencyKey !== undefined) {
        if (!IDEMPOTENCY_KEY.test(idempotencyKey)) {
          throw validationFailed('idempotency-key must be 1-128 printable ASCII characters without spaces');
        }
        const ran: { result?: ApiResult } = {};
        const stored = await idempotency.run(context, {
          key: `${principal.id}:${route.operationId}:${idempotencyKey}`,
          payload: { params: request.params, query: request.query, body: request.body },
          run: async () => {
            ran.result = await execute(operation, request);
            return storable(ran.result, operation.secretFields);
          },
        });
        if (ran.result) result = ran.result;
        else if (operation.secretFields?.length) {
          // The first answer carried a secret that was shown once and kept nowhere: say what was
          // done instead of repeating the work (a second key) or the secret (a leak).
          throw conflict(
            `this idempotency-key was already used for this request; its answer held a secret (${operation.secretFields.join(', ')}) that is shown only once and is not repeated`,
            { answer: stored.body },
          );
        } else result = stored;
      } else {
        result = await execute(operation, request);
      }
      const response = respond(result.status, result.body, requestId, result.headers);
      if (
        response.body.length > MAX_RESPONSE_BYTES / 4 &&
        Buffer.byteLength(response.body) > MAX_RESPONSE_BYTES
      ) {
        throw payloadTooLarge(
          `the answer would exceed the ${MAX_RESPONSE_BYTES}-byte response limit; ask for less at a time (e.g. fewer instances)`,
          { limit: MAX_RESPONSE_BYTES },
        );
      }
      return response;
    } catch (err) {
      const mapped = mapError(err, requestId);
      if (mapped.internal) {
        options.logger.error('request failed', { requestId, route: route?.operationId, error: err as Error });
      } else {
        options.logger.info('request refused', {
          requestId,
          route: route?.operationId,
          code: mapped.body.error.code,
        });
      }
      const retryAfter = (mapped.body.error.details as { retryAfterSeconds?: unknown } | undefined)
        ?.retryAfterSeconds;
      return respond(
        mapped.status,
        mapped.body,
        requestId,
        typeof retryAfter === 'number' ? { 'retry-after': String(Math.ceil(retryAfter)) } : {},
      );
    }
  };
}

async function execute(
  operation: Operation,
  request: ApiRequest<unknown, unknown, unknown>,
): Promise<ApiResult> {
  const body = await operation.handle(request);
  return { status: operation.status ?? 200, body };
}

/**
 * The answer as the idempotency table keeps it: as JSON would carry it (no undefined values,
 * which the table's marshalling refuses), without the fields that hold a secret.
 */
function storable(result: ApiResult, secretFields: readonly string[] | undefined): ApiResult {
  const json = JSON.parse(JSON.stringify(result)) as ApiResult;
  if (!secretFields?.length || typeof json.body !== 'object' || json.body === null) return json;
  const body = { ...(json.body as Record<string, unknown>) };
  for (const field of secretFields) delete body[field];
  return { ...json, body };
}

function authorize(route: Route, event: APIGatewayProxyEvent): Principal {
  if (route.role === 'none') return { id: 'anonymous', name: 'anonymous', role: 'viewer' };
  const ctx = (event.requestContext?.authorizer ?? {}) as Record<string, unknown>;
  const id = ctx.principalId;
  const role = ctx.role;
  if (typeof id !== 'string' || !isRole(role)) throw unauthorized();
  if (!hasRole(role, route.role)) {
    throw forbidden(`this needs the ${route.role} role; the caller has ${role}`, {
      required: route.role,
      role,
    });
  }
  const via = ctx.via === 'jwt' ? 'jwt' : 'key';
  return { id, role, name: typeof ctx.name === 'string' ? ctx.name : id, via };
}

/**
 * A request header by its lower-case name (API Gateway passes the client's spelling); of several
 * spellings, the last. Looked up by name, not by lower-casing every header into a copy: an API
 * Gateway event carries about twenty (CloudFront-*, X-Forwarded-*, Via, ...), and that copy cost
 * 3.5 µs a request against 0.15 µs for the two lookups (docs/inference.md, round 6).
 */
function headerOf(event: APIGatewayProxyEvent, name: string): string | undefined {
  const given = event.headers;
  if (!given) return undefined;
  let found: string | undefined;
  // for-in over the event's own plain object: no entry arrays per request, as Object.entries makes.
  for (const k in given) {
    if (k.length !== name.length || !Object.hasOwn(given, k)) continue;
    const v = given[k];
    if (v !== undefined && (k === name || k.toLowerCase() === name)) found = v;
  }
  return found;
}

function textOf(event: APIGatewayProxyEvent): string | undefined {
  if (event.body === null || event.body === undefined || event.body === '') return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

function parseBody(raw: string | undefined, given: string | undefined): unknown {
  if (raw === undefined) return undefined;
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only a body that could be too large is measured.
  if (raw.length * 3 > MAX_BODY_BYTES && Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES) {
    throw payloadTooLarge(`request bodies are limited to ${MAX_BODY_BYTES} bytes`, {
      limit: MAX_BODY_BYTES,
    });
  }
  // The common exact value needs no splitting, trimming or lower-casing.
  const type = given === 'application/json' ? given : (given ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw validationFailed('request bodies must be JSON: send content-type: application/json', {
      contentType: type || null,
    });
  }
  // Nesting deeper than MAX_JSON_DEPTH needs more opening brackets than a short body has.
  if (raw.length > MAX_JSON_DEPTH && nestingDepth(raw) > MAX_JSON_DEPTH) {
    // Deep structures are never legitimate here and make recursive code (JSON.stringify, zod)
    // exhaust the stack: refused before anything walks them.
    throw validationFailed(`the request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return JSON.parse(raw);
  } catch {
    throw validationFailed('the request body is not valid JSON');
  }
}

export const MAX_JSON_DEPTH = 64;

/** Deepest [ / { nesting in JSON text, ignoring brackets inside strings; linear, no recursion. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

function rejectUnexpectedBody(body: unknown): undefined {
  const emptyObject =
    typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0;
  if (body !== undefined && !emptyObject) {
    throw validationFailed('this route takes no request body');
  }
  return undefined;
}

/**
 * The query string, with a repeated parameter as the array of its values: API Gateway's
 * single-value map keeps only the last one, which would silently drop a repeated filter.
 */
function queryOf(event: APIGatewayProxyEvent): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const single = event.queryStringParameters;
  const multi = event.multiValueQueryStringParameters;
  if (!single && !multi) return out;
  for (const [k, v] of Object.entries(single ?? {})) if (v !== undefined) out[k] = v;
  for (const [k, vs] of Object.entries(multi ?? {})) {
    if (vs && vs.length > 1) out[k] = vs;
  }
  return out;
}

/** Parsed path parameters per schema, by the one raw value most routes have (a model's name). */
const parsedParams = new WeakMap<$ZodType, Map<string, unknown>>();
/** Distinct raw values kept per schema before the cache starts over (names are few; junk is not). */
const MAX_CACHED_PARAMS = 1024;

/**
 * The route's path parameters, parsed. A single-parameter route's result is parsed once per
 * raw value and shared, frozen: the same few names arrive on every request. Refusals are not
 * cached (each is thrown again by a fresh parse); routes with several parameters parse each time.
 */
function parseParams(schema: $ZodType | undefined, raw: APIGatewayProxyEvent['pathParameters']): unknown {
  if (!schema) return {};
  if (!raw) return zodParse(schema, {});
  let only: string | undefined;
  let count = 0;
  for (const k in raw) {
    if (!Object.hasOwn(raw, k)) continue;
    count++;
    only = k;
  }
  const value = only === undefined ? undefined : raw[only];
  if (count !== 1 || typeof value !== 'string') return zodParse(schema, raw);
  let cache = parsedParams.get(schema);
  if (!cache) {
    cache = new Map();
    parsedParams.set(schema, cache);
  }
  const key = `${only}\u0000${value}`;
  let parsed = cache.get(key);
  if (parsed === undefined) {
    parsed = Object.freeze(zodParse(schema, raw));
    if (cache.size >= MAX_CACHED_PARAMS) cache.clear();
    cache.set(key, parsed);
  }
  return parsed;
}

/**
 * The query, parsed; a parameter the route does not take is refused. Parsing alone would drop it,
 * and a misspelt or misplaced filter (`/v1/alerts?state=open`, where alerts filter on `status`)
 * would then answer as if no filter had been asked for.
 */
function parseQuery(
  schema: $ZodType | undefined,
  query: Record<string, string | string[]>,
  route: Route,
): unknown {
  const known = schema ? queryParameters(schema) : EMPTY;
  if (known !== undefined) {
    for (const name in query) {
      if (known.has(name)) continue;
      const takes = [...known];
      // The name is the caller's, of any length a URL allows: echoed back short.
      const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
      throw validationFailed(
        `unknown query parameter ${shown}: ${route.method} ${route.path} takes ${takes.length > 0 ? takes.join(', ') : 'none'}`,
        { parameter: shown, accepted: takes },
      );
    }
  }
  return schema ? zodParse(schema, query) : {};
}

const EMPTY: ReadonlySet<string> = new Set();
const parametersOf = new WeakMap<$ZodType, ReadonlySet<string> | undefined>();

/** The parameters a query schema declares, or undefined where it cannot tell (then none is refused). */
function queryParameters(schema: $ZodType): ReadonlySet<string> | undefined {
  if (parametersOf.has(schema)) return parametersOf.get(schema);
  let def = schema._zod.def as {
    type: string;
    shape?: object;
    catchall?: unknown;
    in?: $ZodType;
    innerType?: $ZodType;
  };
  for (;;) {
    if (def.type === 'pipe' && def.in) def = def.in._zod.def as typeof def;
    else if ((def.type === 'optional' || def.type === 'default') && def.innerType)
      def = def.innerType._zod.def as typeof def;
    else break;
  }
  const found =
    def.type === 'object' && def.shape && def.catchall === undefined
      ? new Set(Object.keys(def.shape))
      : undefined;
  parametersOf.set(schema, found);
  return found;
}

export function respond(
  status: number,
  body: unknown,
  requestId: string,
  headers?: Record<string, string>,
): APIGatewayProxyResult {
  if (body instanceof TextBody) {
    return {
      statusCode: status,
      headers: {
        'content-type': body.contentType,
        'x-request-id': requestId,
        'cache-control': 'no-store',
        ...(headers ?? {}),
      },
      body: body.text,
    };
  }
  const base = {
    'content-type': 'application/json; charset=utf-8',
    'x-request-id': requestId,
    'cache-control': 'no-store',
  };
  return {
    statusCode: status,
    // Most answers add no headers: a spread is a runtime call per request.
    headers: headers === undefined ? base : { ...base, ...headers },
    // A prediction's arrays are serialised once, for this answer and for its capture message.
    body:
      body === undefined
        ? ''
        : typeof body === 'object' && body !== null
          ? stringifyShared(body)
          : JSON.stringify(body),
  };
}
