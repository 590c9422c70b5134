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
  const zb = new Float64Array(4);
  // Loss and gradient in one pass over the rows, one exp and one log1p per row: the pass over
  // n × F values is the whole cost of a fit, L-BFGS's own work is O(F) per step. Rows go four
  // at a time so each weight load serves four products and each gradient entry is loaded and
  // stored once per four rows rather than once per row.
  const objective = (theta: readonly number[], grad: number[]): number => {
    // Locals, not closure slots: TurboFan keeps them in registers across the typed-array stores.
    const X = data;
    const G = g;
    const W = w;
    const T = t;
    const ZB = zb;
    const F = f;
    const N = n;
    for (let j = 0; j < F; j++) W[j] = theta[j] as number;
    G.fill(0);
    const b = theta[F] as number;
    let gb = 0;
    let loss = 0;
    let i = 0;
    for (; i + 4 <= N; i += 4) {
      const o0 = i * F;
      const o1 = o0 + F;
      const o2 = o1 + F;
      const o3 = o2 + F;
      let z0 = b;
      let z1 = b;
      let z2 = b;
      let z3 = b;
      for (let j = 0; j < F; j++) {
        const wj = W[j] as number;
        z0 += wj * (X[o0 + j] as number);
        z1 += wj * (X[o1 + j] as number);
        z2 += wj * (X[o2 + j] as number);
        z3 += wj * (X[o3 + j] as number);
      }
      ZB[0] = z0;
      ZB[1] = z1;
      ZB[2] = z2;
      ZB[3] = z3;
      for (let q = 0; q < 4; q++) {
        const z = ZB[q] as number;
        const ti = T[i + q] as number;
        const e = Math.exp(-Math.abs(z));
        loss += Math.max(z, 0) + Math.log1p(e) - ti * z;
        const r = (z >= 0 ? 1 / (1 + e) : e / (1 + e)) - ti;
        ZB[q] = r;
        gb += r;
      }
      const r0 = ZB[0] as number;
      const r1 = ZB[1] as number;
      const r2 = ZB[2] as number;
      const r3 = ZB[3] as number;
      for (let j = 0; j < F; j++) {
        G[j] =
          (G[j] as number) +
          r0 * (X[o0 + j] as number) +
          r1 * (X[o1 + j] as number) +
          r2 * (X[o2 + j] as number) +
          r3 * (X[o3 + j] as number);
      }
    }
    for (; i < N; i++) {
      const off = i * F;
      const z = b + dot(W, 0, X, off, F);
      const ti = T[i] as number;
      const e = Math.exp(-Math.abs(z));
      loss += Math.max(z, 0) + Math.log1p(e) - ti * z;
      const r = (z >= 0 ? 1 / (1 + e) : e / (1 + e)) - ti;
      gb += r;
      axpy(r, X, off, G, 0, F);
    }
    loss /= N;
    for (let j = 0; j < F; j++) {
      const wj = W[j] as number;
      loss += 0.5 * l2 * wj * wj;
      grad[j] = (G[j] as number) / N + l2 * wj;
    }
    grad[F] = gb / N;
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
