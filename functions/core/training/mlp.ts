/**
 * A multilayer perceptron trained with Adam on mini-batches, following scikit-learn's
 * MLPClassifier/MLPRegressor: the same knobs, defaults, loss scaling and stopping rules, so a
 * data scientist's settings carry over and the two can be compared on the same data.
 *
 * - Loss per batch: mean log-loss (classification) or half the mean squared error (regression)
 *   plus (alpha / 2B)‖W‖² over the weights, not the biases, B the batch's row count — exactly
 *   sklearn's, whose alpha is thereby a per-batch penalty.
 * - Heads: one sigmoid unit for two classes, softmax for more, identity for regression.
 * - Stopping: without early stopping, when the epoch's training loss has not dropped by `tol`
 *   for more than `nIterNoChange` epochs; with it, when the score on a held-out validation split
 *   (accuracy, or R² for regression) has not risen by `tol` for that long, and the weights of the
 *   best-scoring epoch are kept.
 *
 * Everything random (initial weights, the validation split, the per-epoch shuffle) comes from
 * one seeded generator, and the arithmetic runs in a fixed order on one thread: the same rows
 * and seed give bit-identical weights.
 */
import { validationFailed } from '../kernel/errors.js';
import type { DenseLayer } from '../onnx/models.js';
import { checkDense, type DenseMatrix, type Matrix, toDense } from './data.js';
import { denseForward, denseInputGrad, denseWeightGrad } from './kernels.js';
import { createRng, type Rng } from './random.js';
import type { Standardizer, TargetScaling } from './scaling.js';
import { type Arena, createArena, type DenseKernels } from './simd.js';

export type HiddenActivation = 'relu' | 'tanh';
export type MlpTask = 'classification' | 'regression';
export type MlpHead = 'sigmoid' | 'softmax' | 'identity';
export type MlpInit = 'glorot' | 'he';

export interface MlpOptions {
  /** Default classification (y holds class indices 0..K-1). */
  readonly task?: MlpTask;
  /** Units per hidden layer (default [100]). */
  readonly hiddenLayerSizes?: readonly number[];
  /** Default relu. */
  readonly activation?: HiddenActivation;
  /** Weight init: glorot (sklearn's, the default) or he (for relu). */
  readonly init?: MlpInit;
  /** L2 strength, sklearn's `alpha` (default 1e-4). */
  readonly alpha?: number;
  /** Rows per mini-batch (default min(200, rows)). */
  readonly batchSize?: number;
  /** Adam's step size (default 1e-3). */
  readonly learningRateInit?: number;
  /** Epochs at most (default 200). */
  readonly maxIter?: number;
  /** Smallest improvement that counts (default 1e-4). */
  readonly tol?: number;
  /** Epochs without improvement tolerated before stopping (default 10). */
  readonly nIterNoChange?: number;
  /** Hold out `validationFraction` of the rows and stop on their score (default false). */
  readonly earlyStopping?: boolean;
  /** Default 0.1. */
  readonly validationFraction?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  /** Reshuffle the rows every epoch (default true). */
  readonly shuffle?: boolean;
  /** Seeds weights, validation split and shuffles (default 0). */
  readonly seed?: number;
  /** Number of classes (default: largest label + 1). */
  readonly classes?: number;
}

export interface MlpLayer {
  readonly inputs: number;
  readonly outputs: number;
  /** [out][in] row-major: row j holds the weights into unit j (ONNX Gemm with transB). */
  readonly weights: Float64Array;
  readonly bias: Float64Array;
}

export interface MlpModel {
  readonly task: MlpTask;
  readonly activation: HiddenActivation;
  readonly head: MlpHead;
  /** Classes K (2 for a sigmoid head); 0 for regression. */
  readonly classes: number;
  readonly features: number;
  readonly layers: readonly MlpLayer[];
  /** Training loss per epoch (penalty included). */
  readonly lossCurve: readonly number[];
  /** Validation score per epoch with early stopping, else empty. */
  readonly validationScores: readonly number[];
  readonly bestValidationScore: number | null;
  readonly epochs: number;
  /** Stopped by the no-improvement rule rather than by maxIter. */
  readonly converged: boolean;
}

interface Resolved {
  readonly task: MlpTask;
  readonly hidden: readonly number[];
  readonly activation: HiddenActivation;
  readonly init: MlpInit;
  readonly alpha: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly maxIter: number;
  readonly tol: number;
  readonly nIterNoChange: number;
  readonly earlyStopping: boolean;
  readonly validationFraction: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly shuffle: boolean;
  readonly seed: number;
}

function resolve(options: MlpOptions, rows: number): Resolved {
  const r: Resolved = {
    task: options.task ?? 'classification',
    hidden: options.hiddenLayerSizes ?? [100],
    activation: options.activation ?? 'relu',
    init: options.init ?? 'glorot',
    alpha: options.alpha ?? 1e-4,
    batchSize: options.batchSize ?? Math.min(200, rows),
    lr: options.learningRateInit ?? 1e-3,
    maxIter: options.maxIter ?? 200,
    tol: options.tol ?? 1e-4,
    nIterNoChange: options.nIterNoChange ?? 10,
    earlyStopping: options.earlyStopping ?? false,
    validationFraction: options.validationFraction ?? 0.1,
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.999,
    epsilon: options.epsilon ?? 1e-8,
    shuffle: options.shuffle ?? true,
    seed: options.seed ?? 0,
  };
  const bad = (field: string, why: string) => validationFailed(`${field} ${why}`, { field });
  if (r.task !== 'classification' && r.task !== 'regression')
    throw bad('task', 'must be classification or regression');
  if (r.activation !== 'relu' && r.activation !== 'tanh') throw bad('activation', 'must be relu or tanh');
  if (r.init !== 'glorot' && r.init !== 'he') throw bad('init', 'must be glorot or he');
  if (!Array.isArray(r.hidden) || r.hidden.some((h) => !Number.isInteger(h) || h < 1))
    throw bad('hiddenLayerSizes', 'must be positive integers');
  if (!(r.alpha >= 0 && Number.isFinite(r.alpha))) throw bad('alpha', 'must be a finite number ≥ 0');
  if (!(Number.isInteger(r.batchSize) && r.batchSize >= 1)) throw bad('batchSize', 'must be an integer ≥ 1');
  if (!(r.lr > 0 && Number.isFinite(r.lr))) throw bad('learningRateInit', 'must be > 0');
  if (!(Number.isInteger(r.maxIter) && r.maxIter >= 1)) throw bad('maxIter', 'must be an integer ≥ 1');
  if (!(r.tol >= 0 && Number.isFinite(r.tol))) throw bad('tol', 'must be a finite number ≥ 0');
  if (!(Number.isInteger(r.nIterNoChange) && r.nIterNoChange >= 1))
    throw bad('nIterNoChange', 'must be an integer ≥ 1');
  if (!(r.validationFraction > 0 && r.validationFraction < 1))
    throw bad('validationFraction', 'must be in (0, 1)');
  if (!(r.beta1 >= 0 && r.beta1 < 1 && r.beta2 >= 0 && r.beta2 < 1))
    throw bad('beta1', 'and beta2 must be in [0, 1)');
  if (!(r.epsilon > 0)) throw bad('epsilon', 'must be > 0');
  if (!Number.isSafeInteger(r.seed)) throw bad('seed', 'must be a safe integer');
  return r;
}

/** Rows of each class, in a seeded order, with `fraction` of every class (at least one) held out. */
function stratifiedHoldout(labels: Int32Array | null, n: number, fraction: number, rng: Rng): Uint8Array {
  const held = new Uint8Array(n);
  const order = rng.permutation(n);
  if (!labels) {
    const count = Math.max(1, Math.round(n * fraction));
    for (let i = 0; i < count; i++) held[order[i] as number] = 1;
    return held;
  }
  const byClass = new Map<number, number[]>();
  for (const i of order) {
    const c = labels[i] as number;
    const list = byClass.get(c);
    if (list) list.push(i);
    else byClass.set(c, [i]);
  }
  for (const list of byClass.values()) {
    const count = Math.min(list.length - 1, Math.max(1, Math.round(list.length * fraction)));
    for (let i = 0; i < count; i++) held[list[i] as number] = 1;
  }
  return held;
}

/**
 * Parameters of every layer live in one Float64Array (weights then bias, layer after layer), so
 * Adam's update and the best-epoch snapshot are single loops over one buffer.
 */
interface Net {
  readonly sizes: readonly number[];
  readonly wOff: readonly number[];
  readonly bOff: readonly number[];
  readonly params: Float64Array;
  /** Weight entries only (the penalised ones) are flagged. */
  readonly isWeight: Uint8Array;
}

const plainKernels: DenseKernels = {
  forward: denseForward,
  weightGrad: denseWeightGrad,
  inputGrad(d, w, wo, rows, nin, nout, prev, a, relu) {
    denseInputGrad(d, w, wo, rows, nin, nout, prev);
    if (relu) for (let i = 0; i < rows * nin; i++) if ((a[i] as number) <= 0) prev[i] = 0;
  },
};

/** Parameter count of a net with these layer sizes. */
function paramCount(sizes: readonly number[]): number {
  let total = 0;
  for (let l = 0; l + 1 < sizes.length; l++) total += ((sizes[l] as number) + 1) * (sizes[l + 1] as number);
  return total;
}

/** Doubles a Scratch of `rows` rows takes (with the arena's rounding). */
function scratchSize(sizes: readonly number[], rows: number): number {
  return sizes.reduce((t, s) => t + 2 * (rows * s + 1), 0);
}

function buildNet(
  sizes: readonly number[],
  activation: HiddenActivation,
  init: MlpInit,
  rng: Rng,
  arena: Arena,
): Net {
  const wOff: number[] = [];
  const bOff: number[] = [];
  let total = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    wOff.push(total);
    total += (sizes[l] as number) * (sizes[l + 1] as number);
    bOff.push(total);
    total += sizes[l + 1] as number;
  }
  const params = arena.alloc(total);
  const isWeight = new Uint8Array(total);
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l] as number;
    const fanOut = sizes[l + 1] as number;
    const last = l + 2 === sizes.length;
    // glorot: sklearn's init, U(±√(6 / (fan_in + fan_out))) for weights and biases alike.
    // he: U(±√(6 / fan_in)) into relu units, which keeps the activations' variance through deep
    // relu stacks; biases at zero.
    const he = init === 'he' && !last && activation === 'relu';
    const bound = he ? Math.sqrt(6 / fanIn) : Math.sqrt(6 / (fanIn + fanOut));
    const start = wOff[l] as number;
    for (let i = 0; i < fanIn * fanOut; i++) {
      params[start + i] = (2 * rng.next() - 1) * bound;
      isWeight[start + i] = 1;
    }
    if (!he) {
      const bstart = bOff[l] as number;
      for (let i = 0; i < fanOut; i++) params[bstart + i] = (2 * rng.next() - 1) * bound;
    }
  }
  return { sizes, wOff, bOff, params, isWeight };
}

/** Scratch buffers for one batch of up to `rows` rows. */
interface Scratch {
  /** acts[l]: rows × sizes[l]; acts[0] is the gathered input batch. */
  readonly acts: Float64Array[];
  /** deltas[l]: rows × sizes[l], for l ≥ 1. */
  readonly deltas: Float64Array[];
}

function scratch(sizes: readonly number[], rows: number, arena: Arena): Scratch {
  return {
    acts: sizes.map((s) => arena.alloc(rows * s)),
    deltas: sizes.map((s) => arena.alloc(rows * s)),
  };
}

/** Forward pass over `rows` rows already in acts[0]; the head is left as raw logits. */
function forward(net: Net, s: Scratch, rows: number, activation: HiddenActivation, k: DenseKernels): void {
  const { sizes, params } = net;
  const layers = sizes.length - 1;
  for (let l = 0; l < layers; l++) {
    const nout = sizes[l + 1] as number;
    const out = s.acts[l + 1] as Float64Array;
    const hidden = l + 1 < layers;
    k.forward(
      s.acts[l] as Float64Array,
      rows,
      sizes[l] as number,
      params,
      net.wOff[l] as number,
      net.bOff[l] as number,
      out,
      nout,
      hidden && activation === 'relu',
    );
    if (hidden && activation === 'tanh') {
      const m = rows * nout;
      for (let i = 0; i < m; i++) out[i] = Math.tanh(out[i] as number);
    }
  }
}

/** Turns the head's logits (in place) into probabilities or values. */
function applyHead(head: MlpHead, out: Float64Array, rows: number, width: number): void {
  if (head === 'identity') return;
  if (head === 'sigmoid') {
    for (let r = 0; r < rows; r++) {
      const z = out[r] as number;
      out[r] = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    let m = -Infinity;
    for (let k = 0; k < width; k++) m = Math.max(m, out[o + k] as number);
    let sum = 0;
    for (let k = 0; k < width; k++) {
      const e = Math.exp((out[o + k] as number) - m);
      out[o + k] = e;
      sum += e;
    }
    for (let k = 0; k < width; k++) out[o + k] = (out[o + k] as number) / sum;
  }
}

/**
 * Loss of one batch (without the penalty) from the head's logits, writing dLoss/dlogit·B (the
 * un-averaged output delta) into `delta`. Computed from logits, not clipped probabilities, so
 * the loss stays exact for confident rows.
 */
function headLossAndDelta(
  head: MlpHead,
  logits: Float64Array,
  delta: Float64Array,
  targets: Float64Array,
  idx: Int32Array,
  start: number,
  rows: number,
  width: number,
): number {
  let loss = 0;
  if (head === 'sigmoid') {
    for (let r = 0; r < rows; r++) {
      const z = logits[r] as number;
      const t = targets[idx[start + r] as number] as number;
      let p: number;
      if (z > 0) {
        const e = Math.exp(-z);
        loss += z + Math.log1p(e) - t * z;
        p = 1 / (1 + e);
      } else {
        const e = Math.exp(z);
        loss += Math.log1p(e) - t * z;
        p = e / (1 + e);
      }
      delta[r] = p - t;
    }
  } else if (head === 'softmax') {
    for (let r = 0; r < rows; r++) {
      const o = r * width;
      const t = targets[idx[start + r] as number] as number;
      let m = -Infinity;
      for (let k = 0; k < width; k++) m = Math.max(m, logits[o + k] as number);
      let sum = 0;
      for (let k = 0; k < width; k++) {
        const e = Math.exp((logits[o + k] as number) - m);
        delta[o + k] = e;
        sum += e;
      }
      loss += Math.log(sum) + m - (logits[o + t] as number);
      for (let k = 0; k < width; k++) delta[o + k] = (delta[o + k] as number) / sum - (k === t ? 1 : 0);
    }
  } else {
    for (let r = 0; r < rows; r++) {
      const e = (logits[r] as number) - (targets[idx[start + r] as number] as number);
      loss += 0.5 * e * e;
      delta[r] = e;
    }
  }
  return loss / rows;
}

/** Backward pass: the batch's summed weight and bias gradients into `grad`. */
function backward(
  net: Net,
  s: Scratch,
  grad: Float64Array,
  rows: number,
  activation: HiddenActivation,
  k: DenseKernels,
): void {
  const { sizes, params } = net;
  grad.fill(0);
  for (let l = sizes.length - 2; l >= 0; l--) {
    const nin = sizes[l] as number;
    const nout = sizes[l + 1] as number;
    const a = s.acts[l] as Float64Array;
    const d = s.deltas[l + 1] as Float64Array;
    const wo = net.wOff[l] as number;
    k.weightGrad(d, a, rows, nin, nout, grad, wo, net.bOff[l] as number);
    if (l === 0) break;
    const prev = s.deltas[l] as Float64Array;
    k.inputGrad(d, params, wo, rows, nin, nout, prev, a, activation === 'relu');
    const n = rows * nin;
    if (activation === 'tanh') {
      for (let i = 0; i < n; i++) {
        const v = a[i] as number;
        prev[i] = (prev[i] as number) * (1 - v * v);
      }
    }
  }
}

function validationScore(
  task: MlpTask,
  head: MlpHead,
  out: Float64Array,
  targets: Float64Array,
  idx: Int32Array,
  start: number,
  rows: number,
  width: number,
  acc: { correct: number; sse: number },
): void {
  for (let r = 0; r < rows; r++) {
    const t = targets[idx[start + r] as number] as number;
    if (task === 'regression') {
      const e = (out[r] as number) - t;
      acc.sse += e * e;
    } else if (head === 'sigmoid') {
      // logit > 0 ⇔ p > ½, sklearn's threshold (a tie predicts class 0).
      if (((out[r] as number) > 0 ? 1 : 0) === t) acc.correct++;
    } else {
      let best = 0;
      for (let k = 1; k < width; k++)
        if ((out[r * width + k] as number) > (out[r * width + best] as number)) best = k;
      if (best === t) acc.correct++;
    }
  }
}

export function trainMlp(x: Matrix | DenseMatrix, y: ArrayLike<number>, options: MlpOptions = {}): MlpModel {
  const design = checkDense(x, y);
  const n = design.rows;
  const f = design.cols;
  const o = resolve(options, n);
  const targets = Float64Array.from({ length: n }, (_, i) => y[i] as number);
  let classes = 0;
  let labels: Int32Array | null = null;
  if (o.task === 'classification') {
    let max = 0;
    for (let i = 0; i < n; i++) {
      const v = targets[i] as number;
      if (!Number.isInteger(v) || v < 0)
        throw validationFailed(`target ${i} must be a class index (an integer ≥ 0)`, { field: 'y', row: i });
      if (v > max) max = v;
    }
    classes = options.classes ?? max + 1;
    if (!Number.isInteger(classes) || classes < 2)
      throw validationFailed('classification needs at least 2 classes', { field: 'classes' });
    if (max >= classes)
      throw validationFailed(`targets must be class indices in 0..${classes - 1}`, { field: 'y' });
    labels = Int32Array.from(targets);
  }
  const head: MlpHead = o.task === 'regression' ? 'identity' : classes === 2 ? 'sigmoid' : 'softmax';
  const width = head === 'softmax' ? classes : 1;
  const sizes = [f, ...o.hidden, width];
  const rng = createRng(o.seed);
  // Parameters, gradient, Adam's moments and the batch scratch share one arena, where the
  // kernels run as wasm SIMD.
  const nParams = paramCount(sizes);
  const arena = createArena(4 * (nParams + 1) + scratchSize(sizes, Math.min(o.batchSize, n)), plainKernels);
  const kernels = arena.kernels;
  const net = buildNet(sizes, o.activation, o.init, rng, arena);

  let trainIdx: Int32Array;
  let validIdx: Int32Array | null = null;
  if (o.earlyStopping) {
    if (n < 3) throw validationFailed('early stopping needs at least 3 rows', { field: 'earlyStopping' });
    const held = stratifiedHoldout(labels, n, o.validationFraction, rng);
    const tr: number[] = [];
    const va: number[] = [];
    for (let i = 0; i < n; i++) (held[i] ? va : tr).push(i);
    trainIdx = Int32Array.from(tr);
    validIdx = Int32Array.from(va);
  } else {
    trainIdx = Int32Array.from({ length: n }, (_, i) => i);
  }
  const nTrain = trainIdx.length;
  const batch = Math.min(o.batchSize, nTrain);
  const s = scratch(sizes, batch, arena);
  const grad = arena.alloc(nParams);
  const m1 = arena.alloc(nParams);
  const m2 = arena.alloc(nParams);
  const data = design.data;
  const input = s.acts[0] as Float64Array;
  const logits = s.acts[sizes.length - 1] as Float64Array;
  const outDelta = s.deltas[sizes.length - 1] as Float64Array;
  const { params, isWeight } = net;
  const p = params.length;

  const gather = (idx: Int32Array, start: number, rows: number) => {
    for (let r = 0, dst = 0; r < rows; r++) {
      const src = (idx[start + r] as number) * f;
      for (let k = 0; k < f; k++) input[dst++] = data[src + k] as number;
    }
  };

  // Locals rather than option reads inside the per-parameter loop, which runs once per batch.
  const { lr, beta1, beta2, alpha } = o;
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  const eps = o.epsilon;
  const lossCurve: number[] = [];
  const validationScores: number[] = [];
  let best = Infinity; // best training loss, or −best validation score
  let bestParams: Float64Array | null = null;
  let noImprove = 0;
  let converged = false;
  let step = 0;
  let epoch = 0;
  const yMean = validIdx && o.task === 'regression' ? meanOf(targets, validIdx) : 0;
  while (epoch < o.maxIter) {
    epoch++;
    if (o.shuffle) shuffleInPlace(trainIdx, rng);
    let epochLoss = 0;
    for (let start = 0; start < nTrain; start += batch) {
      const rows = Math.min(batch, nTrain - start);
      gather(trainIdx, start, rows);
      forward(net, s, rows, o.activation, kernels);
      let loss = headLossAndDelta(head, logits, outDelta, targets, trainIdx, start, rows, width);
      backward(net, s, grad, rows, o.activation, kernels);
      // Adam with sklearn's bias correction folded into the step size; the gradient is the
      // batch mean of the data term plus alpha·W / B (sklearn's scaling of the penalty).
      step++;
      const lrT = (lr * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
      const inv = 1 / rows;
      const pen = alpha * inv;
      let sq = 0;
      for (let i = 0; i < p; i++) {
        const w = params[i] as number;
        let g = (grad[i] as number) * inv;
        if (isWeight[i] === 1) {
          sq += w * w;
          g += pen * w;
        }
        const a = beta1 * (m1[i] as number) + c1 * g;
        const b = beta2 * (m2[i] as number) + c2 * g * g;
        m1[i] = a;
        m2[i] = b;
        params[i] = w - (lrT * a) / (Math.sqrt(b) + eps);
      }
      loss += 0.5 * pen * sq;
      epochLoss += loss * rows;
    }
    epochLoss /= nTrain;
    lossCurve.push(epochLoss);
    if (!Number.isFinite(epochLoss)) {
      throw validationFailed('training diverged (the loss is not finite); lower learningRateInit', {
        field: 'learningRateInit',
      });
    }
    let current: number;
    if (validIdx) {
      const acc = { correct: 0, sse: 0 };
      for (let start = 0; start < validIdx.length; start += batch) {
        const rows = Math.min(batch, validIdx.length - start);
        gather(validIdx, start, rows);
        forward(net, s, rows, o.activation, kernels);
        validationScore(o.task, head, logits, targets, validIdx, start, rows, width, acc);
      }
      let score: number;
      if (o.task === 'regression') {
        let ssTot = 0;
        for (const i of validIdx) ssTot += ((targets[i] as number) - yMean) ** 2;
        score = ssTot === 0 ? (acc.sse === 0 ? 1 : 0) : 1 - acc.sse / ssTot;
      } else score = acc.correct / validIdx.length;
      validationScores.push(score);
      current = -score;
      if (current > best - o.tol) noImprove++;
      else noImprove = 0;
      if (current < best) {
        best = current;
        bestParams = params.slice();
      }
    } else {
      current = epochLoss;
      if (current > best - o.tol) noImprove++;
      else noImprove = 0;
      if (current < best) best = current;
    }
    if (noImprove > o.nIterNoChange) {
      converged = true;
      break;
    }
  }
  if (bestParams) params.set(bestParams);
  const layers: MlpLayer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const nin = sizes[l] as number;
    const nout = sizes[l + 1] as number;
    const wo = net.wOff[l] as number;
    const bo = net.bOff[l] as number;
    layers.push({
      inputs: nin,
      outputs: nout,
      weights: params.slice(wo, wo + nin * nout),
      bias: params.slice(bo, bo + nout),
    });
  }
  return {
    task: o.task,
    activation: o.activation,
    head,
    classes,
    features: f,
    layers,
    lossCurve,
    validationScores,
    bestValidationScore: validIdx ? -best : null,
    epochs: epoch,
    converged,
  };
}

function meanOf(values: Float64Array, idx: Int32Array): number {
  let s = 0;
  for (const i of idx) s += values[i] as number;
  return s / idx.length;
}

function shuffleInPlace(a: Int32Array, rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
}

function netOf(model: MlpModel, arena: Arena): Net {
  const sizes = [model.features, ...model.layers.map((l) => l.outputs)];
  const wOff: number[] = [];
  const bOff: number[] = [];
  let total = 0;
  for (const l of model.layers) {
    wOff.push(total);
    total += l.weights.length;
    bOff.push(total);
    total += l.bias.length;
  }
  const params = arena.alloc(total);
  model.layers.forEach((l, i) => {
    params.set(l.weights, wOff[i] as number);
    params.set(l.bias, bOff[i] as number);
  });
  return { sizes, wOff, bOff, params, isWeight: new Uint8Array(0) };
}

/**
 * The head's output per row, row-major: P(class 1) for a sigmoid head (one column), class
 * probabilities for softmax (K columns), the value for regression (one column).
 */
export function mlpOutputs(model: MlpModel, x: Matrix | DenseMatrix): Float64Array {
  const d = toDense(x);
  if (d.rows > 0 && d.cols !== model.features)
    throw validationFailed(`rows have ${d.cols} features, the model takes ${model.features}`, { field: 'x' });
  const sizes = [model.features, ...model.layers.map((l) => l.outputs)];
  const chunk = 256;
  const arena = createArena(paramCount(sizes) + 1 + scratchSize(sizes, chunk), plainKernels);
  const net = netOf(model, arena);
  const width = (net.sizes[net.sizes.length - 1] as number) | 0;
  const s = scratch(net.sizes, chunk, arena);
  const result = new Float64Array(d.rows * width);
  const input = s.acts[0] as Float64Array;
  const out = s.acts[net.sizes.length - 1] as Float64Array;
  for (let start = 0; start < d.rows; start += chunk) {
    const rows = Math.min(chunk, d.rows - start);
    input.set(d.data.subarray(start * d.cols, (start + rows) * d.cols));
    forward(net, s, rows, model.activation, arena.kernels);
    applyHead(model.head, out, rows, width);
    result.set(out.subarray(0, rows * width), start * width);
  }
  return result;
}

/** Class probabilities per row (K columns, a sigmoid head's P(1) expanded to [1 − p, p]). */
export function predictMlpProba(model: MlpModel, x: Matrix | DenseMatrix): number[][] {
  if (model.task !== 'classification')
    throw validationFailed('a regression MLP has no class probabilities', { field: 'task' });
  const out = mlpOutputs(model, x);
  if (model.head === 'sigmoid') return Array.from(out, (p) => [1 - p, p]);
  const k = model.classes;
  return Array.from({ length: out.length / k }, (_, r) => Array.from(out.subarray(r * k, r * k + k)));
}

/** Predicted class index per row (ties to the lower index), or the predicted value. */
export function predictMlp(model: MlpModel, x: Matrix | DenseMatrix): number[] {
  const out = mlpOutputs(model, x);
  if (model.task === 'regression') return Array.from(out);
  if (model.head === 'sigmoid') return Array.from(out, (p) => (p > 0.5 ? 1 : 0));
  const k = model.classes;
  return Array.from({ length: out.length / k }, (_, r) => {
    let best = 0;
    for (let c = 1; c < k; c++) if ((out[r * k + c] as number) > (out[r * k + best] as number)) best = c;
    return best;
  });
}

/** The model as mlpOnnx's layers ([out][in] weights, the head's activation last). */
/**
 * The same network taking raw features, for one trained on `scaling`'s standardised features: the
 * scaling folded into the first layer (w' = w / scale, b' = b − Σ w·mean / scale), so predictions and
 * the ONNX graph need no preprocessing step and answer exactly what the trained network would.
 */
export function withInputScaling(model: MlpModel, scaling: Standardizer): MlpModel {
  const [first, ...rest] = model.layers;
  if (!first) return model;
  const weights = new Float64Array(first.weights.length);
  const bias = Float64Array.from(first.bias);
  for (let j = 0; j < first.outputs; j++) {
    for (let i = 0; i < first.inputs; i++) {
      const w = first.weights[j * first.inputs + i]! / scaling.scale[i]!;
      weights[j * first.inputs + i] = w;
      bias[j]! -= w * scaling.mean[i]!;
    }
  }
  return { ...model, layers: [{ ...first, weights, bias }, ...rest] };
}

/**
 * The same regressor answering in the target's own units, for one trained on the standardised
 * target (y − mean) / scale: folded into the identity output (w' = w·scale, b' = b·scale + mean).
 */
export function withOutputScaling(model: MlpModel, target: TargetScaling): MlpModel {
  if (model.head !== 'identity') throw new Error('only a regressor (identity output) has a target scale');
  const last = model.layers[model.layers.length - 1]!;
  const weights = last.weights.map((w) => w * target.scale);
  const bias = last.bias.map((b) => b * target.scale + target.mean);
  return { ...model, layers: [...model.layers.slice(0, -1), { ...last, weights, bias }] };
}

export function mlpOnnxLayers(model: MlpModel): DenseLayer[] {
  return model.layers.map((l, i) => {
    const last = i === model.layers.length - 1;
    return {
      weights: Array.from({ length: l.outputs }, (_, j) =>
        Array.from(l.weights.subarray(j * l.inputs, (j + 1) * l.inputs)),
      ),
      bias: Array.from(l.bias),
      activation: last ? model.head : model.activation,
    };
  });
}

export interface MlpGradient {
  /** The training objective on these rows as one batch: mean loss + (alpha / 2n)‖W‖². */
  readonly loss: number;
  /** Per layer, shaped like the model's. */
  readonly layers: readonly { readonly weights: Float64Array; readonly bias: Float64Array }[];
}

/**
 * The objective and its gradient with all rows as one batch, by the trainer's own forward and
 * backward passes: what the tests check against finite differences.
 */
export function mlpLossAndGradient(
  model: MlpModel,
  x: Matrix | DenseMatrix,
  y: ArrayLike<number>,
  alpha = 1e-4,
): MlpGradient {
  const d = checkDense(x, y);
  const rows = d.rows;
  const sizes = [model.features, ...model.layers.map((l) => l.outputs)];
  const arena = createArena(2 * (paramCount(sizes) + 1) + scratchSize(sizes, rows), plainKernels);
  const net = netOf(model, arena);
  const s = scratch(net.sizes, rows, arena);
  (s.acts[0] as Float64Array).set(d.data);
  forward(net, s, rows, model.activation, arena.kernels);
  const last = net.sizes.length - 1;
  const width = net.sizes[last] as number;
  const targets = Float64Array.from({ length: rows }, (_, i) => y[i] as number);
  const idx = Int32Array.from({ length: rows }, (_, i) => i);
  let loss = headLossAndDelta(
    model.head,
    s.acts[last] as Float64Array,
    s.deltas[last] as Float64Array,
    targets,
    idx,
    0,
    rows,
    width,
  );
  const grad = arena.alloc(net.params.length);
  backward(net, s, grad, rows, model.activation, arena.kernels);
  let sq = 0;
  const layers = model.layers.map((l, i) => {
    const wo = net.wOff[i] as number;
    const bo = net.bOff[i] as number;
    const weights = new Float64Array(l.weights.length);
    for (let k = 0; k < weights.length; k++) {
      const w = net.params[wo + k] as number;
      sq += w * w;
      weights[k] = ((grad[wo + k] as number) + alpha * w) / rows;
    }
    const bias = Float64Array.from({ length: l.bias.length }, (_, k) => (grad[bo + k] as number) / rows);
    return { weights, bias };
  });
  loss += (0.5 * alpha * sq) / rows;
  return { loss, layers };
}
