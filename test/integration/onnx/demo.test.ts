import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OnnxRuntimeRunner } from '../../../functions/adapters/onnx-runner.js';
import { InputSchema, OutputSchema } from '../../../functions/core/kernel/model-io.js';
import { readOnnxModel } from '../../../functions/core/onnx/reader.js';
import { validateModel } from '../../../functions/core/registry/validation.js';
import { ValidationRequest } from '../../../functions/core/registry/validation-report.js';
import { makeDemoModel } from '../../../functions/core/training/demo.js';
import { expectEveryCheckPassed } from '../../support/expect-code.js';

describe('makeDemoModel', () => {
  const demo = makeDemoModel();

  it('is deterministic', () => {
    const again = makeDemoModel();
    expect(Buffer.from(again.onnx).equals(Buffer.from(demo.onnx))).toBe(true);
    expect(again.metrics).toEqual(demo.metrics);
    expect(again.dataset).toEqual(demo.dataset);
  });

  it('declares schemas the registry accepts and a self-describing file', () => {
    expect(demo.name).toBe('iris-demo');
    expect(InputSchema.parse(demo.inputSchema)).toEqual(demo.inputSchema);
    expect(OutputSchema.parse(demo.outputSchema)).toEqual({
      kind: 'binary',
      classes: ['versicolor', 'virginica'],
    });
    const info = readOnnxModel(demo.onnx);
    expect(JSON.parse(info.metadata['serval.features'] ?? '[]')).toEqual(
      demo.inputSchema.features.map((f) => f.name),
    );
    expect(info.metadata['serval.kind']).toBe('logistic-regression');
  });

  it('references its training data by checksum', () => {
    const lines = demo.datasetCsv.split('\n');
    expect(lines[0]).toBe('sepal_length,sepal_width,petal_length,petal_width,species');
    expect(lines).toHaveLength(demo.dataset.rows + 1);
    expect(demo.dataset.rows).toBe(demo.train.instances.length);
    expect(demo.dataset.sha256).toBe(createHash('sha256').update(demo.datasetCsv).digest('hex'));
  });

  it('runs in onnxruntime as σ(w·x + b) of its reported parameters, with the reported holdout accuracy', async () => {
    const runner = new OnnxRuntimeRunner();
    const model = await runner.load(demo.onnx);
    const rows = demo.holdout.instances;
    const out = await model.run(Float32Array.from(rows.flat()), rows.length, 4);
    await model.release();
    const w = demo.params.weights as number[];
    const b = demo.params.bias as number;
    const probs = Array.from(out.probabilities?.data as Float32Array);
    rows.forEach((x, i) => {
      const p = 1 / (1 + Math.exp(-(x.reduce((s, v, j) => s + v * (w[j] as number), 0) + b)));
      expect(Math.abs((probs[2 * i + 1] as number) - p)).toBeLessThan(1e-5);
    });
    const predicted = Array.from(out.label?.data as BigInt64Array, (v) =>
      v === 1n ? 'virginica' : 'versicolor',
    );
    const correct = predicted.filter((p, i) => p === demo.holdout.labels[i]).length;
    expect(demo.metrics.accuracy).toBeCloseTo(correct / rows.length, 12);
    // The species overlap a little; a sensible model still separates them well.
    expect(demo.metrics.accuracy).toBeGreaterThan(0.85);
    expect(demo.metrics.trainAccuracy).toBeGreaterThan(0.85);
  });

  it('passes its own validation on the holdout rows', async () => {
    const report = await validateModel({
      artifact: demo.onnx,
      inputSchema: demo.inputSchema,
      outputSchema: demo.outputSchema,
      request: ValidationRequest.parse({
        dataset: demo.holdout,
        thresholds: { accuracy: { min: 0.85 }, auc: { min: 0.9 } },
        latencyBudgetMs: 250,
      }),
      runner: new OnnxRuntimeRunner(),
    });
    expectEveryCheckPassed(report.checks);
    expect((report.metrics as { accuracy: number }).accuracy).toBeCloseTo(
      demo.metrics.accuracy as number,
      12,
    );
  });
});
