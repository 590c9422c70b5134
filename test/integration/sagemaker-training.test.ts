/**
 * The SageMaker training adapter (functions/adapters/sagemaker-training.ts) through the real SDK
 * v3 SageMakerClient against the local training stand-in, which trains with Serval's own trainer
 * on a channel in the local S3 stand-in: asynchronous statuses, model.tar.gz holding a model.onnx
 * that onnxruntime loads, an idempotent create, a failing algorithm's FailureReason, a stop.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxRuntimeRunner } from '../../functions/adapters/onnx-runner.js';
import { SageMakerTrainingBackend, sagemakerClient } from '../../functions/adapters/sagemaker-training.js';
import { readTarGz } from '../../functions/core/registry/archive.js';
import type {
  TrainingJobInput,
  TrainingJobState,
} from '../../functions/core/retraining/sagemaker-training.js';
import { makeDemoModel } from '../../functions/core/training/demo.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localS3Client } from '../../local/services/clients.js';
import { type S3Local, startS3Local } from '../../local/services/s3.js';
import { startLocalSageMakerTraining } from '../../local/services/sagemaker-training.js';
import type { LocalService } from '../../local/services/server.js';

const BUCKET = 'training-test';
const demo = makeDemoModel();
let s3Local: S3Local;
let s3: S3Client;
let training: LocalService;
let backend: SageMakerTrainingBackend;

const input = (over: Partial<TrainingJobInput> = {}): TrainingJobInput => ({
  inputUri: `s3://${BUCKET}/jobs/j1/sagemaker/train/`,
  outputUri: `s3://${BUCKET}/jobs/j1/sagemaker/output`,
  image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/algo:1',
  instanceType: 'ml.m5.xlarge',
  instanceCount: 1,
  volumeSizeGb: 30,
  maxRuntimeSeconds: 3600,
  hyperparameters: { l2: '0.01' },
  roleArn: 'arn:aws:iam::123456789012:role/serval-training',
  ...over,
});

async function until(name: string, done: (s: TrainingJobState) => boolean): Promise<TrainingJobState[]> {
  const seen: TrainingJobState[] = [];
  for (let i = 0; i < 200; i++) {
    const s = (await backend.describe(name)) as TrainingJobState;
    seen.push(s);
    if (done(s)) return seen;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${name} never got there: ${JSON.stringify(seen.at(-1))}`);
}

beforeAll(async () => {
  s3Local = await startS3Local({});
  s3 = localS3Client(s3Local.endpoint);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const [head, ...rows] = demo.datasetCsv.trim().split('\n');
  const cols = (head as string).split(',');
  const label = cols.find((c) => !demo.inputSchema.features.some((f) => f.name === c));
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: 'jobs/j1/sagemaker/train/train.csv',
      Body: [cols.map((c) => (c === label ? 'label' : c)).join(','), ...rows].join('\n'),
    }),
  );
  training = await startLocalSageMakerTraining({ s3Endpoint: s3Local.endpoint, stepMs: 50 });
  backend = new SageMakerTrainingBackend(
    sagemakerClient({ endpoint: training.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
  );
}, 60_000);

afterAll(async () => {
  await training?.stop();
  await s3Local?.stop();
});

describe('SageMaker training through the real client and the local stand-in', () => {
  it('trains asynchronously and leaves model.tar.gz holding a model.onnx onnxruntime runs; a second create finds it', async () => {
    expect(await backend.start('serval-ok-1', input())).toBe('created');
    // Create only queues the job.
    expect(await backend.describe('serval-ok-1')).toMatchObject({
      status: 'InProgress',
      secondaryStatus: 'Starting',
    });
    expect(await backend.start('serval-ok-1', input())).toBe('exists');
    const seen = await until('serval-ok-1', (s) => s.status !== 'InProgress');
    const last = seen.at(-1) as TrainingJobState;
    expect(last.failureReason).toBeUndefined();
    expect(last.status).toBe('Completed');
    expect(seen.map((s) => s.secondaryStatus)).toEqual(expect.arrayContaining(['Training', 'Completed']));
    expect(last.modelArtifactUri).toBe(
      `s3://${BUCKET}/jobs/j1/sagemaker/output/serval-ok-1/output/model.tar.gz`,
    );
    const got = await s3.send(
      new GetObjectCommand({
        Bucket: BUCKET,
        Key: 'jobs/j1/sagemaker/output/serval-ok-1/output/model.tar.gz',
      }),
    );
    const files = await readTarGz(
      await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    const onnx = files.get('model.onnx') as Uint8Array;
    const model = await new OnnxRuntimeRunner().load(onnx);
    expect(model.inputs).toHaveLength(1);
    expect(model.outputs.length).toBeGreaterThan(0);
  });

  it('fails a job whose hyperparameter the algorithm refuses, with the reason', async () => {
    await backend.start('serval-bad-1', input({ hyperparameters: { l2: 'lots' } }));
    const last = (await until('serval-bad-1', (s) => s.status !== 'InProgress')).at(-1);
    expect(last?.status).toBe('Failed');
    expect(last?.failureReason).toMatch(/^AlgorithmError: hyperparameter l2 must be a non-negative number/);
  });

  it('stops a running job; knows no unknown name; refuses an invalid request', async () => {
    await backend.start('serval-stop-1', input());
    await backend.stop('serval-stop-1');
    const last = (await until('serval-stop-1', (s) => s.status === 'Stopped')).at(-1);
    expect(last?.status).toBe('Stopped');
    // Stopping an ended job is no error for the port.
    await backend.stop('serval-stop-1');
    expect(await backend.describe('serval-nothing')).toBeUndefined();
    await expect(backend.start('bad_name', input())).rejects.toMatchObject({ name: 'ValidationException' });
  });
});
