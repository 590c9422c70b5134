/**
 * The demo model the local runtime registers on first start, so a new user has something to
 * predict with, validate and monitor. It is trained here, deterministically, on synthetic rows
 * shaped like Fisher's iris measurements: versicolor vs virginica, each feature drawn from a
 * normal distribution with that species' mean and standard deviation in the real data, rounded
 * to 0.1 cm as the real measurements are. Same code → the same bytes, on every machine.
 */
import { createHash } from 'node:crypto';
import type { InputSchema, OutputSchema } from '../kernel/model-io.js';
import { logisticRegressionOnnx } from '../onnx/models.js';
import { predictLogistic, trainLogisticRegression } from './logistic.js';
import { type ClassificationMetrics, classificationMetrics } from './metrics.js';
import { createRng } from './random.js';

export const DEMO_MODEL_NAME = 'iris-demo';
export const DEMO_SEED = 1936; // the year Fisher published the iris data
const DEMO_L2 = 1e-3;
const ROWS_PER_CLASS = 150;
const HOLDOUT_FRACTION = 0.2;

const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;
const CLASSES = ['versicolor', 'virginica'] as const;
/** Per-species mean and standard deviation (cm) of the four measurements in the iris data. */
const SPECIES = [
  { mean: [5.936, 2.77, 4.26, 1.326], sd: [0.516, 0.314, 0.47, 0.198] },
  { mean: [6.588, 2.974, 5.552, 2.026], sd: [0.636, 0.322, 0.552, 0.275] },
] as const;

export interface LabelledRows {
  readonly instances: number[][];
  readonly labels: string[];
}

export interface DemoModel {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly tags: Record<string, string>;
  readonly onnx: Uint8Array;
  readonly inputSchema: InputSchema;
  readonly outputSchema: OutputSchema;
  /** Holdout metrics (accuracy, precision, recall, f1, auc, logLoss) and train ones (train*). */
  readonly metrics: Record<string, number>;
  readonly params: Record<string, unknown>;
  /** `sha256` is of `datasetCsv` (training rows), so the reference can be checked. */
  readonly dataset: { readonly uri: string; readonly sha256: string; readonly rows: number };
  readonly datasetCsv: string;
  readonly train: LabelledRows;
  /** Rows held out from training: a ready-made validation set for the validate route. */
  readonly holdout: LabelledRows;
}

export function makeDemoModel(): DemoModel {
  const rng = createRng(DEMO_SEED);
  const rows: { x: number[]; y: number }[] = [];
  for (let i = 0; i < ROWS_PER_CLASS; i++) {
    SPECIES.forEach((s, y) => {
      // Real measurements are positive; a draw below 0.1 cm would be a nonsense flower.
      const x = s.mean.map((m, j) =>
        Math.max(0.1, Math.round((m + (s.sd[j] as number) * rng.normal()) * 10) / 10),
      );
      rows.push({ x, y });
    });
  }
  const order = rng.permutation(rows.length);
  const cut = rows.length - Math.round(rows.length * HOLDOUT_FRACTION);
  const train = order.slice(0, cut).map((i) => rows[i] as { x: number[]; y: number });
  const holdout = order.slice(cut).map((i) => rows[i] as { x: number[]; y: number });

  const model = trainLogisticRegression(
    train.map((r) => r.x),
    train.map((r) => r.y),
    { l2: DEMO_L2 },
  );
  const evaluate = (part: typeof train): ClassificationMetrics => {
    const p = predictLogistic(
      model,
      part.map((r) => r.x),
    );
    return classificationMetrics({
      actual: part.map((r) => r.y),
      predicted: p.map((v) => (v > 0.5 ? 1 : 0)),
      classes: 2,
      probabilities: p.map((v) => [1 - v, v]),
    });
  };
  const trainMetrics = evaluate(train);
  const holdoutMetrics = evaluate(holdout);

  const inputSchema: InputSchema = {
    features: FEATURES.map((name) => ({ name, type: 'float' as const, min: 0, max: 30 })),
  };
  const outputSchema: OutputSchema = { kind: 'binary', classes: [...CLASSES] };
  const onnx = logisticRegressionOnnx({
    weights: model.weights,
    bias: model.bias,
    featureNames: [...FEATURES],
    classes: [...CLASSES],
    docString:
      'Serval demo: versicolor vs virginica, logistic regression on synthetic iris-like measurements',
  });
  const datasetCsv = [
    [...FEATURES, 'species'].join(','),
    ...train.map((r) => [...r.x.map((v) => v.toFixed(1)), CLASSES[r.y]].join(',')),
  ].join('\n');
  const labelled = (part: typeof train): LabelledRows => ({
    instances: part.map((r) => [...r.x]),
    labels: part.map((r) => CLASSES[r.y] as string),
  });
  return {
    name: DEMO_MODEL_NAME,
    version: '1.0.0',
    description:
      'Demo: tells Iris versicolor from Iris virginica by sepal and petal measurements (cm). Logistic regression trained on synthetic rows drawn from the species statistics of the iris data.',
    tags: { demo: 'true', task: 'binary-classification', data: 'synthetic' },
    onnx,
    inputSchema,
    outputSchema,
    metrics: {
      accuracy: holdoutMetrics.accuracy,
      precision: holdoutMetrics.precision,
      recall: holdoutMetrics.recall,
      f1: holdoutMetrics.f1,
      auc: holdoutMetrics.auc ?? 0,
      logLoss: holdoutMetrics.logLoss ?? 0,
      trainAccuracy: trainMetrics.accuracy,
      trainLogLoss: trainMetrics.logLoss ?? 0,
    },
    params: {
      trainer: 'logistic-regression',
      l2: DEMO_L2,
      seed: DEMO_SEED,
      iterations: model.iterations,
      converged: model.converged,
      weights: model.weights,
      bias: model.bias,
      positiveClass: CLASSES[1],
      // What explanations measure attributions from: the training rows' mean per feature.
      featureMeans: Object.fromEntries(
        FEATURES.map((f, j) => [f, train.reduce((s, r) => s + (r.x[j] as number), 0) / train.length]),
      ),
    },
    dataset: {
      uri: `serval-demo://iris-like?seed=${DEMO_SEED}&rows=${train.length}`,
      sha256: createHash('sha256').update(datasetCsv, 'utf8').digest('hex'),
      rows: train.length,
    },
    datasetCsv,
    train: labelled(train),
    holdout: labelled(holdout),
  };
}
