/**
 * A job whose policy trains on SageMaker (functions/core/retraining/sagemaker-training.ts): the
 * train channel written, one training job per job whatever is redelivered, polls by delayed
 * continuations, the model.tar.gz's model.onnx registered with the training job in its lineage,
 * a failed training job failing the job with SageMaker's reason, a cancel stopping it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MonitoringPolicy } from '../../../functions/core/monitoring/policy.js';
import { writeTarGz } from '../../../functions/core/registry/archive.js';
import type {
  TrainingBackend,
  TrainingJobInput,
  TrainingJobState,
} from '../../../functions/core/retraining/sagemaker-training.js';
import { RetrainService } from '../../../functions/core/retraining/service.js';
import { TRAINER_IMPLS } from '../../../functions/core/retraining/trainers.js';
import { makeDemoModel } from '../../../functions/core/training/demo.js';
import { MemoryJobStore } from '../../support/memory-jobs.js';
import { alice } from '../../support/principals.js';
import {
  irisParent,
  irisRows,
  type RecordingRetrainRegistry,
  recordingRetrainRegistry,
  rowSource,
} from '../../support/retrain-registry.js';

const demo = makeDemoModel();
const URI = 's3://bucket/datasets/iris-demo/train.csv';
const ROWS = irisRows();
const COLS = Object.keys(ROWS[0] as object);
const FEATURES = demo.inputSchema.features.map((f) => f.name);
const CLASSES = (demo.outputSchema.classes ?? []).map(String);

const POLICY = MonitoringPolicy.parse({
  retraining: {
    training: {
      sagemaker: {
        image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/algo:1',
        instanceType: 'ml.m5.xlarge',
        hyperparameters: { trainer: 'logistic', l2: '0.01' },
      },
    },
  },
}).retraining;

let store: MemoryJobStore;
let sent: { message: { jobId: string; attempt?: number }; delaySeconds?: number }[];
let objects: Map<string, Uint8Array>;
let registry: RecordingRetrainRegistry;
let registered: RecordingRetrainRegistry['registered'];
let created: { name: string; input: TrainingJobInput }[];
let stopped: string[];
let states: Map<string, TrainingJobState>;

const backend: TrainingBackend = {
  start: async (name, input) => {
    if (created.some((c) => c.name === name)) return 'exists';
    created.push({ name, input });
    states.set(name, { status: 'InProgress', secondaryStatus: 'Starting' });
    return 'created';
  },
  describe: async (name) => states.get(name),
  stop: async (name) => {
    stopped.push(name);
    states.set(name, { status: 'Stopping', secondaryStatus: 'Stopping' });
  },
};

function service(withSageMaker = true) {
  let seq = 0;
  return new RetrainService({
    store,
    queue: {
      send: async (message, o) =>
        void sent.push({
          message,
          ...(o?.delaySeconds !== undefined ? { delaySeconds: o.delaySeconds } : {}),
        }),
    },
    registry,
    rows: rowSource(ROWS),
    clock: { now: () => new Date('2026-12-01T10:00:00Z') },
    ids: { next: () => `01JOBSM${++seq}` },
    retrainingPolicy: async () => POLICY,
    execution: withSageMaker
      ? {
          sagemaker: {
            backend,
            put: async (key, body) => {
              objects.set(`s3://bucket/${key}`, typeof body === 'string' ? Buffer.from(body) : body);
              return `s3://bucket/${key}`;
            },
            get: async (uri) => objects.get(uri),
            bucketUri: 's3://bucket/',
            namePrefix: 'serval',
            defaultRoleArn: 'arn:aws:iam::123456789012:role/serval-training',
            pollSeconds: 30,
          },
        }
      : {},
  });
}

/** What the user's image would leave: model.tar.gz holding a model.onnx trained on the channel. */
async function complete(name: string) {
  const x = ROWS.map((r) => FEATURES.map((f) => Number(r[f])));
  const label = COLS.find((c) => !FEATURES.includes(c)) as string;
  const y = ROWS.map((r) => CLASSES.indexOf(String(r[label])));
  const onnx = TRAINER_IMPLS.logistic.fit(x, y, { l2: 0.01 }, 2, 0).onnx(FEATURES, CLASSES);
  const uri = `s3://bucket/jobs/x/sagemaker/output/${name}/output/model.tar.gz`;
  objects.set(uri, await writeTarGz(new Map([['model.onnx', onnx]])));
  states.set(name, { status: 'Completed', secondaryStatus: 'Completed', modelArtifactUri: uri });
}

beforeEach(() => {
  store = new MemoryJobStore();
  sent = [];
  objects = new Map();
  registry = recordingRetrainRegistry({ parent: () => irisParent(URI), answer: () => CLASSES[0] as string });
  registered = registry.registered;
  created = [];
  stopped = [];
  states = new Map();
});

describe('retraining on a SageMaker training job', () => {
  it("refuses what the policy's image does not run: a trainer, a search, folds; nothing is queued", async () => {
    const s = service();
    for (const [req, fields] of [
      [{ trainer: 'mlp' as const }, ['trainer']],
      [{ search: { strategy: 'random' as const } }, ['search']],
      [{ params: { folds: 3, seed: 1 } }, ['params.folds']],
    ] as const) {
      await expect(s.request(alice, 'iris-demo', { reason: 'x', ...req })).rejects.toMatchObject({
        code: 'validation_failed',
        details: { fields },
      });
    }
    expect(sent).toEqual([]);
    // What it does take still queues the job.
    const job = await s.request(alice, 'iris-demo', { reason: 'x', params: { seed: 1, margin: 0.02 } });
    expect(job.state).toBe('queued');
  });

  it('creates one training job, polls it with delayed continuations, and registers its model.onnx', async () => {
    const s = service();
    const job = await s.request(alice, 'iris-demo', { reason: 'big data' });
    sent = [];
    const first = await s.run(job.id);
    expect(first?.state).toBe('running');
    expect(created).toHaveLength(1);
    const name = created[0]?.name as string;
    expect(name).toBe(`serval-${job.id.toLowerCase()}-1`);
    expect(created[0]?.input).toMatchObject({
      image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/algo:1',
      instanceType: 'ml.m5.xlarge',
      instanceCount: 1,
      volumeSizeGb: 30,
      hyperparameters: { trainer: 'logistic', l2: '0.01' },
      roleArn: 'arn:aws:iam::123456789012:role/serval-training',
      inputUri: `s3://bucket/jobs/${job.id}/sagemaker/train/`,
    });
    // The training split, not the held-out rows: header, then 80% of the rows.
    const csv = new TextDecoder().decode(objects.get(`s3://bucket/jobs/${job.id}/sagemaker/train/train.csv`));
    expect(csv.split('\n')[0]).toBe([...FEATURES, 'label'].join(','));
    expect(csv.trim().split('\n').length - 1).toBe(ROWS.length - Math.round(ROWS.length * 0.2));
    expect(sent).toEqual([{ message: { jobId: job.id, attempt: 2 }, delaySeconds: 30 }]);

    // The first message redelivered starts nothing.
    await s.run(job.id);
    expect(created).toHaveLength(1);

    states.set(name, { status: 'InProgress', secondaryStatus: 'Training' });
    const polled = await s.run(job.id, { attempt: 2 });
    expect(polled?.progress.message).toBe('SageMaker: InProgress (Training)');
    expect(polled?.training).toMatchObject({ trainingJobName: name, status: 'InProgress', polls: 1 });
    expect(sent.at(-1)).toEqual({ message: { jobId: job.id, attempt: 3 }, delaySeconds: 30 });

    await complete(name);
    const done = await s.run(job.id, { attempt: 3 });
    expect(done?.error).toBeUndefined();
    expect(done?.state).toBe('succeeded');
    expect(done?.resultVersion).toBe('1.0.1');
    expect(created).toHaveLength(1);
    const params = registered[0]?.input.params as Record<string, unknown>;
    expect(params).toMatchObject({
      trainer: 'sagemaker',
      hyperparameters: { trainer: 'logistic', l2: '0.01' },
    });
    expect(params.lineage).toMatchObject({
      parent: '1.0.0',
      jobId: job.id,
      dataset: { uri: URI, rows: ROWS.length },
      training: { backend: 'sagemaker', trainingJobName: name, instanceType: 'ml.m5.xlarge' },
    });
    expect(registered[0]?.input.artifact).toBeDefined();
  });

  it('fails the job with SageMaker’s failure reason', async () => {
    const s = service();
    const job = await s.request(alice, 'iris-demo', { reason: 'x' });
    await s.run(job.id);
    states.set(created[0]?.name as string, {
      status: 'Failed',
      secondaryStatus: 'Failed',
      failureReason: 'AlgorithmError: l2 must be a number',
    });
    const done = await s.run(job.id, { attempt: 2 });
    expect(done?.state).toBe('failed');
    expect(done?.error).toContain('AlgorithmError: l2 must be a number');
    expect(registered).toHaveLength(0);
  });

  it('stops the training job on a cancel', async () => {
    const s = service();
    const job = await s.request(alice, 'iris-demo', { reason: 'x' });
    await s.run(job.id);
    await s.cancel(alice, job.id);
    const done = await s.run(job.id, { attempt: 2 });
    expect(stopped).toEqual([created[0]?.name]);
    expect(done?.state).toBe('cancelled');
  });

  it('follows the recorded training job, not a second one, when the worker died right after creating it', async () => {
    const s = service();
    const job = await s.request(alice, 'iris-demo', { reason: 'x' });
    await s.run(job.id);
    // As if the worker died after CreateTrainingJob but before writing that it was created.
    const j = await s.get(job.id);
    await store.save(
      {
        ...j,
        training: { ...(j.training as NonNullable<typeof j.training>), status: 'Creating' },
        revision: j.revision + 1,
      },
      j.revision,
    );
    const resumed = await s.run(job.id, { attempt: 2 });
    expect(created).toHaveLength(1);
    expect(resumed?.log.map((l) => l.message)).toContain(
      `SageMaker training job ${created[0]?.name} already exists; following it`,
    );
    expect(resumed?.state).toBe('running');
  });

  it('fails clearly when the policy trains on SageMaker and the worker is not bound to it', async () => {
    const s = service(false);
    const job = await s.request(alice, 'iris-demo', { reason: 'x' });
    const done = await s.run(job.id);
    expect(done?.state).toBe('failed');
    expect(done?.error).toMatch(/not bound to SageMaker training/);
  });
});
