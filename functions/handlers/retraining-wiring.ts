/**
 * Composition of retraining from a function's environment, for the retraining API and the
 * retrain worker. Environment: SERVAL_TABLE_JOBS, SERVAL_TABLE_REGISTRY, SERVAL_TABLE_AUDIT;
 * SERVAL_QUEUE_RETRAIN (the API: requests queue jobs; workers: continuations); SERVAL_QUEUE_TRIALS
 * (the retrain worker: trials fan out when bound); SERVAL_BUCKET_ARTIFACTS (datasets in, candidate
 * artifacts and checkpoints out). SERVAL_RETRAIN_STALE_AFTER_MS overrides the heartbeat timeout
 * (the local runtime's tests kill workers and do not wait 15 minutes).
 */
import { documentClient, s3Client, sqsClient } from '../adapters/aws-clients.js';
import { DynamoJobStore } from '../adapters/dynamo-jobs.js';
import { DynamoTrialResults } from '../adapters/dynamo-trials.js';
import { S3Captures } from '../adapters/s3-captures.js';
import { S3Checkpoints } from '../adapters/s3-checkpoints.js';
import { QueueSender } from '../adapters/sqs-sender.js';
import { systemClock, ulids } from '../adapters/system.js';
import { BUCKETS, QUEUES, TABLES } from '../contract/resources.js';
import { notFound } from '../core/kernel/errors.js';
import type { ModelRunner } from '../core/kernel/runner.js';
import type { ExecutionPorts, TrialQueue } from '../core/retraining/execution.js';
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

function lazyRegistry(make: () => RetrainRegistry): RetrainRegistry {
  let port: RetrainRegistry | undefined;
  const get = () => {
    port ??= make();
    return port;
  };
  return {
    getModel: (...a) => get().getModel(...a),
    getVersion: (...a) => get().getVersion(...a),
    registerStaging: (...a) => get().registerStaging(...a),
    recordValidation: (...a) => get().recordValidation(...a),
    predict: (...a) => get().predict(...a),
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
  const table = envValue(env, TABLES.jobs.env);
  const trialsUrl = env[QUEUES.trials.env];
  const trialSender = trialsUrl
    ? new QueueSender<'trials'>(sqsClient(), trialsUrl, 'search trials')
    : undefined;
  const trials: TrialQueue | undefined = trialSender
    ? { send: async (messages) => void (await trialSender.send(messages)) }
    : undefined;
  const execution: ExecutionPorts = {
    ...(bucket ? { checkpoints: new S3Checkpoints(s3Client(), bucket) } : {}),
    results: new DynamoTrialResults(documentClient(), table),
    ...(trials ? { trials } : {}),
  };
  const staleAfterMs = Number(env.SERVAL_RETRAIN_STALE_AFTER_MS);
  return new RetrainService({
    store: new DynamoJobStore(documentClient(), table, env[TABLES.audit.env]),
    queue,
    // Built on first use: the job sweeper never touches the registry and is not bound to it.
    registry: lazyRegistry(() => registryPort(env, runner)),
    rows,
    clock: systemClock,
    ids: ulids,
    execution,
    ...(staleAfterMs > 0 ? { policy: { staleAfterMs } } : {}),
  });
}
