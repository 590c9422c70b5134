/**
 * Models written by Serval's ONNX writers, run by onnxruntime through the adapter, and compared
 * with the same formulas computed by hand in plain JavaScript.
 */
import { describe, expect, it } from 'vitest';
import { OnnxRuntimeRunner, PRIME_MODEL } from '../../../functions/adapters/onnx-runner.js';
import { ModelLoadError, ModelRunError, type OutputTensor } from '../../../functions/core/kernel/runner.js';
import { ElemType, GraphBuilder } from '../../../functions/core/onnx/graph.js';
import {
  linearRegressionOnnx,
  logisticRegressionOnnx,
  mlpOnnx,
  softmaxRegressionOnnx,
} from '../../../functions/core/onnx/models.js';

const runner = new OnnxRuntimeRunner();
const TOL = 1e-5;

const X = [
  [1, 2, 3],
  [-0.5, 0.25, 4],
  [0, 0, 0],
  [10, -3, 0.125],
];
const flat = (rows: number[][]) => Float32Array.from(rows.flat());

async function runModel(bytes: Uint8Array, rows: number[][]) {
  const model = await runner.load(bytes);
  try {
    return await model.run(flat(rows), rows.length, rows[0]?.length ?? 0);
  } finally {
    await model.release();
  }
}

function numbers(t: OutputTensor | undefined): number[] {
  if (!t) throw new Error('missing output');
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

function expectClose(actual: number[], expected: number[]) {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => {
    expect(Math.abs(a - (expected[i] as number))).toBeLessThan(TOL);
  });
}

// Plain-JS references.
const dot = (w: number[], x: number[]) => w.reduce((s, wi, j) => s + wi * (x[j] as number), 0);
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const softmax = (z: number[]) => {
  const e = z.map((v) => Math.exp(v - Math.max(...z)));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const argmax = (v: number[]) => v.indexOf(Math.max(...v));

/** A graph that returns its input: one `x` of this element type, shape [N, 2]. */
function identityOnnx(name: string, type: ElemType): Uint8Array {
  const g = new GraphBuilder(name);
  g.input('x', type, ['N', 2]);
  g.node('Identity', ['x'], ['out']);
  g.output('out', type, ['N', 2]);
  return g.encode({});
}

describe('onnxruntime adapter running Serval-written models', () => {
  it('linear regression: y = w·x + b, as [N, 1]', async () => {
    const w = [0.5, -1.25, 2];
    const b = 0.75;
    const out = await runModel(linearRegressionOnnx({ weights: w, bias: b }), X);
    expect(out.y?.dims).toEqual([4, 1]);
    expect(out.y?.type).toBe('float32');
    // Row 0 by hand: 0.5·1 − 1.25·2 + 2·3 + 0.75 = 4.75
    expect(numbers(out.y)[0]).toBeCloseTo(4.75, 5);
    expectClose(
      numbers(out.y),
      X.map((x) => dot(w, x) + b),
    );
  });

  it('linear regression as [N]', async () => {
    const out = await runModel(
      linearRegressionOnnx({ weights: [1, 1, 1], bias: -1, outputShape: 'vector' }),
      X,
    );
    expect(out.y?.dims).toEqual([4]);
    expectClose(numbers(out.y), [5, 2.75, -1, 6.125]);
  });

  it('logistic regression: probabilities [1 − σ(z), σ(z)], label = argmax', async () => {
    const w = [0.3, -0.7, 0.2];
    const b = -0.1;
    const out = await runModel(logisticRegressionOnnx({ weights: w, bias: b }), X);
    expect(out.probabilities?.dims).toEqual([4, 2]);
    expect(out.label?.type).toBe('int64');
    expect(out.label?.dims).toEqual([4]);
    const p1 = X.map((x) => sigmoid(dot(w, x) + b));
    expectClose(
      numbers(out.probabilities),
      p1.flatMap((p) => [1 - p, p]),
    );
    // Row 2 is all zeros: z = −0.1, σ = 0.47502… → label 0
    expect(numbers(out.probabilities)[5]).toBeCloseTo(0.47502081, 6);
    expect(numbers(out.label)).toEqual(p1.map((p) => (p > 0.5 ? 1 : 0)));
  });

  it('softmax regression: probabilities = softmax(Wx + b), label = argmax', async () => {
    const W = [
      [1, 0, -1],
      [0.5, 0.5, 0.5],
      [-1, 2, 0],
    ];
    const b = [0.1, -0.2, 0.3];
    const out = await runModel(softmaxRegressionOnnx({ weights: W, bias: b }), X);
    expect(out.probabilities?.dims).toEqual([4, 3]);
    const probs = X.map((x) => softmax(W.map((wk, k) => dot(wk, x) + (b[k] as number))));
    expectClose(numbers(out.probabilities), probs.flat());
    expect(numbers(out.label)).toEqual(probs.map(argmax));
  });

  it('MLP: ReLU hidden layer, softmax head', async () => {
    const W1 = [
      [1, -1, 0.5],
      [0.2, 0.3, -0.4],
      [-0.6, 0.1, 0.9],
      [0.05, -0.5, 0.25],
    ];
    const b1 = [0.1, 0, -0.2, 0.3];
    const W2 = [
      [1, 0.5, -1, 0],
      [-0.5, 1, 0.25, 2],
    ];
    const b2 = [0, 0.1];
    const out = await runModel(
      mlpOnnx({
        layers: [
          { weights: W1, bias: b1, activation: 'relu' },
          { weights: W2, bias: b2, activation: 'softmax' },
        ],
      }),
      X,
    );
    const expected = X.map((x) => {
      const h = W1.map((w, j) => Math.max(0, dot(w, x) + (b1[j] as number)));
      return softmax(W2.map((w, k) => dot(w, h) + (b2[k] as number)));
    });
    expectClose(numbers(out.probabilities), expected.flat());
    expect(numbers(out.label)).toEqual(expected.map(argmax));
  });

  it('MLP: tanh then ReLU hidden layers, sigmoid head', async () => {
    const W1 = [
      [0.5, -0.25, 0.1],
      [-0.3, 0.8, 0.2],
    ];
    const W2 = [
      [1, -1],
      [0.5, 0.5],
    ];
    const W3 = [[1.5, -0.75]];
    const out = await runModel(
      mlpOnnx({
        layers: [
          { weights: W1, bias: [0, 0.1], activation: 'tanh' },
          { weights: W2, bias: [0.2, -0.1], activation: 'relu' },
          { weights: W3, bias: [0.05], activation: 'sigmoid' },
        ],
      }),
      X,
    );
    const p1 = X.map((x) => {
      const h1 = W1.map((w, j) => Math.tanh(dot(w, x) + [0, 0.1][j]!));
      const h2 = W2.map((w, j) => Math.max(0, dot(w, h1) + [0.2, -0.1][j]!));
      return sigmoid(dot(W3[0]!, h2) + 0.05);
    });
    expectClose(
      numbers(out.probabilities),
      p1.flatMap((p) => [1 - p, p]),
    );
  });

  it('MLP: identity head gives a multi-output regression y [N, 2]', async () => {
    const W1 = [
      [1, 2, 3],
      [-1, 0, 1],
    ];
    const W2 = [
      [1, 1],
      [2, -1],
    ];
    const out = await runModel(
      mlpOnnx({
        layers: [
          { weights: W1, bias: [0, 0], activation: 'relu' },
          { weights: W2, bias: [1, 0], activation: 'identity' },
        ],
      }),
      [[1, 2, 3]],
    );
    // h = relu([14, 2]) = [14, 2]; y = [14 + 2 + 1, 28 − 2] = [17, 26]
    expect(out.y?.dims).toEqual([1, 2]);
    expectClose(numbers(out.y), [17, 26]);
  });

  it('reports the graph’s inputs and outputs with the symbolic batch dimension', async () => {
    const model = await runner.load(logisticRegressionOnnx({ weights: [1, 2, 3, 4], bias: 0 }));
    expect(model.inputs).toEqual([{ name: 'input', type: 'float32', dims: ['N', 4] }]);
    expect(model.outputs).toEqual([
      { name: 'label', type: 'int64', dims: ['N'] },
      { name: 'probabilities', type: 'float32', dims: ['N', 2] },
    ]);
    await model.release();
  });

  it("the preload's model is Serval's writer's y = Identity(x) on a float [1, 1], and runs", async () => {
    const g = new GraphBuilder('prime');
    g.node('Identity', [g.input('x', ElemType.FLOAT, [1, 1])], ['y']);
    g.output('y', ElemType.FLOAT, [1, 1]);
    expect(Buffer.from(PRIME_MODEL).equals(Buffer.from(g.encode({})))).toBe(true);
    const model = await runner.load(PRIME_MODEL);
    const out = await model.run(Float32Array.of(0.25), 1, 1);
    expect(Array.from(out.y?.data as Float32Array)).toEqual([0.25]);
    await model.release();
  });

  it('reads a batch that is a view into a larger buffer', async () => {
    const model = await runner.load(linearRegressionOnnx({ weights: [1, 10], bias: 0 }));
    const all = Float32Array.from([9, 9, 1, 2, 3, 4, 9, 9]);
    const out = await model.run(all.subarray(2, 6), 2, 2);
    expectClose(numbers(out.y), [21, 43]);
    await model.release();
  });

  it('feeds a float64 input as doubles', async () => {
    const model = await runner.load(identityOnnx('double_identity', ElemType.DOUBLE));
    expect(model.inputs[0]?.type).toBe('float64');
    const out = await model.run(Float32Array.from([0.5, -2]), 1, 2);
    expect(out.out?.data).toBeInstanceOf(Float64Array);
    expect(Array.from(out.out?.data as Float64Array)).toEqual([0.5, -2]);
    await model.release();
  });

  it('fails to load bytes that are not a model', async () => {
    await expect(runner.load(new TextEncoder().encode('definitely not onnx'))).rejects.toBeInstanceOf(
      ModelLoadError,
    );
  });

  it('runs on the native session without waiting for an event-loop turn; the public API waits for one', async () => {
    const bytes = logisticRegressionOnnx({ weights: [0.3, -0.7, 0.2], bias: -0.1 });
    const turnPassed = async (r: OnnxRuntimeRunner) => {
      const model = await r.load(bytes);
      let immediate = false;
      setImmediate(() => {
        immediate = true;
      });
      await model.run(flat(X), X.length, 3);
      await model.release();
      return immediate;
    };
    expect(await turnPassed(runner)).toBe(false);
    expect(await turnPassed(new OnnxRuntimeRunner({ direct: false }))).toBe(true);
  });

  it('answers the same through the native session and the public API', async () => {
    const publicApi = new OnnxRuntimeRunner({ direct: false });
    const models = [
      linearRegressionOnnx({ weights: [0.5, -1.25, 2], bias: 0.75 }),
      logisticRegressionOnnx({ weights: [0.3, -0.7, 0.2], bias: -0.1 }),
      softmaxRegressionOnnx({
        weights: [
          [1, 0, -1],
          [0.5, 0.5, 0.5],
        ],
        bias: [0.1, -0.2],
      }),
    ];
    for (const bytes of models) {
      const [a, b] = await Promise.all([runner.load(bytes), publicApi.load(bytes)]);
      expect(a.inputs).toEqual(b.inputs);
      expect(a.outputs).toEqual(b.outputs);
      const [oa, ob] = await Promise.all([a.run(flat(X), X.length, 3), b.run(flat(X), X.length, 3)]);
      expect(Object.keys(oa).sort()).toEqual(Object.keys(ob).sort());
      for (const k of Object.keys(oa)) {
        expect(oa[k]?.type).toBe(ob[k]?.type);
        expect(oa[k]?.dims).toEqual(ob[k]?.dims);
        expect(Array.from(oa[k]?.data as ArrayLike<number | bigint>)).toEqual(
          Array.from(ob[k]?.data as ArrayLike<number | bigint>),
        );
      }
      // Only the outputs asked for.
      expect(Object.keys(await a.run(flat(X), X.length, 3, undefined, [a.outputs[0]!.name]))).toEqual([
        a.outputs[0]!.name,
      ]);
      await Promise.all([a.release(), b.release()]);
    }
  });

  it('refuses runs that do not fit', async () => {
    const model = await runner.load(linearRegressionOnnx({ weights: [1, 2], bias: 0 }));
    await expect(model.run(Float32Array.from([1, 2, 3]), 1, 3)).rejects.toBeInstanceOf(ModelRunError);
    await expect(model.run(Float32Array.from([1, 2]), 2, 2)).rejects.toThrow(/not 2 rows × 2 features/);
    await expect(model.run(Float32Array.from([1, 2]), 1, 2, 'nope')).rejects.toThrow(/no input named nope/);
    await model.release();
  });

  it('refuses a run the graph itself rejects, on either path', async () => {
    // Declared [N, 2]: a batch of 3 features passes our own checks and fails inside onnxruntime.
    const bytes = identityOnnx('fixed_width', ElemType.FLOAT);
    for (const r of [runner, new OnnxRuntimeRunner({ direct: false })]) {
      const model = await r.load(bytes);
      await expect(model.run(Float32Array.from([1, 2, 3]), 1, 3)).rejects.toBeInstanceOf(ModelRunError);
      await model.release();
    }
  });

  it('refuses to feed a model that has a second input', async () => {
    const g = new GraphBuilder('two_inputs');
    g.input('a', ElemType.FLOAT, ['N', 2]);
    g.input('b', ElemType.FLOAT, ['N', 2]);
    g.node('Add', ['a', 'b'], ['out']);
    g.output('out', ElemType.FLOAT, ['N', 2]);
    const model = await runner.load(g.encode({}));
    await expect(model.run(Float32Array.from([1, 2]), 1, 2, 'a')).rejects.toThrow(/also needs input b/);
    await model.release();
  });
});
