/**
 * Webhooks and the events they receive. The event envelope is deliberately general: alerts and
 * registry lifecycle events (a version registered, promoted, rolled back…) share the same shape
 * and the same signature, so a receiver written once keeps working as event types are added.
 */

import { EXPERIMENT_EVENT_TYPES } from '../experiments/events.js';
import { LIFECYCLE_EVENT_TYPES } from '../registry/events.js';
import { RETRAINING_EVENT_TYPES } from '../retraining/promotion.js';

/** What a webhook subscribes to: alert events, lifecycle (version.* / model.*) events, or all. */
export const EVENT_FILTERS = ['alert', 'lifecycle', '*'] as const;
export type EventFilter = (typeof EVENT_FILTERS)[number];

/** Event types the monitoring service raises. */
export const ALERT_EVENT_TYPES = ['alert.raised'] as const;

/**
 * Every event type Serval emits: docs/webhooks.md lists exactly these (test/unit/webhooks holds
 * the two together). Receivers must ignore types they do not know: more may come.
 */
export const KNOWN_EVENT_TYPES: readonly string[] = [
  ...ALERT_EVENT_TYPES,
  ...LIFECYCLE_EVENT_TYPES,
  ...EXPERIMENT_EVENT_TYPES,
  ...RETRAINING_EVENT_TYPES,
];

/**
 * The envelope of every event, and exactly the JSON body a webhook receives. `id` identifies the
 * event (an alert's deduplicated id, for instance): the same event dispatched twice has the same
 * id. New fields may be added to `data` (and to the envelope); receivers must ignore unknown ones.
 */
export interface ServalEvent {
  readonly id: string;
  /** Dotted type, e.g. `alert.raised`, `version.promoted`. */
  readonly type: string;
  /** ISO-8601 time the event happened. */
  readonly at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export type WebhookStatus = 'active' | 'disabled';

/**
 * A registered endpoint. The signing secret is stored because the worker must sign every
 * delivery with it (a hash would not do, unlike API keys). It never leaves the store except in
 * the create response; on AWS the monitoring table is encrypted at rest with KMS (AWS managed
 * key), and only the functions bound to that table (functions/contract/resources.ts BINDINGS) can read it.
 */
export interface Webhook {
  /** ULID. */
  readonly id: string;
  readonly url: string;
  readonly events: readonly EventFilter[];
  readonly description: string;
  /** 32 random bytes, base64url; the HMAC key is this string as UTF-8. */
  readonly secret: string;
  readonly createdAt: string;
  /** Principal id of the creator. */
  readonly createdBy: string;
  /** Only active webhooks receive events; `disabled` is reserved (nothing sets it yet). */
  readonly status: WebhookStatus;
}

/** What listings and responses show: everything but the secret. */
export type WebhookView = Omit<Webhook, 'secret'>;

/**
 * One queued delivery of one event to one webhook. The secret is not in the message: the worker
 * reads it from the store, so queue contents (and the DLQ) never carry it, and a webhook deleted
 * meanwhile receives nothing. On the queue it is checked against DeliveryMessageSchema
 * (functions/contract/messages.ts).
 */
export interface DeliveryMessage {
  /** Stable for one (event, webhook) pair across retries: receivers deduplicate on it. */
  readonly deliveryId: string;
  readonly webhookId: string;
  readonly event: ServalEvent;
  /** 1-based attempt number this message is for. */
  readonly attempt: number;
}

export type DeliveryStatus = 'retrying' | 'delivered' | 'failed';
/** Why a delivery failed for good. */
export type DeliveryFailure = 'rejected' | 'exhausted' | 'url_refused';

/**
 * What operators see of a delivery: one small record per (event, webhook), overwritten as
 * attempts go on. Never holds the body, headers or signature.
 */
export interface DeliveryRecord {
  readonly webhookId: string;
  readonly deliveryId: string;
  readonly eventId: string;
  readonly eventType: string;
  /** The event's time; deliveries sort by it. */
  readonly eventAt: string;
  readonly status: DeliveryStatus;
  readonly failure?: DeliveryFailure;
  /** Attempts made so far. */
  readonly attempts: number;
  /** HTTP status of the last attempt, when there was a response. */
  readonly lastStatusCode?: number;
  /** Short reason for the last unsuccessful attempt (no URL, no secret). */
  readonly lastError?: string;
  readonly updatedAt: string;
  /** When the next attempt is due (status `retrying`). */
  readonly nextAttemptAt?: string;
}
