/**
 * An in-memory PredictionStore with the DynamoDB adapter's semantics (adapters/dynamo-predictions.ts),
 * for unit tests of the inference service, the capture worker and the stats endpoint: a message
 * is counted once per messageId, a stored prediction is never overwritten (so feedback survives a
 * redelivery), each prediction takes feedback once and it is counted into the prediction's own
 * hour and version, aggregates cover hourStart in [from, to), oldest first, versions in order.
 * It counts through the same functions (core/inference/aggregates.ts) as the adapter.
 */

import {
  type AggregateTotals,
  emptyTotals,
  feedbackTotals,
  hourStartOf,
  mergeAggregates,
  requestTotals,
} from '../../functions/core/inference/aggregates.js';
import type {
  CaptureBatch,
  CapturedPrediction,
  FeedbackItem,
  FeedbackResult,
  HourAggregate,
  PredictionStore,
} from '../../functions/core/inference/ports.js';
import type { Clock } from '../../functions/core/kernel/clock.js';

export interface StoredPrediction extends CapturedPrediction {
  readonly hourStart: string;
  readonly messageId: string;
  readonly actual?: string | number;
  readonly feedbackAt?: string;
}

export class MemoryPredictionStore implements PredictionStore {
  /** predictionId → what was stored. */
  readonly predictions = new Map<string, StoredPrediction>();
  /** Capture message ids already counted. */
  readonly counted = new Set<string>();
  /** Set one to make the next calls of that method reject with it (until cleared). */
  readonly fail: { record?: unknown; feedback?: unknown; aggregates?: unknown } = {};
  /** Calls made, for assertions. */
  readonly calls = { record: 0, feedback: 0, aggregates: 0 };
  private readonly hours = new Map<string, HourAggregate>();

  constructor(private readonly clock: Clock = { now: () => new Date() }) {}

  async record(batch: CaptureBatch): Promise<void> {
    this.calls.record++;
    if (this.fail.record !== undefined) throw this.fail.record;
    const hourStart = hourStartOf(batch.hourStart);
    if (this.counted.has(batch.messageId)) return;
    for (const p of batch.predictions) {
      if (!this.predictions.has(p.predictionId)) {
        this.predictions.set(
          p.predictionId,
          structuredClone({ ...p, hourStart, messageId: batch.messageId }),
        );
      }
    }
    this.add(batch.model, batch.version, hourStart, requestTotals(batch));
    this.counted.add(batch.messageId);
  }

  async feedback(items: readonly FeedbackItem[]): Promise<FeedbackResult[]> {
    this.calls.feedback++;
    if (this.fail.feedback !== undefined) throw this.fail.feedback;
    return items.map(({ predictionId, actual }): FeedbackResult => {
      const p = this.predictions.get(predictionId);
      if (!p) return { predictionId, status: 'unknown' };
      const who = { predictionId, model: p.model, version: p.version };
      const experiment = (stands: string | number) =>
        p.experimentId !== undefined && p.variant !== undefined
          ? {
              experiment: {
                id: p.experimentId,
                variant: p.variant,
                kind: p.kind,
                predicted: p.predicted,
                actual: stands,
              },
            }
          : {};
      if (p.actual !== undefined) return { ...who, status: 'duplicate', ...experiment(p.actual) };
      const totals = feedbackTotals(p, actual); // throws before anything is stored
      this.predictions.set(predictionId, { ...p, actual, feedbackAt: this.clock.now().toISOString() });
      this.add(p.model, p.version, p.hourStart, { ...emptyTotals(), feedback: totals });
      return { ...who, status: 'joined', ...experiment(actual) };
    });
  }

  async aggregates(model: string, from: Date, to: Date): Promise<HourAggregate[]> {
    this.calls.aggregates++;
    if (this.fail.aggregates !== undefined) throw this.fail.aggregates;
    const lo = from.getTime();
    const hi = to.getTime();
    if (!Number.isFinite(lo) || !Number.isFinite(hi))
      throw new RangeError('aggregates: from and to must be valid times');
    return [...this.hours.values()]
      .filter((a) => a.model === model && Date.parse(a.hourStart) >= lo && Date.parse(a.hourStart) < hi)
      .sort((a, b) => cmp(a.hourStart, b.hourStart) || cmp(a.version, b.version))
      .map((a) => structuredClone(a));
  }

  private add(model: string, version: string, hourStart: string, t: AggregateTotals): void {
    const key = JSON.stringify([model, hourStart, version]);
    const before = this.hours.get(key);
    this.hours.set(key, {
      model,
      version,
      hourStart,
      ...mergeAggregates(before ? [before, t] : [t]),
    });
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
