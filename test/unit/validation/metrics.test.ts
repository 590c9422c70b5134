import { describe, expect, it } from 'vitest';
import {
  classificationMetrics,
  regressionMetrics,
  rocAuc,
} from '../../../functions/core/training/metrics.js';

describe('classificationMetrics', () => {
  it('binary: precision, recall and F1 of the positive class from a hand-counted confusion matrix', () => {
    // actual:    1 1 1 1 0 0 0 0 0 0
    // predicted: 1 1 1 0 1 1 0 0 0 0  → TP 3, FN 1, FP 2, TN 4
    const m = classificationMetrics({
      actual: [1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
      predicted: [1, 1, 1, 0, 1, 1, 0, 0, 0, 0],
      classes: 2,
    });
    expect(m.accuracy).toBe(0.7);
    expect(m.precision).toBeCloseTo(3 / 5, 15);
    expect(m.recall).toBeCloseTo(3 / 4, 15);
    expect(m.f1).toBeCloseTo((2 * 0.6 * 0.75) / 1.35, 15); // = 2/3
    expect(m.confusion).toEqual([
      [4, 2],
      [1, 3],
    ]);
    expect(m.average).toBe('binary');
    expect(m.logLoss).toBeNull();
  });

  it('binary with the positive class at index 0', () => {
    const m = classificationMetrics({ actual: [0, 0, 1], predicted: [0, 1, 1], classes: 2, positive: 0 });
    // positive = 0: TP 1 (row 0), FN 1 (row 1), FP 0 → precision 1, recall ½
    expect(m.precision).toBe(1);
    expect(m.recall).toBe(0.5);
  });

  it('macro-averages over the classes present in truth or predictions (scikit-learn)', () => {
    // 4 declared classes; class 3 never occurs, so it is left out of the average.
    // actual    0 0 1 1 2 2
    // predicted 0 1 1 1 2 0
    // class 0: TP 1, pred 2, support 2 → P ½, R ½, F1 ½
    // class 1: TP 2, pred 3, support 2 → P ⅔, R 1, F1 0.8
    // class 2: TP 1, pred 1, support 2 → P 1, R ½, F1 ⅔
    const m = classificationMetrics({
      actual: [0, 0, 1, 1, 2, 2],
      predicted: [0, 1, 1, 1, 2, 0],
      classes: 4,
    });
    expect(m.average).toBe('macro');
    expect(m.accuracy).toBeCloseTo(4 / 6, 15);
    expect(m.precision).toBeCloseTo((0.5 + 2 / 3 + 1) / 3, 15);
    expect(m.recall).toBeCloseTo((0.5 + 1 + 0.5) / 3, 15);
    expect(m.f1).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 15);
    expect(m.perClass[3]).toEqual({ class: 3, precision: 0, recall: 0, f1: 0, support: 0 });
  });

  it('counts undefined ratios as 0', () => {
    const m = classificationMetrics({ actual: [0, 0], predicted: [0, 0], classes: 2 });
    expect(m.precision).toBe(0);
    expect(m.recall).toBe(0);
    expect(m.f1).toBe(0);
  });

  it('log-loss and AUC from probabilities', () => {
    const probabilities = [
      [0.9, 0.1],
      [0.4, 0.6],
      [0.35, 0.65],
      [0.2, 0.8],
    ];
    const m = classificationMetrics({
      actual: [0, 0, 1, 1],
      predicted: [0, 1, 1, 1],
      classes: 2,
      probabilities,
    });
    expect(m.logLoss).toBeCloseTo(-(Math.log(0.9) + Math.log(0.4) + Math.log(0.65) + Math.log(0.8)) / 4, 12);
    // Positive scores 0.65, 0.8 both beat negative scores 0.1, 0.6 → AUC 1.
    expect(m.auc).toBe(1);
  });
});

describe('rocAuc', () => {
  it('counts ties as one half', () => {
    // pairs (pos, neg): (0.5 vs 0.5) tie → ½, (0.5 vs 0.2) win → 1, (0.9 vs 0.5) win, (0.9 vs 0.2) win → 3.5/4
    expect(rocAuc([true, false, true, false], [0.5, 0.5, 0.9, 0.2])).toBe(3.5 / 4);
    expect(rocAuc([true, true], [0.1, 0.2])).toBeNull();
  });
});

describe('regressionMetrics', () => {
  it('RMSE, MAE and R² by hand', () => {
    // errors: 0.5, −0.5, 0, 1 → SSres = 1.5; mean(actual) = 2.5, SStot = 2.25 + 0.25 + 0.25 + 2.25 = 5
    const m = regressionMetrics([1, 2, 3, 4], [0.5, 2.5, 3, 3]);
    expect(m.rmse).toBeCloseTo(Math.sqrt(1.5 / 4), 15);
    expect(m.mae).toBeCloseTo(2 / 4, 15);
    expect(m.r2).toBeCloseTo(1 - 1.5 / 5, 15);
  });

  it('R² of a constant target is 1 when perfect, else 0', () => {
    expect(regressionMetrics([2, 2], [2, 2]).r2).toBe(1);
    expect(regressionMetrics([2, 2], [2, 3]).r2).toBe(0);
  });
});
