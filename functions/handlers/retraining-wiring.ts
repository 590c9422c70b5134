/**
 * Composition of retraining from a function's environment, for the retraining API and the
 * retrain worker. Environment: SERVAL_TABLE_JOBS, SERVAL_TABLE_REGISTRY, SERVAL_TABLE_AUDIT;
 * SERVAL_QUEUE_RETRAIN (the API: requests queue jobs); SERVAL_BUCKET_ARTIFACTS (the worker:
 * datasets in, candidate artifacts out).
 */
import { documentClient, s3Client, sqsClient } from '../adapters/aws-clients.js';
import { DynamoJobStore } from '../adapters/dynamo-jobs.js';
import { S3Captures } from '../adapters/s3-captures.js';
import { QueueSender } from '../adapters/sqs-sender.js';
import { systemClock, ulids } from '../adapters/system.js';
import { BUCKETS, QUEUES, TABLES } from '../contract/resources.js';
import { notFound } from '../core/kernel/errors.js';
import type { ModelRunner } from '../core/kernel/runner.js';
import type { JobQueue, RetrainRegistry, RowSource } from '../core/retraining/jobs.js';
import { RetrainService } from '../core/retraining/service.js';
import { artifactStore, type Env, envValue, registryServices, registryStore } from './shared.js';

const unbound = (what: string) => () => {
  throw new Error(`this function is not bound to ${what}`);
};

/** Loads the model runner; only the worker has one (onnxruntime is its layer, not the API's). */
export type RunnerLoader = () => Promise<ModelRunner>;

function registryPort(env: Env, runner?: RunnerLoader): RetrainRegistry {
  const store = registryStore(env);
  const bucketBound = env[BUCKETS.artifacts.env] !== undefined;
  const loadRunner: RunnerLoader =
    runner ?? (() => Promise.reject(new Error('this function runs no models (no onnxruntime)')));
  const registry = bucketBound
    ? registryServices(env, store, artifactStore(env), { runner: loadRunner })
    : undefined;
  const need = () => {
    if (!registry) throw new Error('this function is not bound to the artifacts bucket');
    return registry;
  };
  return {
    getModel: async (name) => {
      const model = await store.getModel(name);
      if (!model) throw notFound(`no model ${name}`);
      return model;
    },
    getVersion: async (name, version) => {
      const v = await store.getVersion(name, version);
      if (!v) throw notFound(`no version ${version} of ${name}`);
      return v;
    },
    registerStaging: async (principal, name, input) => {
      const r = need();
      const { version } = await r.artifacts.register(principal, name, input);
      await r.lifecycle.transition(principal, name, version.version, 'testing', 'retraining candidate');
      return r.lifecycle.transition(principal, name, version.version, 'staging', 'retraining candidate');
    },
    recordValidation: async (principal, name, version, report) => {
      await need().validation.record(principal, name, version, report);
    },
    predict: async (principal, name, version, instances) =>
      (await need().validation.predict(principal, name, version, instances, await loadRunner())).predictions,
  };
}

export function retrainService(env: Env, runner?: RunnerLoader): RetrainService {
  const queueUrl = env[QUEUES.retrain.env];
  const sender = queueUrl ? new QueueSender<'retrain'>(sqsClient(), queueUrl, 'retraining jobs') : undefined;
  const queue: JobQueue = {
    send: async (m) => {
      if (!sender) unbound('the retrain queue')();
      await sender?.send([m]);
    },
  };
  const bucket = env[BUCKETS.artifacts.env];
  const rows: RowSource = bucket
    ? new S3Captures(s3Client(), bucket).datasets()
    : { rows: unbound('the artifacts bucket') as RowSource['rows'] };
  return new RetrainService({
    store: new DynamoJobStore(documentClient(), envValue(env, TABLES.jobs.env), env[TABLES.audit.env]),
    queue,
    registry: registryPort(env, runner),
    rows,
    clock: systemClock,
    ids: ulids,
  });
}
