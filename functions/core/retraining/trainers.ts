/**
 * The trainers a retraining job can use, behind one shape: a default search space, a fit from
 * (rows, params, resource), its answers (class probabilities, or values for a regressor), and
 * the ONNX export of a fitted model. The search's `resource` (successive halving's budget) is
 * the number of training rows a trial fits on: the rows are already in a seeded random order, so
 * a prefix is a random sample, as scikit-learn's HalvingGridSearchCV does with n_samples.
 */
import { validationFailed } from '../kernel/errors.js';
import {
  linearRegressionOnnx,
  logisticRegressionOnnx,
  mlpOnnx,
  softmaxRegressionOnnx,
} from '../onnx/models.js';
import { predictLinear, trainLinearRegression } from '../training/linear.js';
import { predictLogistic, trainLogisticRegression } from '../training/logistic.js';
import {
  mlpOnnxLayers,
  predictMlp,
  predictMlpProba,
  trainMlp,
  withInputScaling,
  withOutputScaling,
} from '../training/mlp.js';
import { fitStandardizer, fitTargetScaling, standardize } from '../training/scaling.js';
import type { ParamSpace, Params } from '../training/search.js';
import { predictSoftmax, trainSoftmaxRegression } from '../training/softmax.js';
import type { TrainerName } from './jobs.js';

/** What a job trains: a classifier over the parent's classes, or a regressor of one number. */
export type Task = 'classification' | 'regression';

export interface FittedClassifier {
  readonly task: 'classification';
  proba(x: number[][]): number[][];
  onnx(featureNames: readonly string[], classes: readonly string[]): Uint8Array;
}

export interface FittedRegressor {
  readonly task: 'regression';
  predict(x: number[][]): number[];
  /** Output `y` [N, 1], as a registered regression model answers. */
  onnx(featureNames: readonly string[]): Uint8Array;
}

export type Fitted = FittedClassifier | FittedRegressor;

export interface Trainer {
  readonly name: TrainerName;
  readonly tasks: readonly Task[];
  /** Parameter names a declared space may use, with the checks a value must pass. */
  readonly params: Readonly<Record<string, (v: unknown) => boolean>>;
  defaultSpace(): ParamSpace;
  /** `classes`: K for a classifier (y holds class indices), 0 for a regressor (y holds the values). */
  fit(x: number[][], y: number[], params: Params, classes: number, seed: number): Fitted;
}

export const DEFAULT_L2_GRID = [1e-4, 1e-3, 1e-2, 1e-1, 1] as const;

const nonNegative = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1e6;
const positiveInt = (max: number) => (v: unknown) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max;

const logistic: Trainer = {
  name: 'logistic',
  tasks: ['classification'],
  params: { l2: nonNegative },
  defaultSpace: () => ({ l2: { type: 'choice', values: [...DEFAULT_L2_GRID] } }),
  fit: (x, y, params) => {
    const m = trainLogisticRegression(x, y, { l2: Number(params.l2 ?? 1e-4) });
    return {
      task: 'classification',
      proba: (rows) => predictLogistic(m, rows).map((p) => [1 - p, p]),
      onnx: (featureNames, classes) =>
        logisticRegressionOnnx({ weights: m.weights, bias: m.bias, featureNames, classes }),
    };
  },
};

const softmax: Trainer = {
  name: 'softmax',
  tasks: ['classification'],
  params: { l2: nonNegative },
  defaultSpace: logistic.defaultSpace,
  fit: (x, y, params, classes) => {
    const m = trainSoftmaxRegression(x, y, { l2: Number(params.l2 ?? 1e-4), classes });
    return {
      task: 'classification',
      proba: (rows) => predictSoftmax(m, rows),
      onnx: (featureNames, labels) =>
        softmaxRegressionOnnx({ weights: m.weights, bias: m.bias, featureNames, classes: labels }),
    };
  },
};

/** Rows from which an MLP trial holds out a tenth to stop on (100 rows: accuracy in steps of 1 %). */
export const EARLY_STOPPING_MIN_ROWS = 1000;

/**
 * One hidden layer of `hidden` units (or two: `hidden2` > 0) trained with Adam on standardised
 * features (sklearn's StandardScaler before MLPClassifier, the pipeline sklearn's docs advise), the
 * scaling then folded into the first layer, so the candidate takes raw features like every other.
 * A trial with at least EARLY_STOPPING_MIN_ROWS rows stops on a held-out tenth (sklearn's
 * early_stopping: no gain in accuracy, or R² for a regressor, for `nIterNoChange` epochs); a smaller
 * one stops on its training loss, as sklearn does by default. On the demo's 240 rows a held-out
 * tenth is 19 rows, whose accuracy moves in steps of 5 %, and a batch of 200 is one Adam step per
 * epoch: early stopping ended most candidates at chance after about ten steps (docs/retraining.md).
 * A regressor is sklearn's MLPRegressor (one identity output, half the squared error) on the
 * standardised target as well (sklearn's TransformedTargetRegressor), folded into the output layer.
 */
const mlp: Trainer = {
  name: 'mlp',
  tasks: ['classification', 'regression'],
  params: {
    hidden: positiveInt(512),
    hidden2: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 512,
    alpha: nonNegative,
    learningRateInit: (v) => typeof v === 'number' && v > 0 && v <= 1,
    activation: (v) => v === 'relu' || v === 'tanh',
    maxIter: positiveInt(2000),
    batchSize: positiveInt(10_000),
  },
  defaultSpace: () => ({
    hidden: { type: 'choice', values: [8, 16, 32] },
    alpha: { type: 'float', low: 1e-5, high: 1e-1, log: true, num: 3 },
    learningRateInit: { type: 'choice', values: [1e-3, 1e-2] },
  }),
  fit: (x, y, params, classes, seed) => {
    const hidden2 = Number(params.hidden2 ?? 0);
    const scaling = fitStandardizer(x);
    // A regressor learns the standardised target too: its mean is otherwise left to the output
    // bias, which Adam moves by about the learning rate per step (200 steps: 2 units at 1e-2).
    const target = classes === 0 ? fitTargetScaling(y) : undefined;
    const trained = trainMlp(
      standardize(scaling, x),
      target ? y.map((v) => (v - target.mean) / target.scale) : y,
      {
        ...(classes === 0 ? { task: 'regression' as const } : { classes }),
        seed,
        hiddenLayerSizes: [Number(params.hidden ?? 16), ...(hidden2 > 0 ? [hidden2] : [])],
        alpha: Number(params.alpha ?? 1e-4),
        learningRateInit: Number(params.learningRateInit ?? 1e-3),
        activation: params.activation === 'tanh' ? 'tanh' : 'relu',
        maxIter: Number(params.maxIter ?? 200),
        ...(params.batchSize !== undefined ? { batchSize: Number(params.batchSize) } : {}),
        earlyStopping: x.length >= EARLY_STOPPING_MIN_ROWS,
        nIterNoChange: 10,
      },
    );
    const inRawUnits = withInputScaling(trained, scaling);
    const m = target ? withOutputScaling(inRawUnits, target) : inRawUnits;
    if (classes === 0)
      return {
        task: 'regression',
        predict: (rows) => predictMlp(m, rows),
        onnx: (featureNames) => mlpOnnx({ layers: mlpOnnxLayers(m), featureNames }),
      };
    return {
      task: 'classification',
      proba: (rows) => predictMlpProba(m, rows),
      onnx: (featureNames, labels) => mlpOnnx({ layers: mlpOnnxLayers(m), featureNames, classes: labels }),
    };
  },
};

/**
 * Ridge regression solved exactly (functions/core/training/linear.ts): `l2` is λ in
 * (1/2n)‖y − Xw − b‖² + (λ/2)‖w‖², i.e. scikit-learn's Ridge with alpha = λ·n, intercept unpenalised.
 */
const linear: Trainer = {
  name: 'linear',
  tasks: ['regression'],
  params: { l2: nonNegative },
  defaultSpace: logistic.defaultSpace,
  fit: (x, y, params) => {
    const m = trainLinearRegression(x, y, { l2: Number(params.l2 ?? 1e-4) });
    return {
      task: 'regression',
      predict: (rows) => predictLinear(m, rows),
      onnx: (featureNames) => linearRegressionOnnx({ weights: m.weights, bias: m.bias, featureNames }),
    };
  },
};

export const TRAINER_IMPLS: Readonly<Record<TrainerName, Trainer>> = { logistic, softmax, mlp, linear };

/**
 * The trainer a job uses for its parent's task: the requested one if it can learn that task,
 * else the default (logistic for two classes, softmax for more, linear for a regressor).
 */
export function trainerFor(requested: TrainerName | undefined, task: Task, classes: number): TrainerName {
  const name = requested ?? (task === 'regression' ? 'linear' : classes === 2 ? 'logistic' : 'softmax');
  if (!TRAINER_IMPLS[name].tasks.includes(task)) {
    const fits = Object.values(TRAINER_IMPLS)
      .filter((t) => t.tasks.includes(task))
      .map((t) => t.name);
    throw validationFailed(
      `trainer ${name} does not train ${task === 'regression' ? 'regression' : 'classification'} models; use ${fits.join(' or ')}`,
      { field: 'trainer' },
    );
  }
  if (name === 'logistic' && classes !== 2)
    throw validationFailed('logistic needs two classes', { field: 'trainer' });
  return name;
}

/** The space a job searches: its declared one (checked against the trainer), else the default. */
export function jobSpace(
  trainer: Trainer,
  declared: ParamSpace | undefined,
  l2?: readonly number[],
): ParamSpace {
  if (l2 && declared) throw validationFailed('give search.l2 or search.space, not both', { field: 'search' });
  if (l2) {
    if (!('l2' in trainer.params))
      throw validationFailed(`trainer ${trainer.name} has no l2 parameter; use search.space`, {
        field: 'search.l2',
      });
    return { l2: { type: 'choice', values: [...l2] } };
  }
  if (!declared) return trainer.defaultSpace();
  for (const [name, spec] of Object.entries(declared)) {
    const check = trainer.params[name];
    if (!check)
      throw validationFailed(
        `trainer ${trainer.name} has no parameter ${name} (it has ${Object.keys(trainer.params).join(', ')})`,
        { field: `search.space.${name}` },
      );
    const bounds = spec.type === 'choice' ? spec.values : [spec.low, spec.high];
    if (!bounds.every(check))
      throw validationFailed(`search.space.${name}: a value is out of range for ${trainer.name}`, {
        field: `search.space.${name}`,
      });
  }
  return declared;
}
