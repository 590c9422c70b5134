/**
 * Serving statistics from the hourly aggregates: a fixed log-scale latency histogram (mergeable
 * by adding counts, so any window of hours sums to one histogram), what one request and one
 * feedback add to an hour, and the report of GET /v1/models/{name}/stats: latency quantiles,
 * error rate, confidence, and accuracy/precision/recall/F1 or MAE/RMSE from feedback.
 *
 * Pure: the DynamoDB adapter (adapters/dynamo-predictions.ts) and the in-memory store
 * (test/support/memory-predictions.ts) both count through requestTotals/feedbackTotals, so they
 * agree on what is counted.
 */
import type { CaptureBatch, CapturedPrediction, HourAggregate } from './ports.js';

// ---------------------------------------------------------------------------------------------
// Latency histogram

/** Lower edge of bucket 1; bucket 0 holds every latency below it (including 0). */
export const LATENCY_FLOOR_MS = 0.001;
/** Ratio of a bucket's upper to its lower edge: each bucket is 4% wide relative to its start. */
export const LATENCY_GAMMA = 1.04;
/** Latencies from about here on (10 minutes) all fall in the last bucket. */
export const LATENCY_MAX_MS = 600_000;

/**
 * Bucket edges: EDGES[i] is bucket i's lower edge, EDGES[i + 1] its upper edge. Computed once with
 * the same arithmetic latencyBucket uses to check itself, so a value always lies in the range
 * bucketRange reports for its bucket.
 */
const EDGES: readonly number[] = (() => {
  const edges = [0];
  for (let i = 1; ; i++) {
    const lo = LATENCY_FLOOR_MS * LATENCY_GAMMA ** (i - 1);
    edges.push(lo);
    if (lo > LATENCY_MAX_MS) break;
  }
  return edges;
})();

/** Index of the last bucket (the one holding LATENCY_MAX_MS and everything above). */
export const LATENCY_LAST_BUCKET = EDGES.length - 2;
/** Number of buckets: 0 … LATENCY_LAST_BUCKET. */
export const LATENCY_BUCKETS = LATENCY_LAST_BUCKET + 1;

const LOG_GAMMA = Math.log(LATENCY_GAMMA);

/**
 * The histogram bucket of a latency. Bucket 0: [0, 0.001 ms) (and anything that is not a
 * positive number); bucket i ≥ 1: [0.001·1.04^(i−1), 0.001·1.04^i); the last bucket also takes
 * everything above (about 10 minutes and more).
 */
export function latencyBucket(ms: number): number {
  if (!(ms >= LATENCY_FLOOR_MS)) return 0; // also NaN
  if (ms >= (EDGES[LATENCY_LAST_BUCKET] as number)) return LATENCY_LAST_BUCKET;
  let i = Math.floor(Math.log(ms / LATENCY_FLOOR_MS) / LOG_GAMMA) + 1;
  // The logarithm can land one bucket off at an edge; the edges themselves decide.
  i = Math.min(Math.max(i, 1), LATENCY_LAST_BUCKET);
  while (i > 1 && ms < (EDGES[i] as number)) i--;
  while (i < LATENCY_LAST_BUCKET && ms >= (EDGES[i + 1] as number)) i++;
  return i;
}

/** Bucket i's range [lo, hi) in ms; the last bucket's hi is Infinity. */
export function bucketRange(i: number): readonly [number, number] {
  if (!Number.isInteger(i) || i < 0 || i > LATENCY_LAST_BUCKET) {
    throw new RangeError(`latency bucket ${i} is outside 0..${LATENCY_LAST_BUCKET}`);
  }
  return [EDGES[i] as number, i === LATENCY_LAST_BUCKET ? Infinity : (EDGES[i + 1] as number)];
}

/**
 * What a quantile in bucket i is reported as: the geometric mid lo·√γ, so for any value v in the
 * bucket the reported value r satisfies 1/√γ < r/v ≤ √γ (within ±2%). Bucket 0 (below 1 µs) is
 * reported as half the floor; the last bucket as the geometric mid of its nominal 4% range, so
 * latencies beyond 10 minutes read as about 10 minutes.
 */
export function bucketValue(i: number): number {
  const [lo] = bucketRange(i);
  return i === 0 ? LATENCY_FLOOR_MS / 2 : lo * Math.sqrt(LATENCY_GAMMA);
}

/** Bucket index → count (sparse). */
export type LatencyHistogram = Readonly<Record<number, number>>;

/**
 * The q-quantile (0 ≤ q ≤ 1) of the latencies counted in `hist`, or null when it is empty.
 *
 * Rank definition: the quantile is the smallest value x with at least q·n of the n values ≤ x,
 * i.e. the k-th smallest value with k = max(1, ⌈q·n⌉) (numpy's method='inverted_cdf'); q = 0 is
 * the minimum, q = 1 the maximum. The histogram finds the bucket holding the k-th value and
 * reports bucketValue of it, so the answer is within the bucket's relative width of the exact
 * sample quantile (1/√1.04 < reported/exact ≤ √1.04), for latencies between 1 µs and 10 minutes.
 */
export function histogramQuantile(hist: LatencyHistogram, q: number): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} is outside [0, 1]`);
  const buckets = Object.entries(hist)
    .map(([k, c]) => [Number(k), c] as const)
    .filter(([, c]) => c > 0)
    .sort((a, b) => a[0] - b[0]);
  const n = buckets.reduce((s, [, c]) => s + c, 0);
  if (n === 0) return null;
  // q·n is computed before rounding up: for q = 0.95 and n = 100, ⌈95.00000000000001⌉ would be
  // 96, so a relative tolerance keeps exact products exact.
  const qn = q * n;
  const rounded = Math.round(qn);
  const k = Math.max(1, Math.abs(qn - rounded) <= 1e-9 * Math.max(1, qn) ? rounded : Math.ceil(qn));
  let seen = 0;
  for (const [i, c] of buckets) {
    seen += c;
    if (seen >= k) return bucketValue(i);
  }
  return bucketValue((buckets[buckets.length - 1] as readonly [number, number])[0]);
}

// ---------------------------------------------------------------------------------------------
// What is counted

/** An hour's counts without its key: what requests and feedback add, and what merging sums. */
export interface AggregateTotals {
  readonly requests: number;
  readonly errors: number;
  readonly predictions: number;
  readonly latency: LatencyHistogram;
  readonly confidenceSum: number;
  readonly confidenceCount: number;
  readonly feedback: FeedbackTotals;
}

export type FeedbackTotals = HourAggregate['feedback'];

export function emptyFeedbackTotals(): FeedbackTotals {
  return { count: 0, absErrorSum: 0, squaredErrorSum: 0, errorSum: 0, confusion: {} };
}

export function emptyTotals(): AggregateTotals {
  return {
    requests: 0,
    errors: 0,
    predictions: 0,
    latency: {},
    confidenceSum: 0,
    confidenceCount: 0,
    feedback: emptyFeedbackTotals(),
  };
}

/**
 * What one served request adds to its hour: one request (and one error if it failed), its rows,
 * its latency in its bucket, and the confidences of the predictions that have one.
 */
export function requestTotals(
  batch: Pick<CaptureBatch, 'outcome' | 'latencyMs' | 'predictions' | 'countsRequest'>,
): AggregateTotals {
  // A later part of a split request carries predictions only: the request was counted once.
  const counts = batch.countsRequest !== false;
  let confidenceSum = 0;
  let confidenceCount = 0;
  for (const p of batch.predictions) {
    if (typeof p.confidence === 'number' && Number.isFinite(p.confidence)) {
      confidenceSum += p.confidence;
      confidenceCount += 1;
    }
  }
  return {
    requests: counts ? 1 : 0,
    errors: counts && batch.outcome === 'error' ? 1 : 0,
    predictions: batch.predictions.length,
    latency: counts ? { [latencyBucket(batch.latencyMs)]: 1 } : {},
    confidenceSum,
    confidenceCount,
    feedback: emptyFeedbackTotals(),
  };
}

/** The confusion counter key of one (actual, predicted) pair. */
export function confusionKey(actual: string | number, predicted: string | number): string {
  return `${JSON.stringify(actual)}|${JSON.stringify(predicted)}`;
}

/**
 * The pair behind a confusion key. Labels may contain '|': the actual part is a JSON string
 * literal (which ends at its first unescaped quote) or a number (which has no '|'), so exactly
 * one split parses.
 */
export function parseConfusionKey(
  key: string,
): readonly [actual: string | number, predicted: string | number] {
  for (let i = key.indexOf('|'); i >= 0; i = key.indexOf('|', i + 1)) {
    const a = tryParseLabel(key.slice(0, i));
    if (a === undefined) continue;
    const p = tryParseLabel(key.slice(i + 1));
    if (p !== undefined) return [a, p];
  }
  throw new Error(`not a confusion key: ${key.slice(0, 200)}`);
}

function tryParseLabel(text: string): string | number | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'string' || typeof v === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A regression's numeric actual: a finite number, or a string holding one ("3.5"). */
function numericValue(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  const t = v.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * What one joined feedback adds to its prediction's hour. A regression prediction with a numeric
 * actual adds its error e = predicted − actual to the error sums; everything else (classifiers,
 * and a regression whose actual or prediction is not a number) adds one confusion count under
 * confusionKey(actual, predicted). So each feedback lands in exactly one of the two, and the
 * numeric feedback of an aggregate is its count minus its confusion total.
 */
export function feedbackTotals(
  prediction: Pick<CapturedPrediction, 'kind' | 'predicted'>,
  actual: string | number,
): FeedbackTotals {
  if (typeof actual === 'number' && !Number.isFinite(actual)) {
    throw new RangeError('feedback actual must be a finite number or a string');
  }
  if (prediction.kind === 'regression') {
    const a = numericValue(actual);
    const p = typeof prediction.predicted === 'number' ? numericValue(prediction.predicted) : undefined;
    if (a !== undefined && p !== undefined) {
      const e = p - a;
      return { count: 1, absErrorSum: Math.abs(e), squaredErrorSum: e * e, errorSum: e, confusion: {} };
    }
  }
  return {
    count: 1,
    absErrorSum: 0,
    squaredErrorSum: 0,
    errorSum: 0,
    confusion: { [confusionKey(actual, prediction.predicted)]: 1 },
  };
}

function addCounts(into: Record<string, number>, from: Readonly<Record<string | number, number>>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** The sum of some aggregates' counts (hours, versions): histograms and confusion add up. */
export function mergeAggregates(parts: readonly AggregateTotals[]): AggregateTotals {
  const latency: Record<string, number> = {};
  const confusion: Record<string, number> = {};
  let requests = 0;
  let errors = 0;
  let predictions = 0;
  let confidenceSum = 0;
  let confidenceCount = 0;
  let count = 0;
  let absErrorSum = 0;
  let squaredErrorSum = 0;
  let errorSum = 0;
  for (const a of parts) {
    requests += a.requests;
    errors += a.errors;
    predictions += a.predictions;
    confidenceSum += a.confidenceSum;
    confidenceCount += a.confidenceCount;
    addCounts(latency, a.latency);
    count += a.feedback.count;
    absErrorSum += a.feedback.absErrorSum;
    squaredErrorSum += a.feedback.squaredErrorSum;
    errorSum += a.feedback.errorSum;
    addCounts(confusion, a.feedback.confusion);
  }
  return {
    requests,
    errors,
    predictions,
    latency: Object.fromEntries(Object.entries(latency).map(([k, v]) => [Number(k), v])),
    confidenceSum,
    confidenceCount,
    feedback: { count, absErrorSum, squaredErrorSum, errorSum, confusion },
  };
}

// ---------------------------------------------------------------------------------------------
// Metrics

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

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// The report

export interface FeedbackStats {
  /** Joined feedbacks. */
  readonly count: number;
  /** Present when some feedback was counted as labels (classifiers). */
  readonly classification?: ClassificationMetrics;
  /** Present when some feedback was counted as numeric errors (regressors). */
  readonly regression?: RegressionMetrics;
}

export interface VersionStats {
  /** The version; null in the total over all versions. */
  readonly version: string | null;
  /** First hour with data and the end of the last one ([from, to)); null when there is none. */
  readonly from: string | null;
  readonly to: string | null;
  readonly requests: number;
  readonly errors: number;
  /** errors / requests; null without requests. */
  readonly errorRate: number | null;
  readonly predictions: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number } | null;
  readonly meanConfidence: number | null;
  readonly feedback: FeedbackStats | null;
}

export interface StatsReport {
  /** The window asked for (SummarizeOptions), else the hours with data. */
  readonly from: string | null;
  readonly to: string | null;
  readonly total: VersionStats;
  /** Per version (sorted like semver where versions are semver), when grouped by version. */
  readonly versions?: readonly VersionStats[];
}

export interface SummarizeOptions extends ClassificationOptions {
  readonly groupByVersion?: boolean;
  /** The window the aggregates were read for, reported as the report's from/to. */
  readonly from?: string;
  readonly to?: string;
}

const HOUR_MS = 3_600_000;

/** The ISO start of the UTC hour holding `at`. */
export function hourStartOf(at: Date | string): string {
  const t = (typeof at === 'string' ? new Date(at) : at).getTime();
  if (!Number.isFinite(t)) throw new RangeError(`not a time: ${String(at)}`);
  return new Date(Math.floor(t / HOUR_MS) * HOUR_MS).toISOString();
}

/** Stats of a set of aggregates (one model, any hours and versions). */
export function summarize(aggregates: readonly HourAggregate[], options: SummarizeOptions = {}): StatsReport {
  const total = versionStats(null, aggregates, options);
  const report: StatsReport = {
    from: options.from ?? total.from,
    to: options.to ?? total.to,
    total,
  };
  if (!options.groupByVersion) return report;
  const byVersion = new Map<string, HourAggregate[]>();
  for (const a of aggregates) {
    const list = byVersion.get(a.version);
    if (list) list.push(a);
    else byVersion.set(a.version, [a]);
  }
  const versions = [...byVersion.keys()].sort(compareVersions);
  return { ...report, versions: versions.map((v) => versionStats(v, byVersion.get(v) ?? [], options)) };
}

function versionStats(
  version: string | null,
  aggregates: readonly HourAggregate[],
  options: ClassificationOptions,
): VersionStats {
  const t = mergeAggregates(aggregates);
  const hours = aggregates.map((a) => a.hourStart).sort();
  const first = hours[0];
  const last = hours[hours.length - 1];
  const p50 = histogramQuantile(t.latency, 0.5);
  const confusionCount = Object.values(t.feedback.confusion).reduce((s, c) => s + c, 0);
  const classification = classificationMetrics(t.feedback.confusion, options);
  const regression = regressionMetrics(t.feedback, Math.max(0, t.feedback.count - confusionCount));
  return {
    version,
    from: first ?? null,
    to: last === undefined ? null : new Date(new Date(last).getTime() + HOUR_MS).toISOString(),
    requests: t.requests,
    errors: t.errors,
    errorRate: t.requests > 0 ? t.errors / t.requests : null,
    predictions: t.predictions,
    latencyMs:
      p50 === null
        ? null
        : {
            p50,
            p95: histogramQuantile(t.latency, 0.95) as number,
            p99: histogramQuantile(t.latency, 0.99) as number,
          },
    meanConfidence: t.confidenceCount > 0 ? t.confidenceSum / t.confidenceCount : null,
    feedback:
      t.feedback.count > 0
        ? {
            count: t.feedback.count,
            ...(classification ? { classification } : {}),
            ...(regression ? { regression } : {}),
          }
        : null,
  };
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;

/** Semver order for semver versions (before anything else), code-unit order otherwise. */
function compareVersions(a: string, b: string): number {
  const x = SEMVER.exec(a);
  const y = SEMVER.exec(b);
  if (x && y) {
    for (let i = 1; i <= 3; i++) {
      const d = Number(x[i]) - Number(y[i]);
      if (d !== 0) return d;
    }
    return 0;
  }
  if (x) return -1;
  if (y) return 1;
  return byCodeUnit(a, b);
}
