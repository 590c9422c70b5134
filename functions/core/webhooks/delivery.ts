/**
 * One delivery attempt, and what follows from its outcome: the decision logic of the webhook
 * worker, with the HTTP call, the store and the queue behind ports.
 *
 * - webhook gone (deleted since dispatch) or disabled → dropped, nothing recorded;
 * - URL refused by the URL policy at delivery time → failed (`url_refused`), not called. The
 *   check is repeated here, not only at registration, because policy and stage may have changed
 *   since; a name may also resolve elsewhere now, which the optional `checkAddress` port covers;
 * - 2xx → delivered; 408/429/5xx/timeout/network error → queued again with the backoff delay and
 *   attempt + 1, or failed (`exhausted`) after MAX_ATTEMPTS; any other status → failed
 *   (`rejected`), no retry.
 *
 * Errors of the store (loading the webhook) and the queue (re-queueing) propagate: the caller
 * lets SQS redeliver the message. Recording the outcome is best-effort and never fails a delivery
 * that was made (that would only cause a duplicate).
 */

import type { Clock } from '../kernel/clock.js';
import { isDomainError } from '../kernel/errors.js';
import { assertAllowedUrl, type UrlPolicy } from '../net/url-policy.js';
import type { DeliveryLog, DeliveryQueue, HttpPoster, WebhookStore } from './ports.js';
import { classifyStatus, MAX_ATTEMPTS, retryDelaySeconds } from './retry.js';
import { deliveryHeaders } from './signing.js';
import type { DeliveryFailure, DeliveryMessage, DeliveryRecord } from './types.js';

export interface DelivererDeps {
  readonly store: Pick<WebhookStore, 'get'>;
  readonly log?: Pick<DeliveryLog, 'record'>;
  readonly queue: DeliveryQueue;
  readonly http: HttpPoster;
  readonly clock: Clock;
  /** Where webhooks may point (http:// and loopback locally; private ranges by opt-in). */
  readonly urlPolicy?: Pick<UrlPolicy, 'allowInsecure' | 'allowPrivate'>;
  /** Multiplies retry delays (tests); default 1. */
  readonly backoffScale?: number;
  readonly random?: () => number;
  /**
   * Optional: refuse a host whose name now resolves to a forbidden address (throws
   * validation_failed). Note that the HTTP client resolves again, so this narrows, but does not
   * close, a DNS-rebinding window.
   */
  readonly checkAddress?: (url: URL) => Promise<void>;
}

export type DeliveryOutcome =
  | { readonly kind: 'dropped'; readonly reason: 'webhook_gone' | 'webhook_disabled' }
  | { readonly kind: 'delivered'; readonly status: number; readonly attempt: number }
  | {
      readonly kind: 'retrying';
      readonly attempt: number;
      readonly delaySeconds: number;
      readonly status?: number;
      readonly error?: string;
    }
  | {
      readonly kind: 'failed';
      readonly failure: DeliveryFailure;
      readonly attempt: number;
      readonly status?: number;
      readonly error?: string;
    };

export interface DeliveryResult {
  readonly outcome: DeliveryOutcome;
  /** Set when the outcome could not be recorded (the delivery itself stands). */
  readonly recordError?: unknown;
}

/** A short, secret-free description of a failed HTTP attempt. */
export function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  const code = e?.cause?.code;
  if (typeof code === 'string') return `network error: ${code}`;
  return `network error: ${String(e?.cause?.message ?? e?.message ?? err).slice(0, 160)}`;
}

export class WebhookDeliverer {
  constructor(private readonly deps: DelivererDeps) {}

  async deliver(message: DeliveryMessage): Promise<DeliveryResult> {
    const webhook = await this.deps.store.get(message.webhookId);
    if (!webhook) return { outcome: { kind: 'dropped', reason: 'webhook_gone' } };
    if (webhook.status !== 'active') return { outcome: { kind: 'dropped', reason: 'webhook_disabled' } };
    const attempt = message.attempt;

    let url: URL;
    try {
      url = assertAllowedUrl(webhook.url, this.deps.urlPolicy ?? {}, 'url');
      await this.deps.checkAddress?.(url);
    } catch (err) {
      if (!isDomainError(err, 'validation_failed')) throw err;
      return this.finish(message, { kind: 'failed', failure: 'url_refused', attempt, error: err.message });
    }

    const body = JSON.stringify(message.event);
    const headers = deliveryHeaders({
      secret: webhook.secret,
      body,
      eventType: message.event.type,
      deliveryId: message.deliveryId,
      timestamp: Math.floor(this.deps.clock.now().getTime() / 1000),
    });
    let status: number | undefined;
    let error: string | undefined;
    try {
      status = (await this.deps.http.post(url.href, body, headers)).status;
    } catch (err) {
      error = describeError(err);
    }
    const verdict = status === undefined ? 'retry' : classifyStatus(status);
    if (verdict === 'delivered') return this.finish(message, { kind: 'delivered', status: status!, attempt });
    if (status !== undefined) error = `HTTP ${status}`;
    if (verdict === 'permanent') {
      return this.finish(message, { kind: 'failed', failure: 'rejected', attempt, status, error });
    }
    const delaySeconds = retryDelaySeconds(attempt, {
      scale: this.deps.backoffScale,
      random: this.deps.random,
    });
    if (delaySeconds === undefined || attempt >= MAX_ATTEMPTS) {
      return this.finish(message, { kind: 'failed', failure: 'exhausted', attempt, status, error });
    }
    await this.deps.queue.send([{ message: { ...message, attempt: attempt + 1 }, delaySeconds }]);
    return this.finish(message, { kind: 'retrying', attempt, delaySeconds, status, error });
  }

  private async finish(message: DeliveryMessage, outcome: DeliveryOutcome): Promise<DeliveryResult> {
    if (!this.deps.log || outcome.kind === 'dropped') return { outcome };
    const now = this.deps.clock.now();
    const record: DeliveryRecord = {
      webhookId: message.webhookId,
      deliveryId: message.deliveryId,
      eventId: message.event.id,
      eventType: message.event.type,
      eventAt: message.event.at,
      status: outcome.kind,
      attempts: outcome.attempt,
      updatedAt: now.toISOString(),
      ...(outcome.kind === 'failed' ? { failure: outcome.failure } : {}),
      ...('status' in outcome && outcome.status !== undefined ? { lastStatusCode: outcome.status } : {}),
      ...('error' in outcome && outcome.error !== undefined
        ? { lastError: outcome.error.slice(0, 200) }
        : {}),
      ...(outcome.kind === 'retrying'
        ? { nextAttemptAt: new Date(now.getTime() + outcome.delaySeconds * 1000).toISOString() }
        : {}),
    };
    try {
      await this.deps.log.record(record);
      return { outcome };
    } catch (recordError) {
      return { outcome, recordError };
    }
  }
}
