/** Audit events: who did what to which target, when, with the before and after that matter. */
import type { Principal } from '../auth/principal.js';
import type { AuditEvent } from '../registry/types.js';

/** A new audit event; the caller commits it in the same transaction as the change it records. */
export function auditEvent(
  deps: { readonly clock: { now(): Date }; readonly ids: { next(): string } },
  principal: Principal,
  action: string,
  target: string,
  e: { model?: string; version?: string; before?: unknown; after?: unknown; comment?: string } = {},
): AuditEvent {
  return {
    id: deps.ids.next(),
    at: deps.clock.now().toISOString(),
    actor: principal.id,
    actorName: principal.name,
    action,
    target,
    ...e,
  };
}
