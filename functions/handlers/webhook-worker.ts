/**
 * SQS worker: delivers queued webhook events (functions/core/webhooks/delivery.ts decides what
 * each outcome means). A retry is a new message sent with the backoff delay, and the received one
 * counts as processed, so SQS does not redeliver it as well; a permanent failure or the last
 * attempt is recorded and dropped. Only errors a redelivery may cure — the store or the queue
 * unreachable — are reported as batch item failures. Records of a batch are delivered
 * concurrently: one slow receiver (10 s timeout) must not hold up the others.
 *
 * The URL is checked again at delivery time, and names are resolved and their addresses checked
 * too: DNS may point a name that was harmless at registration at a metadata address now. (fetch
 * resolves the name again itself, so this narrows a DNS-rebinding window rather than closing it;
 * redirects are never followed, so a receiver cannot bounce the call elsewhere.)
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { systemClock } from '../adapters/system.js';
import { assertAllowedUrl } from '../core/net/url-policy.js';
import { type DeliveryResult, WebhookDeliverer } from '../core/webhooks/delivery.js';
import type { HttpPoster } from '../core/webhooks/ports.js';
import { ATTEMPT_TIMEOUT_MS } from '../core/webhooks/retry.js';
import { DeliveryMessageSchema } from '../core/webhooks/types.js';
import { type Env, makeLogger } from './shared.js';
import { allowInsecureUrls, backoffScale, deliveryQueue, webhookStore } from './webhooks-wiring.js';

const logger = makeLogger('webhook-worker');

/** POST with fetch: a timeout per attempt, no redirects followed, the response body discarded. */
export function fetchPoster(timeoutMs: number = ATTEMPT_TIMEOUT_MS): HttpPoster {
  return {
    async post(url, body, headers) {
      const res = await fetch(url, {
        method: 'POST',
        body,
        headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Release the connection without reading what the receiver sent (it could be anything).
      await res.body?.cancel().catch(() => {});
      return { status: res.status };
    },
  };
}

/** Refuses a host name that resolves to an address the URL policy forbids (e.g. 169.254.169.254). */
export function dnsAddressCheck(allowInsecure: boolean): (url: URL) => Promise<void> {
  return async (url) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) return; // literal addresses were checked with the URL itself
    // A failed lookup is a network error like any other: fetch will fail and the attempt retried.
    const addresses = await lookup(host, { all: true, verbatim: true }).catch(() => []);
    for (const { address, family } of addresses) {
      const literal = family === 6 ? `[${address}]` : address;
      assertAllowedUrl(`${url.protocol}//${literal}/`, { allowInsecure }, 'url');
    }
  };
}

export interface WebhookWorkerOptions {
  /** Replaces fetch (tests). */
  readonly http?: HttpPoster;
  /** Per-attempt timeout of the default poster; default 10 s. */
  readonly timeoutMs?: number;
  readonly random?: () => number;
}

export function buildWebhookWorker(env: Env = process.env, options: WebhookWorkerOptions = {}) {
  const allowInsecure = allowInsecureUrls(env);
  const store = webhookStore(env);
  const deliverer = new WebhookDeliverer({
    store,
    log: store.deliveryLog(),
    queue: deliveryQueue(env),
    http: options.http ?? fetchPoster(options.timeoutMs),
    clock: systemClock,
    allowInsecure,
    backoffScale: backoffScale(env),
    random: options.random,
    checkAddress: dnsAddressCheck(allowInsecure),
  });

  const one = async (record: SQSRecord): Promise<boolean> => {
    const parsed = (() => {
      try {
        return DeliveryMessageSchema.safeParse(JSON.parse(record.body));
      } catch {
        return undefined;
      }
    })();
    if (!parsed?.success) {
      // A malformed message can never succeed; retrying would only park it in the DLQ later.
      logger.error('malformed webhook delivery message dropped', { messageId: record.messageId });
      return true;
    }
    const message = parsed.data;
    const ids = {
      webhookId: message.webhookId,
      deliveryId: message.deliveryId,
      eventId: message.event.id,
      eventType: message.event.type,
      attempt: message.attempt,
    };
    let result: DeliveryResult;
    try {
      result = await deliverer.deliver(message);
    } catch (err) {
      logger.error('webhook delivery errored; SQS will redeliver', { ...ids, error: err as Error });
      return false;
    }
    // Logged: ids, outcome, status and a short reason; never the URL, body, headers or secret.
    const { outcome } = result;
    if (outcome.kind === 'delivered') logger.info('webhook delivered', { ...ids, status: outcome.status });
    else if (outcome.kind === 'retrying')
      logger.warn('webhook delivery will be retried', { ...ids, ...outcome });
    else if (outcome.kind === 'failed') logger.warn('webhook delivery failed', { ...ids, ...outcome });
    else logger.info('webhook delivery dropped', { ...ids, reason: outcome.reason });
    if (result.recordError) {
      logger.warn('webhook delivery outcome not recorded', { ...ids, error: result.recordError as Error });
    }
    return true;
  };

  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const done = await Promise.all(event.Records.map(one));
    return {
      batchItemFailures: event.Records.flatMap((r, i) => (done[i] ? [] : [{ itemIdentifier: r.messageId }])),
    };
  };
}

export function createHandler(env: Env = process.env, options: WebhookWorkerOptions = {}) {
  let built: ReturnType<typeof buildWebhookWorker> | undefined;
  return (event: SQSEvent) => {
    built ??= buildWebhookWorker(env, options);
    return built(event);
  };
}

export const handler = createHandler();
