/** The validation report on real ONNX models run by onnxruntime, with metrics counted by hand. */
import { describe, expect, it } from 'vitest';
import { OnnxRuntimeRunner } from '../../../functions/adapters/onnx-runner.js';
import type { InputSchema } from '../../../functions/core/kernel/model-io.js';
import {
  linearRegressionOnnx,
  logisticRegressionOnnx,
  softmaxRegressionOnnx,
} from '../../../functions/core/onnx/models.js';
import { validateModel } from '../../../functions/core/registry/validation.js';
import {
  type ValidationCheck,
  type ValidationReport,
  ValidationRequest,
} from '../../../functions/core/registry/validation-report.js';

const runner = new OnnxRuntimeRunner();
const schema: InputSchema = {
  features: [
    { name: 'a', type: 'float' },
    { name: 'b', type: 'float' },
  ],
};
const check = (r: ValidationReport, name: string) => r.checks.find((c) => c.name === name) as ValidationCheck;
type Binary = Extract<ValidationReport['metrics'], { kind: 'binary' | 'multiclass' }>;
type Regression = Extract<ValidationReport['metrics'], { kind: 'regression' }>;

describe('validateModel on a real logistic regression', () => {
  // P(dog) = σ(4a): the model says "dog" exactly when a > 0 and ignores b.
  const artifact = logisticRegressionOnnx({ weights: [4, 0], bias: 0, classes: ['cat', 'dog'] });
  const a = [2, 1.5, 1, 0.5, 0.25, -0.25, -0.5, -1, -1.5, -2];
  // Misclassified on purpose: row 4 (a > 0 but a cat: FP), rows 5 and 6 (a < 0 but dogs: FN).
  const labels = ['dog', 'dog', 'dog', 'dog', 'cat', 'dog', 'dog', 'cat', 'cat', 'cat'];
  // Half the rows positional, half keyed by name; b varies to show it is ignored.
  const instances = a.map((v, i) => (i % 2 === 0 ? [v, i * 10] : { b: -i, a: v }));

  it('computes the metrics counted by hand', async () => {
    const report = await validateModel({
      artifact,
      inputSchema: schema,
      outputSchema: { kind: 'binary', classes: ['cat', 'dog'] },
      request: ValidationRequest.parse({
        dataset: { instances, labels },
        thresholds: { accuracy: { min: 0.7 }, precision: { min: 0.8 }, f1: { min: 0.75 } },
        latencyBudgetMs: 1000,
      }),
      runner,
    });
    // TP 4 (rows 0–3), FP 1 (row 4), FN 2 (rows 5, 6), TN 3 (rows 7–9)
    const m = report.metrics as Binary;
    expect(m.confusion).toEqual([
      [3, 1],
      [2, 4],
    ]);
    expect(m.accuracy).toBeCloseTo(0.7, 12);
    expect(m.precision).toBeCloseTo(0.8, 12);
    expect(m.recall).toBeCloseTo(4 / 6, 12);
    expect(m.f1).toBeCloseTo(8 / 11, 12);
    // Positive-vs-negative pairs won: 4 + 4 + 4 + 4 + 3 + 3 of 6 × 4 (only a = 0.25 beats −0.25 and −0.5)
    expect(m.auc).toBeCloseTo(22 / 24, 12);
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const handLogLoss =
      -a.reduce((s, v, i) => s + Math.log(labels[i] === 'dog' ? sig(4 * v) : 1 - sig(4 * v)), 0) / 10;
    expect(Math.abs((m.logLoss as number) - handLogLoss)).toBeLessThan(1e-6);

    expect(report.thresholds.map((t) => [t.metric, t.passed])).toEqual([
      ['accuracy', true],
      ['precision', true],
      ['f1', false],
    ]);
    expect(check(report, 'loads').passed).toBe(true);
    expect(check(report, 'schema').passed).toBe(true);
    expect(check(report, 'metrics').passed).toBe(false);
    expect(check(report, 'latency').passed).toBe(true);
    expect(report.latency?.runs).toBe(50);
    expect(report.latency?.p95Ms).toBeGreaterThan(0);
    expect(report.latency?.p95Ms).toBeLessThan(1000);
    expect(report.passed).toBe(false);
  });

  it('fails the schema check when the registered schema has the wrong feature count', async () => {
    const report = await validateModel({
      artifact,
      inputSchema: { features: [...schema.features, { name: 'c', type: 'float' }] },
      outputSchema: { kind: 'binary', classes: ['cat', 'dog'] },
      request: ValidationRequest.parse({ dataset: { instances: [[1, 2, 3]], labels: ['dog'] } }),
      runner,
    });
    expect(check(report, 'loads').passed).toBe(true);
    expect(check(report, 'schema').message).toContain('takes 2 features but the input schema lists 3');
    expect(check(report, 'metrics').skipped).toBe(true);
  });

  it('fails the schema check when a binary schema meets a three-class model', async () => {
    const report = await validateModel({
      artifact: softmaxRegressionOnnx({
        weights: [
          [1, 0],
          [0, 1],
          [1, 1],
        ],
        bias: [0, 0, 0],
      }),
      inputSchema: schema,
      outputSchema: { kind: 'binary' },
      request: ValidationRequest.parse({ dataset: { instances: [[1, 2]], labels: [1] } }),
      runner,
    });
    expect(check(report, 'schema').passed).toBe(false);
    expect(check(report, 'schema').message).toContain('[N, 2]');
  });

  it('reports an artifact that is not ONNX as not loading', async () => {
    const report = await validateModel({
      artifact: new TextEncoder().encode('PK\u0003\u0004 a zip file, perhaps'),
      inputSchema: schema,
      outputSchema: { kind: 'binary' },
      request: ValidationRequest.parse({ dataset: { instances: [[1, 2]], labels: [1] } }),
      runner,
    });
    expect(check(report, 'loads').passed).toBe(false);
    expect(report.passed).toBe(false);
  });
});

describe('validateModel on real regression and multiclass models', () => {
  it('linear regression y = a + 2b: RMSE, MAE and R² by hand', async () => {
    const report = await validateModel({
      artifact: linearRegressionOnnx({ weights: [1, 2], bias: 0 }),
      inputSchema: schema,
      outputSchema: { kind: 'regression' },
      request: ValidationRequest.parse({
        dataset: {
          instances: [
            [1, 1],
            [2, 0],
            [0, 1],
          ],
          labels: [3, 3, 1],
        },
        thresholds: { rmse: { max: 0.82 }, r2: { min: 0.5 } }, // √(2/3) ≈ 0.8165
      }),
      runner,
    });
    // predictions 3, 2, 2; errors 0, 1, −1 → RMSE √(2/3), MAE 2/3; mean 7/3, SStot 24/9 → R² = 1 − 2/(24/9) = 0.25
    const m = report.metrics as Regression;
    expect(m.rmse).toBeCloseTo(Math.sqrt(2 / 3), 6);
    expect(m.mae).toBeCloseTo(2 / 3, 6);
    expect(m.r2).toBeCloseTo(0.25, 6);
    expect(report.thresholds.map((t) => t.passed)).toEqual([true, false]);
  });

  it('softmax regression with string classes: macro metrics by hand', async () => {
    // Scores: red = a, green = b, blue = 0 → the larger of a, b wins if positive, else blue.
    const report = await validateModel({
      artifact: softmaxRegressionOnnx({
        weights: [
          [1, 0],
          [0, 1],
          [0, 0],
        ],
        bias: [0, 0, 0],
      }),
      inputSchema: schema,
      outputSchema: { kind: 'multiclass', classes: ['red', 'green', 'blue'] },
      request: ValidationRequest.parse({
        dataset: {
          instances: [
            [3, 1], // red
            [2, 0], // red
            [0, 2], // green
            [1, 4], // green
            [-1, -1], // blue
            [-2, -3], // blue
          ],
          labels: ['red', 'green', 'green', 'green', 'blue', 'red'],
        },
        thresholds: { accuracy: { min: 0.6 } },
      }),
      runner,
    });
    // red: TP 1, predicted 2, actual 2 → P ½, R ½; green: TP 2, predicted 2, actual 3 → P 1, R ⅔;
    // blue: TP 1, predicted 2, actual 1 → P ½, R 1.
    const m = report.metrics as Binary;
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    expect(m.precision).toBeCloseTo((0.5 + 1 + 0.5) / 3, 12);
    expect(m.recall).toBeCloseTo((0.5 + 2 / 3 + 1) / 3, 12);
    const f1 = (p: number, r: number) => (2 * p * r) / (p + r);
    expect(m.f1).toBeCloseTo((f1(0.5, 0.5) + f1(1, 2 / 3) + f1(0.5, 1)) / 3, 12);
    expect(report.passed).toBe(true);
  });
});
