/**
 * A prediction's context, which both the predict request and the capture message carry. Its own
 * module so that the inference function's predict schema does not build every queue's message
 * schema at cold start (issue 13).
 */
import * as z from 'zod';

/** Keys one prediction's context may hold, and the longest key and string value. */
export const CONTEXT_LIMITS = { keys: 16, keyLength: 64, valueLength: 256 } as const;

/**
 * What a prediction is about besides its inputs (a sensitive attribute, a region, a channel):
 * captured with it and never fed to the model, so fairness can be judged on attributes the model
 * must not see. Flat JSON scalars only, so it stores as-is in DynamoDB and in capture files.
 */
export const PredictionContext = z
  .record(
    z.string().min(1).max(CONTEXT_LIMITS.keyLength),
    z.union([z.string().max(CONTEXT_LIMITS.valueLength), z.number().finite(), z.boolean(), z.null()]),
  )
  .refine((c) => Object.keys(c).length <= CONTEXT_LIMITS.keys, `at most ${CONTEXT_LIMITS.keys} context keys`);
export type PredictionContext = z.infer<typeof PredictionContext>;
