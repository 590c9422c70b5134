/**
 * Model quality from joined feedback: accuracy/precision/recall/F1 from confusion counts, and
 * MAE/RMSE from error sums.
 */
import { type FeedbackTotals, parseConfusionKey } from './aggregates.js';

export interface ClassMetrics {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Feedback whose actual is this label. */
  readonly support: number;
}

export interface ClassificationMetrics {
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Keyed by the label (numbers as their decimal text; by JSON text if that would collide). */
  readonly perClass: Readonly<Record<string, ClassMetrics>>;
  readonly averaging: 'binary' | 'macro';
  readonly positiveLabel?: string | number;
}

export interface RegressionMetrics {
  readonly mae: number;
  readonly rmse: number;
  /** Mean of predicted − actual: positive when the model over-predicts. */
  readonly meanError: number;
}

export interface ClassificationOptions {
  /**
   * 'binary': precision, recall and F1 are those of the positive label; 'macro': the unweighted
   * means over every label seen in actual ∪ predicted (sklearn's average='macro'). Default:
   * binary when positiveLabel is given or at most two labels were seen, macro otherwise.
   */
  readonly averaging?: 'binary' | 'macro';
  /**
   * The positive class for binary averaging; pass it when known (the second class of the output
   * schema). Default: the label whose JSON text sorts last by code unit (so 1 over 0, "yes" over
   * "no"; string labels sort before numbers, '"' being below the digits).
   */
  readonly positiveLabel?: string | number;
}

/**
 * Accuracy, precision, recall and F1 from confusion counts (actual|predicted → count), or null
 * when there are none. Per label l: precision = tp/(tp+fp), recall = tp/(tp+fn),
 * F1 = 2tp/(2tp+fp+fn) (the harmonic mean of the two), each 0 when its denominator is 0
 * (sklearn's zero_division=0). Accuracy = correct/count.
 */
export function classificationMetrics(
  confusion: Readonly<Record<string, number>>,
  options: ClassificationOptions = {},
): ClassificationMetrics | null {
  const cells = Object.entries(confusion)
    .filter(([, c]) => c > 0)
    .map(([k, c]) => {
      const [actual, predicted] = parseConfusionKey(k);
      return { actual: JSON.stringify(actual), predicted: JSON.stringify(predicted), count: c };
    });
  const n = cells.reduce((s, c) => s + c.count, 0);
  if (n === 0) return null;
  const labels = [...new Set(cells.flatMap((c) => [c.actual, c.predicted]))].sort(byCodeUnit);
  const tp = new Map<string, number>();
  const fp = new Map<string, number>();
  const fn = new Map<string, number>();
  const inc = (m: Map<string, number>, k: string, by: number) => m.set(k, (m.get(k) ?? 0) + by);
  let correct = 0;
  for (const c of cells) {
    if (c.actual === c.predicted) {
      correct += c.count;
      inc(tp, c.actual, c.count);
    } else {
      inc(fp, c.predicted, c.count);
      inc(fn, c.actual, c.count);
    }
  }
  const metricsOf = (label: string): ClassMetrics => {
    const t = tp.get(label) ?? 0;
    const p = fp.get(label) ?? 0;
    const f = fn.get(label) ?? 0;
    return {
      precision: ratio(t, t + p),
      recall: ratio(t, t + f),
      f1: ratio(2 * t, 2 * t + p + f),
      support: t + f,
    };
  };
  const perLabel = new Map(labels.map((l) => [l, metricsOf(l)]));
  const display = labels.map((l) => {
    const v = JSON.parse(l) as string | number;
    return typeof v === 'string' ? v : String(v);
  });
  const useJson = new Set(display).size !== display.length;
  const perClass = Object.fromEntries(
    labels.map((l, i) => [useJson ? l : (display[i] as string), perLabel.get(l) as ClassMetrics]),
  );

  const positiveJson =
    options.positiveLabel !== undefined
      ? JSON.stringify(options.positiveLabel)
      : (labels[labels.length - 1] as string);
  const averaging =
    options.averaging ?? (options.positiveLabel !== undefined || labels.length <= 2 ? 'binary' : 'macro');
  const accuracy = correct / n;
  if (averaging === 'binary') {
    const m = perLabel.get(positiveJson) ?? metricsOf(positiveJson);
    return {
      accuracy,
      precision: m.precision,
      recall: m.recall,
      f1: m.f1,
      perClass,
      averaging,
      positiveLabel: JSON.parse(positiveJson) as string | number,
    };
  }
  const all = [...perLabel.values()];
  const mean = (f: (m: ClassMetrics) => number) => all.reduce((s, m) => s + f(m), 0) / all.length;
  return {
    accuracy,
    precision: mean((m) => m.precision),
    recall: mean((m) => m.recall),
    f1: mean((m) => m.f1),
    perClass,
    averaging,
  };
}

/** MAE, RMSE and mean signed error from the error sums of n numeric feedbacks, or null when n is 0. */
export function regressionMetrics(
  sums: Pick<FeedbackTotals, 'absErrorSum' | 'squaredErrorSum' | 'errorSum'>,
  n: number,
): RegressionMetrics | null {
  if (!(n > 0)) return null;
  return {
    mae: sums.absErrorSum / n,
    rmse: Math.sqrt(Math.max(0, sums.squaredErrorSum) / n),
    meanError: sums.errorSum / n,
  };
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
