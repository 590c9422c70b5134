/**
 * What the hourly serving aggregates count: what one request and one feedback add to an hour, and
 * how hours and versions add up.
 *
 * Pure: the DynamoDB adapter (adapters/dynamo-predictions.ts) and the in-memory store
 * (test/support/memory-predictions.ts) both count through requestTotals/feedbackTotals, so they
 * agree on what is counted.
 */
import { type LatencyHistogram, latencyBucket } from '../kernel/latency-histogram.js';
import type { CaptureBatch, CapturedPrediction, HourAggregate } from './ports.js';

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

export const HOUR_MS = 3_600_000;

/** The ISO start of the UTC hour holding `at`. */
export function hourStartOf(at: Date | string): string {
  const t = (typeof at === 'string' ? new Date(at) : at).getTime();
  if (!Number.isFinite(t)) throw new RangeError(`not a time: ${String(at)}`);
  return new Date(Math.floor(t / HOUR_MS) * HOUR_MS).toISOString();
}
