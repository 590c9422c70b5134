/**
 * The L-BFGS trainers over packed designs: the same answer from nested rows and a packed
 * Float64Array, the optimum's gradient (written out here) at zero, and two-class softmax
 * regression equal to logistic regression with half the penalty (its symmetric parameterisation
 * splits the weight difference evenly between the two rows).
 */
import { describe, expect, it } from 'vitest';
import { toDense } from '../../../functions/core/training/data.js';
import { makeClassificationDataset } from '../../../functions/core/training/datasets.js';
import { trainLogisticRegression } from '../../../functions/core/training/logistic.js';
import { trainSoftmaxRegression } from '../../../functions/core/training/softmax.js';

const data = makeClassificationDataset({ rows: 2000, features: 7, seed: 21, separation: 1 });
const rows = data.x.map((r) => [...r]);
const labels = [...data.y];

describe('logistic regression on a packed design', () => {
  it('gives the nested-array answer and a zero gradient at the optimum', () => {
    const l2 = 1e-3;
    const nested = trainLogisticRegression(rows, labels, { l2 });
    const packed = trainLogisticRegression(toDense(rows), Float64Array.from(labels), { l2 });
    expect(packed.weights).toEqual(nested.weights);
    expect(packed.bias).toBe(nested.bias);
    expect(packed.converged).toBe(true);
    const n = rows.length;
    const g = new Array<number>(8).fill(0);
    rows.forEach((r, i) => {
      const z = r.reduce((s, v, j) => s + v * packed.weights[j]!, packed.bias);
      const resid = 1 / (1 + Math.exp(-z)) - labels[i]!;
      r.forEach((v, j) => {
        g[j] = g[j]! + (resid * v) / n;
      });
      g[7] = g[7]! + resid / n;
    });
    packed.weights.forEach((w, j) => {
      g[j] = g[j]! + l2 * w;
    });
    for (const v of g) expect(Math.abs(v)).toBeLessThan(1e-7);
  });
});

describe('softmax regression on a packed design', () => {
  it('with two classes equals logistic regression with half the penalty', () => {
    const l2 = 2e-2;
    const soft = trainSoftmaxRegression(toDense(rows), labels, { l2 });
    const logit = trainLogisticRegression(rows, labels, { l2: l2 / 2 });
    soft.weights[1]!.forEach((w, j) => {
      expect(w - soft.weights[0]![j]!).toBeCloseTo(logit.weights[j]!, 6);
    });
    expect(soft.bias[1]! - soft.bias[0]!).toBeCloseTo(logit.bias, 6);
    const nested = trainSoftmaxRegression(rows, labels, { l2 });
    expect(nested.weights).toEqual(soft.weights);
  });
});
