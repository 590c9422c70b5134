/**
 * Composition of webhooks and event publishing from a function's environment, for the monitoring
 * API (register/list/delete webhooks), the functions that raise events (the drift worker's
 * alerts; the registry's lifecycle events, see registry-events.ts) and the webhook worker.
 *
 * Environment: SERVAL_TABLE_MONITORING (required), SERVAL_TABLE_AUDIT (to create/delete),
 * SERVAL_QUEUE_WEBHOOKS (to dispatch or retry), SERVAL_TOPIC_ALERTS (optional, AWS: alert and
 * production-affecting lifecycle events also go to this SNS topic), SERVAL_STAGE (`local` allows
 * http:// and loopback webhook URLs), SERVAL_WEBHOOK_ALLOW_PRIVATE (`true`: receivers on private
 * addresses, e.g. inside the VPC), SERVAL_WEBHOOK_BACKOFF_SCALE (optional, tests: multiplies retry delays).
 */

import { documentClient } from '../adapters/aws-clients.js';
import { DynamoWebhookStore } from '../adapters/dynamo-webhooks.js';
import { type SnsPublishClient, snsEventsFromEnv } from '../adapters/sns-events.js';
import { sqsClient } from '../adapters/sqs-client.js';
import { SqsDeliveryQueue } from '../adapters/sqs-delivery-queue.js';
import { systemClock, ulids } from '../adapters/system.js';
import { QUEUES, TABLES } from '../contract/resources.js';
import type { UrlPolicy } from '../core/net/url-policy.js';
import type { EventSink } from '../core/webhooks/ports.js';
import { EventPublisher, WebhookService } from '../core/webhooks/service.js';
import { type Env, envValue } from './shared.js';

export const BACKOFF_SCALE_ENV = 'SERVAL_WEBHOOK_BACKOFF_SCALE';
export const ALLOW_PRIVATE_ENV = 'SERVAL_WEBHOOK_ALLOW_PRIVATE';

/** Only the local runtime (SERVAL_STAGE=local) accepts http:// and loopback webhook URLs. */
export function allowInsecureUrls(env: Env): boolean {
  return env.SERVAL_STAGE === 'local';
}

/**
 * Where webhooks may point: http:// and loopback only locally; private ranges only when the
 * deployment says its receivers live there (SERVAL_WEBHOOK_ALLOW_PRIVATE=true, docs/webhooks.md).
 */
export function webhookUrlPolicy(env: Env): UrlPolicy {
  const raw = env[ALLOW_PRIVATE_ENV];
  if (raw !== undefined && raw !== '' && raw !== 'true' && raw !== 'false') {
    throw new Error(`${ALLOW_PRIVATE_ENV} must be true or false, not ${JSON.stringify(raw)}`);
  }
  return { allowInsecure: allowInsecureUrls(env), allowPrivate: raw === 'true' };
}

/** SERVAL_WEBHOOK_BACKOFF_SCALE as a number >= 0; 1 when unset. */
export function backoffScale(env: Env): number {
  const raw = env[BACKOFF_SCALE_ENV];
  if (raw === undefined || raw === '') return 1;
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale < 0) {
    throw new Error(`${BACKOFF_SCALE_ENV} must be a number >= 0, not ${JSON.stringify(raw)}`);
  }
  return scale;
}

export function webhookStore(env: Env): DynamoWebhookStore {
  return new DynamoWebhookStore(documentClient(), {
    monitoring: envValue(env, TABLES.monitoring.env),
    audit: env[TABLES.audit.env],
  });
}

export function deliveryQueue(env: Env): SqsDeliveryQueue {
  return new SqsDeliveryQueue(sqsClient(), envValue(env, QUEUES.webhooks.env));
}

/**
 * The webhook service of the monitoring API. Pass `webhookUrlPolicy(env)`
 * to create(). Needs the monitoring table, the webhooks queue and (to create/delete) the audit table.
 */
export function webhookService(env: Env): WebhookService {
  return new WebhookService({
    store: webhookStore(env),
    queue: deliveryQueue(env),
    clock: systemClock,
    ids: ulids,
  });
}

/**
 * Where events go: every matching webhook, and — when SERVAL_TOPIC_ALERTS is set — the SNS
 * topic (alerts and the lifecycle events of SNS_EVENT_TYPES). publish() rejects if any sink failed; publishing the same event
 * again is safe (deliveries are keyed by event id).
 */
export function eventPublisher(env: Env, options: { sns?: SnsPublishClient } = {}): EventPublisher {
  const sinks: EventSink[] = [webhookService(env)];
  const sns = snsEventsFromEnv(env, options.sns);
  if (sns) sinks.push(sns);
  return new EventPublisher(sinks);
}
