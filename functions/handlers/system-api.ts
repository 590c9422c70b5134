/** Lambda entry for health, audit and the OpenAPI document. */
import { dynamoClient, s3Client } from '../adapters/aws-clients.js';
import { AwsHealthProbes, keyStoreLiveness } from '../adapters/health.js';
import { prometheusText } from '../adapters/prometheus-metrics.js';
import { sqsClient } from '../adapters/sqs-client.js';
import { systemClock } from '../adapters/system.js';
import { BUCKETS, dlqEnv, QUEUES, SCHEDULES, TABLES } from '../contract/resources.js';
import { unavailable } from '../core/kernel/errors.js';
import { rollbackCandidate } from '../core/registry/lifecycle.js';
import { Health } from '../core/system/health.js';
import { describeMode } from '../core/system/modes.js';
import { createApiHandler, operation, type ProxyHandler, TextBody } from '../http/api.js';
import { CONTRACT } from '../http/contract.js';
import { apiEntry, lambdaHandler } from './entry.js';
import { registryServices } from './registry-wiring.js';
import { type Env, envValue, makeLogger, modes, predictionStore, registryStore } from './shared.js';

const logger = makeLogger('system');

/** Every table, bucket and queue (and dead-letter queue) the deployment has, as bound to this function. */
function healthProbes(env: Env): AwsHealthProbes {
  const target = (name: string, variable: string) => ({ name, resource: envValue(env, variable) });
  return new AwsHealthProbes(
    { db: dynamoClient(), s3: s3Client(), sqs: sqsClient() },
    {
      tables: Object.entries(TABLES).map(([name, def]) => target(`table:${name}`, def.env)),
      buckets: Object.entries(BUCKETS).map(([name, def]) => target(`bucket:${name}`, def.env)),
      queues: Object.entries(QUEUES).flatMap(([name, def]) => [
        target(`queue:${name}`, def.env),
        target(`queue:${name}-dlq`, dlqEnv(def.env)),
      ]),
    },
  );
}

function buildSystemApi(env: Env): ProxyHandler {
  const audit = registryStore(env);
  const registry = registryServices(env, audit);
  const mode = modes(env);
  const predictions = predictionStore(env);
  const liveness = keyStoreLiveness(dynamoClient(), envValue(env, TABLES.keys.env));
  const health = new Health({
    probes: healthProbes(env),
    artifacts: {
      productionVersions: () => registry.artifacts.productionVersions(),
      check: (model, version) => registry.artifacts.check(model, version),
      lastVerification: (model, version) => registry.artifacts.lastVerification(model, version),
      rollbackTarget: (model) => rollbackCandidate(audit, model),
    },
    clock: systemClock,
    // Three sweeps missed: the sweep has stopped, and its last results no longer vouch for anything.
    maxVerificationAgeMs: 3 * SCHEDULES.integrity.rateMinutes * 60_000,
  });

  return createApiHandler(
    'system',
    {
      // Not just "the function runs": without the key store every authenticated call fails, and a
      // health check that says ok meanwhile sends load balancers and operators the wrong way.
      health: operation({
        handle: async () => {
          const probe = await liveness();
          if (!probe.ok) {
            throw unavailable('the key store is unreachable; authenticated calls fail until it is back', {
              store: probe.name,
              error: probe.error,
              retryAfterSeconds: 2,
            });
          }
          return { status: 'ok' };
        },
      }),
      healthDetailed: operation({
        ...CONTRACT.healthDetailed,
        handle: ({ principal, query }) => health.detailed(principal, { recheck: query.recheck }),
      }),
      // Loaded on first use: it builds every request and answer schema's JSON Schema.
      openapi: operation({ handle: async () => (await import('../http/openapi.js')).openApiDocument() }),
      getMode: operation({ handle: async () => describeMode(await mode.current()) }),
      setMode: operation({
        ...CONTRACT.setMode,
        handle: async ({ principal, body }) =>
          describeMode(await mode.set(principal, body.mode, body.comment)),
      }),
      metrics: operation({
        handle: async () =>
          new TextBody(
            await prometheusText({ models: registry.models, predictions }),
            'text/plain; version=0.0.4; charset=utf-8',
          ),
      }),
      listAudit: operation({
        ...CONTRACT.listAudit,
        handle: async ({ query }) => {
          // Stored times are UTC ISO strings; normalise so `since` with an offset compares correctly.
          const since = query.since ? new Date(query.since).toISOString() : undefined;
          const page = await audit.list({ ...query, since });
          return { items: page.items, nextCursor: page.nextCursor ?? null };
        },
      }),
    },
    { logger, writeGate: mode },
  );
}

/** The Lambda entry for a given environment (the local runtime passes each function its own). */
export function createHandler(env: Env = process.env) {
  return apiEntry(logger, buildSystemApi(env));
}

export const handler = await lambdaHandler(createHandler);
