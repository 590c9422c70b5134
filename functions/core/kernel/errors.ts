/**
 * Typed domain errors. Each carries the API error code; functions/http/errors.ts maps codes to
 * HTTP statuses in one table, so the core never thinks in status codes.
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
  'model_error',
  'unsupported',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type ErrorDetails = Record<string, unknown>;

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFound extends DomainError {
  constructor(message: string, details?: ErrorDetails) {
    super('not_found', message, details);
  }
}

export class Conflict extends DomainError {
  constructor(message: string, details?: ErrorDetails) {
    super('conflict', message, details);
  }
}

export class ValidationFailed extends DomainError {
  constructor(message: string, details?: ErrorDetails) {
    super('validation_failed', message, details);
  }
}

export class Forbidden extends DomainError {
  constructor(message: string, details?: ErrorDetails) {
    super('forbidden', message, details);
  }
}

export class Unauthorized extends DomainError {
  constructor(message = 'a valid API key (x-api-key) or bearer token is required', details?: ErrorDetails) {
    super('unauthorized', message, details);
  }
}

export class IntegrityFailed extends DomainError {
  constructor(message: string, details?: ErrorDetails) {
    super('integrity_failed', message, details);
  }
}

export class PayloadTooLarge extends DomainError {
  constructor(message: string, details?: ErrorDetails) {
    super('payload_too_large', message, details);
  }
}

/** A valid request this model cannot serve (e.g. exact explanations of a non-linear model). */
export class Unsupported extends DomainError {
  constructor(message: string, details?: ErrorDetails) {
    super('unsupported', message, details);
  }
}

/** The model itself failed on a valid request (e.g. a SageMaker endpoint's ModelError): not the client's fault. */
export class ModelFailed extends DomainError {
  constructor(message: string, details?: ErrorDetails) {
    super('model_error', message, details);
  }
}

export class Unavailable extends DomainError {
  constructor(message: string, details?: ErrorDetails) {
    super('unavailable', message, details);
  }
}

/**
 * Raised by a store when an optimistic-concurrency condition failed: someone else changed the
 * item between our read and our write. The core decides whether to retry or report a Conflict.
 */
export class ConcurrentModification extends DomainError {
  constructor(message = 'the resource was changed by a concurrent request; retry', details?: ErrorDetails) {
    super('conflict', message, details);
  }
}
