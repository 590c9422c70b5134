/**
 * The local runtime's handler table, derived from the function definitions: every function in
 * FUNCTIONS is imported from its `entry` and created with its own environment, then filed by its
 * `kind`. A function added to FUNCTIONS runs locally without touching this file; one whose module
 * does not have the handler-module shape stops the runtime at startup.
 */
import type { ScheduledEvent } from 'aws-lambda';
import { FUNCTIONS, type FunctionDef, type FunctionId } from '../functions/contract/resources.js';
import type { SqsWorkerHandler } from './event-source.js';
import type { ApiHandler, Authorizer } from './gateway.js';

export type ScheduledHandler = (event: ScheduledEvent) => Promise<unknown>;

export interface HandlerTable {
  readonly api: Partial<Record<FunctionId, ApiHandler>>;
  /** Absent only when the functions loaded include no API function (the background thread's). */
  readonly authorizer?: Authorizer;
  readonly queue: Partial<Record<FunctionId, SqsWorkerHandler>>;
  readonly schedule: Partial<Record<FunctionId, ScheduledHandler>>;
  /**
   * What handlers hold back to send after the answer (the inference capture buffer): a handler
   * with a `flush()` property has it listed here, and the runtime runs them all on stop.
   */
  readonly flushes: readonly (() => Promise<void>)[];
}

/** Imports a handler module from its repository-relative entry (the runtime runs under tsx). */
export function importEntry(entry: string): Promise<unknown> {
  return import(new URL(`../${entry}`, import.meta.url).href);
}

export async function loadHandlers(
  envFor: (fn: FunctionId) => Record<string, string>,
  load: (entry: string) => Promise<unknown> = importEntry,
  functions: Readonly<Record<FunctionId, FunctionDef>> = FUNCTIONS,
): Promise<HandlerTable> {
  const ids = Object.keys(functions) as FunctionId[];
  const modules = await Promise.all(ids.map((id) => load(functions[id].entry)));
  const api: Partial<Record<FunctionId, ApiHandler>> = {};
  const queue: Partial<Record<FunctionId, SqsWorkerHandler>> = {};
  const schedule: Partial<Record<FunctionId, ScheduledHandler>> = {};
  const authorizers: Authorizer[] = [];
  const flushes: (() => Promise<void>)[] = [];
  for (const [i, id] of ids.entries()) {
    const def = functions[id];
    const create = (modules[i] as { createHandler?: unknown } | undefined)?.createHandler;
    if (typeof create !== 'function') {
      throw new Error(`function ${id}: ${def.entry} does not export createHandler(env)`);
    }
    const handler = create(envFor(id));
    const flush = (handler as { flush?: unknown }).flush;
    if (typeof flush === 'function') {
      flushes.push(() => Promise.resolve(flush.call(handler)).then(() => undefined));
    }
    if (def.kind === 'api') api[id] = handler;
    else if (def.kind === 'authorizer') authorizers.push(handler);
    else if (def.kind === 'queue') queue[id] = handler;
    else schedule[id] = handler;
  }
  const [authorizer] = authorizers;
  // A subset without API functions (the runtime's background thread) needs none.
  const needsAuthorizer = Object.keys(api).length > 0;
  if ((needsAuthorizer && !authorizer) || authorizers.length > 1) {
    throw new Error(`FUNCTIONS must define exactly one authorizer, not ${authorizers.length}`);
  }
  return { api, authorizer, queue, schedule, flushes };
}
