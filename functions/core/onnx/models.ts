/**
 * Writers for the model families Serval trains itself. Every model takes one float tensor
 * `input` of shape [N, F] with a symbolic batch dimension, and names its outputs the same way:
 * regressors give `y`; classifiers give `label` (int64 [N], the index of the most probable
 * class — ties go to the lower index, as ONNX ArgMax does) and `probabilities` (float [N, K],
 * columns in class order, so a binary model's column 1 is P(positive)).
 *
 * metadata_props carry `serval.kind`, `serval.task`, and when given `serval.features` and
 * `serval.classes` (JSON arrays), so a file explains itself outside the registry too.
 */
import { validationFailed } from '../kernel/errors.js';
import { type Attribute, ElemType, GraphBuilder, ML_DOMAIN } from './graph.js';

export const INPUT_NAME = 'input';
export const BATCH_DIM = 'N';

export type ModelKind = 'linear-regression' | 'logistic-regression' | 'softmax-regression' | 'mlp';
export type ModelTask = 'regression' | 'binary' | 'multiclass';

export interface CommonOptions {
  /** Names of the F input columns, in order; recorded in metadata. */
  readonly featureNames?: readonly string[];
  /** Extra metadata_props; keys starting with `serval.` are reserved. */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly docString?: string;
}

export interface ClassifierOptions extends CommonOptions {
  /** Class labels in probability-column order; recorded in metadata. */
  readonly classes?: readonly (string | number)[];
}

export interface LinearRegressionParams extends CommonOptions {
  readonly weights: readonly number[];
  readonly bias: number;
  /** `column` gives y as [N, 1] (the scikit-learn/ONNX convention), `vector` as [N]. */
  readonly outputShape?: 'column' | 'vector';
}

export interface LogisticRegressionParams extends ClassifierOptions {
  readonly weights: readonly number[];
  readonly bias: number;
}

export interface SoftmaxRegressionParams extends ClassifierOptions {
  /** K rows of F weights: row k scores class k. */
  readonly weights: readonly (readonly number[])[];
  readonly bias: readonly number[];
}

export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'softmax' | 'identity';

export interface DenseLayer {
  /** [out][in], as torch.nn.Linear stores it: row j holds the weights into unit j. */
  readonly weights: readonly (readonly number[])[];
  readonly bias: readonly number[];
  readonly activation: Activation;
}

export interface MlpParams extends ClassifierOptions {
  /**
   * Hidden layers use relu, tanh, sigmoid or identity. The last layer decides the task:
   * softmax → classifier over its units; sigmoid with one unit → binary classifier;
   * identity/relu/tanh → regression with y [N, units].
   */
  readonly layers: readonly DenseLayer[];
}

export function linearRegressionOnnx(params: LinearRegressionParams): Uint8Array {
  const f = checkVector(params.weights, 'weights');
  checkFinite(params.bias, 'bias');
  checkFeatureNames(params.featureNames, f);
  const g = new GraphBuilder('linear_regression');
  const x = g.input(INPUT_NAME, ElemType.FLOAT, [BATCH_DIM, f]);
  if (params.outputShape === 'vector') {
    // MatMul with a 1-D right operand drops that axis, giving [N] without a Reshape.
    const w = g.floats('coefficients', [f], params.weights);
    const b = g.floats('intercept', [], [params.bias]);
    g.node('Add', [g.node('MatMul', [x, w], ['xw']), b], ['y']);
    g.output('y', ElemType.FLOAT, [BATCH_DIM]);
  } else {
    const w = g.floats('coefficients', [f, 1], params.weights);
    const b = g.floats('intercept', [1], [params.bias]);
    g.node('Gemm', [x, w, b], ['y']);
    g.output('y', ElemType.FLOAT, [BATCH_DIM, 1]);
  }
  return g.encode(modelMeta('linear-regression', 'regression', params));
}

export function logisticRegressionOnnx(params: LogisticRegressionParams): Uint8Array {
  const f = checkVector(params.weights, 'weights');
  checkFinite(params.bias, 'bias');
  checkFeatureNames(params.featureNames, f);
  checkClasses(params.classes, 2);
  const g = new GraphBuilder('logistic_regression');
  const x = g.input(INPUT_NAME, ElemType.FLOAT, [BATCH_DIM, f]);
  const w = g.floats('coefficients', [f, 1], params.weights);
  const b = g.floats('intercept', [1], [params.bias]);
  const logit = g.node('Gemm', [x, w, b], ['logit']);
  binaryHead(g, logit);
  return g.encode(modelMeta('logistic-regression', 'binary', params));
}

export function softmaxRegressionOnnx(params: SoftmaxRegressionParams): Uint8Array {
  const [k, f] = checkMatrix(params.weights, 'weights');
  if (k < 2) throw validationFailed('softmax regression needs at least 2 classes', { field: 'weights' });
  checkVector(params.bias, 'bias', k);
  checkFeatureNames(params.featureNames, f);
  checkClasses(params.classes, k);
  const g = new GraphBuilder('softmax_regression');
  const x = g.input(INPUT_NAME, ElemType.FLOAT, [BATCH_DIM, f]);
  const w = g.floats('coefficients', [k, f], params.weights.flat());
  const b = g.floats('intercept', [k], params.bias);
  const logits = g.node('Gemm', [x, w, b], ['logits'], { transB: { type: 'int', value: 1 } });
  softmaxHead(g, logits, k);
  return g.encode(modelMeta('softmax-regression', k === 2 ? 'binary' : 'multiclass', params));
}

export function mlpOnnx(params: MlpParams): Uint8Array {
  const layers = params.layers;
  if (layers.length === 0) throw validationFailed('an MLP needs at least one layer', { field: 'layers' });
  let width = -1;
  layers.forEach((layer, i) => {
    const [out, inp] = checkMatrix(layer.weights, `layers[${i}].weights`);
    checkVector(layer.bias, `layers[${i}].bias`, out);
    if (i > 0 && inp !== width) {
      throw validationFailed(`layer ${i} takes ${inp} inputs but layer ${i - 1} has ${width} units`, {
        field: `layers[${i}].weights`,
      });
    }
    if (layer.activation === 'softmax' && i !== layers.length - 1) {
      throw validationFailed('softmax is only allowed on the last layer', {
        field: `layers[${i}].activation`,
      });
    }
    width = out;
  });
  const features = (layers[0] as DenseLayer).weights[0]?.length ?? 0;
  checkFeatureNames(params.featureNames, features);
  const head = (layers[layers.length - 1] as DenseLayer).activation;
  if (head === 'sigmoid' && width !== 1) {
    throw validationFailed('a sigmoid head makes a binary classifier and needs exactly 1 unit', {
      field: `layers[${layers.length - 1}].activation`,
    });
  }
  const task: ModelTask =
    head === 'softmax'
      ? width === 2
        ? 'binary'
        : 'multiclass'
      : head === 'sigmoid'
        ? 'binary'
        : 'regression';
  if (task !== 'regression') checkClasses(params.classes, head === 'sigmoid' ? 2 : width);

  const g = new GraphBuilder('mlp');
  let h = g.input(INPUT_NAME, ElemType.FLOAT, [BATCH_DIM, features]);
  layers.forEach((layer, i) => {
    const last = i === layers.length - 1;
    const w = g.floats(
      `dense${i}.weight`,
      [layer.weights.length, layer.weights[0]?.length ?? 0],
      layer.weights.flat(),
    );
    const b = g.floats(`dense${i}.bias`, [layer.bias.length], layer.bias);
    h = g.node('Gemm', [h, w, b], [`dense${i}`], { transB: { type: 'int', value: 1 } });
    if (last && (layer.activation === 'softmax' || layer.activation === 'sigmoid')) return;
    const op = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid', identity: null, softmax: null }[
      layer.activation
    ];
    if (op) h = g.node(op, [h], [`act${i}`]);
  });
  if (head === 'softmax') softmaxHead(g, h, width);
  else if (head === 'sigmoid') binaryHead(g, h);
  else {
    g.node('Identity', [h], ['y']);
    g.output('y', ElemType.FLOAT, [BATCH_DIM, width]);
  }
  return g.encode(modelMeta('mlp', task, params));
}

export interface ForeignBinaryParams {
  readonly weights: readonly number[];
  readonly bias: number;
}

/**
 * A binary logistic model shaped the way a PyTorch export of `sigmoid(linear(x))` is: input
 * `input` [N, F], one output `output` float [N, 1] holding P(class 1), and no metadata at all.
 */
export function torchSigmoidOnnx(params: ForeignBinaryParams): Uint8Array {
  const f = checkVector(params.weights, 'weights');
  checkFinite(params.bias, 'bias');
  const g = new GraphBuilder('main_graph');
  const x = g.input(INPUT_NAME, ElemType.FLOAT, [BATCH_DIM, f]);
  const w = g.floats('linear.weight', [1, f], params.weights);
  const b = g.floats('linear.bias', [1], [params.bias]);
  const logit = g.node('Gemm', [x, w, b], ['logit'], { transB: { type: 'int', value: 1 } });
  g.node('Sigmoid', [logit], ['output']);
  g.output('output', ElemType.FLOAT, [BATCH_DIM, 1]);
  return g.encode({ producerName: 'pytorch', producerVersion: '2.3.0' });
}

export interface SklearnBinaryParams extends ForeignBinaryParams {
  /** The two class labels, as scikit-learn's `classes_` holds them. */
  readonly classes: readonly [string, string] | readonly [number, number];
  /** skl2onnx's default: probabilities as a sequence of {class: p} maps rather than a tensor. */
  readonly zipmap: boolean;
}

/**
 * A binary classifier shaped the way skl2onnx exports a LogisticRegression: input
 * `float_input` [N, F]; `output_label` [N] (int64 or string class labels) and
 * `output_probability`, either a float tensor [N, 2] (`zipmap: false`) or a sequence of maps
 * class → probability (ZipMap). Built from standard operators plus ai.onnx.ml's LabelEncoder and
 * ZipMap, so onnxruntime runs it as it runs a real skl2onnx file.
 */
export function sklearnBinaryOnnx(params: SklearnBinaryParams): Uint8Array {
  const f = checkVector(params.weights, 'weights');
  checkFinite(params.bias, 'bias');
  checkClasses(params.classes, 2);
  const strings = typeof params.classes[0] === 'string';
  const g = new GraphBuilder('ONNX(LogisticRegression)');
  const x = g.input('float_input', ElemType.FLOAT, [BATCH_DIM, f]);
  const w = g.floats('coef', [f, 1], params.weights);
  const b = g.floats('intercept', [1], [params.bias]);
  const logit = g.node('Gemm', [x, w, b], ['logit']);
  const p1 = g.node('Sigmoid', [logit], ['p_positive']);
  const one = g.floats('one', [1], [1]);
  const p0 = g.node('Sub', [one, p1], ['p_negative']);
  g.node('Concat', [p0, p1], ['probabilities'], { axis: { type: 'int', value: 1 } });
  const index = g.node('ArgMax', ['probabilities'], ['label_index'], {
    axis: { type: 'int', value: 1 },
    keepdims: { type: 'int', value: 0 },
  });
  if (strings) {
    g.node(
      'LabelEncoder',
      [index],
      ['output_label'],
      {
        keys_int64s: { type: 'ints', value: [0, 1] },
        values_strings: { type: 'strings', value: params.classes.map(String) },
      },
      ML_DOMAIN,
    );
    g.output('output_label', ElemType.STRING, [BATCH_DIM]);
  } else {
    const table = g.int64s('classes', [2], params.classes as readonly number[]);
    g.node('Gather', [table, index], ['output_label'], { axis: { type: 'int', value: 0 } });
    g.output('output_label', ElemType.INT64, [BATCH_DIM]);
  }
  if (params.zipmap) {
    const labels: Attribute = strings
      ? { type: 'strings', value: params.classes.map(String) }
      : { type: 'ints', value: params.classes as readonly number[] };
    g.node(
      'ZipMap',
      ['probabilities'],
      ['output_probability'],
      { [strings ? 'classlabels_strings' : 'classlabels_int64s']: labels },
      ML_DOMAIN,
    );
    g.mapSequenceOutput('output_probability', strings ? ElemType.STRING : ElemType.INT64);
  } else {
    g.node('Identity', ['probabilities'], ['output_probability']);
    g.output('output_probability', ElemType.FLOAT, [BATCH_DIM, 2]);
  }
  return g.encode({ producerName: 'skl2onnx', producerVersion: '1.17.0', domain: 'ai.onnx' });
}

/** [N, 1] logit → probabilities [N, 2] = [1 − σ, σ] and label = argmax. */
function binaryHead(g: GraphBuilder, logit: string): void {
  const p1 = g.node('Sigmoid', [logit], ['p_positive']);
  const one = g.floats('one', [1], [1]);
  const p0 = g.node('Sub', [one, p1], ['p_negative']);
  g.node('Concat', [p0, p1], ['probabilities'], { axis: { type: 'int', value: 1 } });
  g.node('ArgMax', ['probabilities'], ['label'], {
    axis: { type: 'int', value: 1 },
    keepdims: { type: 'int', value: 0 },
  });
  g.output('label', ElemType.INT64, [BATCH_DIM]);
  g.output('probabilities', ElemType.FLOAT, [BATCH_DIM, 2]);
}

function softmaxHead(g: GraphBuilder, logits: string, k: number): void {
  g.node('Softmax', [logits], ['probabilities'], { axis: { type: 'int', value: 1 } });
  g.node('ArgMax', ['probabilities'], ['label'], {
    axis: { type: 'int', value: 1 },
    keepdims: { type: 'int', value: 0 },
  });
  g.output('label', ElemType.INT64, [BATCH_DIM]);
  g.output('probabilities', ElemType.FLOAT, [BATCH_DIM, k]);
}

function modelMeta(kind: ModelKind, task: ModelTask, params: ClassifierOptions) {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(params.metadata ?? {})) {
    if (key.startsWith('serval.')) {
      throw validationFailed(`metadata key ${key} is reserved`, { field: `metadata.${key}` });
    }
    metadata[key] = value;
  }
  metadata['serval.kind'] = kind;
  metadata['serval.task'] = task;
  metadata['serval.input'] = INPUT_NAME;
  if (params.featureNames) metadata['serval.features'] = JSON.stringify(params.featureNames);
  if (params.classes) metadata['serval.classes'] = JSON.stringify(params.classes);
  return { producerName: 'serval', producerVersion: '1', docString: params.docString ?? '', metadata };
}

function checkFinite(v: number, field: string): void {
  if (!Number.isFinite(v)) throw validationFailed(`${field} must be a finite number`, { field });
  // Values past float32's range would silently become ±Infinity in the file.
  if (Math.abs(v) > 3.4e38) throw validationFailed(`${field} is outside float32 range`, { field });
}

function checkVector(v: readonly number[], field: string, length?: number): number {
  if (!Array.isArray(v) || v.length === 0)
    throw validationFailed(`${field} must be a non-empty array`, { field });
  if (length !== undefined && v.length !== length) {
    throw validationFailed(`${field} has ${v.length} values, expected ${length}`, { field });
  }
  v.forEach((x, i) => {
    checkFinite(x, `${field}[${i}]`);
  });
  return v.length;
}

function checkMatrix(m: readonly (readonly number[])[], field: string): [rows: number, cols: number] {
  if (!Array.isArray(m) || m.length === 0)
    throw validationFailed(`${field} must be a non-empty matrix`, { field });
  const cols = (m[0] as readonly number[]).length;
  m.forEach((row, i) => {
    checkVector(row, `${field}[${i}]`, cols);
  });
  return [m.length, cols];
}

function checkFeatureNames(names: readonly string[] | undefined, f: number): void {
  if (names && names.length !== f) {
    throw validationFailed(`featureNames has ${names.length} names but the model takes ${f} features`, {
      field: 'featureNames',
    });
  }
}

function checkClasses(classes: readonly (string | number)[] | undefined, k: number): void {
  if (classes && classes.length !== k) {
    throw validationFailed(`classes has ${classes.length} labels but the model scores ${k}`, {
      field: 'classes',
    });
  }
}
