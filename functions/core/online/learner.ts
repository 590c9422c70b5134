/**
 * The online learner: a linear, logistic or softmax regression model updated by stochastic
 * gradient descent on its own loss (squared error, log-loss, cross-entropy) plus (λ/2)‖W‖²
 * (intercepts unpenalised), starting from the weights of the production version's ONNX file —
 * so before its first update it predicts exactly what production predicts.
 */
import { unsupported } from '../kernel/errors.js';
import { readFloatInitializers, readOnnxModel } from '../onnx/reader.js';

export const ONLINE_KINDS = ['linear-regression', 'logistic-regression', 'softmax-regression'] as const;
export type OnlineKind = (typeof ONLINE_KINDS)[number];

export interface LinearWeights {
  readonly kind: OnlineKind;
  /** K rows of F weights (K = 1 for linear and logistic regression; then row 0 scores class 1). */
  readonly weights: number[][];
  readonly bias: number[];
}

/** One labelled example: features in the model's input order, target as a class index or value. */
export interface Example {
  readonly x: readonly number[];
  /** Regression: the value; classifiers: the index of the true class. */
  readonly y: number;
}

/** The kind of a Serval-written linear model, or why it cannot learn online. */
export function onlineKindOf(bytes: Uint8Array): { kind?: OnlineKind; reason?: string } {
  let kind: string | undefined;
  try {
    kind = readOnnxModel(bytes).metadata['serval.kind'];
  } catch {
    return { reason: 'its artifact is not an ONNX model Serval can read' };
  }
  if (ONLINE_KINDS.includes(kind as OnlineKind)) return { kind: kind as OnlineKind };
  return {
    reason: `online learning updates linear, logistic and softmax regression models; the production version is ${
      kind ? `a ${kind}` : 'not a model written by Serval'
    }`,
  };
}

/** Reads the weights of a Serval-written linear/logistic/softmax model; 422 for anything else. */
export function readLinearWeights(bytes: Uint8Array, features: number): LinearWeights {
  const { kind, reason } = onlineKindOf(bytes);
  if (!kind) throw unsupported(reason as string, { supported: [...ONLINE_KINDS] });
  const init = readFloatInitializers(bytes);
  const w = init.get('coefficients');
  const b = init.get('intercept');
  const k = kind === 'softmax-regression' ? (b?.values.length ?? 0) : 1;
  if (!w || !b || k < 1 || w.values.length !== k * features || b.values.length !== k) {
    throw unsupported('the model does not carry the coefficients of a linear model of its inputs', {
      modelKind: kind,
      features,
    });
  }
  const weights: number[][] = [];
  // linear/logistic store [F, 1]; softmax stores [K, F]: row-major either way gives K rows of F.
  for (let r = 0; r < k; r++) weights.push(Array.from(w.values.subarray(r * features, (r + 1) * features)));
  return { kind, weights, bias: Array.from(b.values) };
}

function dotRow(w: readonly number[], x: readonly number[]): number {
  let s = 0;
  for (let j = 0; j < x.length; j++) s += (w[j] as number) * (x[j] as number);
  return s;
}

/** Regression: [ŷ]; logistic: [P(class 0), P(class 1)]; softmax: the K probabilities. */
export function predictScores(m: LinearWeights, x: readonly number[]): number[] {
  if (m.kind === 'linear-regression') return [dotRow(m.weights[0] as number[], x) + (m.bias[0] as number)];
  if (m.kind === 'logistic-regression') {
    const z = dotRow(m.weights[0] as number[], x) + (m.bias[0] as number);
    const p = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    return [1 - p, p];
  }
  const z = m.weights.map((w, k) => dotRow(w, x) + (m.bias[k] as number));
  const top = Math.max(...z);
  const e = z.map((v) => Math.exp(v - top));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** The predicted class index (ties to the lower index, as ONNX ArgMax), or the value. */
export function predictOne(m: LinearWeights, x: readonly number[]): number {
  const p = predictScores(m, x);
  if (m.kind === 'linear-regression') return p[0] as number;
  let best = 0;
  for (let k = 1; k < p.length; k++) if ((p[k] as number) > (p[best] as number)) best = k;
  return best;
}

/**
 * One SGD step on the mean gradient of `batch` (a mini-batch of one is plain incremental SGD).
 * Returns new weights; the input is not modified.
 */
export function sgdStep(
  m: LinearWeights,
  batch: readonly Example[],
  learningRate: number,
  l2: number,
): LinearWeights {
  if (batch.length === 0) return m;
  const k = m.weights.length;
  const f = (m.weights[0] as number[]).length;
  const gw = Array.from({ length: k }, () => new Array<number>(f).fill(0));
  const gb = new Array<number>(k).fill(0);
  for (const ex of batch) {
    const p = predictScores(m, ex.x);
    for (let r = 0; r < k; r++) {
      // d loss / d z_r: ŷ − y for squared error, p − y for log-loss and cross-entropy.
      const err =
        m.kind === 'linear-regression'
          ? (p[0] as number) - ex.y
          : m.kind === 'logistic-regression'
            ? (p[1] as number) - ex.y
            : (p[r] as number) - (ex.y === r ? 1 : 0);
      const row = gw[r] as number[];
      for (let j = 0; j < f; j++) row[j] = (row[j] as number) + err * (ex.x[j] as number);
      gb[r] = (gb[r] as number) + err;
    }
  }
  const scale = learningRate / batch.length;
  return {
    kind: m.kind,
    weights: m.weights.map((w, r) =>
      w.map((v, j) => v - scale * ((gw[r] as number[])[j] as number) - learningRate * l2 * v),
    ),
    bias: m.bias.map((v, r) => v - scale * (gb[r] as number)),
  };
}

/**
 * Why online learning cannot be enabled for a model (no production version, not a linear,
 * logistic or softmax model), or undefined when it can. Read from the production artifact.
 */
export async function onlineIneligibility(
  registry: {
    getModel(name: string): Promise<{ readonly productionVersion?: string } | undefined>;
    getVersion(
      name: string,
      version: string,
    ): Promise<
      | {
          readonly framework: string;
          readonly artifact: { readonly key: string; readonly versionId?: string };
        }
      | undefined
    >;
  },
  artifacts: { get(key: string, versionId?: string): Promise<Uint8Array | undefined> },
  model: string,
): Promise<string | undefined> {
  const m = await registry.getModel(model);
  if (!m?.productionVersion)
    return 'online learning starts from the production version, and the model has none';
  const v = await registry.getVersion(model, m.productionVersion);
  if (v?.framework !== 'onnx') return `production version ${m.productionVersion} is not an ONNX model`;
  const bytes = await artifacts.get(v.artifact.key, v.artifact.versionId);
  if (!bytes) return `the artifact of production version ${m.productionVersion} is missing`;
  return onlineKindOf(bytes).reason;
}
