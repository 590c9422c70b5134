/**
 * Multinomial (softmax) logistic regression: mean cross-entropy plus (λ/2)‖W‖² (intercepts
 * unpenalised), minimised with L-BFGS. The parameterisation is the symmetric one — a weight row
 * per class — which is what the ONNX writer takes.
 */
import { validationFailed } from '../kernel/errors.js';
import { checkDesign, checkPenalty, dotRow, type Matrix, softmax } from './data.js';
import { minimizeLbfgs } from './optimize.js';

export interface SoftmaxRegressionOptions {
  /** Number of classes; default: the largest label + 1. */
  readonly classes?: number;
  /** Default 1e-3. */
  readonly l2?: number;
  readonly maxIterations?: number;
  readonly tolerance?: number;
}

export interface SoftmaxRegressionModel {
  /** K rows of F weights. */
  readonly weights: number[][];
  readonly bias: number[];
  readonly loss: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/** `y` holds class indices 0..K-1. */
export function trainSoftmaxRegression(
  x: Matrix,
  y: readonly number[],
  options: SoftmaxRegressionOptions = {},
): SoftmaxRegressionModel {
  const l2 = options.l2 ?? 1e-3;
  checkPenalty(l2);
  const f = checkDesign(x, y);
  y.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0) {
      throw validationFailed(`target ${i} must be a class index (an integer ≥ 0)`, {
        field: 'y',
        row: i,
      });
    }
  });
  const k = options.classes ?? y.reduce((m, v) => Math.max(m, v), 0) + 1;
  if (!Number.isInteger(k) || k < 2) {
    throw validationFailed('softmax regression needs at least 2 classes', { field: 'classes' });
  }
  y.forEach((v, i) => {
    if (v >= k)
      throw validationFailed(`target ${i} must be a class index in 0..${k - 1}`, { field: 'y', row: i });
  });
  const n = x.length;
  const stride = f + 1; // per class: F weights then the intercept
  const result = minimizeLbfgs(
    (theta, grad) => {
      grad.fill(0);
      let loss = 0;
      const logits = new Array<number>(k);
      for (let i = 0; i < n; i++) {
        const row = x[i] as readonly number[];
        for (let c = 0; c < k; c++) {
          const w = theta.slice(c * stride, c * stride + f);
          logits[c] = dotRow(w, row) + (theta[c * stride + f] as number);
        }
        const p = softmax(logits);
        const t = y[i] as number;
        loss -= Math.log(Math.max(p[t] as number, Number.MIN_VALUE));
        for (let c = 0; c < k; c++) {
          const r = ((p[c] as number) - (c === t ? 1 : 0)) / n;
          const base = c * stride;
          for (let j = 0; j < f; j++) grad[base + j] = (grad[base + j] as number) + r * (row[j] as number);
          grad[base + f] = (grad[base + f] as number) + r;
        }
      }
      loss /= n;
      for (let c = 0; c < k; c++) {
        for (let j = 0; j < f; j++) {
          const idx = c * stride + j;
          const w = theta[idx] as number;
          loss += 0.5 * l2 * w * w;
          grad[idx] = (grad[idx] as number) + l2 * w;
        }
      }
      return loss;
    },
    new Array<number>(k * stride).fill(0),
    { tolerance: options.tolerance ?? 1e-8, maxIterations: options.maxIterations ?? 1000 },
  );
  const weights = Array.from({ length: k }, (_, c) => result.x.slice(c * stride, c * stride + f));
  const bias = Array.from({ length: k }, (_, c) => result.x[c * stride + f] as number);
  return { weights, bias, loss: result.value, iterations: result.iterations, converged: result.converged };
}

/** Class probabilities per row. */
export function predictSoftmax(
  model: { readonly weights: readonly (readonly number[])[]; readonly bias: readonly number[] },
  x: Matrix,
): number[][] {
  return x.map((row) => softmax(model.weights.map((w, c) => dotRow(w, row) + (model.bias[c] as number))));
}
