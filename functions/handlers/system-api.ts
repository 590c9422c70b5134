/** Lambda entry for health, audit and the OpenAPI document. */
import type { z } from 'zod';
import { documentClient, dynamoClient, s3Client, sqsClient } from '../adapters/aws-clients.js';
import { DynamoPredictionStore } from '../adapters/dynamo-predictions.js';
import { probeBucket, probeQueue, probeTable } from '../adapters/health.js';
import { prometheusText } from '../adapters/prometheus-metrics.js';
import { BUCKETS, QUEUES, TABLES } from '../contract/resources.js';
import { createApiHandler, operation, type ProxyHandler, TextBody } from '../http/api.js';
import { CONTRACT } from '../http/contract.js';
import { openApiDocument } from '../http/openapi.js';
import type { AuditQuery, ModeBody } from '../http/schemas.js';
import {
  type Env,
  envValue,
  lambdaEntry,
  makeLogger,
  modes,
  registryServices,
  registryStore,
} from './shared.js';

const logger = makeLogger('system');

export function buildSystemApi(env: Env = process.env): ProxyHandler {
  const audit = registryStore(env);
  const registry = registryServices(env, audit);
  const db = dynamoClient();
  const s3 = s3Client();
  const sqs = sqsClient();
  const mode = modes(env);
  const predictions = new DynamoPredictionStore(documentClient(), envValue(env, TABLES.predictions.env));

  async function detailed() {
    const probes = await Promise.all([
      ...Object.entries(TABLES).map(([name, def]) => probeTable(db, `table:${name}`, envValue(env, def.env))),
      ...Object.entries(BUCKETS).map(([name, def]) =>
        probeBucket(s3, `bucket:${name}`, envValue(env, def.env)),
      ),
      ...Object.entries(QUEUES).flatMap(([name, def]) => [
        probeQueue(sqs, `queue:${name}`, envValue(env, def.env)),
        probeQueue(sqs, `queue:${name}-dlq`, envValue(env, `${def.env}_DLQ`)),
      ]),
    ]);
    const artifacts: Record<string, unknown>[] = [];
    if (probes.every((p) => p.ok)) {
      for await (const { model, version } of registry.artifacts.productionVersions()) {
        artifacts.push({ model, version, ...(await registry.artifacts.check(model, version)) });
      }
    }
    const healthy = probes.every((p) => p.ok) && artifacts.every((a) => a.ok === true);
    return {
      status: healthy ? 'ok' : 'degraded',
      stores: probes.filter((p) => p.kind !== 'sqs'),
      queues: probes.filter((p) => p.kind === 'sqs'),
      productionArtifacts: artifacts,
      checkedAt: new Date().toISOString(),
    };
  }

  return createApiHandler(
    'system',
    {
      health: operation({ handle: async () => ({ status: 'ok' }) }),
      healthDetailed: operation({ ...CONTRACT.healthDetailed, handle: detailed }),
      openapi: operation({ handle: async () => openApiDocument() }),
      getMode: operation({ handle: () => mode.current() }),
      setMode: operation<unknown, unknown, z.infer<typeof ModeBody>>({
        ...CONTRACT.setMode,
        handle: ({ principal, body }) => mode.set(principal, body.mode, body.comment),
      }),
      metrics: operation({
        handle: async () =>
          new TextBody(
            await prometheusText({ models: registry.models, predictions }),
            'text/plain; version=0.0.4; charset=utf-8',
          ),
      }),
      listAudit: operation<unknown, z.infer<typeof AuditQuery>>({
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
  return lambdaEntry(logger, () => buildSystemApi(env));
}

export const handler = createHandler();
