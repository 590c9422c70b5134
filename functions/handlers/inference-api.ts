/** Lambda entry for inference: predict, explain, feedback and serving stats. */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { z } from 'zod';
import { PostResponseExtension } from '../adapters/lambda-extension.js';
import { createApiHandler, operation, type ProxyHandler } from '../http/api.js';
import { CONTRACT } from '../http/contract.js';
import type { ExplainBody, FeedbackBody, NameParams, PredictBody, StatsQuery } from '../http/schemas.js';
import { inferenceWiring, inferenceLogger as logger } from './inference-wiring.js';
import type { Env } from './shared.js';

type Name = z.infer<typeof NameParams>;

export function buildInferenceApi(env: Env = process.env): { api: ProxyHandler; flush(): Promise<void> } {
  const { service, capture, predictions, metrics } = inferenceWiring(env);
  const api = createApiHandler(
    'inference',
    {
      predict: operation<Name, unknown, z.infer<typeof PredictBody>>({
        ...CONTRACT.predict,
        handle: ({ params, body }) => service.predict(params.name, body),
      }),
      explain: operation<Name, unknown, z.infer<typeof ExplainBody>>({
        ...CONTRACT.explain,
        handle: ({ params, body }) => service.explain(params.name, body),
      }),
      feedback: operation<unknown, unknown, z.infer<typeof FeedbackBody>>({
        ...CONTRACT.feedback,
        handle: async ({ body }) => {
          const results = await predictions.feedback(body);
          const count = (s: string) => results.filter((r) => r.status === s).length;
          return {
            joined: count('joined'),
            duplicate: count('duplicate'),
            unknown: count('unknown'),
            results,
          };
        },
      }),
      stats: operation<Name, z.infer<typeof StatsQuery>>({
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
    // What may wait until the answer is out: deferred metric records and the capture buffer.
    flush: () => {
      metrics.flush?.();
      return capture.flush();
    },
  };
}

/**
 * The Lambda entry. Inside Lambda the process may be frozen once the answer is returned, so the
 * capture buffer is sent after the answer by an internal Lambda extension, which holds the freeze
 * until the send is done (functions/adapters/lambda-extension.ts); the caller never waits for SQS.
 * Where the extension cannot register, the buffer is flushed before returning (one SQS call per
 * invocation). In the local runtime the buffer flushes in the background. This is the hot path,
 * so it skips the middy/logger-context wrapper the other functions use (measured at ~7 µs per
 * call): log lines carry the request id themselves.
 *
 * Registration must happen during init, hence async: the module awaits it at top level.
 */
export async function createLambdaHandler(env: Env = process.env) {
  const inLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME);
  let built: ReturnType<typeof buildInferenceApi> | undefined;
  const build = () => {
    built ??= buildInferenceApi(env);
    return built;
  };
  // On Lambda, clients and wiring are built during init, not on the first request.
  if (inLambda) build();
  const extension =
    inLambda && env.AWS_LAMBDA_RUNTIME_API
      ? await PostResponseExtension.register({
          runtimeApi: env.AWS_LAMBDA_RUNTIME_API,
          name: 'serval-capture',
          work: () => build().flush(),
          log: { warn: (message, extra) => logger.warn(message, extra ?? {}) },
        })
      : undefined;
  return async (event: APIGatewayProxyEvent, context?: Partial<Context>): Promise<APIGatewayProxyResult> => {
    const { api, flush } = build();
    const requestId = context?.awsRequestId;
    try {
      return await api(event, context);
    } finally {
      if (extension?.active && requestId) extension.finished(requestId);
      else if (inLambda) await flush();
    }
  };
}

/** The entry without Lambda's extension (tests, the local runtime): same behaviour otherwise. */
export function createHandler(env: Env = process.env) {
  const ready = createLambdaHandler({ ...env, AWS_LAMBDA_RUNTIME_API: undefined });
  return async (event: APIGatewayProxyEvent, context?: Partial<Context>): Promise<APIGatewayProxyResult> =>
    (await ready)(event, context);
}

export const handler = await createLambdaHandler();
