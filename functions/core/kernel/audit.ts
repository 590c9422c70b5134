/** Audit events: who did what to which target, when, with the before and after that matter. */
import type { Clock, IdGenerator } from './clock.js';

export interface AuditEvent {
  readonly id: string;
  readonly at: string;
  readonly actor: string;
  readonly actorName: string;
  readonly action: string;
  /** Human-readable target: `model/name`, `model/name@1.2.0`, `key/<id>`. */
  readonly target: string;
  readonly model?: string;
  readonly version?: string;
  readonly before?: unknown;
  readonly after?: unknown;
  readonly comment?: string;
}

/**
 * Who an audit event names. A Principal (core/auth) satisfies it; the kernel states only the
 * two fields it records so that it depends on no other core module.
 */
export interface Actor {
  readonly id: string;
  readonly name: string;
}

/** A new audit event; the caller commits it in the same transaction as the change it records. */
export function auditEvent(
  deps: { readonly clock: Clock; readonly ids: IdGenerator },
  actor: Actor,
  action: string,
  target: string,
  e: { model?: string; version?: string; before?: unknown; after?: unknown; comment?: string } = {},
): AuditEvent {
  return {
    id: deps.ids.next(),
    at: deps.clock.now().toISOString(),
    actor: actor.id,
    actorName: actor.name,
    action,
    target,
    ...e,
  };
}
