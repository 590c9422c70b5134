/**
 * What a predict call asks for and gets back, and the checks a request passes before anything is
 * loaded or run.
 */
import { validationFailed } from '../kernel/errors.js';
import type { InputSchema, OutputSchema } from '../kernel/model-io.js';
import type { ModelVersion } from '../registry/types.js';
import type { Explanation } from './explain.js';

export const MAX_INSTANCES = 10_000;

export interface PredictInput {
  readonly instances: readonly unknown[];
  readonly version?: string;
  /** production (default), latest, or an alias set on the model (core/registry/aliases.ts). */
  readonly alias?: string;
  /**
   * Sticky-assignment key of the running experiment: the same subject gets the same variant
   * (core/experiments/assignment.ts). Without it, a request is assigned at random by the weights.
   */
  readonly subject?: string;
  readonly explain?: boolean;
  /**
   * Captured with the predictions and never fed to the model: one object for every instance, or
   * one per instance (checkContext).
   */
  readonly context?: PredictionContext | readonly PredictionContext[];
}

/** A prediction's context (contract/messages.ts): flat JSON scalars by name. */
export type PredictionContext = Readonly<Record<string, string | number | boolean | null>>;

export interface PredictOutput {
  readonly model: string;
  readonly modelVersion: string;
  readonly runtime: 'lambda' | 'sagemaker';
  readonly predictions: (string | number)[];
  readonly probabilities?: number[][];
  readonly predictionIds: string[];
  readonly explanations?: Explanation[];
  /** Set when the routed version failed and this one answered instead. */
  readonly fallbackFrom?: string;
  /** Set when the model's running experiment routed the request: its id and the variant served. */
  readonly experimentId?: string;
  readonly variant?: string;
}

/** An answer and the version that gave it, with the output schema its capture record needs. */
export interface Served {
  readonly output: PredictOutput;
  readonly version: ModelVersion;
  readonly schema: OutputSchema;
}

export function requireSchemas(v: ModelVersion): { inputSchema: InputSchema; outputSchema: OutputSchema } {
  if (!v.inputSchema || !v.outputSchema) {
    throw validationFailed(
      `version ${v.version} of ${v.model} has no input and output schema, so it cannot serve predictions`,
      { model: v.model, version: v.version },
    );
  }
  return { inputSchema: v.inputSchema, outputSchema: v.outputSchema };
}

/** An array of contexts must give one per instance: anything else could not be told apart later. */
export function checkContext(input: Pick<PredictInput, 'instances' | 'context'>): void {
  const c = input.context;
  if (Array.isArray(c) && c.length !== input.instances.length) {
    throw validationFailed(
      `context has ${c.length} entries for ${input.instances.length} instances: give one object for all, or one per instance`,
      { field: 'context', given: c.length, instances: input.instances.length },
    );
  }
}

export function checkSize(n: number): void {
  if (n === 0) throw validationFailed('instances must hold at least one instance', { field: 'instances' });
  if (n > MAX_INSTANCES) {
    throw validationFailed(`at most ${MAX_INSTANCES} instances per request; split the batch`, {
      field: 'instances',
      limit: MAX_INSTANCES,
      given: n,
    });
  }
}
