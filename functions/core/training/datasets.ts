/**
 * Synthetic datasets for demos and tests, drawn from a known model so a trainer's answer can be
 * judged against the truth. Same options and seed → the same rows, everywhere.
 */
import { createRng } from './random.js';

export interface Dataset {
  readonly featureNames: readonly string[];
  /** rows × features */
  readonly x: readonly (readonly number[])[];
  /** Class index (0..K-1) for classification, the target value for regression. */
  readonly y: readonly number[];
}

export interface ClassificationDataset extends Dataset {
  readonly classes: readonly number[];
  /** The generating model: row k scores class k; labels are drawn from softmax(Wx + b). */
  readonly trueWeights: readonly (readonly number[])[];
  readonly trueBias: readonly number[];
}

export interface RegressionDataset extends Dataset {
  readonly trueWeights: readonly number[];
  readonly trueBias: number;
}

export interface ClassificationOptions {
  readonly rows: number;
  readonly features: number;
  readonly seed: number;
  /** Number of classes (default 2). */
  readonly classes?: number;
  /** Scale of the true weights: larger → classes overlap less (default 2). */
  readonly separation?: number;
}

export interface RegressionOptions {
  readonly rows: number;
  readonly features: number;
  readonly seed: number;
  /** Standard deviation of the Gaussian noise added to the target (default 0.1). */
  readonly noise?: number;
}

const MAX_CELLS = 10_000_000;

function checkShape(rows: number, features: number): void {
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError('rows must be a positive integer');
  if (!Number.isInteger(features) || features < 1)
    throw new RangeError('features must be a positive integer');
  if (rows * features > MAX_CELLS) throw new RangeError(`rows × features must be at most ${MAX_CELLS}`);
}

const names = (f: number): string[] => Array.from({ length: f }, (_, i) => `x${i}`);

/**
 * Features are standard normal; labels are sampled from a softmax model with random weights,
 * using the Gumbel-max trick (argmax of logits plus Gumbel noise is an exact softmax draw).
 */
export function makeClassificationDataset(options: ClassificationOptions): ClassificationDataset {
  const { rows, features, seed } = options;
  const k = options.classes ?? 2;
  const separation = options.separation ?? 2;
  checkShape(rows, features);
  if (!Number.isInteger(k) || k < 2) throw new RangeError('classes must be an integer ≥ 2');
  const rng = createRng(seed);
  const trueWeights = Array.from({ length: k }, () =>
    Array.from({ length: features }, () => separation * rng.normal()),
  );
  const trueBias = Array.from({ length: k }, () => 0.5 * rng.normal());
  const x: number[][] = [];
  const y: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: features }, () => rng.normal());
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < k; c++) {
      const w = trueWeights[c] as number[];
      let score = trueBias[c] as number;
      for (let j = 0; j < features; j++) score += (w[j] as number) * (row[j] as number);
      let u = 0;
      while (u === 0) u = rng.next();
      score -= Math.log(-Math.log(u));
      if (score > bestScore) {
        bestScore = score;
        best = c;
      }
    }
    x.push(row);
    y.push(best);
  }
  return {
    featureNames: names(features),
    x,
    y,
    classes: Array.from({ length: k }, (_, i) => i),
    trueWeights,
    trueBias,
  };
}

/** y = w·x + b + noise·ε with standard normal features, weights and ε. */
export function makeRegressionDataset(options: RegressionOptions): RegressionDataset {
  const { rows, features, seed } = options;
  const noise = options.noise ?? 0.1;
  checkShape(rows, features);
  if (!(noise >= 0)) throw new RangeError('noise must be ≥ 0');
  const rng = createRng(seed);
  const trueWeights = Array.from({ length: features }, () => rng.normal());
  const trueBias = rng.normal();
  const x: number[][] = [];
  const y: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: features }, () => rng.normal());
    let target = trueBias;
    for (let j = 0; j < features; j++) target += (trueWeights[j] as number) * (row[j] as number);
    x.push(row);
    y.push(target + noise * rng.normal());
  }
  return { featureNames: names(features), x, y, trueWeights, trueBias };
}

/** Deterministic shuffle-and-split into train and holdout parts. */
export function splitDataset<T extends Dataset>(
  data: T,
  holdoutFraction: number,
  seed: number,
): { train: Dataset; holdout: Dataset } {
  if (!(holdoutFraction > 0 && holdoutFraction < 1))
    throw new RangeError('holdoutFraction must be in (0, 1)');
  const order = createRng(seed).permutation(data.x.length);
  const cut = data.x.length - Math.max(1, Math.round(data.x.length * holdoutFraction));
  const pick = (idx: number[]): Dataset => ({
    featureNames: data.featureNames,
    x: idx.map((i) => data.x[i] as number[]),
    y: idx.map((i) => data.y[i] as number),
  });
  return { train: pick(order.slice(0, cut)), holdout: pick(order.slice(cut)) };
}
