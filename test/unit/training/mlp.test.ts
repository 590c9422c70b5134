/**
 * The MLP trainer: its gradient against finite differences of its own objective, the objective
 * against a forward pass written out here, learning on known problems, sklearn's stopping
 * rules, determinism by seed, and the exported ONNX run by onnxruntime-node.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { mlpOnnx } from '../../../functions/core/onnx/models.js';
import {
  type MlpModel,
  mlpLossAndGradient,
  mlpOnnxLayers,
  mlpOutputs,
  predictMlp,
  predictMlpProba,
  trainMlp,
} from '../../../functions/core/training/mlp.js';
import { createRng } from '../../../functions/core/training/random.js';
import { domainError } from '../../support/expect-code.js';

const rng = createRng(11);
const matrix = (rows: number, cols: number) =>
  Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal()));

/** Two interleaved classes no line separates: y = 1 inside the ring 1 < |x| < 2. */
function ring(rows: number, seed: number): { x: number[][]; y: number[] } {
  const g = createRng(seed);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < rows; i++) {
    const a = 3 * g.next();
    const t = 2 * Math.PI * g.next();
    x.push([a * Math.cos(t), a * Math.sin(t)]);
    y.push(a > 1 && a < 2 ? 1 : 0);
  }
  return { x, y };
}

/** The objective written out independently: mean loss + (alpha / 2n)‖W‖². */
function referenceObjective(model: MlpModel, x: number[][], y: number[], alpha: number): number {
  let total = 0;
  for (let i = 0; i < x.length; i++) {
    let h = x[i] as number[];
    model.layers.forEach((l, li) => {
      const out: number[] = [];
      for (let j = 0; j < l.outputs; j++) {
        let z = l.bias[j] as number;
        for (let k = 0; k < l.inputs; k++) z += (l.weights[j * l.inputs + k] as number) * (h[k] as number);
        const hidden = li < model.layers.length - 1;
        out.push(hidden ? (model.activation === 'relu' ? Math.max(0, z) : Math.tanh(z)) : z);
      }
      h = out;
    });
    const t = y[i] as number;
    if (model.head === 'sigmoid') {
      const p = 1 / (1 + Math.exp(-(h[0] as number)));
      total -= t === 1 ? Math.log(p) : Math.log(1 - p);
    } else if (model.head === 'softmax') {
      const m = Math.max(...h);
      const lse = m + Math.log(h.reduce((s, v) => s + Math.exp(v - m), 0));
      total -= (h[t] as number) - lse;
    } else total += 0.5 * ((h[0] as number) - t) ** 2;
  }
  const sq = model.layers.reduce((s, l) => s + l.weights.reduce((a, w) => a + w * w, 0), 0);
  return total / x.length + (0.5 * alpha * sq) / x.length;
}

function withParam(
  model: MlpModel,
  layer: number,
  kind: 'weights' | 'bias',
  k: number,
  delta: number,
): MlpModel {
  return {
    ...model,
    layers: model.layers.map((l, i) => {
      if (i !== layer) return l;
      const copy = { ...l, weights: l.weights.slice(), bias: l.bias.slice() };
      copy[kind][k] = (copy[kind][k] as number) + delta;
      return copy;
    }),
  };
}

describe('MLP gradient', () => {
  const cases = [
    {
      name: 'relu, 2 hidden layers, sigmoid head',
      activation: 'relu' as const,
      classes: 2,
      task: 'classification' as const,
    },
    {
      name: 'tanh, 2 hidden layers, softmax head',
      activation: 'tanh' as const,
      classes: 3,
      task: 'classification' as const,
    },
    {
      name: 'tanh, 2 hidden layers, identity head',
      activation: 'tanh' as const,
      classes: 0,
      task: 'regression' as const,
    },
  ];
  for (const c of cases) {
    it(`matches central finite differences of the objective (${c.name})`, () => {
      const x = matrix(7, 3);
      const y =
        c.task === 'regression'
          ? x.map((r) => (r[0] as number) - (r[2] as number))
          : x.map((_, i) => i % c.classes);
      const alpha = 0.3;
      // One epoch from a seeded start: an arbitrary point that is not the initialisation.
      const model = trainMlp(x, y, {
        task: c.task,
        hiddenLayerSizes: [4, 3],
        activation: c.activation,
        maxIter: 1,
        seed: 5,
      });
      const { loss, layers } = mlpLossAndGradient(model, x, y, alpha);
      expect(loss).toBeCloseTo(referenceObjective(model, x, y, alpha), 12);
      const h = 1e-6;
      let checked = 0;
      model.layers.forEach((l, li) => {
        for (const kind of ['weights', 'bias'] as const) {
          for (let k = 0; k < l[kind].length; k++) {
            const up = referenceObjective(withParam(model, li, kind, k, h), x, y, alpha);
            const down = referenceObjective(withParam(model, li, kind, k, -h), x, y, alpha);
            const numeric = (up - down) / (2 * h);
            const analytic = (layers[li] as { weights: Float64Array; bias: Float64Array })[kind][k] as number;
            expect(Math.abs(analytic - numeric)).toBeLessThan(1e-7 * Math.max(1, Math.abs(numeric)));
            checked++;
          }
        }
      });
      expect(checked).toBe(
        3 * 4 + 4 + 4 * 3 + 3 + 3 * (c.classes > 2 ? c.classes : 1) + (c.classes > 2 ? c.classes : 1),
      );
    });
  }
});

describe('trainMlp', () => {
  it('learns a problem no linear model can (a ring) and predicts consistently with its probabilities', () => {
    const train = ring(600, 1);
    const test = ring(300, 2);
    const model = trainMlp(train.x, train.y, {
      hiddenLayerSizes: [32],
      learningRateInit: 0.03,
      maxIter: 300,
      seed: 3,
    });
    const pred = predictMlp(model, test.x);
    const accuracy = pred.filter((p, i) => p === test.y[i]).length / test.y.length;
    expect(accuracy).toBeGreaterThan(0.9);
    const proba = predictMlpProba(model, test.x);
    proba.forEach((p, i) => {
      expect(p[0]! + p[1]!).toBeCloseTo(1, 12);
      expect(pred[i]).toBe(p[1]! > 0.5 ? 1 : 0);
    });
    // The loss curve falls overall (Adam on mini-batches need not fall every epoch).
    expect(model.lossCurve.at(-1)!).toBeLessThan(model.lossCurve[0]! / 2);
  });

  it('fits a linear regression target to near its noise level', () => {
    const x = matrix(500, 3);
    const y = x.map((r) => 2 * r[0]! - r[1]! + 0.5 * r[2]! + 1);
    const model = trainMlp(x, y, {
      task: 'regression',
      hiddenLayerSizes: [8],
      learningRateInit: 0.01,
      maxIter: 300,
      seed: 1,
    });
    const pred = predictMlp(model, x);
    const mse = pred.reduce((s, p, i) => s + (p - y[i]!) ** 2, 0) / y.length;
    expect(mse).toBeLessThan(0.01);
    expect(model.head).toBe('identity');
  });

  it('gives bit-identical models for the same rows and seed, different ones for another seed', () => {
    const { x, y } = ring(200, 4);
    const opts = { hiddenLayerSizes: [8], maxIter: 5, earlyStopping: true, nIterNoChange: 2, seed: 9 };
    const a = trainMlp(x, y, opts);
    const b = trainMlp(x, y, opts);
    const c = trainMlp(x, y, { ...opts, seed: 10 });
    expect(a.layers.map((l) => Array.from(l.weights))).toEqual(b.layers.map((l) => Array.from(l.weights)));
    expect(a.lossCurve).toEqual(b.lossCurve);
    expect(a.layers[0]!.weights).not.toEqual(c.layers[0]!.weights);
  });

  it('without early stopping, stops once the training loss has not improved by tol for more than nIterNoChange epochs', () => {
    const { x, y } = ring(200, 5);
    const model = trainMlp(x, y, { hiddenLayerSizes: [4], tol: 10, nIterNoChange: 3, maxIter: 100 });
    // tol 10 makes every epoch after the first count as no improvement: 1 + 4 epochs.
    expect(model.epochs).toBe(5);
    expect(model.converged).toBe(true);
    expect(model.validationScores).toEqual([]);
  });

  it('with early stopping, keeps the weights of the best validation epoch', () => {
    const { x, y } = ring(400, 6);
    const opts = {
      hiddenLayerSizes: [16],
      learningRateInit: 0.01,
      earlyStopping: true,
      nIterNoChange: 5,
      maxIter: 200,
      seed: 2,
    };
    const model = trainMlp(x, y, opts);
    expect(model.converged).toBe(true);
    expect(model.epochs).toBeLessThan(200);
    expect(model.bestValidationScore).toBe(Math.max(...model.validationScores));
    // A run cut off right after the best epoch is the same run up to there, so its weights are
    // that epoch's: the long run must have handed those back, not its last epoch's.
    const bestEpoch = model.validationScores.indexOf(model.bestValidationScore!);
    expect(bestEpoch).toBeLessThan(model.epochs - 1);
    const cut = trainMlp(x, y, { ...opts, maxIter: bestEpoch + 1 });
    expect(Array.from(model.layers[0]!.weights)).toEqual(Array.from(cut.layers[0]!.weights));
    expect(Array.from(model.layers[1]!.bias)).toEqual(Array.from(cut.layers[1]!.bias));
  });

  it('scores a regression’s validation split by R²', () => {
    const x = matrix(400, 3);
    const y = x.map((r) => 2 * r[0]! - r[1]! + 1);
    const model = trainMlp(x, y, {
      task: 'regression',
      hiddenLayerSizes: [8],
      learningRateInit: 0.01,
      earlyStopping: true,
      maxIter: 100,
      seed: 4,
    });
    expect(model.validationScores.every((r2) => r2 <= 1)).toBe(true);
    expect(model.bestValidationScore!).toBeGreaterThan(0.98);
  });

  it('uses sklearn defaults: one hidden layer of 100 relu units, sigmoid head for two classes, softmax for more', () => {
    const x = matrix(30, 2);
    const two = trainMlp(
      x,
      x.map((_, i) => i % 2),
      { maxIter: 1 },
    );
    expect(two.layers.map((l) => [l.inputs, l.outputs])).toEqual([
      [2, 100],
      [100, 1],
    ]);
    expect([two.activation, two.head]).toEqual(['relu', 'sigmoid']);
    const three = trainMlp(
      x,
      x.map((_, i) => i % 3),
      { maxIter: 1 },
    );
    expect(three.head).toBe('softmax');
    expect(three.layers[1]!.outputs).toBe(3);
  });

  it('rejects bad options and targets as validation errors', () => {
    const x = matrix(10, 2);
    const y = x.map((_, i) => i % 2);
    expect(() => trainMlp(x, y, { hiddenLayerSizes: [0] })).toThrow(domainError('validation_failed'));
    expect(() => trainMlp(x, y, { learningRateInit: 0 })).toThrow(domainError('validation_failed'));
    expect(() =>
      trainMlp(
        x,
        y.map((v) => v + 0.5),
      ),
    ).toThrow(domainError('validation_failed'));
    expect(() => trainMlp(x, y.slice(1))).toThrow(domainError('validation_failed'));
    expect(() => trainMlp(x, y, { validationFraction: 1, earlyStopping: true })).toThrow(
      domainError('validation_failed'),
    );
  });
});

describe('MLP → ONNX', () => {
  async function runOnnx(model: MlpModel, x: number[][], classes?: string[]) {
    const bytes = mlpOnnx({ layers: mlpOnnxLayers(model), ...(classes ? { classes } : {}) });
    const session = await ort.InferenceSession.create(bytes);
    const input = new ort.Tensor('float32', Float32Array.from(x.flat()), [x.length, x[0]!.length]);
    return session.run({ input });
  }

  it('a binary classifier (sigmoid head) gives the trainer’s probabilities to 1e-5', async () => {
    const { x, y } = ring(300, 7);
    const model = trainMlp(x, y, { hiddenLayerSizes: [12, 6], maxIter: 30, learningRateInit: 0.01, seed: 1 });
    const out = await runOnnx(model, x, ['out', 'in']);
    const probs = out.probabilities!.data as Float32Array;
    const ours = predictMlpProba(model, x);
    ours.forEach((p, i) => {
      expect(Math.abs(probs[2 * i]! - p[0]!)).toBeLessThan(1e-5);
      expect(Math.abs(probs[2 * i + 1]! - p[1]!)).toBeLessThan(1e-5);
    });
    expect(Array.from(out.label!.data as BigInt64Array, Number)).toEqual(predictMlp(model, x));
  });

  it('a 3-class tanh classifier (softmax head) and a regressor match to 1e-5', async () => {
    const x = matrix(200, 4);
    const y = x.map((r) => (r[0]! > 0.5 ? 2 : r[1]! > 0 ? 1 : 0));
    const cls = trainMlp(x, y, { hiddenLayerSizes: [10], activation: 'tanh', maxIter: 20, seed: 2 });
    const probs = (await runOnnx(cls, x, ['a', 'b', 'c'])).probabilities!.data as Float32Array;
    predictMlpProba(cls, x).forEach((p, i) => {
      p.forEach((v, k) => {
        expect(Math.abs(probs[3 * i + k]! - v)).toBeLessThan(1e-5);
      });
    });
    const target = x.map((r) => r[0]! * r[1]! + r[2]!);
    const reg = trainMlp(x, target, { task: 'regression', hiddenLayerSizes: [10], maxIter: 20, seed: 3 });
    const values = (await runOnnx(reg, x)).y!.data as Float32Array;
    const ours = mlpOutputs(reg, x);
    ours.forEach((v, i) => {
      expect(Math.abs(values[i]! - v)).toBeLessThan(1e-5 * Math.max(1, Math.abs(v)));
    });
  });
});
