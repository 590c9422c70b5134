/** Lambda entry for inference: predict, explain, feedback and serving stats. */
import { PostResponseExtension } from '../adapters/lambda-extension.js';
import { canonicalMemberText, shareJson, worthSharing } from '../core/kernel/shared-json.js';
import { createApiHandler, operation, type ProxyHandler } from '../http/api.js';
import { INFERENCE_CONTRACT as CONTRACT } from '../http/inference-contract.js';
import { apiEntry, lambdaHandler } from './entry.js';
import { inferenceWiring, inferenceLogger as logger } from './inference-wiring.js';
import { onlineFeedbackSender } from './online-serving.js';
import type { Env } from './shared.js';

export function buildInferenceApi(env: Env = process.env): {
  api: ProxyHandler;
  flush(): Promise<void>;
  prime(): Promise<void>;
  warmUp(): Promise<void>;
} {
  const { service, capture, predictions, metrics, experiments, prime, warmUp } = inferenceWiring(env);
  const online = onlineFeedbackSender(env);
  const api = createApiHandler(
    'inference',
    {
      predict: operation({
        ...CONTRACT.predict,
        handle: ({ params, body, bodyText }) => {
          // Instances sent as JSON.stringify writes them go into the capture message as sent,
          // not serialised again (the array is a copy zod made, of the same rows). Looked for
          // when the capture is serialised, never before the answer: at the send, or when the
          // next request seals the waiting message (CaptureBuffer).
          if (bodyText !== undefined && worthSharing(body.instances))
            shareJson(body.instances, () => canonicalMemberText(bodyText, 'instances'));
          return service.predict(params.name, body);
        },
      }),
      explain: operation({
        ...CONTRACT.explain,
        handle: ({ params, body }) => service.explain(params.name, body),
      }),
      feedback: operation({
        ...CONTRACT.feedback,
        handle: async ({ body }) => {
          // Imported on the first feedback: its statistics stay off predict's cold start.
          const { recordFeedback } = await import('../core/inference/feedback.js');
          const summary = await recordFeedback(predictions, experiments, body);
          // A failed send fails the request: the labels are stored, and the client's retry
          // (duplicates, which are sent too) reaches the learner, which applies each sample once.
          await online?.(summary.results);
          return summary;
        },
      }),
      stats: operation({
        ...CONTRACT.stats,
        handle: ({ params, query }) => service.stats(params.name, predictions, query),
      }),
    },
    // Every inference route either reads or is allowed in maintenance: no mode check, no
    // idempotency table (feedback is idempotent by itself: a prediction takes feedback once).
    { logger },
  );
  return {
    api,
    prime,
    warmUp,
    // What may wait until the answer is out: deferred metric records, shadow runs (whose
    // captures join the buffer) and the capture buffer.
    flush: async () => {
      metrics.flush?.();
      await service.flushDeferred();
      await capture.flush();
    },
  };
}

/**
 * The Lambda entry. Inside Lambda the process may be frozen once the answer is returned, so the
 * capture buffer is sent after the answer by an internal Lambda extension, which holds the freeze
 * until the send is done (functions/adapters/lambda-extension.ts); the caller never waits for SQS.
 * Where the extension cannot register, the buffer is flushed before returning (one SQS call per
 * invocation). In the local runtime the buffer flushes in the background. This is the hot path,
 * so it takes apiEntry's lean option (no middy chain; the logger still gets the Lambda context).
 *
 * Registration must happen during init, hence async: the module awaits it at top level, and so
 * the warm-up of a provisioned environment.
 */
export async function createLambdaHandler(env: Env = process.env) {
  const inference = buildInferenceApi(env);
  // What the first prediction would do for the first time, done in init where it needs no
  // network: a cold start's request waits for init anyway (a few ms more of it: see prime in
  // inference-wiring.ts), and an environment initialised ahead of its request is spared it.
  await inference.prime();
  // Lambda says when an environment is initialised for provisioned concurrency. There init is
  // nobody's wait, so the SDK clients' first calls are made over the network too; on demand the
  // reads would only add round trips to the init a request may be waiting for.
  if (env.AWS_LAMBDA_INITIALIZATION_TYPE === 'provisioned-concurrency') await inference.warmUp();
  const extension =
    env.AWS_LAMBDA_FUNCTION_NAME && env.AWS_LAMBDA_RUNTIME_API
      ? await PostResponseExtension.register({
          runtimeApi: env.AWS_LAMBDA_RUNTIME_API,
          name: 'serval-capture',
          work: inference.flush,
          log: { warn: (message, extra) => logger.warn(message, extra ?? {}) },
        })
      : undefined;
  return inferenceEntry(env, inference, extension);
}

/**
 * The entry without Lambda's extension (tests, the local runtime): same behaviour otherwise. It
 * carries `flush`, which the local runtime calls on stop so the last captures reach the queue.
 */
export function createHandler(env: Env = process.env) {
  const inference = buildInferenceApi(env);
  return Object.assign(inferenceEntry(env, inference, undefined), { flush: inference.flush });
}

function inferenceEntry(
  env: Env,
  { api, flush }: ReturnType<typeof buildInferenceApi>,
  extension: PostResponseExtension | undefined,
) {
  const inLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME);
  const served: ProxyHandler = async (event, context) => {
    const requestId = context?.awsRequestId;
    try {
      return await api(event, context);
    } finally {
      if (extension?.active && requestId) extension.finished(requestId);
      else if (inLambda) await flush();
    }
  };
  return apiEntry(logger, served, { lean: true });
}

export const handler = await lambdaHandler(createLambdaHandler);
