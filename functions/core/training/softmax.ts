/**
 * Multinomial (softmax) logistic regression: mean cross-entropy plus (λ/2)‖W‖² (intercepts
 * unpenalised), minimised with L-BFGS. The parameterisation is the symmetric one — a weight row
 * per class — which is what the ONNX writer takes.
 */
import { validationFailed } from '../kernel/errors.js';
import { checkDense, checkPenalty, type DenseMatrix, dotRow, type Matrix, softmax } from './data.js';
import { axpy, dot } from './kernels.js';
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
  x: Matrix | DenseMatrix,
  y: ArrayLike<number>,
  options: SoftmaxRegressionOptions = {},
): SoftmaxRegressionModel {
  const l2 = options.l2 ?? 1e-3;
  checkPenalty(l2);
  const design = checkDense(x, y);
  const n = design.rows;
  const f = design.cols;
  let maxLabel = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i] as number;
    if (!Number.isInteger(v) || v < 0) {
      throw validationFailed(`target ${i} must be a class index (an integer ≥ 0)`, {
        field: 'y',
        row: i,
      });
    }
    maxLabel = Math.max(maxLabel, v);
  }
  const k = options.classes ?? maxLabel + 1;
  if (!Number.isInteger(k) || k < 2) {
    throw validationFailed('softmax regression needs at least 2 classes', { field: 'classes' });
  }
  for (let i = 0; i < n; i++) {
    if ((y[i] as number) >= k)
      throw validationFailed(`target ${i} must be a class index in 0..${k - 1}`, { field: 'y', row: i });
  }
  const data = design.data;
  const stride = f + 1; // per class: F weights then the intercept
  const theta = new Float64Array(k * stride);
  const g = new Float64Array(k * stride);
  const logits = new Float64Array(k);
  // One pass over the rows computes the loss and the gradient together (see logistic.ts).
  const objective = (t: readonly number[], grad: number[]): number => {
    for (let i = 0; i < theta.length; i++) theta[i] = t[i] as number;
    g.fill(0);
    let loss = 0;
    for (let i = 0, off = 0; i < n; i++, off += f) {
      let m = -Infinity;
      for (let c = 0; c < k; c++) {
        const z = (theta[c * stride + f] as number) + dot(theta, c * stride, data, off, f);
        logits[c] = z;
        if (z > m) m = z;
      }
      let sum = 0;
      for (let c = 0; c < k; c++) {
        const e = Math.exp((logits[c] as number) - m);
        logits[c] = e;
        sum += e;
      }
      const target = y[i] as number;
      loss -= Math.log(Math.max((logits[target] as number) / sum, Number.MIN_VALUE));
      for (let c = 0; c < k; c++) {
        const r = (logits[c] as number) / sum - (c === target ? 1 : 0);
        const base = c * stride;
        axpy(r, data, off, g, base, f);
        g[base + f] = (g[base + f] as number) + r;
      }
    }
    loss /= n;
    for (let c = 0; c < k; c++) {
      for (let j = 0; j <= f; j++) {
        const idx = c * stride + j;
        const w = theta[idx] as number;
        const penalised = j < f;
        if (penalised) loss += 0.5 * l2 * w * w;
        grad[idx] = (g[idx] as number) / n + (penalised ? l2 * w : 0);
      }
    }
    return loss;
  };
  const result = minimizeLbfgs(objective, new Array<number>(k * stride).fill(0), {
    tolerance: options.tolerance ?? 1e-8,
    maxIterations: options.maxIterations ?? 1000,
  });
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
