/**
 * Registering webhooks and fanning events out to them. Registration validates the URL with the
 * platform's URL policy (https only on AWS; never link-local or metadata addresses) and hands the
 * signing secret out exactly once. dispatch() queues one delivery per interested webhook; the
 * worker (WebhookDeliverer) makes the HTTP calls.
 */

import { createHash, randomBytes } from 'node:crypto';
import { ServalEventSchema } from '../../contract/messages.js';
import type { Principal } from '../auth/principal.js';
import type { AuditEvent } from '../kernel/audit.js';
import { auditEvent } from '../kernel/audit.js';
import type { Clock, IdGenerator } from '../kernel/clock.js';
import { conflict, notFound, validationFailed } from '../kernel/errors.js';
import { allItems, everyItem, type Page, type PageRequest } from '../kernel/paging.js';
import { assertAllowedUrl, type UrlPolicy } from '../net/url-policy.js';
import { webhookWants } from './matching.js';
import type { DeliveryQueue, EventSink, WebhookStore } from './ports.js';
import {
  EVENT_FILTERS,
  type EventFilter,
  type ServalEvent,
  type Webhook,
  type WebhookView,
} from './types.js';

/** Fan-out bound: every event costs one queued message per webhook. */
export const MAX_WEBHOOKS = 100;
/**
 * Largest event (JSON) accepted for delivery: an SQS message (and an SNS message) is at most
 * 256 KiB, and the delivery message wraps the event in a few more fields.
 */
export const MAX_EVENT_BYTES = 240 * 1024;
const MAX_URL = 2048;
const MAX_DESCRIPTION = 4096;

export interface WebhookDeps {
  readonly store: WebhookStore;
  readonly queue: DeliveryQueue;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

export interface CreateWebhookInput {
  readonly url: string;
  readonly events: readonly EventFilter[];
  readonly description?: string;
}

/** Where a webhook may point (core/net/url-policy.ts): the deployment's webhookUrlPolicy. */
export type UrlOptions = Pick<UrlPolicy, 'allowInsecure' | 'allowPrivate'>;

/** Deterministic per (event, webhook): retries and a re-dispatched event keep the delivery id. */
export function deliveryIdOf(eventId: string, webhookId: string): string {
  return createHash('sha256').update(`${eventId}\u0000${webhookId}`, 'utf8').digest('hex').slice(0, 32);
}

export function webhookView(w: Webhook): WebhookView {
  const { secret: _secret, ...view } = w;
  return view;
}

/** Host only: webhook URLs often carry credentials in their path, and audit events are readable by viewers. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

export class WebhookService implements EventSink {
  constructor(private readonly deps: WebhookDeps) {}

  /** Registers a webhook; the returned secret is never shown again. */
  async create(
    principal: Principal,
    input: CreateWebhookInput,
    options: UrlOptions = {},
  ): Promise<{ webhook: WebhookView; secret: string }> {
    if (input.url.length > MAX_URL) throw validationFailed('url is too long', { field: 'url' });
    const url = assertAllowedUrl(input.url, options, 'url');
    const events = [...new Set(input.events)];
    if (events.length === 0 || events.some((e) => !EVENT_FILTERS.includes(e))) {
      throw validationFailed(`events must be a non-empty list of ${EVENT_FILTERS.join(', ')}`, {
        field: 'events',
      });
    }
    const description = input.description ?? '';
    if (description.length > MAX_DESCRIPTION) {
      throw validationFailed('description is too long', { field: 'description' });
    }
    if ((await this.countUpTo(MAX_WEBHOOKS)) >= MAX_WEBHOOKS) {
      throw conflict(`at most ${MAX_WEBHOOKS} webhooks; remove one first`, { limit: MAX_WEBHOOKS });
    }
    const webhook: Webhook = {
      id: this.deps.ids.next(),
      url: url.href,
      events,
      description,
      secret: randomBytes(32).toString('base64url'),
      createdAt: this.deps.clock.now().toISOString(),
      createdBy: principal.id,
      status: 'active',
    };
    await this.deps.store.create(
      webhook,
      this.audit(principal, 'webhook.create', webhook.id, { host: url.host, events }),
    );
    return { webhook: webhookView(webhook), secret: webhook.secret };
  }

  async list(page: PageRequest): Promise<Page<WebhookView>> {
    const res = await this.deps.store.list(page);
    return { items: res.items.map(webhookView), nextCursor: res.nextCursor };
  }

  async get(id: string): Promise<WebhookView> {
    const w = await this.deps.store.get(id);
    if (!w) throw notFound(`webhook ${id} does not exist`, { webhookId: id });
    return webhookView(w);
  }

  async delete(principal: Principal, id: string): Promise<WebhookView> {
    const w = await this.deps.store.get(id);
    if (!w) throw notFound(`webhook ${id} does not exist`, { webhookId: id });
    const done = await this.deps.store.delete(
      id,
      this.audit(principal, 'webhook.delete', id, { host: hostOf(w.url), events: w.events }),
    );
    if (!done) throw notFound(`webhook ${id} does not exist`, { webhookId: id });
    return webhookView(w);
  }

  /**
   * Queues one delivery of `event` per active webhook that subscribes to its type. Safe to call
   * again for the same event (say, after a partial failure): the delivery ids are the same, so
   * receivers deduplicate. Returns the deliveries queued.
   */
  async dispatch(event: ServalEvent): Promise<{ webhookId: string; deliveryId: string }[]> {
    const parsed = ServalEventSchema.safeParse(event);
    if (!parsed.success) throw new Error(`not a valid Serval event: ${parsed.error.message}`);
    if (Buffer.byteLength(JSON.stringify(event), 'utf8') > MAX_EVENT_BYTES) {
      throw new Error(`event ${event.id} is larger than ${MAX_EVENT_BYTES} bytes of JSON`);
    }
    const targets = (await allItems((page) => this.deps.store.list(page))).filter((w) =>
      webhookWants(w, event),
    );
    const messages = targets.map((w) => ({
      message: { deliveryId: deliveryIdOf(event.id, w.id), webhookId: w.id, event, attempt: 1 },
      delaySeconds: 0,
    }));
    if (messages.length > 0) await this.deps.queue.send(messages);
    return messages.map(({ message }) => ({ webhookId: message.webhookId, deliveryId: message.deliveryId }));
  }

  /** EventSink: publishing an event to webhooks is dispatching it. */
  async publish(event: ServalEvent): Promise<void> {
    await this.dispatch(event);
  }

  private async countUpTo(limit: number): Promise<number> {
    let n = 0;
    for await (const _ of everyItem((page) => this.deps.store.list(page))) {
      if (++n >= limit) break;
    }
    return n;
  }

  private audit(
    principal: Principal,
    action: string,
    id: string,
    after: Record<string, unknown>,
  ): AuditEvent {
    return auditEvent(this.deps, principal, action, `webhook/${id}`, { after });
  }
}

/**
 * Publishes every event to several sinks (webhooks, an SNS topic). Each sink is tried even if
 * another fails; if any failed, the publish rejects (AggregateError) so the caller can retry —
 * a retry is safe, since deliveries are keyed by event id.
 */
export class EventPublisher implements EventSink {
  constructor(private readonly sinks: readonly EventSink[]) {}

  async publish(event: ServalEvent): Promise<void> {
    const results = await Promise.allSettled(this.sinks.map((s) => s.publish(event)));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length > 0) throw new AggregateError(errors, `event ${event.id} was not published everywhere`);
  }
}
