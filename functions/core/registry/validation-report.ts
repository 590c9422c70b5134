/**
 * What a validation is asked (the request body of POST /v1/models/{name}/versions/{v}/validate,
 * with its bounds) and what it answers (the report); validation.ts runs it.
 */
import * as z from 'zod';
import type { TensorInfo } from '../kernel/runner.js';
import type { ClassificationMetrics, RegressionMetrics } from '../training/metrics.js';

export const MAX_VALIDATION_ROWS = 10_000;
/** Bounds the work of one request whatever its shape (rows × features). */
export const MAX_VALIDATION_VALUES = 2_000_000;
export const DEFAULT_LATENCY_RUNS = 50;

const value = z.union([z.number(), z.string().max(256), z.boolean(), z.null()]);
const atMost = z.object({ max: z.number().nonnegative() }).strict();
const unitAtLeast = z.object({ min: z.number().min(0).max(1) }).strict();

/**
 * Bounds on a report's metrics: a validation request's thresholds, and a model's
 * `requiredThresholds` (the bounds a report must meet to count for promotion).
 */
export const Thresholds = z
  .object({
    accuracy: unitAtLeast.optional(),
    precision: unitAtLeast.optional(),
    recall: unitAtLeast.optional(),
    f1: unitAtLeast.optional(),
    auc: unitAtLeast.optional(),
    logLoss: atMost.optional(),
    rmse: atMost.optional(),
    mae: atMost.optional(),
    r2: z
      .object({ min: z.number().max(1) })
      .strict()
      .optional(),
  })
  .strict();
export type Thresholds = z.infer<typeof Thresholds>;

export const ValidationRequest = z
  .object({
    dataset: z
      .object({
        instances: z
          .array(z.union([z.array(value).max(10_000), z.record(z.string().max(128), value)]))
          .min(1)
          .max(MAX_VALIDATION_ROWS),
        labels: z
          .array(z.union([z.number(), z.string().max(256)]))
          .min(1)
          .max(MAX_VALIDATION_ROWS),
      })
      .strict()
      .superRefine((d, ctx) => {
        if (d.labels.length !== d.instances.length) {
          ctx.addIssue({
            code: 'custom',
            path: ['labels'],
            message: `${d.labels.length} labels for ${d.instances.length} instances`,
          });
        }
        const cells = d.instances.reduce(
          (s, i) => s + (Array.isArray(i) ? i.length : Object.keys(i).length),
          0,
        );
        if (cells > MAX_VALIDATION_VALUES) {
          ctx.addIssue({
            code: 'custom',
            path: ['instances'],
            message: `at most ${MAX_VALIDATION_VALUES} feature values per request`,
          });
        }
      }),
    thresholds: Thresholds.optional(),
    /** Budget for the 95th percentile of single-row prediction time, in milliseconds. */
    latencyBudgetMs: z.number().positive().max(60_000).optional(),
    /** Timed single-row runs (after a short warm-up). */
    latencyRuns: z.number().int().min(1).max(1000).optional(),
  })
  .strict();
export type ValidationRequest = z.infer<typeof ValidationRequest>;

export type CheckName = 'loads' | 'schema' | 'metrics' | 'latency';

export interface ValidationCheck {
  readonly name: CheckName;
  readonly passed: boolean;
  /** True when an earlier check failed and this one could not run. */
  readonly skipped: boolean;
  readonly message: string;
  readonly details: Record<string, unknown>;
}

export interface ThresholdResult {
  readonly metric: string;
  readonly bound: 'min' | 'max';
  readonly threshold: number;
  /** null when the model kind has no such metric (e.g. accuracy of a regressor). */
  readonly value: number | null;
  readonly passed: boolean;
}

export type ReportMetrics =
  | (ClassificationMetrics & {
      readonly kind: 'binary' | 'multiclass';
      readonly classes: readonly (string | number)[];
    })
  | (RegressionMetrics & { readonly kind: 'regression' });

export interface LatencyReport {
  readonly runs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  readonly budgetMs: number | null;
}

export interface ValidationReport {
  readonly passed: boolean;
  readonly checks: readonly ValidationCheck[];
  readonly metrics: ReportMetrics | null;
  readonly thresholds: readonly ThresholdResult[];
  readonly latency: LatencyReport | null;
  /** The graph's declared inputs and outputs, when it loaded. */
  readonly model: { readonly inputs: readonly TensorInfo[]; readonly outputs: readonly TensorInfo[] } | null;
  readonly rows: number;
  readonly ranAt: string;
}
