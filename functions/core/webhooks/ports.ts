/** What webhooks need from the outside world; functions/adapters implements these. */

import type { AuditEvent } from '../kernel/audit.js';
import type { Page, PageRequest } from '../kernel/paging.js';
import type { DeliveryMessage, DeliveryRecord, ServalEvent, Webhook } from './types.js';

export interface WebhookStore {
  /** Stores a new webhook (its id must be new) with its audit event, atomically. */
  create(webhook: Webhook, audit: AuditEvent): Promise<void>;
  /** Strongly consistent: a webhook deleted a moment ago is not returned. */
  get(id: string): Promise<Webhook | undefined>;
  /** Oldest first. May lag a just-created webhook by a moment (an index). */
  list(page: PageRequest): Promise<Page<Webhook>>;
  /** Removes a webhook (false if it did not exist) with its audit event, and its delivery records. */
  delete(id: string, audit: AuditEvent): Promise<boolean>;
}

export interface DeliveryLog {
  /**
   * Writes (or overwrites) a delivery's record — only while its webhook still exists, and never
   * replacing a record of a later attempt. Silently does nothing otherwise.
   */
  record(delivery: DeliveryRecord): Promise<void>;
  /** Newest first. */
  list(webhookId: string, page: PageRequest): Promise<Page<DeliveryRecord>>;
}

export interface DeliveryQueue {
  /** Queues messages, each after its delay (whole seconds, 0–900). All or an error. */
  send(messages: readonly { message: DeliveryMessage; delaySeconds: number }[]): Promise<void>;
}

/** One HTTP attempt. Resolves with the status of any response; rejects on network errors and timeouts. */
export interface HttpPoster {
  post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number }>;
}

/** Somewhere events are published to (webhooks, an SNS topic). */
export interface EventSink {
  publish(event: ServalEvent): Promise<void>;
}
