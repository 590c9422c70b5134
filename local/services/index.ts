/**
 * All the stand-ins, started together and provisioned from functions/contract/resources.ts: what the local
 * runtime and the integration tests both need. DynamoDB Local's JVM dominates start-up, so the
 * in-process servers start while it boots.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalEndpoints, type LocalResources, provision, resourceEnv } from '../provision.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './clients.js';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb.js';
import { startS3Local } from './s3.js';
import { type LocalSageMaker, startLocalSageMaker } from './sagemaker.js';
import { startLocalSageMakerTraining } from './sagemaker-training.js';
import { startSqsLocal } from './sqs.js';

export interface LocalAwsOptions {
  /**
   * Keep DynamoDB tables under `<dataDir>/dynamodb`, S3 objects under `<dataDir>/s3` and the
   * SageMaker stand-in's models under `<dataDir>/sagemaker`, so they survive a restart. Omitted:
   * DynamoDB in memory, S3 and SageMaker in temporary directories, all gone after stop(). SQS is
   * always in memory.
   */
  readonly dataDir?: string;
  /** Prefix of every resource name (see localName in functions/contract/resources.ts). */
  readonly prefix: string;
  /** Fixed ports; free ones when omitted. */
  readonly ports?: {
    readonly dynamodb?: number;
    readonly s3?: number;
    readonly sqs?: number;
    readonly sagemaker?: number;
    readonly sagemakerTraining?: number;
  };
  /** Warnings worth a line of their own (the JVM running without its loopback launcher). */
  readonly onWarning?: (message: string) => void;
  /**
   * Restart DynamoDB Local (same port, same files) when its JVM dies while the rest runs: without
   * it every call that needs a table fails until a restart. More than 3 deaths in a minute, or a
   * restart that fails, is reported to `onGiveUp` instead (one sentence).
   */
  readonly superviseDynamoDb?: {
    readonly onRestart: (line: string) => void;
    readonly onGiveUp: (message: string) => void;
  };
}

/** The stand-ins' URLs: the provisioned services plus the SageMaker runtime stand-in. */
export interface LocalAwsEndpoints extends LocalEndpoints {
  /** SageMaker runtime (InvokeEndpoint); endpoint X is `<dataDir>/sagemaker/X.onnx`. */
  readonly sagemaker: string;
  /** SageMaker training jobs (Create/Describe/StopTrainingJob), run by Serval's own trainer. */
  readonly sagemakerTraining: string;
}

export interface LocalAws {
  readonly endpoints: LocalAwsEndpoints;
  readonly resources: LocalResources;
  /**
   * Everything a handler process needs to use the stand-ins through the unchanged SDK clients:
   * AWS_ENDPOINT_URL_{DYNAMODB,S3,SQS,SAGEMAKER_RUNTIME,SAGEMAKER}, AWS_REGION, the stand-ins' credentials and each
   * resource's variable from functions/contract/resources.ts.
   */
  readonly env: Record<string, string>;
  /** Process id of DynamoDB Local's JVM (the current one, after a restart). */
  readonly dynamodbPid: number;
  /** False when DynamoDB Local runs as the bare jar, listening on every interface. */
  readonly dynamodbLoopback: boolean;
  /** Where the SageMaker stand-in looks for `<EndpointName>.onnx` (and fault files). */
  readonly sagemakerDir: string;
  /** Stops them all and waits for them; safe to call more than once. */
  stop(): Promise<void>;
}

export async function startLocalAws(options: LocalAwsOptions): Promise<LocalAws> {
  const started = await Promise.allSettled([
    startDynamoDbLocal({
      dataDir: options.dataDir,
      port: options.ports?.dynamodb,
      onWarning: options.onWarning,
    }),
    startS3Local({ dataDir: options.dataDir, port: options.ports?.s3 }),
    startSqsLocal({ port: options.ports?.sqs }),
    startSageMakerIn(options.dataDir, options.ports?.sagemaker),
  ] as const);
  const [dynamodb, s3, sqs, sagemaker] = started;
  const running: { stop(): Promise<void> }[] = started.flatMap((s) =>
    s.status === 'fulfilled' && s !== dynamodb ? [s.value] : [],
  );
  let ddb: DynamoDbLocal | undefined = dynamodb.status === 'fulfilled' ? dynamodb.value : undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= Promise.allSettled(
      [...running, ...(ddb ? [ddb] : [])].map((service) => service.stop()),
    ).then(() => undefined);
    return stopping;
  };
  if (
    dynamodb.status === 'rejected' ||
    s3.status === 'rejected' ||
    sqs.status === 'rejected' ||
    sagemaker.status === 'rejected'
  ) {
    await stop();
    const failure = started.find((s) => s.status === 'rejected') as PromiseRejectedResult;
    throw failure.reason;
  }

  let training: Awaited<ReturnType<typeof startLocalSageMakerTraining>>;
  try {
    // After S3: its training jobs read their channels there and write their model.tar.gz.
    training = await startLocalSageMakerTraining({
      s3Endpoint: s3.value.endpoint,
      port: options.ports?.sagemakerTraining,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  running.push(training);
  const endpoints: LocalAwsEndpoints = {
    dynamodb: dynamodb.value.endpoint,
    s3: s3.value.endpoint,
    sqs: sqs.value.endpoint,
    sagemaker: sagemaker.value.endpoint,
    sagemakerTraining: training.endpoint,
  };
  let resources: LocalResources;
  try {
    resources = await provision(endpoints, options.prefix);
  } catch (error) {
    await stop();
    throw error;
  }
  const supervisor = options.superviseDynamoDb;
  const deaths: number[] = [];
  const watch = (service: DynamoDbLocal) => {
    void service.exited.then(async (exit) => {
      if (exit.stopped || stopping || !supervisor) return;
      const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
      const now = Date.now();
      deaths.push(now);
      while (deaths[0]! < now - 60_000) deaths.shift();
      if (deaths.length > 3) {
        supervisor.onGiveUp(
          `DynamoDB Local died ${deaths.length} times within a minute (last: ${how}), so Serval stops; look for a full disk or memory pressure and start again.`,
        );
        return;
      }
      supervisor.onRestart(
        `DynamoDB Local (pid ${service.pid}) died (${how}); restarting it on port ${service.port}`,
      );
      try {
        const next = await startDynamoDbLocal({
          dataDir: options.dataDir,
          port: service.port,
          onWarning: options.onWarning,
        });
        if (stopping) {
          await next.stop();
          return;
        }
        ddb = next;
        watch(next);
        supervisor.onRestart(`DynamoDB Local is back (pid ${next.pid}, port ${next.port})`);
      } catch (error) {
        supervisor.onGiveUp(
          `DynamoDB Local died (${how}) and could not be restarted, so Serval stops: ${(error as Error).message}`,
        );
      }
    });
  };
  watch(dynamodb.value);
  return {
    endpoints,
    resources,
    env: localAwsEnv(endpoints, resources),
    get dynamodbPid() {
      return ddb?.pid ?? dynamodb.value.pid;
    },
    dynamodbLoopback: dynamodb.value.loopback,
    sagemakerDir: sagemaker.value.directory,
    stop,
  };
}

export function localAwsEnv(
  endpoints: LocalEndpoints & { readonly sagemaker?: string; readonly sagemakerTraining?: string },
  resources: LocalResources,
): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    ...(endpoints.sagemaker ? { AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: endpoints.sagemaker } : {}),
    ...(endpoints.sagemakerTraining ? { AWS_ENDPOINT_URL_SAGEMAKER: endpoints.sagemakerTraining } : {}),
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    ...resourceEnv(resources),
  };
}

/** The SageMaker stand-in on `<dataDir>/sagemaker`, or on a temporary directory that stop() removes. */
async function startSageMakerIn(
  dataDir: string | undefined,
  port: number | undefined,
): Promise<LocalSageMaker> {
  const dir = dataDir ? join(dataDir, 'sagemaker') : await mkdtemp(join(tmpdir(), 'serval-sagemaker-'));
  let service: LocalSageMaker;
  try {
    service = await startLocalSageMaker({ dir, port });
  } catch (error) {
    if (!dataDir) await rm(dir, { recursive: true, force: true });
    throw error;
  }
  if (dataDir) return service;
  let stopping: Promise<void> | undefined;
  return {
    ...service,
    stop() {
      stopping ??= service.stop().finally(() => rm(dir, { recursive: true, force: true }));
      return stopping;
    },
  };
}
