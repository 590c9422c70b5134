import { expect } from 'vitest';
import { DomainError } from '../../functions/core/kernel/errors.js';

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
