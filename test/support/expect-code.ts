import { expect } from 'vitest';
import { DomainError, type ErrorCode } from '../../functions/core/kernel/errors.js';
/** Awaits a promise that must reject with a DomainError of this code, and returns the error. */
export async function expectCode(p: Promise<unknown>, code: string): Promise<DomainError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a ${code} error`).toBeInstanceOf(DomainError);
  expect((err as DomainError).code).toBe(code);
  return err as DomainError;
}

/**
 * Matches a DomainError of this code, for `toThrow`, `rejects.toThrow` and `toEqual`; the name is
 * an own field of DomainError, so an ordinary Error with a `code` does not match.
 */
export function domainError(code: ErrorCode, details?: Record<string, unknown>) {
  return expect.objectContaining({
    name: 'DomainError',
    code,
    ...(details ? { details: expect.objectContaining(details) } : {}),
  });
}

/** Asserts a validation report ran all four checks, in order, and every one passed. */
export function expectEveryCheckPassed(checks: readonly { name: string; passed: boolean }[]): void {
  expect(checks.map((c) => [c.name, c.passed])).toEqual([
    ['loads', true],
    ['schema', true],
    ['metrics', true],
    ['latency', true],
  ]);
}
