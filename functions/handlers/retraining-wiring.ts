/**
 * Composition of retraining from a function's environment, for the retraining API and the
 * retrain worker. Environment: SERVAL_TABLE_JOBS, SERVAL_TABLE_REGISTRY, SERVAL_TABLE_AUDIT;
 * SERVAL_QUEUE_RETRAIN (the API: requests queue jobs; workers: continuations); SERVAL_QUEUE_TRIALS
 * (the retrain worker: trials fan out when bound); SERVAL_BUCKET_ARTIFACTS (datasets in, candidate
 * artifacts and checkpoints out). SERVAL_RETRAIN_STALE_AFTER_MS overrides the heartbeat timeout
 * (the local runtime's tests kill workers and do not wait 15 minutes). SageMaker training (the
 * worker): SERVAL_TRAINING_ROLE_ARN (the execution role a policy without its own roleArn passes),
 * SERVAL_TRAINING_JOB_PREFIX (training job names, default `serval`: the IAM grant's prefix),
 * SERVAL_SAGEMAKER_POLL_SECONDS (between two DescribeTrainingJob calls, default 60).
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { documentClient, s3Client } from '../adapters/aws-clients.js';
import { DynamoJobStore } from '../adapters/dynamo-jobs.js';
import { DynamoTrialResults } from '../adapters/dynamo-trials.js';
import { S3Captures } from '../adapters/s3-captures.js';
import { S3Checkpoints } from '../adapters/s3-checkpoints.js';
import { SageMakerTrainingBackend, sagemakerClient } from '../adapters/sagemaker-training.js';
import { sqsClient } from '../adapters/sqs-client.js';
import { QueueSender } from '../adapters/sqs-sender.js';
import { systemClock, ulids } from '../adapters/system.js';
import { BUCKETS, QUEUES, TABLES } from '../contract/resources.js';
import { CreateExperimentBody } from '../core/experiments/definition.js';
import { notFound } from '../core/kernel/errors.js';
import type { ModelRunner } from '../core/kernel/runner.js';
import { MonitoringPolicy } from '../core/monitoring/policy.js';
import type { DatasetPorts } from '../core/retraining/dataset.js';
import type { ExecutionPorts, TrialQueue } from '../core/retraining/execution.js';
import type { JobQueue, JobStore, RetrainRegistry, RowSource } from '../core/retraining/jobs.js';
import type { PromotionPorts } from '../core/retraining/promotion.js';
import type { SageMakerPorts } from '../core/retraining/sagemaker-training.js';
import { type ModeVerdict, RetrainService } from '../core/retraining/service.js';
import { MODE_MEANING, mayRunTraining } from '../core/system/modes.js';
import { experimentService } from './experiments-wiring.js';
import { monitoringService, monitoringStore, openAlertsReader } from './monitoring-wiring.js';
import { lifecycleEvents } from './registry-events.js';
import { registryServices } from './registry-wiring.js';
import {
  artifactStore,
  type Env,
  envValue,
  makeLogger,
  modes,
  predictionStore,
  registryStore,
} from './shared.js';
import { eventPublisher } from './webhooks-wiring.js';

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

/** Captured labelled predictions in; the training rows and their manifest out (datasets/). */
function datasetPorts(env: Env, bucket: string): DatasetPorts {
  return {
    captures: new S3Captures(s3Client(), bucket),
    labels: predictionStore(env),
    put: async (key, body, contentType) => {
      await s3Client().send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
      );
      return `s3://${bucket}/${key}`;
    },
  };
}

/** SageMaker training jobs: the channel written and the model.tar.gz read in the artifacts bucket. */
function sagemakerPorts(env: Env, bucket: string): SageMakerPorts {
  const own = `s3://${bucket}/`;
  const poll = Number(env.SERVAL_SAGEMAKER_POLL_SECONDS);
  return {
    backend: new SageMakerTrainingBackend(sagemakerClient()),
    put: async (key, body, contentType) => {
      await s3Client().send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
      );
      return `${own}${key}`;
    },
    get: async (uri) => {
      // Only the job's own output: the worker's grant covers nothing else.
      if (!uri.startsWith(`${own}jobs/`)) throw new Error(`${uri} is not under ${own}jobs/`);
      try {
        const res = await s3Client().send(
          new GetObjectCommand({ Bucket: bucket, Key: uri.slice(own.length) }),
        );
        return await res.Body?.transformToByteArray();
      } catch (err) {
        if ((err as Error).name === 'NoSuchKey') return undefined;
        throw err;
      }
    },
    bucketUri: own,
    namePrefix: env.SERVAL_TRAINING_JOB_PREFIX || 'serval',
    ...(env.SERVAL_TRAINING_ROLE_ARN ? { defaultRoleArn: env.SERVAL_TRAINING_ROLE_ARN } : {}),
    ...(poll > 0 ? { pollSeconds: poll } : {}),
  };
}

/** Approval requests (alert, event), canaries (experiments) and promotion (registry) for the worker. */
function promotionPorts(env: Env, store: JobStore): PromotionPorts {
  const registry = () =>
    registryServices(env, registryStore(env), artifactStore(env), {
      // version.approved / version.promoted go out like any other; the promotion gate reads open alerts.
      ...lifecycleEvents(env, makeLogger('retrain-worker')),
      alerts: openAlertsReader(env),
    });
  const publisher = eventPublisher(env);
  return {
    alert: async (a) => (await monitoringService(env).raiseOperationalAlert({ kind: 'retraining', ...a })).id,
    event: (type, id, data) => publisher.publish({ id, type, at: systemClock.now().toISOString(), data }),
    startCanary: async (principal, i) => {
      const experiments = experimentService(env);
      const e = await experiments.create(
        principal,
        CreateExperimentBody.parse({
          name: i.name,
          description: `canary of the retraining candidate ${i.candidate}`,
          model: i.model,
          kind: 'canary',
          variants: [{ version: i.production, control: true }, { version: i.candidate }],
          ...(i.canary ? { canary: i.canary } : {}),
        }),
      );
      await experiments.start(principal, e.id, 'started by the retraining policy');
      return e.id;
    },
    approve: async (principal, model, version, comment) => {
      await registry().lifecycle.decideApproval(principal, model, version, 'approved', comment);
    },
    promote: async (principal, model, version, comment) => {
      await registry().lifecycle.transition(principal, model, version, 'production', comment);
    },
    audit: (e) => store.audit(e),
    clock: systemClock,
    ids: ulids,
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
    send: async (m, o) => {
      if (!sender) unbound('the retrain queue')();
      if (o?.delaySeconds) await sender?.sendDelayed([{ message: m, delaySeconds: o.delaySeconds }]);
      else await sender?.send([m]);
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
  // The worker may train on SageMaker (the model's policy decides); the API and sweeper never do.
  const worker = runner !== undefined && env[TABLES.monitoring.env] !== undefined;
  const sagemaker = worker && bucket ? { sagemaker: sagemakerPorts(env, bucket) } : {};
  const execution: ExecutionPorts = {
    ...(bucket ? { checkpoints: new S3Checkpoints(s3Client(), bucket) } : {}),
    results: new DynamoTrialResults(documentClient(), table),
    ...(trials ? { trials } : {}),
    ...sagemaker,
  };
  const staleAfterMs = Number(env.SERVAL_RETRAIN_STALE_AFTER_MS);
  // Bound where jobs are requested (the API, the triggers); workers run what was already queued.
  const mode = env[TABLES.settings.env] ? modeVerdict(env) : undefined;
  const store = new DynamoJobStore(documentClient(), table, env[TABLES.audit.env]);
  // The worker reads the model's retraining policy and acts on it; the API only queues jobs.
  return new RetrainService({
    store,
    queue,
    // Built on first use: the job sweeper never touches the registry and is not bound to it.
    registry: lazyRegistry(() => registryPort(env, runner)),
    rows,
    clock: systemClock,
    ids: ulids,
    execution,
    ...(mode ? { mode } : {}),
    ...(staleAfterMs > 0 ? { policy: { staleAfterMs } } : {}),
    ...(worker
      ? {
          retrainingPolicy: async (model: string) => {
            const stored = await monitoringStore(env).getPolicy(model);
            return stored ? MonitoringPolicy.parse(stored).retraining : undefined;
          },
          promotion: promotionPorts(env, store),
          ...(bucket && env[TABLES.predictions.env] ? { dataset: datasetPorts(env, bucket) } : {}),
        }
      : {}),
  });
}

/** The operating mode's rule (core/system/modes.ts) applied to the model's retraining policy. */
function modeVerdict(env: Env): (model: string) => Promise<ModeVerdict> {
  const current = modes(env);
  return async (model) => {
    const { mode } = await current.current();
    const rule = MODE_MEANING[mode].retraining;
    if (rule !== 'if_policy_allows') return { mode, retraining: rule, allowed: rule === 'always' };
    // Only this rule needs the policy; a model without one gets the defaults (allowInServing).
    const stored = await monitoringStore(env).getPolicy(model);
    const { allowInServing } = MonitoringPolicy.parse(stored ?? {}).retraining;
    return { mode, retraining: rule, allowed: mayRunTraining(mode, { allowInServing }) };
  };
}
