import { describe, expect, it } from 'vitest';
import { crossValidate, foldAssignment, kFolds } from '../../../functions/core/training/cv.js';
import { predictLinear, trainLinearRegression } from '../../../functions/core/training/linear.js';
import { createRng } from '../../../functions/core/training/random.js';
import { domainError } from '../../support/expect-code.js';

/** Imbalanced labels: 3 classes in proportions 0.6 / 0.3 / 0.1, shuffled. */
function labels(n: number, seed: number): number[] {
  const g = createRng(seed);
  return Array.from({ length: n }, () => {
    const u = g.next();
    return u < 0.6 ? 0 : u < 0.9 ? 1 : 2;
  });
}

describe('stratified k-fold', () => {
  it('gives every fold each class’s count ÷ k to within one row, and fold sizes within one row', () => {
    for (const [n, k] of [
      [1003, 5],
      [97, 10],
      [50, 3],
    ] as const) {
      const y = labels(n, n);
      const folds = kFolds(y, { k, seed: 7 });
      expect(folds).toHaveLength(k);
      const sizes = folds.map((f) => f.test.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      for (const c of [0, 1, 2]) {
        const total = y.filter((v) => v === c).length;
        for (const f of folds) {
          const inFold = f.test.filter((i) => y[i] === c).length;
          expect(Math.abs(inFold - total / k)).toBeLessThan(1);
        }
      }
      // Every row is tested exactly once and trained on in the other k − 1 folds.
      const tested = folds.flatMap((f) => f.test).sort((a, b) => a - b);
      expect(tested).toEqual(Array.from({ length: n }, (_, i) => i));
      for (const f of folds) expect(f.train.length + f.test.length).toBe(n);
    }
  });

  it('is a function of the targets and the seed', () => {
    const y = labels(300, 1);
    expect(Array.from(foldAssignment(y, { k: 4, seed: 3 }))).toEqual(
      Array.from(foldAssignment(y, { k: 4, seed: 3 })),
    );
    expect(Array.from(foldAssignment(y, { k: 4, seed: 3 }))).not.toEqual(
      Array.from(foldAssignment(y, { k: 4, seed: 4 })),
    );
  });

  it('regression folds are contiguous cuts of a seeded shuffle, sizes within one row', () => {
    const y = Array.from({ length: 23 }, (_, i) => i * 0.5);
    const folds = kFolds(y, { k: 5, task: 'regression', seed: 2 });
    expect(folds.map((f) => f.test.length)).toEqual([5, 5, 5, 4, 4]);
    expect(Array.from(foldAssignment(y, { k: 5, task: 'regression', seed: 2 }))).toEqual(
      Array.from(foldAssignment(y, { k: 5, task: 'regression', seed: 2 })),
    );
  });

  it('rejects k < 2, more folds than rows, and non-integer classes', () => {
    expect(() => kFolds([0, 1, 0], { k: 1 })).toThrow(domainError('validation_failed'));
    expect(() => kFolds([0, 1, 0], { k: 4 })).toThrow(domainError('validation_failed'));
    expect(() => kFolds([0, 0.5, 1], { k: 2 })).toThrow(domainError('validation_failed'));
  });
});

describe('crossValidate', () => {
  it('fits per fold and reports the metrics, their mean and population standard deviation', async () => {
    const g = createRng(5);
    const rows = Array.from({ length: 120 }, () => [g.normal(), g.normal()]);
    const y = rows.map((r) => 3 * r[0]! - r[1]! + 0.2 * g.normal());
    const result = await crossValidate(y, {
      k: 4,
      task: 'regression',
      seed: 1,
      fit: (train) =>
        trainLinearRegression(
          train.map((i) => rows[i]!),
          train.map((i) => y[i]!),
        ),
      evaluate: (model, test) => {
        const pred = predictLinear(
          model,
          test.map((i) => rows[i]!),
        );
        const mse = pred.reduce((s, p, j) => s + (p - y[test[j]!]!) ** 2, 0) / test.length;
        return { mse, rows: test.length };
      },
    });
    expect(result.folds.map((f) => f.testRows)).toEqual([30, 30, 30, 30]);
    const mses = result.folds.map((f) => f.metrics.mse!);
    const mean = mses.reduce((a, b) => a + b, 0) / 4;
    expect(result.mean.mse).toBeCloseTo(mean, 14);
    expect(result.std.mse).toBeCloseTo(Math.sqrt(mses.reduce((a, b) => a + (b - mean) ** 2, 0) / 4), 14);
    expect(result.std.rows).toBe(0);
    // Noise σ = 0.2: held-out MSE near 0.04.
    expect(result.mean.mse).toBeGreaterThan(0.02);
    expect(result.mean.mse).toBeLessThan(0.07);
  });

  it('runs up to `concurrency` folds at once, results in fold order', async () => {
    const y = labels(60, 2);
    let inFlight = 0;
    let peak = 0;
    const result = await crossValidate(y, {
      k: 6,
      concurrency: 3,
      fit: async (_train, fold) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 5 * (6 - fold)));
        inFlight--;
        return fold;
      },
      evaluate: (model) => ({ fold: model }),
    });
    expect(peak).toBe(3);
    expect(result.folds.map((f) => f.metrics.fold)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('rejects folds that report different metrics', async () => {
    await expect(
      crossValidate(labels(20, 3), {
        k: 2,
        fit: (_t, fold) => fold,
        evaluate: (fold): Record<string, number> => (fold === 0 ? { a: 1 } : { b: 1 }),
      }),
    ).rejects.toThrow(domainError('validation_failed'));
  });
});
