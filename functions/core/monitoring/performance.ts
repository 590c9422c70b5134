/**
 * Model performance from ground truth: the metrics of served predictions joined with their
 * labels. Definitions are scikit-learn's (checked against it in test/unit/monitoring/
 * performance.test.ts with fixtures it computed), with these conventions stated once:
 *
 * - Labels: the classes seen among the actual and predicted labels (sklearn's labels=None),
 *   ordered as the output schema lists them, unknown ones after, sorted.
 * - Zero division: a precision, recall or F1 whose denominator is 0 is 0 (sklearn's
 *   zero_division default, without its warning).
 * - Macro: the unweighted mean over the labels; weighted: weighted by support (true count).
 * - ROC AUC: binary from the positive class's probability, ties counted half (the Mann–Whitney
 *   statistic, as sklearn's trapezoidal curve gives); multiclass: one-vs-rest, macro average.
 *   null when a class needed has no positive or no negative example.
 * - Log loss: probabilities clipped to [ε, 1 − ε] (ε = 2⁻⁵², float64 machine epsilon) and each
 *   row renormalised to sum 1, natural logarithm, mean over rows.
 * - R²: 1 − SS_res/SS_tot; when SS_tot = 0 it is 1 for a perfect fit, else 0 (force_finite).
 * - MAPE: mean |y − ŷ| / max(|y|, ε), a fraction (not a percentage), as sklearn returns it.
 */

const EPS = 2.220446049250313e-16;

export interface LabelledClass {
  readonly predicted: string;
  readonly actual: string;
  /** Class probabilities in the order of `classes` (when the model gives them). */
  readonly probabilities?: readonly number[];
}

export interface ClassMetrics {
  readonly label: string;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Number of rows whose actual label is this one. */
  readonly support: number;
}

export interface Averages {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export interface ClassificationMetrics {
  readonly n: number;
  readonly accuracy: number;
  readonly perClass: ClassMetrics[];
  readonly macro: Averages;
  readonly weighted: Averages;
  /** Binary: the positive class's AUC; multiclass: one-vs-rest macro. null without probabilities. */
  readonly rocAuc: number | null;
  readonly logLoss: number | null;
  /** labels[i] × labels[j]: rows with actual labels[i] predicted as labels[j]. */
  readonly confusion: { readonly labels: string[]; readonly matrix: number[][] };
}

export interface RegressionMetrics {
  readonly n: number;
  readonly mae: number;
  readonly rmse: number;
  readonly r2: number;
  readonly mape: number;
}

/** Labels in schema order, then any others (sorted). */
function labelsOf(rows: readonly LabelledClass[], classes: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) {
    seen.add(r.actual);
    seen.add(r.predicted);
  }
  const known = classes.filter((c) => seen.has(c));
  const others = [...seen].filter((c) => !classes.includes(c)).sort();
  return [...known, ...others];
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : 0);

/**
 * Metrics of labelled classification rows. `classes` is the output schema's class list (the
 * order of each row's probabilities); `positive` the positive class of a binary model (default:
 * the second class, as the probabilities' second column is).
 */
export function classificationMetrics(
  rows: readonly LabelledClass[],
  classes: readonly string[],
  options: { readonly positive?: string } = {},
): ClassificationMetrics | null {
  const n = rows.length;
  if (n === 0) return null;
  const labels = labelsOf(rows, classes);
  const index = new Map(labels.map((l, i) => [l, i]));
  const matrix = labels.map(() => labels.map(() => 0));
  let correct = 0;
  for (const r of rows) {
    matrix[index.get(r.actual)!]![index.get(r.predicted)!]!++;
    if (r.actual === r.predicted) correct++;
  }
  const perClass: ClassMetrics[] = labels.map((label, i) => {
    const tp = matrix[i]![i]!;
    const support = matrix[i]!.reduce((s, c) => s + c, 0);
    const predicted = matrix.reduce((s, row) => s + row[i]!, 0);
    return {
      label,
      precision: ratio(tp, predicted),
      recall: ratio(tp, support),
      f1: ratio(2 * tp, predicted + support),
      support,
    };
  });
  const avg = (weight: (m: ClassMetrics) => number): Averages => {
    const total = perClass.reduce((s, m) => s + weight(m), 0);
    const mean = (f: (m: ClassMetrics) => number) =>
      total > 0 ? perClass.reduce((s, m) => s + weight(m) * f(m), 0) / total : 0;
    return { precision: mean((m) => m.precision), recall: mean((m) => m.recall), f1: mean((m) => m.f1) };
  };
  const withProbabilities = rows.every((r) => r.probabilities && r.probabilities.length === classes.length);
  return {
    n,
    accuracy: correct / n,
    perClass,
    macro: avg(() => 1),
    weighted: avg((m) => m.support),
    rocAuc: withProbabilities ? rocAuc(rows, classes, options.positive) : null,
    logLoss: withProbabilities ? logLoss(rows, classes) : null,
    confusion: { labels, matrix },
  };
}

/**
 * Area under the ROC curve of scores for a binary outcome: the probability that a random
 * positive scores above a random negative, ties counting half (average ranks). null without
 * both positives and negatives.
 */
export function binaryAuc(scores: readonly number[], positive: readonly boolean[]): number | null {
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let nPos = 0;
  for (const p of positive) if (p) nPos++;
  const nNeg = positive.length - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  // Sum of the positives' ranks, tied scores sharing their average rank.
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const rank = (i + j + 2) / 2; // ranks are 1-based
    for (let k = i; k <= j; k++) if (positive[order[k]!]) rankSum += rank;
    i = j + 1;
  }
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

function rocAuc(
  rows: readonly LabelledClass[],
  classes: readonly string[],
  positive?: string,
): number | null {
  if (classes.length === 2) {
    const pos = positive ?? classes[1]!;
    const column = classes.indexOf(pos);
    if (column < 0) return null;
    return binaryAuc(
      rows.map((r) => r.probabilities![column]!),
      rows.map((r) => r.actual === pos),
    );
  }
  // One-vs-rest over the classes present among the actual labels, as sklearn requires them all.
  const aucs: number[] = [];
  for (let c = 0; c < classes.length; c++) {
    const auc = binaryAuc(
      rows.map((r) => r.probabilities![c]!),
      rows.map((r) => r.actual === classes[c]),
    );
    if (auc === null) return null;
    aucs.push(auc);
  }
  return aucs.reduce((s, a) => s + a, 0) / aucs.length;
}

function logLoss(rows: readonly LabelledClass[], classes: readonly string[]): number | null {
  let total = 0;
  for (const r of rows) {
    const column = classes.indexOf(r.actual);
    if (column < 0) return null;
    const clipped = r.probabilities!.map((p) => Math.min(1 - EPS, Math.max(EPS, p)));
    const sum = clipped.reduce((s, p) => s + p, 0);
    total -= Math.log(clipped[column]! / sum);
  }
  return total / rows.length;
}

/** MAE, RMSE, R² and MAPE of labelled regression rows; null when there are none. */
export function regressionMetrics(
  rows: readonly { readonly predicted: number; readonly actual: number }[],
): RegressionMetrics | null {
  const n = rows.length;
  if (n === 0) return null;
  let abs = 0;
  let sq = 0;
  let ape = 0;
  let mean = 0;
  for (const r of rows) {
    const e = r.actual - r.predicted;
    abs += Math.abs(e);
    sq += e * e;
    ape += Math.abs(e) / Math.max(Math.abs(r.actual), EPS);
    mean += r.actual;
  }
  mean /= n;
  let ssTot = 0;
  for (const r of rows) ssTot += (r.actual - mean) ** 2;
  const r2 = ssTot > 0 ? 1 - sq / ssTot : sq === 0 ? 1 : 0;
  return { n, mae: abs / n, rmse: Math.sqrt(sq / n), r2, mape: ape / n };
}
