/**
 * Kernel SHAP on real ONNX models run by onnxruntime-node: exact Shapley values by the
 * permutation definition computed here (one session.run per coalition, independent of the
 * module's subset formula and single batch), the closed form of a linear model, efficiency, and
 * the sampled estimator's error against exact values at shap's default budget.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  type BatchModel,
  defaultSamples,
  kernelShap,
  kernelShapMany,
} from '../../../functions/core/inference/kernel-shap.js';
import { linearRegressionOnnx, mlpOnnx, softmaxRegressionOnnx } from '../../../functions/core/onnx/models.js';
import { seededRandom } from '../../support/random.js';

const g = seededRandom(5);
const matrix = (rows: number, cols: number, scale = 1) =>
  Array.from({ length: rows }, () => Array.from({ length: cols }, () => scale * g.normal()));

async function modelOf(
  bytes: Uint8Array,
  output: string,
  column: number,
  width: number,
): Promise<BatchModel> {
  const session = await ort.InferenceSession.create(bytes);
  return async (inputs, rows) => {
    const features = inputs.length / rows;
    const result = await session.run({ input: new ort.Tensor('float32', inputs, [rows, features]) });
    const data = result[output]!.data as Float32Array;
    return Float64Array.from({ length: rows }, (_, r) => data[r * width + column]!);
  };
}

/** φ by the permutation definition, v(S) as the mean over the background, one run per coalition. */
async function permutationShapley(
  model: BatchModel,
  x: Float32Array,
  background: Float32Array,
): Promise<number[]> {
  const m = x.length;
  const b = background.length / m;
  const cache = new Map<string, number>();
  const v = async (set: Set<number>) => {
    const key = [...set].sort().join(',');
    if (!cache.has(key)) {
      const rows = new Float32Array(b * m);
      for (let j = 0; j < b; j++)
        for (let i = 0; i < m; i++) rows[j * m + i] = set.has(i) ? x[i]! : background[j * m + i]!;
      const out = await model(rows, b);
      cache.set(key, Array.from(out).reduce((s, y) => s + y, 0) / b);
    }
    return cache.get(key)!;
  };
  const perms: number[][] = [];
  const permute = (rest: number[], prefix: number[]) => {
    if (rest.length === 0) perms.push(prefix);
    rest.forEach((r, k) => {
      permute([...rest.slice(0, k), ...rest.slice(k + 1)], [...prefix, r]);
    });
  };
  permute([...Array(m).keys()], []);
  const phi = new Array<number>(m).fill(0);
  for (const p of perms) {
    const set = new Set<number>();
    for (const i of p) {
      const before = await v(set);
      set.add(i);
      phi[i]! += (await v(set)) - before;
    }
  }
  return phi.map((s) => s / perms.length);
}

const mlp = (features: number, classes: number) =>
  mlpOnnx({
    layers: [
      { weights: matrix(8, features), bias: matrix(1, 8)[0]!, activation: 'tanh' },
      { weights: matrix(classes, 8), bias: matrix(1, classes)[0]!, activation: 'softmax' },
    ],
  });

describe('Kernel SHAP', () => {
  it('enumerates coalitions for a softmax MLP: exact Shapley values, efficiency to 1e-9', async () => {
    const bytes = mlp(5, 3);
    const session = await ort.InferenceSession.create(bytes);
    const probabilities = session.outputNames.find((n) => n !== 'label')!;
    const model = await modelOf(bytes, probabilities, 2, 3);
    const x = Float32Array.from(matrix(1, 5)[0]!);
    const background = Float32Array.from(matrix(20, 5).flat());
    const r = await kernelShap(model, x, background);
    expect(r.exact).toBe(true);
    expect(r.coalitions).toBe(30);
    const reference = await permutationShapley(model, x, background);
    r.values.forEach((v, i) => {
      expect(Math.abs(v - reference[i]!)).toBeLessThan(1e-6);
    });
    expect(Math.abs(r.baseValue + r.values.reduce((s, v) => s + v, 0) - r.prediction)).toBeLessThan(1e-9);
    expect(r.prediction).toBeCloseTo((await model(x, 1))[0]!, 6);
  });

  it('exact for a softmax regression too, against the permutation definition', async () => {
    const bytes = softmaxRegressionOnnx({ weights: matrix(3, 4), bias: [0.1, -0.2, 0.3] });
    const session = await ort.InferenceSession.create(bytes);
    const probabilities = session.outputNames.find((n) => n !== 'label')!;
    const model = await modelOf(bytes, probabilities, 0, 3);
    const x = Float32Array.from(matrix(1, 4)[0]!);
    const background = Float32Array.from(matrix(15, 4).flat());
    const r = await kernelShap(model, x, background);
    expect(r.exact).toBe(true);
    const reference = await permutationShapley(model, x, background);
    r.values.forEach((v, i) => {
      expect(Math.abs(v - reference[i]!)).toBeLessThan(1e-6);
    });
  });

  it('several instances go to the model in one call, each with its own output column', async () => {
    const bytes = mlp(4, 3);
    const session = await ort.InferenceSession.create(bytes);
    const probabilities = session.outputNames.find((n) => n !== 'label')!;
    const xs = [0, 1, 2].map(() => Float32Array.from(matrix(1, 4)[0]!));
    const background = Float32Array.from(matrix(5, 4).flat());
    let calls = 0;
    const columns = [2, 0, 1];
    const many = await kernelShapMany(
      async (inputs, rows, blockRows) => {
        calls++;
        const data = (await session.run({ input: new ort.Tensor('float32', inputs, [rows, 4]) }))[
          probabilities
        ]!.data as Float32Array;
        return Float64Array.from(
          { length: rows },
          (_, r) => data[r * 3 + columns[Math.floor(r / blockRows)]!]!,
        );
      },
      xs,
      background,
    );
    expect(calls).toBe(1);
    for (const [n, x] of xs.entries()) {
      const one = await kernelShap(await modelOf(bytes, probabilities, columns[n]!, 3), x, background);
      one.values.forEach((v, i) => {
        expect(Math.abs(v - many[n]!.values[i]!)).toBeLessThan(1e-9);
      });
      expect(many[n]!.prediction).toBeCloseTo(one.prediction, 9);
    }
  });

  it('a linear model gets its closed form w_i (x_i − mean_i)', async () => {
    const weights = [0.5, -2, 3, 0.25];
    const bytes = linearRegressionOnnx({ weights, bias: 1 });
    const session = await ort.InferenceSession.create(bytes);
    const model = await modelOf(bytes, session.outputNames[0]!, 0, 1);
    const x = Float32Array.from([1, 2, 3, 4]);
    const bg = matrix(10, 4);
    const r = await kernelShap(model, x, Float32Array.from(bg.flat()));
    weights.forEach((w, i) => {
      const mean = bg.reduce((s, row) => s + Math.fround(row[i]!), 0) / bg.length;
      expect(r.values[i]!).toBeCloseTo(w * (x[i]! - mean), 4);
    });
  });

  it('samples coalitions beyond the budget: efficiency exact, close to the exact values', async () => {
    const features = 12; // 4094 coalitions > 2·12 + 2048
    const bytes = mlp(features, 2);
    const session = await ort.InferenceSession.create(bytes);
    const probabilities = session.outputNames.find((n) => n !== 'label')!;
    const model = await modelOf(bytes, probabilities, 1, 2);
    const x = Float32Array.from(matrix(1, features)[0]!);
    const background = Float32Array.from(matrix(10, features).flat());
    const sampled = await kernelShap(model, x, background, { seed: 1 });
    expect(sampled.exact).toBe(false);
    expect(sampled.coalitions).toBeLessThanOrEqual(defaultSamples(features));
    const exact = await kernelShap(model, x, background, { nsamples: 5000 });
    expect(exact.exact).toBe(true);
    expect(
      Math.abs(sampled.baseValue + sampled.values.reduce((s, v) => s + v, 0) - sampled.prediction),
    ).toBeLessThan(1e-9);
    const scale = Math.max(...exact.values.map(Math.abs));
    const worst = Math.max(...sampled.values.map((v, i) => Math.abs(v - exact.values[i]!)));
    expect(worst / scale).toBeLessThan(0.05);
  });
});
