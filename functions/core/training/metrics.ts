/**
 * Evaluation metrics with scikit-learn's definitions, so numbers reported by Serval agree with
 * what a data scientist computes in a notebook: undefined ratios (no predicted or no actual
 * positives) count as 0, macro averages run over the classes that occur in either the truth or
 * the predictions, log-loss clips probabilities to [1e-15, 1 − 1e-15], and R² of a constant
 * target is 1 for a perfect fit and 0 otherwise.
 */

export interface ClassMetrics {
  /** Index into the model's classes. */
  readonly class: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Rows whose true class is this one. */
  readonly support: number;
}

export interface ClassificationMetrics {
  readonly rows: number;
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** `binary`: precision/recall/F1 of the positive class; `macro`: unweighted mean over classes. */
  readonly average: 'binary' | 'macro';
  /** Index of the positive class when `average` is `binary`, else null. */
  readonly positiveClass: number | null;
  readonly perClass: readonly ClassMetrics[];
  /** confusion[actual][predicted] = count. */
  readonly confusion: readonly (readonly number[])[];
  /** Present when probabilities were given. */
  readonly logLoss: number | null;
  /** ROC AUC of the positive class; binary with both classes present and probabilities only. */
  readonly auc: number | null;
}

export interface ClassificationInput {
  /** True class indices. */
  readonly actual: readonly number[];
  /** Predicted class indices. */
  readonly predicted: readonly number[];
  /** Number of classes K. */
  readonly classes: number;
  /** Positive class index for K = 2 (default 1). */
  readonly positive?: number;
  /** Rows of K class probabilities, for log-loss and AUC. */
  readonly probabilities?: readonly (readonly number[])[];
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

export function classificationMetrics(input: ClassificationInput): ClassificationMetrics {
  const { actual, predicted, classes: k } = input;
  const n = actual.length;
  if (predicted.length !== n) throw new RangeError('actual and predicted differ in length');
  if (n === 0) throw new RangeError('metrics need at least one row');
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const a = actual[i] as number;
    const p = predicted[i] as number;
    if (!(a >= 0 && a < k && p >= 0 && p < k)) throw new RangeError(`row ${i}: class index out of range`);
    (confusion[a] as number[])[p] = ((confusion[a] as number[])[p] as number) + 1;
    if (a === p) correct++;
  }
  const perClass: ClassMetrics[] = [];
  for (let c = 0; c < k; c++) {
    const tp = (confusion[c] as number[])[c] as number;
    const support = (confusion[c] as number[]).reduce((s, v) => s + v, 0);
    const predictedCount = confusion.reduce((s, row) => s + (row[c] as number), 0);
    const precision = ratio(tp, predictedCount);
    const recall = ratio(tp, support);
    perClass.push({
      class: c,
      precision,
      recall,
      f1: ratio(2 * precision * recall, precision + recall),
      support,
    });
  }
  let precision: number;
  let recall: number;
  let f1: number;
  let positiveClass: number | null = null;
  if (k === 2) {
    positiveClass = input.positive ?? 1;
    const pc = perClass[positiveClass];
    if (!pc) throw new RangeError('positive class index out of range');
    ({ precision, recall, f1 } = pc);
  } else {
    const present = perClass.filter(
      (c) => c.support > 0 || confusion.some((row) => (row[c.class] as number) > 0),
    );
    precision = present.reduce((s, c) => s + c.precision, 0) / present.length;
    recall = present.reduce((s, c) => s + c.recall, 0) / present.length;
    f1 = present.reduce((s, c) => s + c.f1, 0) / present.length;
  }
  let logLoss: number | null = null;
  let auc: number | null = null;
  if (input.probabilities) {
    const probs = input.probabilities;
    if (probs.length !== n) throw new RangeError('probabilities and actual differ in length');
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const p = (probs[i] as readonly number[])[actual[i] as number] as number;
      sum -= Math.log(Math.min(1 - 1e-15, Math.max(1e-15, p)));
    }
    logLoss = sum / n;
    if (positiveClass !== null) {
      auc = rocAuc(
        actual.map((a) => a === positiveClass),
        probs.map((row) => row[positiveClass as number] as number),
      );
    }
  }
  return {
    rows: n,
    accuracy: correct / n,
    precision,
    recall,
    f1,
    average: k === 2 ? 'binary' : 'macro',
    positiveClass,
    perClass,
    confusion,
    logLoss,
    auc,
  };
}

/**
 * Area under the ROC curve as the Mann–Whitney statistic: the chance a random positive scores
 * above a random negative, ties counting one half. Null when either class is absent.
 */
export function rocAuc(positive: readonly boolean[], score: readonly number[]): number | null {
  const order = score.map((s, i) => ({ s, pos: positive[i] === true })).sort((a, b) => a.s - b.s);
  let nPos = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && (order[j] as { s: number }).s === (order[i] as { s: number }).s) j++;
    const midRank = (i + 1 + j) / 2; // ranks are 1-based; ties share their mean rank
    for (let t = i; t < j; t++) {
      if ((order[t] as { pos: boolean }).pos) {
        nPos++;
        rankSum += midRank;
      }
    }
    i = j;
  }
  const nNeg = order.length - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export interface RegressionMetrics {
  readonly rows: number;
  readonly rmse: number;
  readonly mae: number;
  readonly r2: number;
}

export function regressionMetrics(
  actual: readonly number[],
  predicted: readonly number[],
): RegressionMetrics {
  const n = actual.length;
  if (predicted.length !== n) throw new RangeError('actual and predicted differ in length');
  if (n === 0) throw new RangeError('metrics need at least one row');
  const mean = actual.reduce((a, b) => a + b, 0) / n;
  let ssRes = 0;
  let ssTot = 0;
  let abs = 0;
  for (let i = 0; i < n; i++) {
    const e = (actual[i] as number) - (predicted[i] as number);
    ssRes += e * e;
    abs += Math.abs(e);
    ssTot += ((actual[i] as number) - mean) ** 2;
  }
  const r2 = ssTot === 0 ? (ssRes === 0 ? 1 : 0) : 1 - ssRes / ssTot;
  return { rows: n, rmse: Math.sqrt(ssRes / n), mae: abs / n, r2 };
}
