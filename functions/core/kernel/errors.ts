/**
 * Typed domain errors: one class, told apart by the API error code it carries. The core never
 * thinks in status codes; functions/http/errors.ts maps each code to one once.
 */
export const ERROR_CODES = [
  'not_found',
  'conflict',
  'validation_failed',
  'forbidden',
  'unauthorized',
  'rate_limited',
  'payload_too_large',
  'unavailable',
  'integrity_failed',
  'invalid_model',
  'model_error',
  'unsupported',
  'gate_failed',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type ErrorDetails = Record<string, unknown>;

export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
    /**
     * Set only by concurrentModification(). A separate flag rather than a code of its own,
     * because a client must see an ordinary conflict while the core must still tell the two
     * apart (it retries one and reports the other).
     */
    readonly concurrent = false,
  ) {
    super(message);
  }
}

/** True when err is a DomainError (with this code, when one is given). */
export function isDomainError(err: unknown, code?: ErrorCode): err is DomainError {
  return err instanceof DomainError && (code === undefined || err.code === code);
}

export const notFound = (message: string, details?: ErrorDetails) =>
  new DomainError('not_found', message, details);

export const conflict = (message: string, details?: ErrorDetails) =>
  new DomainError('conflict', message, details);

export const validationFailed = (message: string, details?: ErrorDetails) =>
  new DomainError('validation_failed', message, details);

export const forbidden = (message: string, details?: ErrorDetails) =>
  new DomainError('forbidden', message, details);

export const unauthorized = (
  message = 'a valid API key (x-api-key) or bearer token is required',
  details?: ErrorDetails,
) => new DomainError('unauthorized', message, details);

export const rateLimited = (message: string, details?: ErrorDetails) =>
  new DomainError('rate_limited', message, details);

export const integrityFailed = (message: string, details?: ErrorDetails) =>
  new DomainError('integrity_failed', message, details);

export const payloadTooLarge = (message: string, details?: ErrorDetails) =>
  new DomainError('payload_too_large', message, details);

/** The artifact is not a model Serval can read (e.g. bytes that are not ONNX). */
export const invalidModel = (message: string, details?: ErrorDetails) =>
  new DomainError('invalid_model', message, details);

/** A valid request this model cannot serve (e.g. exact explanations of a non-linear model). */
export const unsupported = (message: string, details?: ErrorDetails) =>
  new DomainError('unsupported', message, details);

/** The model itself failed on a valid request (e.g. a SageMaker endpoint's ModelError): not the client's fault. */
/** A version fails its model's promotion gate: every failed check is in `details.failedChecks`. */
export const gateFailed = (message: string, details?: ErrorDetails) =>
  new DomainError('gate_failed', message, details);

export const modelFailed = (message: string, details?: ErrorDetails) =>
  new DomainError('model_error', message, details);

export const unavailable = (message: string, details?: ErrorDetails) =>
  new DomainError('unavailable', message, details);

/**
 * Raised by a store when an optimistic-concurrency condition failed: someone else changed the
 * item between our read and our write. The core decides whether to retry or report a conflict;
 * if it escapes, the client sees a 'conflict'.
 */
export const concurrentModification = (
  message = 'the resource was changed by a concurrent request; retry',
  details?: ErrorDetails,
) => new DomainError('conflict', message, details, true);

export function isConcurrentModification(err: unknown): err is DomainError {
  return err instanceof DomainError && err.concurrent;
}
