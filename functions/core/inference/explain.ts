/**
 * Exact per-feature attributions for linear models: for f(x) = b + Σ w_i x_i, the attribution of
 * feature i is w_i · (x_i − mean_i), against the mean of the training (or baseline) data, so the
 * attributions add up to f(x) − f(mean). For logistic regression this holds in the link (logit)
 * space, where the model is linear. These are also the exact Shapley values of a linear model with
 * independent features, which is why Kernel SHAP (planned for other models) agrees with them.
 */
import { unsupported } from '../kernel/errors.js';
import type { InputSchema } from '../kernel/model-io.js';
import { readFloatInitializers, readOnnxModel } from '../onnx/reader.js';
import type { ModelVersion } from '../registry/types.js';

export interface LinearForm {
  readonly kind: 'linear-regression' | 'logistic-regression';
  readonly space: 'identity' | 'logit';
  readonly weights: Float32Array;
  readonly bias: number;
}

export interface Explanation {
  /** 'logit' for logistic regression: f is the log-odds of the positive (second) class. */
  readonly space: 'identity' | 'logit';
  /** f(mean): the value every attribution is measured from. */
  readonly base: number;
  /** f(x) = base + Σ attributions. */
  readonly value: number;
  readonly attributions: Record<string, number>;
  /**
   * The same in the form every explanation has (shap-explain.ts): the closed form of a linear
   * model, baseValue = base, values = attributions, prediction = value, output `logit` or `raw`.
   */
  readonly method: 'linear';
  readonly output: 'logit' | 'raw';
  readonly baseValue: number;
  readonly values: Record<string, number>;
  readonly prediction: number;
}

const EXPLAINABLE = ['linear-regression', 'logistic-regression'] as const;

/** Reads the weights of a linear or logistic model written by Serval's trainers; else 422. */
export function linearForm(bytes: Uint8Array, features: number): LinearForm {
  const kind = readOnnxModel(bytes).metadata['serval.kind'];
  if (!EXPLAINABLE.includes(kind as (typeof EXPLAINABLE)[number])) {
    throw unsupported(
      `explanations are exact for linear and logistic regression models; this model is ${
        kind ? `a ${kind}` : 'not one written by Serval'
      }. Attributions for other models (Kernel SHAP) are not available yet`,
      { modelKind: kind ?? null, supported: [...EXPLAINABLE] },
    );
  }
  const init = readFloatInitializers(bytes);
  const w = init.get('coefficients');
  const b = init.get('intercept');
  if (!w || !b || w.values.length !== features || b.values.length !== 1) {
    throw unsupported('the model does not carry the coefficients of a linear model of its inputs', {
      modelKind: kind,
    });
  }
  return {
    kind: kind as LinearForm['kind'],
    space: kind === 'logistic-regression' ? 'logit' : 'identity',
    weights: w.values,
    bias: b.values[0] as number,
  };
}

/** Whether the version carries usable training means (params.featureMeans). */
export function hasFeatureMeans(v: Pick<ModelVersion, 'params'>): boolean {
  const given = v.params.featureMeans;
  return given !== undefined && given !== null && typeof given === 'object';
}

/**
 * The training means the attributions are measured against: the version's
 * `params.featureMeans`, as an array in feature order or an object keyed by feature name.
 */
export function featureMeans(v: Pick<ModelVersion, 'params' | 'version'>, schema: InputSchema): number[] {
  const given = v.params.featureMeans;
  const names = schema.features.map((f) => f.name);
  let means: unknown[] | undefined;
  if (Array.isArray(given)) means = given;
  else if (given && typeof given === 'object') {
    means = names.map((n) => (given as Record<string, unknown>)[n]);
  }
  if (
    !means ||
    means.length !== names.length ||
    !means.every((m) => typeof m === 'number' && Number.isFinite(m))
  ) {
    throw unsupported(
      `version ${v.version} has no training means to measure attributions from: register it with params.featureMeans (one number per feature, or an object keyed by feature name)`,
      { field: 'params.featureMeans', features: names },
    );
  }
  return means as number[];
}

export function explainRows(
  form: LinearForm,
  batch: Float32Array,
  rows: number,
  features: readonly string[],
  means: readonly number[],
): Explanation[] {
  const f = features.length;
  let base = form.bias;
  for (let j = 0; j < f; j++) base += (form.weights[j] as number) * (means[j] as number);
  const out: Explanation[] = [];
  for (let r = 0; r < rows; r++) {
    const attributions: Record<string, number> = {};
    let value = base;
    for (let j = 0; j < f; j++) {
      const a = (form.weights[j] as number) * ((batch[r * f + j] as number) - (means[j] as number));
      attributions[features[j] as string] = a;
      value += a;
    }
    out.push({
      space: form.space,
      base,
      value,
      attributions,
      method: 'linear',
      output: form.space === 'logit' ? 'logit' : 'raw',
      baseValue: base,
      values: attributions,
      prediction: value,
    });
  }
  return out;
}
