import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  concurrentModification,
  conflict,
  type DomainError,
  ERROR_CODES,
  type ErrorCode,
  forbidden,
  gateFailed,
  integrityFailed,
  invalidModel,
  isConcurrentModification,
  isDomainError,
  modelFailed,
  notFound,
  payloadTooLarge,
  rateLimited,
  unauthorized,
  unavailable,
  unsupported,
  validationFailed,
} from '../../../functions/core/kernel/errors.js';
import { mapError } from '../../../functions/http/errors.js';

/** What a client gets for an error raised by each factory: the status, and the code in the body. */
const cases: [ErrorCode, (message: string, details?: Record<string, unknown>) => DomainError, number][] = [
  ['validation_failed', validationFailed, 400],
  ['unauthorized', unauthorized, 401],
  ['forbidden', forbidden, 403],
  ['not_found', notFound, 404],
  ['conflict', conflict, 409],
  ['payload_too_large', payloadTooLarge, 413],
  ['integrity_failed', integrityFailed, 422],
  ['invalid_model', invalidModel, 422],
  ['unsupported', unsupported, 422],
  ['gate_failed', gateFailed, 422],
  ['rate_limited', rateLimited, 429],
  ['model_error', modelFailed, 502],
  ['unavailable', unavailable, 503],
];

describe('mapError', () => {
  it('has a case here for every error code', () => {
    expect(cases.map(([code]) => code).sort()).toEqual([...ERROR_CODES].sort());
  });

  it.each(cases)('answers %s with its status, message and details', (code, make, status) => {
    const err = make('what went wrong', { model: 'm' });
    expect(isDomainError(err, code)).toBe(true);
    expect(mapError(err, 'req-1')).toEqual({
      status,
      body: { error: { code, message: 'what went wrong', details: { model: 'm' } } },
      internal: false,
    });
  });

  it('gives details an empty object when the error has none', () => {
    expect(mapError(notFound('no model m'), 'req-1').body.error.details).toEqual({});
  });

  it('keeps the default message of an unauthorized error', () => {
    expect(mapError(unauthorized(), 'req-1').body.error.message).toBe(
      'a valid API key (x-api-key) or bearer token is required',
    );
  });

  it('answers a concurrent modification that escaped as an ordinary conflict', () => {
    const err = concurrentModification();
    expect(mapError(err, 'req-1')).toEqual({
      status: 409,
      body: {
        error: {
          code: 'conflict',
          message: 'the resource was changed by a concurrent request; retry',
          details: {},
        },
      },
      internal: false,
    });
  });

  it('tells a concurrent modification apart from a conflict the core reported', () => {
    expect(isConcurrentModification(concurrentModification())).toBe(true);
    expect(isConcurrentModification(conflict('already acknowledged'))).toBe(false);
    expect(isConcurrentModification(new Error('conflict'))).toBe(false);
    expect(isDomainError(concurrentModification(), 'conflict')).toBe(true);
  });

  it('answers a schema failure with 400 and the issues', () => {
    const parsed = z.object({ name: z.string() }).safeParse({ name: 1 });
    const mapped = mapError(parsed.error, 'req-1');
    expect(mapped.status).toBe(400);
    expect(mapped.internal).toBe(false);
    expect(mapped.body.error.code).toBe('validation_failed');
    expect(mapped.body.error.message).toMatch(/^name: /);
  });

  it('answers a store it cannot reach with 503 and a retry hint, saying nothing from inside', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' });
    const timeout = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    for (const err of [refused, timeout]) {
      expect(mapError(err, 'req-3')).toEqual({
        status: 503,
        body: {
          error: {
            code: 'unavailable',
            message: 'a service this request needs is unreachable right now; retry shortly',
            details: { retryAfterSeconds: 1 },
          },
        },
        internal: false,
      });
    }
    // A refusal by the service (not an outage) stays an internal error.
    expect(mapError(Object.assign(new Error('x'), { name: 'ValidationException' }), 'r').status).toBe(500);
  });

  it('answers anything else with 500 and nothing from inside but the request id', () => {
    const err = new Error('ENOENT: /srv/app/secret.json');
    err.stack = 'Error: at /srv/app/handler.js:12';
    const mapped = mapError(err, 'req-7');
    expect(mapped).toEqual({
      status: 500,
      body: {
        error: {
          code: 'internal',
          message: 'internal error; the request id identifies it in the logs',
          details: { requestId: 'req-7' },
        },
      },
      internal: true,
    });
    expect(JSON.stringify(mapped.body)).not.toMatch(/srv|ENOENT/);
  });

  it('does not take an object that only looks like a domain error for one', () => {
    const mapped = mapError({ code: 'not_found', message: 'x', details: {} }, 'req-1');
    expect(mapped.status).toBe(500);
  });
});
