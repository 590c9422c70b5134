/**
 * The one table from error code to HTTP status, and the conversion of anything thrown into the
 * API's error body. Unknown errors become a generic 500 whose body carries no message, stack or
 * path from inside: details go to the log, keyed by the request id.
 */
import { $ZodError } from 'zod/v4/core';
import { type ErrorCode, isDomainError } from '../core/kernel/errors.js';

export const STATUS_BY_CODE: Record<ErrorCode | 'internal', number> = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  integrity_failed: 422,
  invalid_model: 422,
  unsupported: 422,
  gate_failed: 422,
  rate_limited: 429,
  internal: 500,
  model_error: 502,
  unavailable: 503,
};

export interface ErrorBody {
  readonly error: {
    readonly code: ErrorCode | 'internal';
    readonly message: string;
    readonly details: unknown;
  };
}

export interface MappedError {
  readonly status: number;
  readonly body: ErrorBody;
  /** True for faults of ours (logged as errors); false for client mistakes. */
  readonly internal: boolean;
}

export function errorBody(code: ErrorCode | 'internal', message: string, details: unknown = {}): ErrorBody {
  return { error: { code, message, details } };
}

/** Socket-level failures to reach a service: nothing was decided, so a retry may well succeed. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** AWS SDK errors of a service that is down or shedding load, as opposed to refusing the request. */
const UNAVAILABLE_NAMES = new Set([
  'TimeoutError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
]);

/**
 * A store or service the handler needs could not answer (DynamoDB down, a connection refused).
 * Such a request used to stop at the authorizer's own key read (503, AUTHORIZER_FAILURE); with
 * the authorizer answering from its cache it reaches the handler, which must say the same thing:
 * retry shortly, nothing is wrong with the request.
 */
function isUnreachable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { name, code } = err as { name?: unknown; code?: unknown };
  return (
    (typeof code === 'string' && UNREACHABLE_CODES.has(code)) ||
    (typeof name === 'string' && UNAVAILABLE_NAMES.has(name))
  );
}

export function mapError(err: unknown, requestId: string): MappedError {
  if (isUnreachable(err)) {
    return {
      status: 503,
      body: errorBody('unavailable', 'a service this request needs is unreachable right now; retry shortly', {
        retryAfterSeconds: 1,
      }),
      // Logged as a refusal: an outage is one event, not a stack trace per request.
      internal: false,
    };
  }
  if (isDomainError(err)) {
    return {
      status: STATUS_BY_CODE[err.code],
      body: errorBody(err.code, err.message, err.details),
      internal: false,
    };
  }
  // Classic zod's ZodError and zod/mini's error alike (both carry the $ZodError trait).
  if (err instanceof $ZodError) {
    const issues = err.issues.slice(0, 20).map((i) => ({
      path: i.path.map(String).join('.'),
      message: i.message,
    }));
    const first = issues[0];
    const message = first ? `${first.path || 'request'}: ${first.message}` : 'the request is not valid';
    return { status: 400, body: errorBody('validation_failed', message, { issues }), internal: false };
  }
  return {
    status: 500,
    body: errorBody('internal', 'internal error; the request id identifies it in the logs', { requestId }),
    internal: true,
  };
}
