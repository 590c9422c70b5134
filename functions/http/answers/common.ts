/**
 * Building blocks of the answer schemas (one module per part of the API beside this one). They
 * describe the JSON a successful call answers, for the OpenAPI document, for the handlers' types
 * (functions/http/api.ts checks each `handle` against its operation's schema, at compile time
 * only: these modules are imported as types by the handlers, so no function builds them at init),
 * and for the tests, which check every answer they get against them (test/support/answers.ts).
 * Objects are strict: a field the code answers and the schema does not name is a failure there.
 */
import * as z from 'zod';
import type { OperationId } from '../../contract/routes.js';
import { STATUS_BY_CODE } from '../errors.js';

/** Answer schemas by operation; null for an operation whose answer is not JSON. */
export type AnswerTable = { readonly [K in OperationId]?: z.ZodType | null };

/** A time as the API writes it (ISO 8601, UTC). */
export const Instant = z.iso.datetime({ offset: true });

/** One page of a list, and the cursor of the next (null on the last). */
export function page<T extends z.ZodType>(item: T) {
  return z.strictObject({ items: z.array(item), nextCursor: z.string().nullable() });
}

/**
 * `exact` where the code's TypeScript type is looser than what it sends (`unknown` read back from
 * the store, a record, a string that is always one of a few): the handler is type-checked against
 * `loose`, while the tests and the OpenAPI document (the output side) check and show `exact`.
 * Where the code's type can be made exact, do that instead.
 */
export function sentAs<L extends z.ZodType, E extends z.core.$ZodType<unknown, z.output<L>>>(
  loose: L,
  exact: E,
) {
  return loose.pipe(exact);
}

/** Every refusal's body (functions/http/errors.ts makes it; its code decides the status). */
export const ErrorAnswer = z
  .strictObject({
    error: z.strictObject({
      code: z.enum(Object.keys(STATUS_BY_CODE) as [keyof typeof STATUS_BY_CODE]),
      message: z.string().min(1),
      details: z
        .record(z.string(), z.unknown())
        .describe('Facts of the refusal; their keys depend on the code'),
    }),
  })
  .describe('A refusal: what went wrong, and what to do about it where the message can say');
