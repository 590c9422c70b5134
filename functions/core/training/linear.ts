/**
 * Least-squares linear regression with an optional ridge penalty, solved exactly through the
 * normal equations. The intercept is never penalised: the data are centred first, which also
 * keeps the system well conditioned when features sit far from zero. Meant for modest feature
 * counts (the solve is cubic in F).
 */
import { validationFailed } from '../kernel/errors.js';
import { checkDesign, checkPenalty, dotRow, type Matrix } from './data.js';
import { solveLinear } from './optimize.js';

export interface LinearRegressionOptions {
  /** Ridge strength λ in (1/2n)‖y − Xw − b‖² + (λ/2)‖w‖² (default 0: ordinary least squares). */
  readonly l2?: number;
}

export interface LinearRegressionModel {
  readonly weights: number[];
  readonly bias: number;
  /** Mean squared error on the training rows. */
  readonly trainingMse: number;
}

export function trainLinearRegression(
  x: Matrix,
  y: readonly number[],
  options: LinearRegressionOptions = {},
): LinearRegressionModel {
  const l2 = options.l2 ?? 0;
  checkPenalty(l2);
  const f = checkDesign(x, y);
  const n = x.length;
  const mean = new Array<number>(f).fill(0);
  for (const row of x) for (let j = 0; j < f; j++) mean[j] = (mean[j] as number) + (row[j] as number) / n;
  const yMean = y.reduce((a, b) => a + b, 0) / n;
  const a = Array.from({ length: f }, () => new Array<number>(f).fill(0));
  const b = new Array<number>(f).fill(0);
  for (let i = 0; i < n; i++) {
    const row = x[i] as readonly number[];
    const yc = (y[i] as number) - yMean;
    for (let j = 0; j < f; j++) {
      const xj = (row[j] as number) - (mean[j] as number);
      b[j] = (b[j] as number) + (xj * yc) / n;
      const aj = a[j] as number[];
      for (let k = j; k < f; k++)
        aj[k] = (aj[k] as number) + (xj * ((row[k] as number) - (mean[k] as number))) / n;
    }
  }
  for (let j = 0; j < f; j++) {
    const aj = a[j] as number[];
    aj[j] = (aj[j] as number) + l2;
    for (let k = 0; k < j; k++) aj[k] = (a[k] as number[])[j] as number;
  }
  const weights = solveLinear(a, b);
  if (!weights) {
    throw validationFailed(
      'the features are collinear (or constant), so least squares has no unique solution; set l2 > 0',
      {
        field: 'x',
      },
    );
  }
  const bias = yMean - dotRow(weights, mean);
  const model = { weights, bias };
  const pred = predictLinear(model, x);
  const trainingMse = pred.reduce((s, p, i) => s + (p - (y[i] as number)) ** 2, 0) / n;
  return { weights, bias, trainingMse };
}

export function predictLinear(
  model: { readonly weights: readonly number[]; readonly bias: number },
  x: Matrix,
): number[] {
  return x.map((row) => dotRow(model.weights, row) + model.bias);
}
