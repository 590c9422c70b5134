/** Composition of the monitoring service from a function's environment. */

import { documentClient, s3Client } from '../adapters/aws-clients.js';
import { DynamoMonitoringStore } from '../adapters/dynamo-monitoring.js';
import { S3Captures } from '../adapters/s3-captures.js';
import { systemClock, ulids } from '../adapters/system.js';
import { BUCKETS, TABLES } from '../contract/resources.js';
import { allItems } from '../core/kernel/paging.js';
import type { AlertRecord } from '../core/monitoring/ports.js';
import { MonitoringService } from '../core/monitoring/service.js';
import { type Env, envValue, predictionStore, registryReader } from './shared.js';
import { eventPublisher } from './webhooks-wiring.js';

export function monitoringStore(env: Env): DynamoMonitoringStore {
  return new DynamoMonitoringStore(documentClient(), {
    monitoring: envValue(env, TABLES.monitoring.env),
    audit: env[TABLES.audit.env],
  });
}

/** The model's open alerts, for the promotion gate (functions bound to the monitoring table). */
export function openAlertsReader(env: Env): { openAlerts(model: string): Promise<AlertRecord[]> } {
  const store = monitoringStore(env);
  return {
    openAlerts: (model) => allItems((page) => store.listAlerts({ ...page, model, status: 'open' })),
  };
}

/** `events`: publish alerts (webhooks, SNS); off for functions that only schedule. */
export function monitoringService(env: Env, options: { events?: boolean } = {}): MonitoringService {
  const bucket = env[BUCKETS.artifacts.env];
  const s3 = bucket ? new S3Captures(s3Client(), bucket) : undefined;
  const missing = (): never => {
    throw new Error(`${BUCKETS.artifacts.env} is not set; this function cannot read captured data`);
  };
  return new MonitoringService({
    store: monitoringStore(env),
    docs: s3 ?? { putJson: missing, getJson: missing },
    captures: s3 ?? { partitions: missing, rows: missing, sketchKey: missing },
    datasets: s3?.datasets() ?? { rows: missing },
    registry: registryReader(env),
    events: options.events === false ? undefined : eventPublisher(env),
    // Volume is judged from the serving counts; a function not bound to them reports it unavailable.
    serving: env[TABLES.predictions.env] ? predictionStore(env) : undefined,
    // Performance and degradation read labelled predictions from the same table.
    labels: env[TABLES.predictions.env] ? predictionStore(env) : undefined,
    clock: systemClock,
    ids: ulids,
  });
}
