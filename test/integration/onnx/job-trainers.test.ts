/**
 * What a retraining job registers is what it trained: every trainer a job can use
 * (functions/core/retraining/trainers.ts) exported to ONNX and run by onnxruntime answers the
 * trainer's own probabilities (float32 precision) and the same classes, or for a regressor its
 * own values, with the output a registered regression model has (`y`, [N, 1]).
 */
import { describe, expect, it } from 'vitest';
import { OnnxRuntimeRunner } from '../../../functions/adapters/onnx-runner.js';
import type { OutputTensor } from '../../../functions/core/kernel/runner.js';
import { TRAINER_IMPLS } from '../../../functions/core/retraining/trainers.js';
import { createRng } from '../../../functions/core/training/random.js';

const runner = new OnnxRuntimeRunner();

function data(rows: number, classes: number) {
  const rng = createRng(11);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < rows; i++) {
    const c = i % classes;
    x.push([0, 1, 2, 3].map((f) => Math.sin(c + f) * 2 + rng.next() * 1.5));
    y.push(c);
  }
  return { x, y };
}

function numbers(t: OutputTensor | undefined): number[] {
  if (!t) throw new Error('missing output');
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

describe.each([
  ['mlp', 3, { hidden: 8, hidden2: 4, alpha: 1e-3, learningRateInit: 1e-2 }],
  ['mlp', 2, { hidden: 6, activation: 'tanh' }],
  ['softmax', 3, { l2: 1e-2 }],
  ['logistic', 2, { l2: 1e-2 }],
] as const)('%s (%i classes)', (name, k, params) => {
  it('the exported ONNX gives the trainer’s probabilities and labels', async () => {
    const { x, y } = data(300, k);
    const fitted = TRAINER_IMPLS[name].fit(x, y, params, k, 0);
    if (fitted.task !== 'classification') throw new Error(`${name} fitted a regressor`);
    const labels = ['a', 'b', 'c'].slice(0, k);
    const model = await runner.load(fitted.onnx(['f0', 'f1', 'f2', 'f3'], labels));
    try {
      const probe = x.slice(0, 50);
      const out = await model.run(Float32Array.from(probe.flat()), probe.length, 4);
      const expected = fitted.proba(probe);
      const got = numbers(out.probabilities);
      expect(got).toHaveLength(probe.length * k);
      const flat = expected.flat();
      for (const [i, p] of got.entries()) expect(Math.abs(p - (flat[i] as number))).toBeLessThan(1e-4);
      const argmax = (p: readonly number[]) => p.indexOf(Math.max(...p));
      // The graph answers class indices; the labels travel in its metadata.
      expect(numbers(out.label)).toEqual(expected.map(argmax));
    } finally {
      await model.release();
    }
  });
});

describe.each([
  ['linear', { l2: 1e-3 }],
  ['mlp', { hidden: 8, alpha: 1e-3, learningRateInit: 1e-2 }],
  ['mlp', { hidden: 6, hidden2: 4, activation: 'tanh' }],
] as const)('%s regressor', (name, params) => {
  it('the exported ONNX gives the trainer’s values as y [N, 1]', async () => {
    const rng = createRng(5);
    const x = Array.from({ length: 300 }, () => [0, 1, 2, 3].map(() => rng.next() * 4 - 2));
    const y = x.map((r) => 3 * (r[0] as number) - 2 * (r[1] as number) + Math.sin(r[2] as number) + 10);
    const fitted = TRAINER_IMPLS[name].fit(x, y, params, 0, 0);
    if (fitted.task !== 'regression') throw new Error(`${name} fitted a classifier`);
    const model = await runner.load(fitted.onnx(['f0', 'f1', 'f2', 'f3']));
    try {
      expect(model.outputs.map((o) => [o.name, o.dims])).toEqual([['y', ['N', 1]]]);
      const probe = x.slice(0, 50);
      const out = await model.run(Float32Array.from(probe.flat()), probe.length, 4);
      const expected = fitted.predict(probe);
      const got = numbers(out.y);
      expect(got).toHaveLength(probe.length);
      // float32 inference of values around 10: a relative tolerance.
      for (const [i, v] of got.entries())
        expect(Math.abs(v - (expected[i] as number))).toBeLessThan(1e-4 * 20);
    } finally {
      await model.release();
    }
  });
});
