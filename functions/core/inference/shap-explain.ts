/**
 * Kernel SHAP explanations of a served ONNX model (kernel-shap.ts), for any architecture.
 *
 * What is explained, per instance:
 * - classifiers: the instance's predicted class, as its probability (`probability`, default) or
 *   its log-odds ln(p / (1 − p)) (`logit`);
 * - regressors: the predicted value (`raw`, the only choice).
 * `raw` on a classifier explains the probability output as the model returns it, column of the
 * predicted class. Base value: the mean output over the background; base + Σ values = prediction.
 */
import { validationFailed } from '../kernel/errors.js';
import { decodeOutputs } from '../kernel/outputs.js';
import { kernelShapMany } from './kernel-shap.js';
import type { ServingModel } from './sessions.js';

// The service imports this module on the first Kernel SHAP request; its default budget comes with it.
export { defaultSamples } from './kernel-shap.js';

export const SHAP_OUTPUTS = ['probability', 'logit', 'raw'] as const;
export type ShapOutput = (typeof SHAP_OUTPUTS)[number];

/** At most this many background rows (shap's guidance: 100 summarise a background well). */
export const MAX_BACKGROUND = 100;

export interface ShapExplanation {
  readonly method: 'exact' | 'kernel';
  readonly output: ShapOutput;
  /** The class explained (classifiers). */
  readonly class?: string | number;
  readonly baseValue: number;
  readonly values: Record<string, number>;
  readonly prediction: number;
  /** Coalitions evaluated; every coalition when method is exact. */
  readonly coalitions: number;
}

const logit = (p: number): number => {
  const q = Math.min(1 - 1e-15, Math.max(1e-15, p));
  return Math.log(q / (1 - q));
};

/**
 * The model as kernel SHAP sees it: one number per row; rows come in blocks of `blockRows`, one
 * per instance, and block n reads class `columns[n]` (or the value). A probability output of
 * shape [rows, K] is read in place (an explanation runs ~10⁵ rows per instance: building
 * decodeOutputs' per-row arrays would cost more than the model); anything else goes through it.
 */
function batchModel(sm: ServingModel, columns: readonly (number | null)[], output: ShapOutput) {
  const features = sm.inputSchema.features.length;
  const transform = output === 'logit' ? logit : (p: number) => p;
  return async (inputs: Float32Array, rows: number, blockRows: number): Promise<Float64Array | number[]> => {
    const out = await sm.model.run(inputs, rows, features, sm.inputSchema.tensor, sm.fetch);
    if (sm.plan.kind !== 'regression') {
      const t = out[sm.plan.probabilities];
      const k = t?.dims[1];
      if (
        t &&
        t.dims.length === 2 &&
        t.dims[0] === rows &&
        k !== undefined &&
        k >= 2 &&
        typeof t.data[0] === 'number'
      ) {
        const data = t.data as ArrayLike<number>;
        const values = new Float64Array(rows);
        for (let r = 0; r < rows; r++)
          values[r] = transform(data[r * k + columns[Math.floor(r / blockRows)]!]!);
        return values;
      }
    }
    const decoded = decodeOutputs(out, sm.plan, rows);
    if (decoded.kind === 'regression') return decoded.values;
    const values = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      values[r] = transform(decoded.probabilities[r]![columns[Math.floor(r / blockRows)]!]!);
    }
    return values;
  };
}

export async function shapExplain(
  sm: ServingModel,
  batch: Float32Array,
  rows: number,
  background: Float32Array,
  options: { readonly output?: ShapOutput; readonly nsamples?: number; readonly seed?: number } = {},
): Promise<ShapExplanation[]> {
  const features = sm.inputSchema.features.length;
  const names = sm.inputSchema.features.map((f) => f.name);
  const regression = sm.outputSchema.kind === 'regression';
  const output = options.output ?? (regression ? 'raw' : 'probability');
  if (regression && output !== 'raw') {
    throw validationFailed(`a regression model explains its value: output must be "raw", not "${output}"`, {
      output,
    });
  }
  if (background.length / features > MAX_BACKGROUND) {
    throw validationFailed(`at most ${MAX_BACKGROUND} background rows`, {
      rows: background.length / features,
    });
  }
  // The predicted class of every instance: one run for the whole request.
  let predicted: number[] | null = null;
  if (!regression) {
    const decoded = decodeOutputs(
      await sm.model.run(batch, rows, features, sm.inputSchema.tensor, sm.fetch),
      sm.plan,
      rows,
    );
    if (decoded.kind !== 'regression') predicted = decoded.classIndex;
  }
  const columns = Array.from({ length: rows }, (_, r) => (predicted ? predicted[r]! : null));
  const xs = Array.from({ length: rows }, (_, r) => batch.subarray(r * features, (r + 1) * features));
  const results = await kernelShapMany(batchModel(sm, columns, output), xs, background, {
    ...(options.nsamples !== undefined ? { nsamples: options.nsamples } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  });
  const explanations: ShapExplanation[] = results.map((result, r) => {
    const column = columns[r]!;
    const cls =
      column !== null && sm.outputSchema.kind !== 'regression'
        ? sm.outputSchema.classes?.[column]
        : undefined;
    return {
      method: result.exact ? 'exact' : 'kernel',
      output,
      ...(cls !== undefined ? { class: cls } : column !== null ? { class: column } : {}),
      baseValue: result.baseValue,
      values: Object.fromEntries(names.map((n, i) => [n, result.values[i]!])),
      prediction: result.prediction,
      coalitions: result.coalitions,
    };
  });
  return explanations;
}
