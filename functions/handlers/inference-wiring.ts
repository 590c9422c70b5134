/**
 * Composition root of inference: registry reads, the artifact store, onnxruntime, SageMaker, the
 * capture queue, metrics and the predictions store, built once per container from the environment.
 */

import { s3Client } from '../adapters/aws-clients.js';
import type { DynamoPredictionStore } from '../adapters/dynamo-predictions.js';
import { OnnxRuntimeRunner } from '../adapters/onnx-runner.js';
import { servingMetricsFor } from '../adapters/serving-metrics.js';
import { SqsCaptureQueue } from '../adapters/sqs-capture-queue.js';
import { deferredSqsClient } from '../adapters/sqs-deferred.js';
import { systemClock } from '../adapters/system.js';
import { ARTIFACT_PREFIXES } from '../contract/artifact-keys.js';
import { BUCKETS, QUEUES } from '../contract/resources.js';
import type { ExperimentStore } from '../core/experiments/ports.js';
import { hourStartOf } from '../core/inference/aggregates.js';
import { CaptureBuffer, predictionsIn } from '../core/inference/capture.js';
import { DeferredWork } from '../core/inference/deferred.js';
import { RandomIdBlocks } from '../core/inference/ids.js';
import type { BufferedCapture, ServingMetrics } from '../core/inference/ports.js';
import { InferenceService } from '../core/inference/service.js';
import { ModelCache } from '../core/inference/sessions.js';
import { instancesKeptFor } from './online-serving.js';
import { experimentReader, experimentStoreFor } from './serving-experiments.js';
import { artifactStore, type Env, envValue, makeLogger, predictionStore, registryStore } from './shared.js';

export const inferenceLogger = makeLogger('inference');

export interface InferenceWiring {
  readonly service: InferenceService;
  readonly capture: CaptureBuffer;
  readonly predictions: DynamoPredictionStore;
  readonly metrics: ServingMetrics;
  /** Where feedback counts an experiment's accuracy. */
  readonly experiments: Pick<ExperimentStore, 'observe'>;
  /**
   * Does now, without the network, what a prediction would otherwise do for the first time in the
   * process: onnxruntime's environment and first session, and the SDK work of the registry's and
   * the artifacts' first reads (see prime).
   */
  prime(): Promise<void>;
  /** Makes the registry's and the artifacts' first SDK calls now, over the network (see warmUp). */
  warmUp(): Promise<void>;
}

/** A model name no model can have (names start with a letter or a digit): a read of it finds nothing. */
const WARM_UP_MODEL = '#warm-up';
/** An artifact key under the models' prefix that no version has: a read of it finds nothing. */
const WARM_UP_ARTIFACT = `${ARTIFACT_PREFIXES.models}${WARM_UP_MODEL}`;
/** Longest init waits for a warm-up: it speeds up the first request, never holds init up. */
const WARM_UP_TIMEOUT_MS = 2_000;

/** Waits for `work`, or WARM_UP_TIMEOUT_MS if that comes first; never rejects. */
async function atMostWarmUpTime(work: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    work.catch(() => {}),
    new Promise<void>((ok) => {
      timer = setTimeout(ok, WARM_UP_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
}

/**
 * The first call an SDK client makes builds its middleware stack, resolves its endpoint rules and
 * credentials and prepares its schemas, and opens its connection: most of a cold start's first
 * request after onnxruntime (docs/inference.md, round 12). In an environment initialised ahead of
 * traffic (provisioned concurrency) that work belongs in init. Two reads that find nothing do
 * it: the model store's and the artifact store's, the two a prediction makes before its answer.
 * Any answer does the work, a refusal included, so failures are ignored. prime does the part of
 * this that needs no network, in every environment.
 */
function warmUp(
  store: { getModel(name: string): Promise<unknown> },
  artifacts: { get(key: string): Promise<unknown> },
): Promise<void> {
  return atMostWarmUpTime(
    Promise.allSettled([store.getModel(WARM_UP_MODEL), artifacts.get(WARM_UP_ARTIFACT)]),
  );
}

/**
 * Work a prediction would otherwise do for the first time in the process, done now and without
 * the network: onnxruntime's environment and first session (the runner's preload), and the two
 * reads' SDK work up to the request itself (sdk-priming.ts). On a cold start the request waits for
 * init either way, so the work mostly moves; what priming does twice costs it 4–6 ms of CPU. An
 * environment initialised ahead of its first request (provisioned concurrency, or Lambda's own
 * pre-initialisation of on-demand functions) no longer does any of it in that request, which
 * answers 20–24 ms sooner (docs/inference.md, round 13).
 */
function prime(
  preloaded: Promise<void>,
  store: { prime(name: string): Promise<boolean> },
  artifacts: { prime(key: string): Promise<boolean> },
): Promise<void> {
  // Bounded where it could wait: each primed send gives up after PRIME_TIMEOUT_MS, and the
  // preload is synchronous native work.
  return Promise.all([preloaded, store.prime(WARM_UP_MODEL), artifacts.prime(WARM_UP_ARTIFACT)]).then(
    () => undefined,
  );
}

/** Endpoints this deployment may invoke (SERVAL_SAGEMAKER_ENDPOINTS, comma-separated); unset: any. */
export function allowedEndpoints(env: Env): string[] | undefined {
  const raw = env.SERVAL_SAGEMAKER_ENDPOINTS;
  if (raw === undefined) return undefined;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function inferenceWiring(env: Env): InferenceWiring {
  const store = registryStore(env);
  // One S3 client for the registry's integrity checks and the sessions' artifact reads.
  const artifacts = artifactStore(env);
  const metrics = servingMetricsFor(env);
  const predictions = predictionStore(env);
  const experiments = experimentStoreFor(env);
  // The spill: what the queue does not take is recorded as the capture worker would record it.
  // Built on its first use, as only a failing queue needs it: predict's init then loads neither
  // the recorder nor the capture store (nor the store's node:readline, which only reading needs).
  const bucket = envValue(env, BUCKETS.artifacts.env);
  const recorder = once(async () => {
    const [{ CaptureRecorder }, { S3Captures }] = await Promise.all([
      import('../adapters/capture-recorder.js'),
      import('../adapters/s3-captures.js'),
    ]);
    return new CaptureRecorder(
      new S3Captures(s3Client(), bucket),
      predictions,
      experiments,
      instancesKeptFor(env),
    );
  });
  const capture = new CaptureBuffer(
    new SqsCaptureQueue(deferredSqsClient(), envValue(env, QUEUES.captures.env)),
    {
      spill: async (messages) => (await recorder()).spill(messages),
      // Once per failed round: while the queue is down, rounds go to the spill without a word.
      onError: (err, messages) =>
        inferenceLogger.warn('capture messages not queued; written straight to the store instead', {
          messages,
          error: err as Error,
        }),
      onLost: (messages) => reportLost(messages, metrics, predictions),
    },
  );
  // Built on first use: only a failing version needs the registry's services (and what they
  // announce to), only a SageMaker-served version the SageMaker client. A Lambda's init then
  // evaluates neither (a bundle inlines these imports, but runs their modules only when called).
  const failures = once(async () =>
    (await import('./inference-failures.js')).failureRecorder(env, store, artifacts, inferenceLogger),
  );
  const endpoints = once(
    async () =>
      new (await import('../adapters/sagemaker-runtime.js')).SageMakerEndpointInvoker({
        allowedEndpoints: allowedEndpoints(env),
      }),
  );
  // Every inference request needs onnxruntime: loaded at init, so that a cold start's first
  // request does not load it after its route and artifact reads (docs/inference.md, rounds 6
  // and 7).
  const runner = new OnnxRuntimeRunner();
  const preloaded = runner.preload();
  const service = new InferenceService({
    store,
    registry: {
      artifacts: { verify: async (...a) => (await failures()).artifacts.verify(...a) },
      lifecycle: {
        recordServingFailure: async (...a) => (await failures()).lifecycle.recordServingFailure(...a),
      },
    },
    models: new ModelCache({ artifacts, runner }),
    endpoints: {
      invoke: async (endpointName, rows) => (await endpoints()).invoke(endpointName, rows),
    },
    capture,
    metrics,
    ids: new RandomIdBlocks(systemClock),
    clock: systemClock,
    routeCacheMs: env.SERVAL_ROUTE_CACHE_MS === undefined ? undefined : Number(env.SERVAL_ROUTE_CACHE_MS),
    experiments: experimentReader(experiments),
    // In Lambda shadow runs wait for the post-response flush (or, without the extension, run
    // before the answer like capture does); elsewhere a timer runs them once the answer is out.
    deferred: new DeferredWork({
      ...(env.AWS_LAMBDA_FUNCTION_NAME ? {} : { autoFlushMs: 10 }),
      onDropped: (dropped) => inferenceLogger.warn('shadow runs dropped: too many pending', { dropped }),
    }),
    log: { warn: (message, extra) => inferenceLogger.warn(message, extra ?? {}) },
    backgrounds: {
      // Imported on the first explanation: the monitoring store and profile parser stay off the
      // prediction path's cold start.
      rows: async (model, version, limit) =>
        (await import('./explain-background.js')).baselineBackgrounds(env).rows(model, version, limit),
    },
  });
  return {
    service,
    capture,
    predictions,
    metrics,
    experiments,
    prime: () => prime(preloaded, store, artifacts),
    warmUp: () => warmUp(store, artifacts),
  };
}

/** The first call's promise, shared by every later call (a failed one is retried). */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make().catch((err: unknown) => {
      made = undefined;
      throw err;
    });
    return made;
  };
}

/**
 * Captures given up: an error log, the CapturesLost metric (and its alarm), and each hour's
 * lostPredictions, so the model's stats show them as answered but not captured.
 */
function reportLost(
  messages: readonly BufferedCapture[],
  metrics: ServingMetrics,
  predictions: Pick<DynamoPredictionStore, 'recordLost'>,
): void {
  const hours = new Map<string, { model: string; version: string; hourStart: string; rows: number }>();
  for (const m of messages) {
    const rows = predictionsIn(m);
    if (rows === 0) continue;
    const hourStart = hourStartOf(m.at);
    const key = `${m.model}\u0000${m.version}\u0000${hourStart}`;
    const hour = hours.get(key) ?? { model: m.model, version: m.version, hourStart, rows: 0 };
    hour.rows += rows;
    hours.set(key, hour);
  }
  for (const h of hours.values()) {
    inferenceLogger.error('captured predictions lost: neither the queue nor the spill took them', {
      model: h.model,
      version: h.version,
      hourStart: h.hourStart,
      predictions: h.rows,
    });
    metrics.capturesLost?.(h.model, h.version, h.rows);
    predictions
      .recordLost(h.model, h.version, h.hourStart, h.rows)
      .catch((err: unknown) =>
        inferenceLogger.error('could not count lost captures in the stats', { ...h, error: err as Error }),
      );
  }
}
