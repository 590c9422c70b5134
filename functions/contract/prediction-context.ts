/**
 * A prediction's context, which both the predict request and the capture message carry. Its own
 * module so that the inference function's predict schema does not build every queue's message
 * schema at cold start (issue 13). In zod/mini, as the inference schemas are
 * (functions/http/inference-schemas.ts says why).
 */
import * as z from 'zod/mini';

/** Keys one prediction's context may hold, and the longest key and string value. */
export const CONTEXT_LIMITS = { keys: 16, keyLength: 64, valueLength: 256 } as const;

/**
 * What a prediction is about besides its inputs (a sensitive attribute, a region, a channel):
 * captured with it and never fed to the model, so fairness can be judged on attributes the model
 * must not see. Flat JSON scalars only, so it stores as-is in DynamoDB and in capture files.
 */
export const PredictionContext = z
  .record(
    z.string().check(z.minLength(1), z.maxLength(CONTEXT_LIMITS.keyLength)),
    // zod's numbers are finite already (classic's .finite() added nothing).
    z.union([z.string().check(z.maxLength(CONTEXT_LIMITS.valueLength)), z.number(), z.boolean(), z.null()]),
  )
  .check(
    z.refine(
      (c) => Object.keys(c).length <= CONTEXT_LIMITS.keys,
      `at most ${CONTEXT_LIMITS.keys} context keys`,
    ),
  );
export type PredictionContext = z.infer<typeof PredictionContext>;
