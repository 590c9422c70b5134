/** Lambda entry for inference: predict, explain, feedback and serving stats. */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { z } from 'zod';
import { createApiHandler, operation, type ProxyHandler } from '../http/api.js';
import { CONTRACT } from '../http/contract.js';
import type { ExplainBody, FeedbackBody, NameParams, PredictBody, StatsQuery } from '../http/schemas.js';
import { inferenceWiring, inferenceLogger as logger } from './inference-wiring.js';
import type { Env } from './shared.js';

type Name = z.infer<typeof NameParams>;

export function buildInferenceApi(env: Env = process.env): { api: ProxyHandler; flush(): Promise<void> } {
  const { service, capture, predictions } = inferenceWiring(env);
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
  return { api, flush: () => capture.flush() };
}

/**
 * The Lambda entry. Inside Lambda the process may be frozen once the answer is returned, so the
 * capture buffer is flushed before returning (one SQS call per invocation); in the local runtime
 * the buffer flushes in the background, off the response path. This is the hot path, so it skips
 * the middy/logger-context wrapper the other functions use (measured at ~7 µs per call): log
 * lines carry the request id themselves.
 */
export function createHandler(env: Env = process.env) {
  const inLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME);
  let built: ReturnType<typeof buildInferenceApi> | undefined;
  return async (event: APIGatewayProxyEvent, context?: Partial<Context>): Promise<APIGatewayProxyResult> => {
    built ??= buildInferenceApi(env);
    const response = await built.api(event, context);
    if (inLambda) await built.flush();
    return response;
  };
}

export const handler = createHandler();
