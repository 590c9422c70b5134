/**
 * Binary logistic regression: minimises the mean log-loss plus (λ/2)‖w‖² (intercept unpenalised)
 * with L-BFGS. λ > 0 keeps the optimum finite when the classes are separable.
 */
import { validationFailed } from '../kernel/errors.js';
import { checkDesign, checkPenalty, dotRow, type Matrix, sigmoid, softplus } from './data.js';
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
  x: Matrix,
  y: readonly number[],
  options: LogisticRegressionOptions = {},
): LogisticRegressionModel {
  const l2 = options.l2 ?? 1e-3;
  checkPenalty(l2);
  const f = checkDesign(x, y);
  y.forEach((v, i) => {
    if (v !== 0 && v !== 1) throw validationFailed(`target ${i} must be 0 or 1`, { field: 'y', row: i });
  });
  if (!y.includes(0) || !y.includes(1)) {
    // With one class only, the unpenalised intercept would run off to infinity.
    throw validationFailed('logistic regression needs rows of both classes (0 and 1)', { field: 'y' });
  }
  const n = x.length;
  const result = minimizeLbfgs(
    (theta, grad) => {
      grad.fill(0);
      let loss = 0;
      for (let i = 0; i < n; i++) {
        const row = x[i] as readonly number[];
        const z = dotRow(theta, row) + (theta[f] as number);
        const t = y[i] as number;
        loss += softplus(z) - t * z;
        const r = (sigmoid(z) - t) / n;
        for (let j = 0; j < f; j++) grad[j] = (grad[j] as number) + r * (row[j] as number);
        grad[f] = (grad[f] as number) + r;
      }
      loss /= n;
      for (let j = 0; j < f; j++) {
        const w = theta[j] as number;
        loss += 0.5 * l2 * w * w;
        grad[j] = (grad[j] as number) + l2 * w;
      }
      return loss;
    },
    new Array<number>(f + 1).fill(0),
    { tolerance: options.tolerance ?? 1e-8, maxIterations: options.maxIterations ?? 1000 },
  );
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
