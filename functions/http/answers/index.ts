/** Every operation's answer schema (see common.ts), and the named ones the OpenAPI document shares. */
import * as z from 'zod';
import type { OperationId } from '../../contract/routes.js';
import * as monitoring from './monitoring.js';
import { MONITORING_ANSWERS } from './monitoring.js';
import * as registry from './registry.js';
import { REGISTRY_ANSWERS } from './registry.js';
import * as serving from './serving.js';
import { SERVING_ANSWERS } from './serving.js';
import * as system from './system.js';
import { SYSTEM_ANSWERS } from './system.js';

export const ANSWERS = {
  ...SYSTEM_ANSWERS,
  ...REGISTRY_ANSWERS,
  ...MONITORING_ANSWERS,
  ...SERVING_ANSWERS,
} as const satisfies { readonly [K in OperationId]: z.ZodType | null };

/** What an operation's handler returns: its answer schema's input (unknown for non-JSON answers). */
export type AnswerOf<K extends OperationId> = (typeof ANSWERS)[K] extends z.ZodType
  ? z.input<(typeof ANSWERS)[K]>
  : unknown;

/**
 * Each exported answer schema under its name, and each operation's answer that has none under
 * `<operationId>Answer`: the OpenAPI document's components, so a shape answered by several
 * operations (a version, a job) is written out once and referred to.
 */
export function namedAnswers(): z.core.$ZodRegistry<{ id: string }> {
  const named = z.registry<{ id: string }>();
  const ids = new Set<string>();
  const add = (schema: z.ZodType, id: string) => {
    if (named.has(schema)) return;
    if (ids.has(id)) throw new Error(`two answer schemas are both named ${id}`);
    ids.add(id);
    named.add(schema, { id });
  };
  for (const module of [system, registry, monitoring, serving]) {
    for (const [name, value] of Object.entries(module)) if (value instanceof z.ZodType) add(value, name);
  }
  for (const [op, schema] of Object.entries(ANSWERS)) if (schema) add(schema, `${op}Answer`);
  return named;
}
