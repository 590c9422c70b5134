/**
 * Training a job's candidate on SageMaker (the policy's `retraining.training.sagemaker`) instead
 * of in the worker: for data or compute beyond a Lambda. The worker still builds the rows and the
 * seeded split; the training split goes to S3 as the `train` channel, a training job runs the
 * user's image on it, and the job polls it with delayed continuation messages (never a wait
 * inside one invocation). Its `model.tar.gz` holding `model.onnx` becomes the candidate, judged
 * on the held-out rows and promoted under the policy like a searched one (service.concludeWith).
 *
 * Idempotence: the training job's name is derived from the job id and the attempt that first
 * decided it, and is written on the job (status `Creating`) before CreateTrainingJob; any later
 * step reads that name, and a create that finds the name taken (a redelivery, a worker that
 * died after the call) describes it instead of starting a second one.
 */
import { validationFailed } from '../kernel/errors.js';
import type { SageMakerTrainingPolicy } from '../monitoring/policy.js';
import { readTarGz } from '../registry/archive.js';
import { unpackSageMaker } from '../registry/imports.js';
import type { JobQueue, RetrainJob, TrainingRun } from './jobs.js';
import type { Prepared, RetrainService } from './service.js';

export const TRAINING_STATUSES = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped'] as const;
export type TrainingStatus = (typeof TRAINING_STATUSES)[number];

export interface TrainingJobInput {
  /** S3 prefix of the `train` channel. */
  readonly inputUri: string;
  /** S3OutputPath. */
  readonly outputUri: string;
  readonly image: string;
  readonly instanceType: string;
  readonly instanceCount: number;
  readonly volumeSizeGb: number;
  readonly maxRuntimeSeconds: number;
  readonly hyperparameters: Readonly<Record<string, string>>;
  readonly roleArn: string;
}

export interface TrainingJobState {
  readonly status: TrainingStatus;
  readonly secondaryStatus?: string;
  readonly failureReason?: string;
  /** S3 URI of model.tar.gz, once Completed. */
  readonly modelArtifactUri?: string;
}

/** SageMaker's CreateTrainingJob, DescribeTrainingJob and StopTrainingJob. */
export interface TrainingBackend {
  /** 'exists' when a training job of that name exists already (SageMaker's ResourceInUse). */
  start(name: string, input: TrainingJobInput): Promise<'created' | 'exists'>;
  /** undefined when SageMaker knows no training job of that name. */
  describe(name: string): Promise<TrainingJobState | undefined>;
  stop(name: string): Promise<void>;
}

export interface SageMakerPorts {
  readonly backend: TrainingBackend;
  /** Writes an object of the artifacts bucket; returns its s3:// URI. */
  put(key: string, body: Uint8Array | string, contentType: string): Promise<string>;
  /** Reads an s3:// object; undefined when absent. */
  get(uri: string): Promise<Uint8Array | undefined>;
  /** s3:// URI of the artifacts bucket's root (`s3://bucket/`). */
  readonly bucketUri: string;
  /** Training job names start with it (the IAM grant is on `training-job/<prefix>-*`). */
  readonly namePrefix: string;
  /** The execution role when the policy names none (the deployment's training role). */
  readonly defaultRoleArn?: string;
  /** Seconds between two DescribeTrainingJob calls (default 60; SQS delays at most 900). */
  readonly pollSeconds?: number;
}

export interface SageMakerContext {
  readonly service: RetrainService;
  readonly queue: JobQueue;
  readonly ports: SageMakerPorts;
  /** Heartbeat and progress while this attempt owns the job (throws when superseded or cancelled). */
  beat(job: RetrainJob, progress: RetrainJob['progress'], line?: string): Promise<void>;
}

/** SageMaker's TrainingJobName: 1-63 characters, alphanumerics and single hyphens. */
export function trainingJobName(prefix: string, jobId: string, attempt: number): string {
  const name = `${prefix}-${jobId.toLowerCase()}-${attempt}`;
  if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(name))
    throw validationFailed(`training job name ${name} is not one SageMaker accepts`);
  return name;
}

/** How far along a secondary status is, for the progress bar. */
const FRACTION: Readonly<Record<string, number>> = {
  Starting: 0.1,
  Pending: 0.1,
  LaunchingMLInstances: 0.15,
  PreparingTrainingStack: 0.15,
  Downloading: 0.2,
  DownloadingTrainingImage: 0.25,
  Training: 0.4,
  Uploading: 0.75,
  Completed: 0.8,
};

const message = (s: { status: string; secondaryStatus?: string | undefined }) =>
  `SageMaker: ${s.status}${s.secondaryStatus ? ` (${s.secondaryStatus})` : ''}`;

/** The training split as the `train` channel: a CSV with a header (features, then `label`). */
function trainCsv(p: Prepared): string {
  const lines = [[...p.features, 'label'].join(',')];
  p.tx.forEach((row, i) => {
    lines.push([...row, p.classes[p.ty[i] as number]].join(','));
  });
  return `${lines.join('\n')}\n`;
}

/**
 * The first step: rows and split (the dataset manifest as any job), the train channel, the
 * training job's name recorded, CreateTrainingJob, and the first delayed poll.
 */
export async function startOnSageMaker(
  ctx: SageMakerContext,
  job: RetrainJob,
  p: Prepared,
  policy: SageMakerTrainingPolicy,
): Promise<RetrainJob | undefined> {
  const { ports, service } = ctx;
  const roleArn = policy.roleArn ?? ports.defaultRoleArn;
  if (!roleArn)
    throw validationFailed(
      'the policy trains on SageMaker but names no roleArn, and the deployment has no training role (servalTrainingRoleArn)',
    );
  const attempt = job.attempt ?? 1;
  const name = trainingJobName(ports.namePrefix, job.id, attempt);
  const base = `jobs/${job.id}/sagemaker`;
  await ports.put(`${base}/train/train.csv`, trainCsv(p), 'text/csv');
  await ports.put(
    `${base}/train/schema.json`,
    JSON.stringify({ features: p.features, classes: p.classes, label: 'label', rows: p.tx.length }),
    'application/json',
  );
  const run: TrainingRun = {
    backend: 'sagemaker',
    trainingJobName: name,
    image: policy.image,
    instanceType: policy.instanceType,
    instanceCount: policy.instanceCount,
    hyperparameters: policy.hyperparameters,
    inputUri: `${ports.bucketUri}${base}/train/`,
    outputUri: `${ports.bucketUri}${base}/output`,
    parentVersion: p.parentVersion,
    dataset: { uri: p.uri, sha256: p.sha256, rows: p.rows },
    status: 'Creating',
    polls: 0,
  };
  // The name is on the job before the call: a worker dying after it leaves a name to find.
  const recorded = await service.update(
    job.id,
    (j) => (j.attempt === attempt && !j.training ? { ...j, training: run } : j),
    `dataset ${p.uri}: ${p.rows} rows, sha256 ${p.sha256}; ${p.tx.length} training rows to SageMaker training job ${name} (${policy.image} on ${policy.instanceCount} × ${policy.instanceType})`,
  );
  if (recorded.training?.trainingJobName !== name) return recorded;
  return create(ctx, recorded, run, roleArn, policy);
}

async function create(
  ctx: SageMakerContext,
  job: RetrainJob,
  run: TrainingRun,
  roleArn: string,
  policy: Pick<SageMakerTrainingPolicy, 'volumeSizeGb' | 'maxRuntimeSeconds'>,
): Promise<RetrainJob | undefined> {
  const created = await ctx.ports.backend.start(run.trainingJobName, {
    inputUri: run.inputUri,
    outputUri: run.outputUri,
    image: run.image,
    instanceType: run.instanceType,
    instanceCount: run.instanceCount,
    volumeSizeGb: policy.volumeSizeGb,
    maxRuntimeSeconds: policy.maxRuntimeSeconds,
    hyperparameters: run.hyperparameters,
    roleArn,
  });
  await ctx.service.update(job.id, (j) =>
    j.training?.status === 'Creating' ? { ...j, training: { ...j.training, status: 'InProgress' } } : j,
  );
  await ctx.beat(
    job,
    {
      fraction: 0.1,
      message: message({ status: 'InProgress', secondaryStatus: 'Starting' }),
      trial: 0,
      trials: 0,
    },
    created === 'created'
      ? `SageMaker training job ${run.trainingJobName} created`
      : `SageMaker training job ${run.trainingJobName} already exists; following it`,
  );
  return pollLater(ctx, job);
}

async function pollLater(ctx: SageMakerContext, job: RetrainJob): Promise<RetrainJob | undefined> {
  await ctx.queue.send(
    { jobId: job.id, attempt: (job.attempt ?? 1) + 1 },
    { delaySeconds: ctx.ports.pollSeconds ?? 60 },
  );
  return ctx.service.get(job.id);
}

/**
 * A later step: a cancel stops the training job; otherwise DescribeTrainingJob, the status on
 * the job, and another delayed poll, the failure, or the candidate.
 */
export async function followOnSageMaker(
  ctx: SageMakerContext,
  job: RetrainJob,
  run: TrainingRun,
  policy: SageMakerTrainingPolicy | undefined,
): Promise<RetrainJob | undefined> {
  const { backend } = ctx.ports;
  const name = run.trainingJobName;
  if (job.cancelRequested) {
    if (run.status !== 'Creating') await backend.stop(name);
    await ctx.service.update(job.id, (j) => j, `StopTrainingJob ${name} sent`);
    // The caller's cancel path ends the job.
    await ctx.beat(job, job.progress);
  }
  if (run.status === 'Creating') {
    // The worker died between recording the name and creating the job (or right after).
    const roleArn = policy?.roleArn ?? ctx.ports.defaultRoleArn;
    if (!roleArn) throw validationFailed('no training role to create the SageMaker training job with');
    return create(ctx, job, run, roleArn, {
      volumeSizeGb: policy?.volumeSizeGb ?? 30,
      maxRuntimeSeconds: policy?.maxRuntimeSeconds ?? 24 * 3600,
    });
  }
  const state = await backend.describe(name);
  if (!state) throw new Error(`SageMaker knows no training job ${name}`);
  const polls = run.polls + 1;
  const changed = state.status !== run.status || state.secondaryStatus !== run.secondaryStatus;
  await ctx.service.update(job.id, (j) =>
    j.training
      ? {
          ...j,
          training: {
            ...j.training,
            status: state.status,
            polls,
            ...(state.secondaryStatus ? { secondaryStatus: state.secondaryStatus } : {}),
            ...(state.failureReason ? { failureReason: state.failureReason } : {}),
            ...(state.modelArtifactUri ? { modelArtifactUri: state.modelArtifactUri } : {}),
          },
        }
      : j,
  );
  await ctx.beat(
    job,
    {
      fraction: FRACTION[state.secondaryStatus ?? ''] ?? job.progress.fraction,
      message: message(state),
      trial: 0,
      trials: 0,
    },
    changed ? `training job ${name}: ${message(state)}` : undefined,
  );
  switch (state.status) {
    case 'InProgress':
    case 'Stopping':
      return pollLater(ctx, job);
    case 'Failed':
      throw new Error(`SageMaker training job ${name} failed: ${state.failureReason ?? 'no reason given'}`);
    case 'Stopped':
      throw new Error(`SageMaker training job ${name} was stopped outside Serval`);
    case 'Completed':
      return concludeFrom(ctx, job, { ...run, ...state }, state.modelArtifactUri);
  }
}

async function concludeFrom(
  ctx: SageMakerContext,
  job: RetrainJob,
  run: TrainingRun,
  artifactUri: string | undefined,
): Promise<RetrainJob | undefined> {
  if (!artifactUri)
    throw new Error(`SageMaker training job ${run.trainingJobName} completed without model artifacts`);
  const bytes = await ctx.ports.get(artifactUri);
  if (!bytes) throw new Error(`${artifactUri} is not there to import`);
  const { onnx, files } = unpackSageMaker(await readTarGz(bytes, 'model.tar.gz'));
  // The same parent and rows as the training job saw, re-read: the held-out rows are the split's.
  const p = await ctx.service.prepare(job, {
    parentVersion: run.parentVersion,
    datasetUri: run.dataset.uri,
  });
  if (p.sha256 !== run.dataset.sha256)
    throw validationFailed(
      `the dataset ${run.dataset.uri} changed while SageMaker trained (sha256 ${run.dataset.sha256} → ${p.sha256})`,
    );
  await ctx.beat(
    job,
    { fraction: 0.82, message: 'importing model.onnx', trial: 0, trials: 0 },
    `${artifactUri}: model.onnx (${onnx.byteLength} bytes) of ${files.length} files`,
  );
  return ctx.service.concludeWith(job, p, {
    onnx,
    params: { trainer: 'sagemaker', hyperparameters: run.hyperparameters },
    lineage: {
      training: {
        backend: 'sagemaker',
        trainingJobName: run.trainingJobName,
        image: run.image,
        instanceType: run.instanceType,
        instanceCount: run.instanceCount,
        hyperparameters: run.hyperparameters,
        input: run.inputUri,
        modelArtifact: artifactUri,
      },
    },
  });
}
