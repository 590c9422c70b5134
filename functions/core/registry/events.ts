/**
 * Lifecycle events: what the registry tells the outside world (webhooks, an SNS topic) after a
 * change is committed. Every registry change already commits one audit event in the same
 * transaction, so the lifecycle event is derived from it: the list of event types below is keyed
 * by audit action, a change cannot be committed without deciding whether it is announced, and
 * the event's id is its audit event's id (a receiver can look it up in GET /v1/audit).
 *
 * The registry declares the port; the webhooks layer (above it) implements it and the handlers
 * wire it in. Publishing happens after the commit and never fails or undoes it: a failure is
 * reported to `log` and the change stands.
 */
import type { AuditEvent } from '../kernel/audit.js';
import type { RegistryStore, WriteOp } from './ports.js';

/** The envelope webhooks and SNS carry (see functions/contract/messages.ts ServalEventSchema). */
export interface LifecycleEvent {
  readonly id: string;
  readonly type: string;
  readonly at: string;
  readonly data: Record<string, unknown>;
}

/** Where lifecycle events go; the webhooks service fits. */
export interface LifecycleEventSink {
  publish(event: LifecycleEvent): Promise<void>;
}

export interface EventLog {
  warn(message: string, extra?: Record<string, unknown>): void;
}

/**
 * Audit action → lifecycle event type, for every audited registry change that is announced.
 * docs/webhooks.md lists exactly these (a unit test holds the two together).
 */
export const LIFECYCLE_EVENTS = {
  'model.create': 'model.created',
  'model.update': 'model.updated',
  'alias.set': 'model.alias_set',
  'alias.delete': 'model.alias_removed',
  'model.delete': 'model.deleted',
  'version.register': 'version.registered',
  'version.upload_failed': 'version.upload_failed',
  'version.complete': 'version.upload_completed',
  'version.invalid_model': 'version.invalid_model',
  'version.update': 'version.updated',
  'version.delete': 'version.deleted',
  'version.expire': 'version.expired',
  'version.approved': 'version.approved',
  'version.rejected': 'version.rejected',
  'version.transition': 'version.stage_changed',
  'version.promote': 'version.promoted',
  'model.rollback': 'version.rolled_back',
  'version.validate': 'version.validated',
  'version.integrity_failed': 'version.integrity_failed',
  'version.serving_failed': 'version.serving_failed',
} as const satisfies Record<string, string>;

export type LifecycleEventType = (typeof LIFECYCLE_EVENTS)[keyof typeof LIFECYCLE_EVENTS];
export const LIFECYCLE_EVENT_TYPES: readonly LifecycleEventType[] = [
  ...new Set(Object.values(LIFECYCLE_EVENTS)),
];

/** The event announcing an audited change, or undefined when the action is not announced. */
export function lifecycleEventOf(audit: AuditEvent): LifecycleEvent | undefined {
  const type = (LIFECYCLE_EVENTS as Record<string, string>)[audit.action];
  if (!type) return undefined;
  const data: Record<string, unknown> = {
    model: audit.model,
    actor: { id: audit.actor, name: audit.actorName },
    before: audit.before ?? null,
    after: audit.after ?? null,
  };
  if (audit.version !== undefined) data.version = audit.version;
  if (audit.comment) data.comment = audit.comment;
  return { id: audit.id, type, at: audit.at, data };
}

/**
 * The store every registry service commits through: after a commit succeeds, it publishes the
 * lifecycle events of the audit events the commit carried. Awaited (a Lambda must not return
 * with work in flight), but a failure is only logged: the change is committed either way.
 */
export function publishingStore(
  store: RegistryStore,
  sink: LifecycleEventSink,
  log?: EventLog,
): RegistryStore {
  const commit = async (ops: readonly WriteOp[]): Promise<void> => {
    await store.commit(ops);
    const events = ops.flatMap((op) => {
      const event = op.kind === 'audit' ? lifecycleEventOf(op.item) : undefined;
      return event ? [event] : [];
    });
    for (const event of events) {
      try {
        await sink.publish(event);
      } catch (err) {
        log?.warn('lifecycle event not published; the change stands', {
          eventId: event.id,
          type: event.type,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  };
  return {
    commit,
    // Reads pass through with every argument (read options included).
    getModel: (...args) => store.getModel(...args),
    listModels: (...args) => store.listModels(...args),
    getVersion: (...args) => store.getVersion(...args),
    listVersions: (...args) => store.listVersions(...args),
    listExpiredUploads: (...args) => store.listExpiredUploads(...args),
    listProductionChanges: (...args) => store.listProductionChanges(...args),
  };
}
