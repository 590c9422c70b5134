/**
 * A SageMaker training stand-in: CreateTrainingJob, DescribeTrainingJob and StopTrainingJob in
 * SageMaker's JSON 1.1 wire form (`POST /`, `X-Amz-Target: SageMaker.<Operation>`, errors as
 * 400 `{__type, message}`), so the unchanged SageMakerClient talks to it through
 * AWS_ENDPOINT_URL_SAGEMAKER and Serval's SageMaker path is tested through the real client.
 *
 * It runs no container: the "algorithm" is Serval's own trainer (functions/core/training) on the
 * CSV of the `train` channel, read from the local S3 stand-in. Hyperparameters: `trainer`
 * (logistic or softmax; default logistic for two classes, softmax for more) and `l2` (default
 * 1e-4); anything else is ignored, as an algorithm would. A CSV has a header; the label is the
 * `label` column (else the last one), the classes those of `schema.json` beside it (else the
 * sorted labels). A job moves InProgress (Starting → Downloading → Training → Uploading) →
 * Completed on timers after the Create call returns, and writes
 * `<S3OutputPath>/<name>/output/model.tar.gz` holding `model.onnx`; a bad hyperparameter or
 * unreadable data ends it Failed with an `AlgorithmError: …` reason. Jobs live in memory: a
 * restart forgets them (DescribeTrainingJob then answers ResourceNotFound).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { writeTarGz } from '../../functions/core/registry/archive.js';
import { TRAINER_IMPLS } from '../../functions/core/retraining/trainers.js';
import { LOCAL_HOST } from '../ports.js';
import { LOCAL_REGION, localS3Client } from './clients.js';
import { closeServer, type LocalService, listeningPort, localService } from './server.js';

const ACCOUNT = '000000000000';
const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export interface LocalSageMakerTrainingOptions {
  /** The S3 stand-in the channels are read from and the output written to. */
  readonly s3Endpoint: string;
  readonly port?: number;
  /** Time between two secondary statuses (default 150 ms). */
  readonly stepMs?: number;
}

interface Job {
  readonly name: string;
  readonly arn: string;
  readonly request: CreateRequest;
  readonly createdAt: Date;
  status: 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';
  secondary: string;
  transitions: { Status: string; StartTime: number; StatusMessage: string }[];
  failureReason?: string;
  modelUri?: string;
  endedAt?: Date;
}

interface CreateRequest {
  TrainingJobName?: string;
  AlgorithmSpecification?: { TrainingImage?: string; TrainingInputMode?: string };
  RoleArn?: string;
  HyperParameters?: Record<string, string>;
  InputDataConfig?: { ChannelName?: string; DataSource?: { S3DataSource?: { S3Uri?: string } } }[];
  OutputDataConfig?: { S3OutputPath?: string };
  ResourceConfig?: { InstanceType?: string; InstanceCount?: number; VolumeSizeInGB?: number };
  StoppingCondition?: { MaxRuntimeInSeconds?: number };
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startLocalSageMakerTraining(
  options: LocalSageMakerTrainingOptions,
): Promise<LocalService> {
  const s3 = localS3Client(options.s3Endpoint);
  const step = options.stepMs ?? 150;
  const jobs = new Map<string, Job>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const operations: Record<string, (body: Record<string, unknown>) => Promise<unknown>> = {
    CreateTrainingJob: async (body) => {
      const req = body as CreateRequest;
      const name = req.TrainingJobName ?? '';
      if (!NAME.test(name)) throw new ApiError('ValidationException', `TrainingJobName ${name} is not valid`);
      const missing = [
        ['AlgorithmSpecification.TrainingImage', req.AlgorithmSpecification?.TrainingImage],
        ['RoleArn', req.RoleArn],
        ['OutputDataConfig.S3OutputPath', req.OutputDataConfig?.S3OutputPath],
        ['ResourceConfig.InstanceType', req.ResourceConfig?.InstanceType],
        ['StoppingCondition.MaxRuntimeInSeconds', req.StoppingCondition?.MaxRuntimeInSeconds],
      ].filter(([, v]) => v === undefined || v === '');
      if (missing.length)
        throw new ApiError('ValidationException', `missing ${missing.map(([k]) => k).join(', ')}`);
      if (!channelUri(req))
        throw new ApiError('ValidationException', 'InputDataConfig needs a train channel with an S3Uri');
      const arn = `arn:aws:sagemaker:${LOCAL_REGION}:${ACCOUNT}:training-job/${name}`;
      if (jobs.has(name))
        throw new ApiError(
          'ResourceInUse',
          `Training job names must be unique within an AWS account and region, and a training job with this name already exists (${arn})`,
        );
      const job: Job = {
        name,
        arn,
        request: req,
        createdAt: new Date(),
        status: 'InProgress',
        secondary: 'Starting',
        transitions: [],
      };
      moveTo(job, 'Starting', 'Preparing the instances for training');
      jobs.set(name, job);
      // After the answer, as SageMaker does: Create only queues the job.
      void run(job);
      return { TrainingJobArn: arn };
    },
    DescribeTrainingJob: async (body) => {
      const job = jobs.get(String(body.TrainingJobName ?? ''));
      if (!job) throw new ApiError('ResourceNotFound', 'Requested resource not found.');
      const r = job.request;
      return {
        TrainingJobName: job.name,
        TrainingJobArn: job.arn,
        TrainingJobStatus: job.status,
        SecondaryStatus: job.secondary,
        SecondaryStatusTransitions: job.transitions,
        ...(job.failureReason ? { FailureReason: job.failureReason } : {}),
        ...(job.modelUri ? { ModelArtifacts: { S3ModelArtifacts: job.modelUri } } : {}),
        AlgorithmSpecification: r.AlgorithmSpecification,
        RoleArn: r.RoleArn,
        HyperParameters: r.HyperParameters ?? {},
        InputDataConfig: r.InputDataConfig,
        OutputDataConfig: r.OutputDataConfig,
        ResourceConfig: r.ResourceConfig,
        StoppingCondition: r.StoppingCondition,
        CreationTime: job.createdAt.getTime() / 1000,
        TrainingStartTime: job.createdAt.getTime() / 1000,
        ...(job.endedAt ? { TrainingEndTime: job.endedAt.getTime() / 1000 } : {}),
        LastModifiedTime: Date.now() / 1000,
      };
    },
    StopTrainingJob: async (body) => {
      const job = jobs.get(String(body.TrainingJobName ?? ''));
      if (!job) throw new ApiError('ResourceNotFound', 'Requested resource not found.');
      if (job.status !== 'InProgress')
        throw new ApiError(
          'ValidationException',
          `The training job ${job.name} is ${job.status}; it cannot be stopped`,
        );
      job.status = 'Stopping';
      moveTo(job, 'Stopping', 'Stopping the training job');
      return {};
    },
  };

  function moveTo(job: Job, secondary: string, message: string) {
    job.secondary = secondary;
    job.transitions.push({ Status: secondary, StartTime: Date.now() / 1000, StatusMessage: message });
  }

  /** The job's life; returns early once it was stopped. */
  async function run(job: Job) {
    const stopped = () => {
      if (job.status !== 'Stopping') return false;
      job.status = 'Stopped';
      job.endedAt = new Date();
      moveTo(job, 'Stopped', 'The training job was stopped');
      return true;
    };
    try {
      await later(step);
      if (stopped()) return;
      moveTo(job, 'Downloading', 'Downloading input data');
      const data = await readChannel(s3, channelUri(job.request) as string);
      await later(step);
      if (stopped()) return;
      moveTo(job, 'Training', 'Training image download completed. Training in progress.');
      const onnx = train(data, job.request.HyperParameters ?? {});
      await later(step);
      if (stopped()) return;
      moveTo(job, 'Uploading', 'Uploading generated training model');
      const output = String(job.request.OutputDataConfig?.S3OutputPath).replace(/\/+$/, '');
      const uri = `${output}/${job.name}/output/model.tar.gz`;
      const at = parseS3(uri);
      await s3.send(
        new PutObjectCommand({
          Bucket: at.bucket,
          Key: at.key,
          Body: await writeTarGz(new Map([['model.onnx', onnx]])),
          ContentType: 'application/gzip',
        }),
      );
      await later(step);
      if (stopped()) return;
      job.modelUri = uri;
      job.status = 'Completed';
      job.endedAt = new Date();
      moveTo(job, 'Completed', 'Training job completed');
    } catch (error) {
      if (job.status === 'Stopping' && stopped()) return;
      job.status = 'Failed';
      job.failureReason = `AlgorithmError: ${(error as Error).message}`;
      job.endedAt = new Date();
      moveTo(job, 'Failed', job.failureReason);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res, operations).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { __type: 'InternalFailure', message: String(error) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOCAL_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = listeningPort(server, 'SageMaker training');
  return localService(port, async () => {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    await closeServer(server);
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  operations: Record<string, (body: Record<string, unknown>) => Promise<unknown>>,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const target = String(req.headers['x-amz-target'] ?? '');
  const op = target.startsWith('SageMaker.') ? operations[target.slice('SageMaker.'.length)] : undefined;
  if (req.method !== 'POST' || !op) {
    send(res, 400, {
      __type: 'UnknownOperationException',
      message: `unsupported operation ${target || req.url}`,
    });
    return;
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    send(res, 400, { __type: 'SerializationException', message: 'the body is not JSON' });
    return;
  }
  try {
    send(res, 200, await op(body));
  } catch (error) {
    if (error instanceof ApiError) send(res, 400, { __type: error.type, message: error.message });
    else throw error;
  }
}

function send(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': crypto.randomUUID(),
  });
  res.end(text);
}

function channelUri(req: CreateRequest): string | undefined {
  const train = req.InputDataConfig?.find((c) => c.ChannelName === 'train') ?? req.InputDataConfig?.[0];
  return train?.DataSource?.S3DataSource?.S3Uri;
}

function parseS3(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new Error(`${uri} is not an S3 URI`);
  return { bucket: m[1] as string, key: m[2] as string };
}

interface ChannelData {
  readonly features: string[];
  readonly classes: string[];
  readonly x: number[][];
  readonly labels: string[];
}

/** The channel's first CSV (and schema.json when it is there), as SageMaker would copy them in. */
async function readChannel(s3: S3Client, uri: string): Promise<ChannelData> {
  const { bucket, key } = parseS3(uri);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key }));
  const keys = (listed.Contents ?? []).map((o) => o.Key as string);
  const get = async (k: string) =>
    (await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }))).Body?.transformToString()) ?? '';
  const csvKey = keys.filter((k) => k.endsWith('.csv')).sort()[0];
  if (!csvKey) throw new Error(`no CSV file under ${uri}`);
  const schemaKey = keys.find((k) => k.endsWith('schema.json'));
  const schema = schemaKey ? (JSON.parse(await get(schemaKey)) as { classes?: string[] }) : {};
  const [head, ...lines] = (await get(csvKey)).split(/\r?\n/).filter((l) => l.trim() !== '');
  const cols = (head ?? '').split(',').map((c) => c.trim());
  const labelAt = cols.includes('label') ? cols.indexOf('label') : cols.length - 1;
  const features = cols.filter((_, i) => i !== labelAt);
  const x: number[][] = [];
  const labels: string[] = [];
  lines.forEach((line, n) => {
    const cells = line.split(',');
    const row = cells.filter((_, i) => i !== labelAt).map(Number);
    if (row.length !== features.length || row.some((v) => !Number.isFinite(v)))
      throw new Error(`${csvKey} row ${n + 1} is not ${features.length} numbers and a label`);
    x.push(row);
    labels.push(String(cells[labelAt]).trim());
  });
  if (x.length < 2) throw new Error(`${csvKey} has fewer than 2 rows`);
  const classes = schema.classes ?? [...new Set(labels)].sort();
  return { features, classes, x, labels };
}

/** Serval's own logistic or softmax regression, chosen and tuned by the hyperparameters. */
function train(data: ChannelData, hp: Record<string, string>): Uint8Array {
  const k = data.classes.length;
  const trainer = hp.trainer ?? (k === 2 ? 'logistic' : 'softmax');
  if (trainer !== 'logistic' && trainer !== 'softmax')
    throw new Error(`hyperparameter trainer must be logistic or softmax, not ${trainer}`);
  if (trainer === 'logistic' && k !== 2) throw new Error(`logistic needs two classes, the data has ${k}`);
  const l2 = hp.l2 === undefined ? 1e-4 : Number(hp.l2);
  if (hp.l2 !== undefined && (hp.l2.trim() === '' || !Number.isFinite(l2) || l2 < 0))
    throw new Error(`hyperparameter l2 must be a non-negative number, not ${hp.l2}`);
  const y = data.labels.map((l, i) => {
    const at = data.classes.indexOf(l);
    if (at < 0) throw new Error(`row ${i + 1}: label ${l} is not one of ${data.classes.join(', ')}`);
    return at;
  });
  return TRAINER_IMPLS[trainer].fit(data.x, y, { l2 }, k, 0).onnx(data.features, data.classes);
}
