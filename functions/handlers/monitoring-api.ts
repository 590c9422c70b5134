/** Lambda entry for monitoring: baselines, drift checks and reports, policies, alerts, webhooks. */
import { unsupported } from '../core/kernel/errors.js';
import { onlineIneligibility } from '../core/online/learner.js';
import { createApiHandler, operation, type ProxyHandler } from '../http/api.js';
import { CONTRACT } from '../http/contract.js';
import { apiEntry, lambdaHandler } from './entry.js';
import { idempotencyLayer } from './idempotency.js';
import { monitoringService } from './monitoring-wiring.js';
import { onlineLearning } from './online-wiring.js';
import { afterDriftCheck, retrainTriggers } from './retrain-triggers-wiring.js';
import { artifactStore, type Env, makeLogger, modes, registryReader } from './shared.js';
import { webhookService, webhookUrlPolicy } from './webhooks-wiring.js';

const logger = makeLogger('monitoring');

export function buildMonitoringApi(env: Env = process.env): ProxyHandler {
  const monitoring = monitoringService(env);
  const webhooks = webhookService(env);
  const triggers = retrainTriggers(env);
  const online = onlineLearning(env);
  return createApiHandler(
    'monitoring',
    {
      putBaseline: operation({
        ...CONTRACT.putBaseline,
        handle: ({ principal, params, body }) => monitoring.putBaseline(principal, params.name, body),
      }),
      getBaseline: operation({
        ...CONTRACT.getBaseline,
        handle: async ({ params, query }) => {
          const { ref, profile } = await monitoring.getBaseline(params.name, query.version);
          // The raw reference sample stays inside: it is data, and large.
          return {
            ...ref,
            features: profile.features.map((f) => ({ name: f.name, kind: f.kind, summary: f.summary })),
          };
        },
      }),
      checkDrift: operation({
        ...CONTRACT.checkDrift,
        handle: async ({ params, body }) => {
          const report = await monitoring.check(params.name, { from: body.from, to: body.to }, 'manual');
          // A checked window is a checked window: the drift trigger counts it like a scheduled one.
          await afterDriftCheck(triggers, params.name, logger);
          return report;
        },
      }),
      listDriftReports: operation({
        ...CONTRACT.listDriftReports,
        handle: async ({ params, query }) => {
          const page = await monitoring.listReports(params.name, query);
          return { items: page.items, nextCursor: page.nextCursor ?? null };
        },
      }),
      listQualityReports: operation({
        ...CONTRACT.listQualityReports,
        handle: async ({ params, query }) => {
          const page = await monitoring.listQualityReports(params.name, query);
          return { items: page.items, nextCursor: page.nextCursor ?? null };
        },
      }),
      getPerformance: operation({
        ...CONTRACT.getPerformance,
        handle: ({ params, query }) => monitoring.performance(params.name, query),
      }),
      getFairness: operation({
        ...CONTRACT.getFairness,
        handle: ({ params, query }) => monitoring.fairness(params.name, query),
      }),
      putPolicy: operation({
        ...CONTRACT.putPolicy,
        handle: async ({ principal, params, body }) => {
          if (body.onlineLearning.enabled) {
            const why = await onlineIneligibility(registryReader(env), artifactStore(env), params.name);
            if (why) {
              throw unsupported(`online learning cannot be enabled for ${params.name}: ${why}`, {
                field: 'onlineLearning.enabled',
                model: params.name,
              });
            }
          }
          return monitoring.putPolicy(principal, params.name, body);
        },
      }),
      getPolicy: operation({
        ...CONTRACT.getPolicy,
        handle: ({ params }) => monitoring.getPolicy(params.name),
      }),
      getOnline: operation({
        ...CONTRACT.getOnline,
        handle: ({ params }) => online.describe(params.name),
      }),
      resetOnline: operation({
        ...CONTRACT.resetOnline,
        handle: ({ principal, params, body }) => online.reset(principal, params.name, body.reason),
      }),
      listAlerts: operation({
        ...CONTRACT.listAlerts,
        handle: async ({ query }) => {
          const page = await monitoring.listAlerts(query);
          return { items: page.items, nextCursor: page.nextCursor ?? null };
        },
      }),
      ackAlert: operation({
        ...CONTRACT.ackAlert,
        handle: ({ principal, params, body }) => monitoring.ackAlert(principal, params.alertId, body.comment),
      }),
      createWebhook: operation({
        ...CONTRACT.createWebhook,
        handle: async ({ principal, body }) => {
          const { webhook, secret } = await webhooks.create(principal, body, webhookUrlPolicy(env));
          return { ...webhook, secret, notice: 'store this signing secret now: it is shown once' };
        },
      }),
      listWebhooks: operation({
        ...CONTRACT.listWebhooks,
        handle: async ({ query }) => {
          const page = await webhooks.list(query);
          return { items: page.items, nextCursor: page.nextCursor ?? null };
        },
      }),
      deleteWebhook: operation({
        ...CONTRACT.deleteWebhook,
        handle: ({ principal, params }) => webhooks.delete(principal, params.webhookId),
      }),
    },
    { logger, idempotency: idempotencyLayer(env), writeGate: modes(env) },
  );
}

/** The Lambda entry for a given environment (the local runtime passes each function its own). */
export function createHandler(env: Env = process.env) {
  return apiEntry(logger, buildMonitoringApi(env));
}

export const handler = await lambdaHandler(createHandler);
