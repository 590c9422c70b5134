/**
 * SQS worker: delivers queued webhook events (functions/core/webhooks/delivery.ts decides what
 * each outcome means). A retry is a new message sent with the backoff delay, and the received one
 * counts as processed, so SQS does not redeliver it as well; a permanent failure or the last
 * attempt is recorded and dropped. Only errors a redelivery may cure — the store or the queue
 * unreachable — are reported as batch item failures. Records of a batch are delivered
 * concurrently: one slow receiver (10 s timeout) must not hold up the others. The HTTP call and
 * the DNS check at delivery time are functions/adapters/webhook-http.ts.
 */
import { systemClock } from '../adapters/system.js';
import { dnsAddressCheck, fetchPoster } from '../adapters/webhook-http.js';
import { DeliveryMessageSchema } from '../contract/messages.js';
import { type DeliveryResult, WebhookDeliverer } from '../core/webhooks/delivery.js';
import type { HttpPoster } from '../core/webhooks/ports.js';
import { lambdaHandler, queueEntry } from './entry.js';
import { type Env, makeLogger } from './shared.js';
import { backoffScale, deliveryQueue, webhookStore, webhookUrlPolicy } from './webhooks-wiring.js';

const logger = makeLogger('webhook-worker');

export interface WebhookWorkerOptions {
  /** Replaces fetch (tests). */
  readonly http?: HttpPoster;
  /** Per-attempt timeout of the default poster; default 10 s. */
  readonly timeoutMs?: number;
  readonly random?: () => number;
}

export function createHandler(env: Env = process.env, options: WebhookWorkerOptions = {}) {
  const urlPolicy = webhookUrlPolicy(env);
  const store = webhookStore(env);
  const deliverer = new WebhookDeliverer({
    store,
    log: store.deliveryLog(),
    queue: deliveryQueue(env),
    http: options.http ?? fetchPoster(options.timeoutMs),
    clock: systemClock,
    urlPolicy,
    backoffScale: backoffScale(env),
    random: options.random,
    checkAddress: dnsAddressCheck(urlPolicy),
  });
  return queueEntry({
    logger,
    schema: DeliveryMessageSchema,
    name: 'webhook delivery',
    parallel: true,
    handle: async (message) => {
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
        throw err;
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
    },
  });
}

export const handler = await lambdaHandler((env) => createHandler(env));
