/**
 * Composition root of inference: registry reads, the artifact store, onnxruntime, SageMaker, the
 * capture queue, metrics and the predictions store, built once per container from the environment.
 */

import { sqsClient } from '../adapters/aws-clients.js';
import type { DynamoPredictionStore } from '../adapters/dynamo-predictions.js';
import { OnnxRuntimeRunner } from '../adapters/onnx-runner.js';
import { SageMakerEndpointInvoker } from '../adapters/sagemaker-runtime.js';
import { servingMetricsFor } from '../adapters/serving-metrics.js';
import { SqsCaptureQueue } from '../adapters/sqs-capture-queue.js';
import { systemClock } from '../adapters/system.js';
import { QUEUES } from '../contract/resources.js';
import { CaptureBuffer } from '../core/inference/capture.js';
import { RandomIdBlocks } from '../core/inference/ids.js';
import type { ServingMetrics } from '../core/inference/ports.js';
import { InferenceService } from '../core/inference/service.js';
import { ModelCache } from '../core/inference/sessions.js';
import { lifecycleEvents } from './registry-events.js';
import {
  artifactStore,
  type Env,
  envValue,
  makeLogger,
  predictionStore,
  registryServices,
  registryStore,
} from './shared.js';

export const inferenceLogger = makeLogger('inference');

export interface InferenceWiring {
  readonly service: InferenceService;
  readonly capture: CaptureBuffer;
  readonly predictions: DynamoPredictionStore;
  readonly metrics: ServingMetrics;
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
  const capture = new CaptureBuffer(new SqsCaptureQueue(sqsClient(), envValue(env, QUEUES.captures.env)), {
    onError: (err, messages) =>
      inferenceLogger.warn('capture messages not sent yet; kept for the next flush', {
        messages,
        error: err as Error,
      }),
  });
  const metrics = servingMetricsFor(env);
  const service = new InferenceService({
    store,
    registry: registryServices(
      env,
      store,
      artifacts,
      lifecycleEvents(env, inferenceLogger, { alerts: true }),
    ),
    models: new ModelCache({ artifacts, runner: new OnnxRuntimeRunner() }),
    endpoints: new SageMakerEndpointInvoker({ allowedEndpoints: allowedEndpoints(env) }),
    capture,
    metrics,
    ids: new RandomIdBlocks(systemClock),
    clock: systemClock,
    routeCacheMs: env.SERVAL_ROUTE_CACHE_MS === undefined ? undefined : Number(env.SERVAL_ROUTE_CACHE_MS),
    log: { warn: (message, extra) => inferenceLogger.warn(message, extra ?? {}) },
  });
  const predictions = predictionStore(env);
  return { service, capture, predictions, metrics };
}
