/**
 * Binary logistic regression: minimises the mean log-loss plus (λ/2)‖w‖² (intercept unpenalised)
 * with L-BFGS. λ > 0 keeps the optimum finite when the classes are separable.
 */
import { validationFailed } from '../kernel/errors.js';
import { checkDense, checkPenalty, type DenseMatrix, dotRow, type Matrix, sigmoid } from './data.js';
import { axpy, dot } from './kernels.js';
import { minimizeLbfgs } from './optimize.js';

export interface LogisticRegressionOptions {
  /** Default 1e-3. */
  readonly l2?: number;
  readonly maxIterations?: number;
  /** Largest allowed gradient component at the optimum (default 1e-8). */
  readonly tolerance?: number;
}

export interface LogisticRegressionModel {
  readonly weights: number[];
  readonly bias: number;
  /** Penalised objective at the solution. */
  readonly loss: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/** `y` holds 0 (negative) or 1 (positive) per row. */
export function trainLogisticRegression(
  x: Matrix | DenseMatrix,
  y: ArrayLike<number>,
  options: LogisticRegressionOptions = {},
): LogisticRegressionModel {
  const l2 = options.l2 ?? 1e-3;
  checkPenalty(l2);
  const design = checkDense(x, y);
  const n = design.rows;
  const f = design.cols;
  const t = new Float64Array(n);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i] as number;
    if (v !== 0 && v !== 1) throw validationFailed(`target ${i} must be 0 or 1`, { field: 'y', row: i });
    t[i] = v;
    positives += v;
  }
  if (positives === 0 || positives === n) {
    // With one class only, the unpenalised intercept would run off to infinity.
    throw validationFailed('logistic regression needs rows of both classes (0 and 1)', { field: 'y' });
  }
  const data = design.data;
  const w = new Float64Array(f);
  const g = new Float64Array(f);
  // Loss and gradient in one pass over the rows, one exp and one log1p per row: the pass over
  // n × F values is the whole cost of a fit, L-BFGS's own work is O(F) per step.
  const objective = (theta: readonly number[], grad: number[]): number => {
    for (let j = 0; j < f; j++) w[j] = theta[j] as number;
    g.fill(0);
    const b = theta[f] as number;
    let gb = 0;
    let loss = 0;
    for (let i = 0, off = 0; i < n; i++, off += f) {
      const z = b + dot(w, 0, data, off, f);
      const ti = t[i] as number;
      let p: number;
      if (z > 0) {
        const e = Math.exp(-z);
        loss += z + Math.log1p(e) - ti * z;
        p = 1 / (1 + e);
      } else {
        const e = Math.exp(z);
        loss += Math.log1p(e) - ti * z;
        p = e / (1 + e);
      }
      const r = p - ti;
      gb += r;
      axpy(r, data, off, g, 0, f);
    }
    loss /= n;
    for (let j = 0; j < f; j++) {
      const wj = w[j] as number;
      loss += 0.5 * l2 * wj * wj;
      grad[j] = (g[j] as number) / n + l2 * wj;
    }
    grad[f] = gb / n;
    return loss;
  };
  const result = minimizeLbfgs(objective, new Array<number>(f + 1).fill(0), {
    tolerance: options.tolerance ?? 1e-8,
    maxIterations: options.maxIterations ?? 1000,
  });
  return {
    weights: result.x.slice(0, f),
    bias: result.x[f] as number,
    loss: result.value,
    iterations: result.iterations,
    converged: result.converged,
  };
}

/** P(y = 1 | x) per row. */
export function predictLogistic(
  model: { readonly weights: readonly number[]; readonly bias: number },
  x: Matrix,
): number[] {
  return x.map((row) => sigmoid(dotRow(model.weights, row) + model.bias));
}
