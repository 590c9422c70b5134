import { describe, expect, it } from 'vitest';
import {
  makeClassificationDataset,
  makeRegressionDataset,
  splitDataset,
} from '../../../functions/core/training/datasets.js';
import { predictLinear, trainLinearRegression } from '../../../functions/core/training/linear.js';
import { predictLogistic, trainLogisticRegression } from '../../../functions/core/training/logistic.js';
import { minimizeLbfgs, solveLinear } from '../../../functions/core/training/optimize.js';
import { createRng } from '../../../functions/core/training/random.js';
import { predictSoftmax, trainSoftmaxRegression } from '../../../functions/core/training/softmax.js';
import { domainError } from '../../support/expect-code.js';

const sig = (z: number) => 1 / (1 + Math.exp(-z));

/** Gradient of mean log-loss + (λ/2)‖w‖², written out independently of the trainer. */
function logisticGradient(x: number[][], y: number[], w: number[], b: number, l2: number): number[] {
  const n = x.length;
  const g = new Array<number>(w.length + 1).fill(0);
  x.forEach((row, i) => {
    const r = sig(row.reduce((s, v, j) => s + v * (w[j] as number), b)) - (y[i] as number);
    row.forEach((v, j) => {
      g[j] = (g[j] as number) + (r * v) / n;
    });
    g[w.length] = (g[w.length] as number) + r / n;
  });
  w.forEach((wj, j) => {
    g[j] = (g[j] as number) + l2 * wj;
  });
  return g;
}

describe('createRng', () => {
  it('repeats itself for a seed and differs between seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const sa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(sa);
  });

  it('gives uniforms in [0, 1) with mean ½ and variance 1/12, normals with mean 0 and variance 1', () => {
    const rng = createRng(7);
    const n = 100_000;
    const u = Array.from({ length: n }, () => rng.next());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const mean = u.reduce((a, b) => a + b, 0) / n;
    const variance = u.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    // Standard errors: √(1/12/n) ≈ 0.0009 for the mean; allow ~5 of them.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
    const z = Array.from({ length: n }, () => rng.normal());
    const zm = z.reduce((a, b) => a + b, 0) / n;
    const zv = z.reduce((a, b) => a + (b - zm) ** 2, 0) / n;
    expect(Math.abs(zm)).toBeLessThan(0.02);
    expect(Math.abs(zv - 1)).toBeLessThan(0.03);
  });

  it('permutes', () => {
    const p = createRng(1).permutation(50);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe('datasets', () => {
  it('are reproducible and shaped as asked', () => {
    const a = makeClassificationDataset({ rows: 200, features: 3, classes: 3, seed: 5 });
    const b = makeClassificationDataset({ rows: 200, features: 3, classes: 3, seed: 5 });
    expect(a).toEqual(b);
    expect(a.x).toHaveLength(200);
    expect(a.x.every((r) => r.length === 3)).toBe(true);
    expect(new Set(a.y)).toEqual(new Set([0, 1, 2]));
    expect(a.featureNames).toEqual(['x0', 'x1', 'x2']);
  });

  it('draw regression targets from the stated linear model', () => {
    const d = makeRegressionDataset({ rows: 50, features: 2, seed: 9, noise: 0 });
    d.x.forEach((row, i) => {
      const expected =
        d.trueBias +
        (d.trueWeights[0] as number) * (row[0] as number) +
        (d.trueWeights[1] as number) * (row[1] as number);
      expect(d.y[i]).toBeCloseTo(expected, 12);
    });
  });

  it('split without losing or repeating rows', () => {
    const d = makeRegressionDataset({ rows: 100, features: 1, seed: 1 });
    const { train, holdout } = splitDataset(d, 0.25, 3);
    expect(train.x).toHaveLength(75);
    expect(holdout.x).toHaveLength(25);
    const all = [...train.y, ...holdout.y].sort((a, b) => a - b);
    expect(all).toEqual([...d.y].sort((a, b) => a - b));
  });
});

describe('solveLinear', () => {
  it('solves a system known by hand and reports a singular one', () => {
    // 2x + y − z = 8; −3x − y + 2z = −11; −2x + y + 2z = −3  →  x = 2, y = 3, z = −1
    const x = solveLinear(
      [
        [2, 1, -1],
        [-3, -1, 2],
        [-2, 1, 2],
      ],
      [8, -11, -3],
    );
    expect(x?.[0]).toBeCloseTo(2, 12);
    expect(x?.[1]).toBeCloseTo(3, 12);
    expect(x?.[2]).toBeCloseTo(-1, 12);
    expect(
      solveLinear(
        [
          [1, 2],
          [2, 4],
        ],
        [1, 2],
      ),
    ).toBeNull();
  });
});

describe('minimizeLbfgs', () => {
  it('finds the minimum of the Rosenbrock function at (1, 1)', () => {
    const r = minimizeLbfgs(
      ([a = 0, b = 0], g) => {
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      [-1.2, 1],
      { tolerance: 1e-9, maxIterations: 500 },
    );
    expect(r.converged).toBe(true);
    expect(r.x[0]).toBeCloseTo(1, 6);
    expect(r.x[1]).toBeCloseTo(1, 6);
  });
});

describe('trainLinearRegression', () => {
  it('fits x = [1, 2, 3], y = [1, 2, 2] with slope ½ and intercept ⅔', () => {
    // Least squares by hand: x̄ = 2, ȳ = 5/3, Sxy = 1, Sxx = 2 → slope ½, intercept 5/3 − 1 = 2/3.
    const m = trainLinearRegression([[1], [2], [3]], [1, 2, 2]);
    expect(m.weights[0]).toBeCloseTo(0.5, 12);
    expect(m.bias).toBeCloseTo(2 / 3, 12);
    // Residuals 1/6, −1/3, 1/6 → MSE = (1/36 + 1/9 + 1/36)/3 = 1/18.
    expect(m.trainingMse).toBeCloseTo(1 / 18, 12);
  });

  it('recovers noiseless coefficients exactly, even far from the origin', () => {
    const x = [
      [1000, 3],
      [1001, -2],
      [1003, 7],
      [999, 0],
      [1002, 1],
    ];
    const y = x.map(([a = 0, b = 0]) => 2 * a - 3 * b + 1);
    const m = trainLinearRegression(x, y);
    expect(m.weights[0]).toBeCloseTo(2, 8);
    expect(m.weights[1]).toBeCloseTo(-3, 8);
    expect(m.bias).toBeCloseTo(1, 5);
    expect(predictLinear(m, [[0, 0]])[0]).toBeCloseTo(1, 5);
  });

  it('shrinks towards zero with a ridge penalty: slope = Sxy / (Sxx + λ) on centred data', () => {
    // Per-row means: Sxy/n = 1/3, Sxx/n = 2/3, λ = 1/3 → slope = (1/3)/(2/3 + 1/3) = 1/3.
    const m = trainLinearRegression([[1], [2], [3]], [1, 2, 2], { l2: 1 / 3 });
    expect(m.weights[0]).toBeCloseTo(1 / 3, 12);
    expect(m.bias).toBeCloseTo(5 / 3 - 2 / 3, 12);
  });

  it('refuses collinear features without a penalty', () => {
    const collinear = [
      [1, 2],
      [2, 4],
      [3, 6],
    ];
    expect(() => trainLinearRegression(collinear, [1, 2, 3])).toThrow(domainError('validation_failed'));
    expect(() => trainLinearRegression(collinear, [1, 2, 3], { l2: 0.1 })).not.toThrow();
  });

  it('checks its input', () => {
    expect(() => trainLinearRegression([], [])).toThrow(domainError('validation_failed'));
    expect(() => trainLinearRegression([[1], [2, 3]], [1, 2])).toThrow(/row 1/);
    expect(() => trainLinearRegression([[1], [Number.NaN]], [1, 2])).toThrow(/non-finite/);
    expect(() => trainLinearRegression([[1]], [1, 2])).toThrow(/targets/);
  });
});

describe('trainLogisticRegression', () => {
  it('solves the symmetric two-point problem: λw = 2σ(−w), b = 0', () => {
    // x = [−1, 1], y = [0, 1]: the gradient in w is −σ(−w) − σ(−w) + λw (mean over 2 rows gives
    // (1/2)(−2σ(−w)) + λw), so with λ = 0.5 the optimum solves 0.5·w = σ(−w). Bisection, by hand:
    const lambda = 0.5;
    let lo = 0;
    let hi = 10;
    for (let i = 0; i < 200; i++) {
      const mid = (lo + hi) / 2;
      if (lambda * mid - sig(-mid) < 0) lo = mid;
      else hi = mid;
    }
    const m = trainLogisticRegression([[-1], [1]], [0, 1], { l2: lambda });
    expect(m.converged).toBe(true);
    expect(m.weights[0]).toBeCloseTo(lo, 7);
    expect(m.bias).toBeCloseTo(0, 7);
  });

  it('stops where the penalised gradient vanishes', () => {
    const d = makeClassificationDataset({ rows: 400, features: 3, seed: 11 });
    const x = d.x.map((r) => [...r]);
    const y = [...d.y];
    const m = trainLogisticRegression(x, y, { l2: 0.01 });
    expect(m.converged).toBe(true);
    for (const g of logisticGradient(x, y, m.weights, m.bias, 0.01)) expect(Math.abs(g)).toBeLessThan(1e-7);
    // With 400 rows the fit points the same way as the generating model (w₁ − w₀ for 2 classes).
    const truth = (d.trueWeights[1] as number[]).map(
      (v, j) => v - ((d.trueWeights[0] as number[])[j] as number),
    );
    const cos =
      truth.reduce((s, v, j) => s + v * (m.weights[j] as number), 0) /
      Math.hypot(...truth) /
      Math.hypot(...m.weights);
    expect(cos).toBeGreaterThan(0.95);
    const p = predictLogistic(m, x);
    const acc = p.filter((v, i) => (v > 0.5 ? 1 : 0) === y[i]).length / y.length;
    expect(acc).toBeGreaterThan(0.8);
  });

  it('keeps weights finite on separable data thanks to the penalty', () => {
    const m = trainLogisticRegression([[-2], [-1], [1], [2]], [0, 0, 1, 1], { l2: 0.01 });
    expect(m.converged).toBe(true);
    expect(Number.isFinite(m.weights[0])).toBe(true);
    expect(m.weights[0]).toBeGreaterThan(0);
  });

  it('requires 0/1 targets', () => {
    expect(() => trainLogisticRegression([[1], [2]], [0, 2])).toThrow(/0 or 1/);
    expect(() => trainLogisticRegression([[1], [2]], [1, 1])).toThrow(/both classes/);
  });
});

describe('trainSoftmaxRegression', () => {
  it('with two classes equals logistic regression with half the penalty (w = w₁ − w₀, b = b₁ − b₀)', () => {
    // Softmax over [z₀, z₁] is σ(z₁ − z₀); at the optimum w₀ = −w₁, so (λ/2)(‖w₀‖² + ‖w₁‖²) = (λ/4)‖w₁ − w₀‖².
    const d = makeClassificationDataset({ rows: 300, features: 2, seed: 3 });
    const x = d.x.map((r) => [...r]);
    const y = [...d.y];
    const soft = trainSoftmaxRegression(x, y, { l2: 0.02, tolerance: 1e-10 });
    const logi = trainLogisticRegression(x, y, { l2: 0.01, tolerance: 1e-10 });
    const w0 = soft.weights[0] as number[];
    const w1 = soft.weights[1] as number[];
    expect((w1[0] as number) - (w0[0] as number)).toBeCloseTo(logi.weights[0] as number, 6);
    expect((w1[1] as number) - (w0[1] as number)).toBeCloseTo(logi.weights[1] as number, 6);
    expect((soft.bias[1] as number) - (soft.bias[0] as number)).toBeCloseTo(logi.bias, 6);
  });

  it('learns three classes and stops where the gradient vanishes', () => {
    const d = makeClassificationDataset({ rows: 600, features: 4, classes: 3, seed: 21, separation: 3 });
    const x = d.x.map((r) => [...r]);
    const y = [...d.y];
    const l2 = 0.01;
    const m = trainSoftmaxRegression(x, y, { l2 });
    expect(m.converged).toBe(true);
    expect(m.weights).toHaveLength(3);
    // Gradient by hand: (1/n) Σ (p_ik − [y_i = k]) x_i + λ W_k, and the same without x for b_k.
    const p = predictSoftmax(m, x);
    for (let k = 0; k < 3; k++) {
      const g = new Array<number>(5).fill(0);
      x.forEach((row, i) => {
        const r = ((p[i] as number[])[k] as number) - (y[i] === k ? 1 : 0);
        row.forEach((v, j) => {
          g[j] = (g[j] as number) + (r * v) / x.length;
        });
        g[4] = (g[4] as number) + r / x.length;
      });
      (m.weights[k] as number[]).forEach((w, j) => {
        g[j] = (g[j] as number) + l2 * w;
      });
      for (const v of g) expect(Math.abs(v)).toBeLessThan(1e-7);
    }
    const acc = p.filter((row, i) => row.indexOf(Math.max(...row)) === y[i]).length / y.length;
    expect(acc).toBeGreaterThan(0.75);
  });

  it('requires class indices', () => {
    expect(() => trainSoftmaxRegression([[1], [2]], [0, 1.5])).toThrow(/class index/);
    expect(() => trainSoftmaxRegression([[1], [2]], [0, 3], { classes: 3 })).toThrow(/class index/);
  });
});
