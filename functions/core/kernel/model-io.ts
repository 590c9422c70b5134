/**
 * What a model takes and gives, declared when a version is registered. Predict validates
 * instances against `InputSchema`; validation and monitoring read `OutputSchema`.
 */
import * as z from 'zod';

const featureName = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z_][A-Za-z0-9_.-]*$/,
    'feature names are letters, digits, _ . - and start with a letter or _',
  );

export const FeatureSchema = z.object({
  name: featureName,
  type: z.enum(['float', 'int', 'category']),
  /** Allowed values of a categorical feature (encoded positionally as its index). */
  categories: z.array(z.string().max(256)).min(1).max(10_000).optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  nullable: z.boolean().optional(),
});

export const InputSchema = z.object({
  features: z.array(FeatureSchema).min(1).max(10_000),
  /** Name of the ONNX graph input the features are fed to (default: the graph's first input). */
  tensor: z.string().max(256).optional(),
});

export const OutputSchema = z.object({
  kind: z.enum(['regression', 'binary', 'multiclass']),
  /** Class labels in the order of the model's probability columns. */
  classes: z
    .array(z.union([z.string().max(256), z.number()]))
    .min(2)
    .max(10_000)
    .optional(),
});

export type Feature = z.infer<typeof FeatureSchema>;
export type InputSchema = z.infer<typeof InputSchema>;
export type OutputSchema = z.infer<typeof OutputSchema>;
