/**
 * What an experiment is: its definition as a client sends it (zod, so the HTTP schema and the
 * OpenAPI document come from here), and the stored record with its state, allocation and outcome.
 *
 * Kinds (docs/experiments.md):
 * - `ab`: A/B/n; any number of variants, exactly one `control`, weights summing to 100.
 * - `canary`: a control (the production version) and one canary whose weight follows a ramp of
 *   steps, advanced by the analysis schedule while the guardrails hold, rolled back at once when
 *   one fails, promoted through the registry's rules at 100 %.
 * - `shadow`: the control answers every request (weight 100); the shadow variant (weight 0) gets
 *   a copy of each request after the answer is out, and its output is only captured.
 */
import * as z from 'zod';
import type { Allocation } from './assignment.js';

export const EXPERIMENT_KINDS = ['ab', 'canary', 'shadow'] as const;
export type ExperimentKind = (typeof EXPERIMENT_KINDS)[number];

export const EXPERIMENT_STATES = ['draft', 'running', 'paused', 'concluded'] as const;
export type ExperimentState = (typeof EXPERIMENT_STATES)[number];

/**
 * Metrics measured by Serval itself, per variant, without any outcome event:
 * - `error_rate`: 1 for a request that failed server-side, 0 otherwise (per request);
 * - `latency_ms`: server-side time to answer (per request), with a histogram for p99;
 * - `accuracy`: 1 when feedback's label equals the prediction (classification), per labelled row;
 * - `agreement`, `score_diff`: shadow only, per row: shadow's label equals the control's, and the
 *   absolute difference of their scores (probability of the predicted class, or the value).
 */
export const BUILTIN_METRICS = ['error_rate', 'latency_ms', 'accuracy', 'agreement', 'score_diff'] as const;
export type BuiltinMetric = (typeof BUILTIN_METRICS)[number];

const BUILTIN_KIND: Record<BuiltinMetric, 'binary' | 'continuous'> = {
  error_rate: 'binary',
  latency_ms: 'continuous',
  accuracy: 'binary',
  agreement: 'binary',
  score_diff: 'continuous',
};

export function isBuiltinMetric(name: string): name is BuiltinMetric {
  return (BUILTIN_METRICS as readonly string[]).includes(name);
}

const MetricName = z
  .string()
  .regex(
    /^[a-z][a-z0-9_.-]{0,63}$/,
    'metric names are 1-64 lower-case letters, digits, _ . - (a letter first)',
  );

export const MetricDef = z.strictObject({
  name: MetricName,
  /** binary: every value is 0 or 1 (a conversion); continuous: any finite number. */
  kind: z.enum(['binary', 'continuous']),
  goal: z.enum(['maximize', 'minimize']),
});
export type MetricDef = z.infer<typeof MetricDef>;

const VariantName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    'variant names are 1-64 letters, digits, _ . - (no leading symbol)',
  );

export const VariantInput = z.strictObject({
  /** Defaults to the version. */
  name: VariantName.optional(),
  version: z.string().min(1).max(64),
  /** Integer percentage points. Canary weights come from the ramp and shadow's are 100/0: omit them. */
  weight: z.number().int().min(0).max(100).optional(),
  control: z.boolean().optional(),
});

export const CanaryInput = z.strictObject({
  /** The canary's weight at each step, increasing, ending at 100. */
  steps: z.array(z.number().int().min(1).max(100)).min(1).max(20).default([5, 25, 50, 100]),
  /**
   * Minutes a step runs (with enough samples) before the next one; fractions allowed. 0 advances
   * as soon as every guardrail has its minimum sample and holds.
   */
  bakeMinutes: z
    .number()
    .min(0)
    .max(7 * 24 * 60)
    .default(10),
  /**
   * The canary fails its latency guardrail when its share of requests slower than the control's
   * p99 is significantly above the control's (1 %).
   */
  latencyGuardrail: z.boolean().default(true),
  /** Promote the canary through the registry when the last step has baked. */
  promote: z.boolean().default(true),
});
export type CanaryConfig = z.output<typeof CanaryInput>;

export const ADJUSTMENTS = ['holm', 'bonferroni', 'bh'] as const;
export type Adjustment = (typeof ADJUSTMENTS)[number];

export const CreateExperimentBody = z.strictObject({
  name: z.string().min(1).max(128),
  description: z.string().max(2000).default(''),
  model: z.string().min(1).max(64),
  kind: z.enum(EXPERIMENT_KINDS).default('ab'),
  variants: z.array(VariantInput).min(2).max(10),
  /** The primary metric; an outcome metric sent to /events, or a built-in one. */
  metric: MetricDef.default({ name: 'accuracy', kind: 'binary', goal: 'maximize' }),
  /** Outcome metrics that must not get worse (canary: checked at every step). */
  guardrails: z.array(MetricDef).max(10).default([]),
  /** Per variant, before anything is decided. */
  minSamples: z.number().int().min(10).max(100_000_000).default(100),
  /** Per variant: with this many and no significant difference, the decision is no_difference. Default 10 × minSamples. */
  maxSamples: z.number().int().min(10).max(1_000_000_000).optional(),
  alpha: z.number().gt(0).max(0.2).default(0.05),
  /** Multiple-testing adjustment across the treatments (A/B/n). */
  adjustment: z.enum(ADJUSTMENTS).default('holm'),
  /** mSPRT mixing variance τ²; default 0.01 × the pooled per-observation variance (effects around 0.1 σ). */
  tau2: z.number().positive().max(1e12).optional(),
  canary: CanaryInput.optional(),
});
export type CreateExperimentBody = z.input<typeof CreateExperimentBody>;
export type CreateExperiment = z.output<typeof CreateExperimentBody>;

export interface Variant {
  readonly name: string;
  readonly version: string;
  readonly control: boolean;
}

export interface CanaryProgress {
  /** Index into canary.steps of the step running now. */
  readonly step: number;
  readonly stepStartedAt: string;
  /** Set when the last step has baked and promotion waits for the registry (approval). */
  readonly waitingFor?: string;
}

export type OutcomeKind = 'winner' | 'no_difference' | 'rolled_back' | 'promoted' | 'stopped';

export interface ExperimentOutcome {
  readonly result: OutcomeKind;
  readonly variant?: string;
  /** The version made production when concluding, if any. */
  readonly promotedVersion?: string;
  readonly reason: string;
  readonly by: string;
  readonly at: string;
}

export interface Experiment {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly model: string;
  readonly kind: ExperimentKind;
  readonly state: ExperimentState;
  readonly variants: readonly Variant[];
  readonly metric: MetricDef;
  readonly guardrails: readonly MetricDef[];
  readonly minSamples: number;
  readonly maxSamples: number;
  readonly alpha: number;
  readonly adjustment: Adjustment;
  readonly tau2?: number;
  readonly canary?: CanaryConfig;
  readonly canaryProgress?: CanaryProgress;
  /** The hash seed (docs/experiments.md); the id unless stated. */
  readonly seed: string;
  /** Slot table of the current weights; its history is why it is stored, not recomputed. */
  readonly allocation: Allocation;
  /** Bumped at every weight change: exposures (the SRM counts) are kept per epoch. */
  readonly epoch: number;
  /**
   * The state of the sequential tests, kept by the analysis runs (results.ts):
   * - `<variant>/<metric>`: the smallest always-valid p-value so far (it never increases);
   * - `tau2:<variant>/<metric>`: the default mixing variance τ², fixed at the first look where
   *   both arms have minSamples (the always-valid guarantee needs τ² fixed before it is used);
   * - `p99:<variant>`: the control's p99 latency bucket, fixed likewise, so the latency
   *   guardrail tests one threshold throughout.
   */
  readonly sequential: Readonly<Record<string, number>>;
  readonly outcome?: ExperimentOutcome;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
  readonly startedAt?: string;
  readonly concludedAt?: string;
  readonly revision: number;
}

export function metricKind(
  e: Pick<Experiment, 'metric' | 'guardrails'>,
  name: string,
): 'binary' | 'continuous' | undefined {
  if (isBuiltinMetric(name)) return BUILTIN_KIND[name];
  if (e.metric.name === name) return e.metric.kind;
  return e.guardrails.find((g) => g.name === name)?.kind;
}

/** The metrics an outcome event may name: the primary and guardrail metrics that are not built in. */
export function outcomeMetrics(e: Pick<Experiment, 'metric' | 'guardrails'>): MetricDef[] {
  return [e.metric, ...e.guardrails].filter((m) => !isBuiltinMetric(m.name));
}

export function controlOf(e: Pick<Experiment, 'variants'>): Variant {
  return e.variants.find((v) => v.control)!;
}
