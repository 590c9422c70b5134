/**
 * Serving statistics: the latency histogram's quantiles stay within one bucket's relative width of
 * the exact sample quantiles; precision/recall/F1 agree with closed forms computed here from the
 * confusion matrix (and with exact fractions worked out by hand / python3 `fractions`); merging
 * hours is the same as counting their union; empty windows give nulls, not NaN.
 */
import { describe, expect, it } from 'vitest';
import {
  type AggregateTotals,
  confusionKey,
  emptyTotals,
  feedbackTotals,
  hourStartOf,
  mergeAggregates,
  parseConfusionKey,
  requestTotals,
} from '../../../functions/core/inference/aggregates.js';
import {
  classificationMetrics,
  regressionMetrics,
} from '../../../functions/core/inference/feedback-metrics.js';
import type { CapturedPrediction, HourAggregate } from '../../../functions/core/inference/ports.js';
import { summarize } from '../../../functions/core/inference/stats.js';
import {
  bucketRange,
  histogramQuantile,
  LATENCY_FLOOR_MS,
  LATENCY_GAMMA,
  LATENCY_LAST_BUCKET,
  LATENCY_MAX_MS,
  latencyBucket,
} from '../../../functions/core/kernel/latency-histogram.js';
import { seededRandom } from '../../support/random.js';

const SQRT_GAMMA = Math.sqrt(LATENCY_GAMMA);

function histogramOf(values: readonly number[]): Record<number, number> {
  const h: Record<number, number> = {};
  for (const v of values) {
    const b = latencyBucket(v);
    h[b] = (h[b] ?? 0) + 1;
  }
  return h;
}

/** The k-th smallest value with k = max(1, ⌈q·n⌉), k computed in integers where q is a percentage. */
function exactQuantile(sorted: readonly number[], q: number): number {
  const n = sorted.length;
  const pct = Math.round(q * 1000);
  const k = Math.max(1, Math.ceil((pct * n) / 1000 - 1e-9));
  return sorted[k - 1] as number;
}

describe('latency histogram', () => {
  it('has contiguous buckets at most 4% wide, from 1 µs to about 10 minutes', () => {
    expect(bucketRange(0)).toEqual([0, LATENCY_FLOOR_MS]);
    for (let i = 1; i < LATENCY_LAST_BUCKET; i++) {
      const [lo, hi] = bucketRange(i);
      expect(bucketRange(i - 1)[1]).toBe(lo);
      expect((hi - lo) / lo).toBeLessThanOrEqual(0.04 + 1e-12);
    }
    const [lastLo, lastHi] = bucketRange(LATENCY_LAST_BUCKET);
    expect(lastHi).toBe(Infinity);
    expect(lastLo).toBeLessThanOrEqual(LATENCY_MAX_MS);
    expect(lastLo * LATENCY_GAMMA).toBeGreaterThan(LATENCY_MAX_MS);
    expect(() => bucketRange(LATENCY_LAST_BUCKET + 1)).toThrow(RangeError);
    expect(() => bucketRange(-1)).toThrow(RangeError);
    expect(() => bucketRange(1.5)).toThrow(RangeError);
  });

  it('puts every latency in the bucket whose range holds it, edges included', () => {
    const g = seededRandom(11);
    const values = [
      ...Array.from({ length: 20_000 }, () => Math.exp(g.uniform() * 30 - 9)),
      ...Array.from({ length: LATENCY_LAST_BUCKET }, (_, i) => bucketRange(i + 1)[0]),
      LATENCY_MAX_MS,
      1e12,
    ];
    for (const v of values) {
      const i = latencyBucket(v);
      const [lo, hi] = bucketRange(i);
      expect(v >= lo && v < hi, `${v} in bucket ${i} [${lo}, ${hi})`).toBe(true);
    }
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(0.0009)).toBe(0);
    expect(latencyBucket(-5)).toBe(0);
    expect(latencyBucket(Number.NaN)).toBe(0);
    expect(latencyBucket(LATENCY_FLOOR_MS)).toBe(1);
    expect(latencyBucket(Infinity)).toBe(LATENCY_LAST_BUCKET);
    expect(latencyBucket(3_600_000)).toBe(LATENCY_LAST_BUCKET);
  });

  const scales = [
    { name: 'sub-millisecond', mu: Math.log(0.3), sigma: 0.6 },
    { name: 'tens of ms', mu: Math.log(25), sigma: 0.5 },
    { name: 'heavy tail around 200 ms', mu: Math.log(200), sigma: 1.4 },
    { name: 'seconds', mu: Math.log(4000), sigma: 0.9 },
  ];
  for (const [s, scale] of scales.entries()) {
    it(`quantiles of log-normal latencies (${scale.name}) are within the bucket width of the exact ones`, () => {
      const g = seededRandom(100 + s);
      for (const n of [1, 7, 100, 5_000]) {
        const values = Array.from({ length: n }, () => Math.exp(scale.mu + scale.sigma * g.normal()));
        const sorted = [...values].sort((a, b) => a - b);
        const hist = histogramOf(values);
        for (const q of [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1]) {
          const exact = exactQuantile(sorted, q);
          const got = histogramQuantile(hist, q) as number;
          const r = got / exact;
          expect(r, `n=${n} q=${q}: ${got} vs ${exact}`).toBeGreaterThan(1 / SQRT_GAMMA - 1e-12);
          expect(r, `n=${n} q=${q}: ${got} vs ${exact}`).toBeLessThanOrEqual(SQRT_GAMMA + 1e-12);
        }
      }
    });
  }

  it('uses the rank ⌈q·n⌉: the smallest value with at least q·n values at or below it', () => {
    const hist = histogramOf([1, 10, 100, 1000]);
    const near = (q: number, v: number) => {
      const got = histogramQuantile(hist, q) as number;
      expect(got / v).toBeGreaterThan(1 / SQRT_GAMMA);
      expect(got / v).toBeLessThanOrEqual(SQRT_GAMMA);
    };
    near(0, 1);
    near(0.25, 1); // 1 value of 4 ≤ 1
    near(0.26, 10);
    near(0.5, 10); // exactly 2 of 4: the 2nd value, not an interpolation
    near(0.51, 100);
    near(0.75, 100);
    near(0.99, 1000);
    near(1, 1000);
    // q·n that floating point rounds just above an integer (0.07·100 = 7.000000000000001).
    const hundred = histogramOf(Array.from({ length: 100 }, (_, i) => 2 ** (i / 4)));
    const got = histogramQuantile(hundred, 0.07) as number;
    expect(got / 2 ** (6 / 4)).toBeLessThanOrEqual(SQRT_GAMMA);
    expect(got / 2 ** (6 / 4)).toBeGreaterThan(1 / SQRT_GAMMA);
  });

  it('answers null for an empty histogram and refuses q outside [0, 1]', () => {
    expect(histogramQuantile({}, 0.5)).toBeNull();
    expect(histogramQuantile({ 3: 0 }, 0.5)).toBeNull();
    expect(() => histogramQuantile({ 3: 1 }, 1.5)).toThrow(RangeError);
    expect(() => histogramQuantile({ 3: 1 }, Number.NaN)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------

/** Confusion counts from a matrix: rows are actual labels, columns predicted labels. */
function confusionOf(labels: readonly (string | number)[], m: readonly (readonly number[])[]) {
  const out: Record<string, number> = {};
  for (const [i, row] of m.entries()) {
    for (const [j, c] of row.entries()) {
      if (c > 0) out[confusionKey(labels[i] as string | number, labels[j] as string | number)] = c;
    }
  }
  return out;
}

/** Closed form from the matrix itself: tp on the diagonal, fp down the column, fn along the row. */
function closedForm(m: readonly (readonly number[])[], i: number) {
  const tp = m[i]![i]!;
  const fp = m.reduce((s, row) => s + row[i]!, 0) - tp;
  const fn = m[i]!.reduce((s, c) => s + c, 0) - tp;
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, support: tp + fn };
}

describe('classification metrics', () => {
  it('binary: precision, recall and F1 of the positive label, hand-checked', () => {
    // actual 1: 40 right, 20 predicted 0; actual 0: 30 right, 10 predicted 1.
    const confusion = confusionOf(
      [0, 1],
      [
        [30, 10],
        [20, 40],
      ],
    );
    const m = classificationMetrics(confusion)!;
    expect(m.averaging).toBe('binary');
    expect(m.positiveLabel).toBe(1); // '1' sorts after '0'
    expect(m.accuracy).toBeCloseTo(0.7, 15);
    expect(m.precision).toBeCloseTo(0.8, 15); // 40 / (40 + 10)
    expect(m.recall).toBeCloseTo(2 / 3, 15); // 40 / (40 + 20)
    expect(m.f1).toBeCloseTo(8 / 11, 15); // 2·40 / (2·40 + 10 + 20)
    expect(m.perClass['1']).toEqual({ precision: 0.8, recall: 40 / 60, f1: 80 / 110, support: 60 });
    expect(m.perClass['0']).toEqual({ precision: 30 / 50, recall: 30 / 40, f1: 60 / 90, support: 40 });

    // The caller names the positive class: now class 0's figures.
    const neg = classificationMetrics(confusion, { positiveLabel: 0 })!;
    expect([neg.precision, neg.recall, neg.f1, neg.positiveLabel]).toEqual([0.6, 0.75, 60 / 90, 0]);
  });

  it('binary with string labels: "yes" is positive over "no"; a positive never seen scores 0', () => {
    const confusion = confusionOf(
      ['no', 'yes'],
      [
        [5, 1],
        [2, 4],
      ],
    );
    const m = classificationMetrics(confusion)!;
    expect(m.positiveLabel).toBe('yes');
    expect([m.precision, m.recall]).toEqual([0.8, 4 / 6]);
    const absent = classificationMetrics(confusion, { positiveLabel: 'maybe' })!;
    expect([absent.precision, absent.recall, absent.f1]).toEqual([0, 0, 0]);
    expect(absent.accuracy).toBe(9 / 12);
  });

  it('multiclass: macro averages over actual ∪ predicted, zero division counting as 0', () => {
    // 'c' is never predicted (precision 0/0 → 0); 'd' is only predicted (recall 0/0 → 0).
    const labels = ['a', 'b', 'c', 'd'];
    const matrix = [
      [50, 3, 0, 2],
      [5, 30, 0, 1],
      [4, 6, 0, 0],
      [0, 0, 0, 0],
    ];
    const m = classificationMetrics(confusionOf(labels, matrix))!;
    expect(m.averaging).toBe('macro');
    expect(m.positiveLabel).toBeUndefined();
    const per = labels.map((_, i) => closedForm(matrix, i));
    labels.forEach((l, i) => {
      const got = m.perClass[l]!;
      expect(got.precision).toBeCloseTo(per[i]!.precision, 14);
      expect(got.recall).toBeCloseTo(per[i]!.recall, 14);
      expect(got.f1).toBeCloseTo(per[i]!.f1, 14);
      expect(got.support).toBe(per[i]!.support);
    });
    const mean = (f: (x: (typeof per)[number]) => number) => per.reduce((s, x) => s + f(x), 0) / per.length;
    expect(m.precision).toBeCloseTo(
      mean((x) => x.precision),
      14,
    );
    expect(m.recall).toBeCloseTo(
      mean((x) => x.recall),
      14,
    );
    expect(m.f1).toBeCloseTo(
      mean((x) => x.f1),
      14,
    );
    // Exact fractions (python3 fractions.Fraction): a = 50/59, 10/11, 50/57; b = 10/13, 5/6, 4/5.
    expect(m.precision).toBeCloseTo((50 / 59 + 10 / 13) / 4, 14); // 0.40417209908735…
    expect(m.recall).toBeCloseTo((10 / 11 + 5 / 6) / 4, 14); // 0.43560606060606…
    expect(m.f1).toBeCloseTo((50 / 57 + 4 / 5) / 4, 14); // 0.41929824561403…
    expect(m.accuracy).toBeCloseTo(80 / 101, 14);
    expect(m.perClass.d!.support).toBe(0);
  });

  it('averaging can be forced; labels with |, quotes, unicode and numbers keep apart', () => {
    const labels = ['a|b', '"quoted"|', 'ünï©ødé 🐈', 'x'.repeat(300), 7, '7'];
    const matrix = labels.map((_, i) => labels.map((_, j) => (i === j ? 3 : (i + j) % 3)));
    const confusion = confusionOf(labels, matrix);
    for (const [k] of Object.entries(confusion)) {
      const [a, p] = parseConfusionKey(k);
      expect(confusionKey(a, p)).toBe(k);
    }
    const m = classificationMetrics(confusion, { averaging: 'macro' })!;
    // 7 and '7' would both read "7": the per-class keys fall back to JSON text.
    expect(Object.keys(m.perClass).sort()).toEqual(labels.map((l) => JSON.stringify(l)).sort());
    labels.forEach((l, i) => {
      expect(m.perClass[JSON.stringify(l)]!.f1).toBeCloseTo(closedForm(matrix, i).f1, 14);
    });
    const b = classificationMetrics(confusion, { averaging: 'binary', positiveLabel: 'a|b' })!;
    expect(b.precision).toBeCloseTo(closedForm(matrix, 0).precision, 14);
    expect(() => parseConfusionKey('nope')).toThrow();
  });

  it('answers null without feedback', () => {
    expect(classificationMetrics({})).toBeNull();
    expect(classificationMetrics({ [confusionKey(1, 1)]: 0 })).toBeNull();
  });
});

describe('regression metrics', () => {
  it('MAE, RMSE and mean error from the error sums match the closed forms', () => {
    const pairs: [predicted: number, actual: number | string][] = [
      [3, 2.5],
      [-1, 1],
      [10, 10],
      [0.25, '1.75'], // a numeric string counts as its number
      [100, 90],
    ];
    const fb = mergeAggregates(
      pairs.map(([p, a]) => ({
        ...emptyTotals(),
        feedback: feedbackTotals({ kind: 'regression', predicted: p }, a),
      })),
    ).feedback;
    const errors = pairs.map(([p, a]) => p - Number(a));
    const n = errors.length;
    const r = regressionMetrics(fb, fb.count)!;
    expect(fb.count).toBe(5);
    expect(fb.confusion).toEqual({});
    expect(r.mae).toBeCloseTo(errors.reduce((s, e) => s + Math.abs(e), 0) / n, 14); // (0.5+2+0+1.5+10)/5 = 2.8
    expect(r.mae).toBeCloseTo(2.8, 14);
    expect(r.rmse).toBeCloseTo(Math.sqrt((0.25 + 4 + 0 + 2.25 + 100) / 5), 14);
    expect(r.meanError).toBeCloseTo((0.5 - 2 + 0 - 1.5 + 10) / 5, 14);
    expect(regressionMetrics(fb, 0)).toBeNull();
  });

  it('a regression with a non-numeric actual is counted as a label pair, not as an error', () => {
    expect(feedbackTotals({ kind: 'regression', predicted: 3 }, 'n/a')).toEqual({
      count: 1,
      absErrorSum: 0,
      squaredErrorSum: 0,
      errorSum: 0,
      confusion: { '"n/a"|3': 1 },
    });
    expect(() => feedbackTotals({ kind: 'binary', predicted: 'a' }, Number.NaN)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------

function hour(version: string, hourStart: string, t: AggregateTotals): HourAggregate {
  return { model: 'm', version, hourStart, ...t };
}

interface Event {
  readonly kind: 'request' | 'feedback';
  readonly totals: AggregateTotals;
}

/** Random requests and feedback of a binary classifier with confidences and latencies. */
function events(seed: number, n: number): Event[] {
  const g = seededRandom(seed);
  return Array.from({ length: n }, (): Event => {
    if (g.uniform() < 0.3) {
      const predicted = g.uniform() < 0.5 ? 'cat' : 'dog';
      const actual = g.uniform() < 0.8 ? predicted : predicted === 'cat' ? 'dog' : 'cat';
      return {
        kind: 'feedback',
        totals: { ...emptyTotals(), feedback: feedbackTotals({ kind: 'binary', predicted }, actual) },
      };
    }
    const rows = 1 + Math.floor(g.uniform() * 5);
    const failed = g.uniform() < 0.1;
    const predictions: CapturedPrediction[] = failed
      ? []
      : Array.from({ length: rows }, (_, i) => ({
          predictionId: `p${i}`,
          model: 'm',
          version: '1.0.0',
          at: '2026-03-01T10:00:00.000Z',
          kind: 'binary',
          predicted: 'cat',
          confidence: 0.5 + g.uniform() / 2,
        }));
    return {
      kind: 'request',
      totals: requestTotals({
        outcome: failed ? 'error' : 'ok',
        latencyMs: Math.exp(2 + g.normal()),
        predictions,
      }),
    };
  });
}

describe('merging and the report', () => {
  it('two merged hours report the same as one hour holding both', () => {
    const a = events(1, 400);
    const b = events(2, 300);
    const h1 = hour('1.0.0', '2026-03-01T10:00:00.000Z', mergeAggregates(a.map((e) => e.totals)));
    const h2 = hour('1.0.0', '2026-03-01T11:00:00.000Z', mergeAggregates(b.map((e) => e.totals)));
    const union = hour(
      '1.0.0',
      '2026-03-01T10:00:00.000Z',
      mergeAggregates([...a, ...b].map((e) => e.totals)),
    );
    const merged = mergeAggregates([h1, h2]);
    expect(merged.requests).toBe(union.requests);
    expect(merged.errors).toBe(union.errors);
    expect(merged.predictions).toBe(union.predictions);
    expect(merged.latency).toEqual(union.latency);
    expect(merged.feedback.confusion).toEqual(union.feedback.confusion);
    expect(merged.confidenceCount).toBe(union.confidenceCount);
    expect(merged.confidenceSum).toBeCloseTo(union.confidenceSum, 9);

    const two = summarize([h1, h2]).total;
    const one = summarize([union]).total;
    expect({ ...two, from: null, to: null, meanConfidence: null }).toEqual({
      ...one,
      from: null,
      to: null,
      meanConfidence: null,
    });
    expect(two.meanConfidence).toBeCloseTo(one.meanConfidence!, 12);
    expect(two.from).toBe('2026-03-01T10:00:00.000Z');
    expect(two.to).toBe('2026-03-01T12:00:00.000Z');
    expect(two.requests).toBe(
      a.filter((e) => e.kind === 'request').length + b.filter((e) => e.kind === 'request').length,
    );
    expect(two.feedback!.count).toBe(a.length + b.length - two.requests);
    expect(two.feedback!.classification!.positiveLabel).toBe('dog');
    expect(two.latencyMs!.p50).toBeLessThan(two.latencyMs!.p95);
  });

  it('merging is order-free and leaves its inputs alone', () => {
    const parts = events(3, 50).map((e) => e.totals);
    const before = JSON.stringify(parts);
    const forward = mergeAggregates(parts);
    const backward = mergeAggregates([...parts].reverse());
    expect(backward.latency).toEqual(forward.latency);
    expect(backward.feedback.confusion).toEqual(forward.feedback.confusion);
    expect(JSON.stringify(parts)).toBe(before);
    expect(mergeAggregates([])).toEqual(emptyTotals());
  });

  it('reports capture completeness: captured against answered (captured + lost)', () => {
    const captured = { ...hour('1.0.0', '2026-03-01T10:00:00.000Z', { ...emptyTotals(), predictions: 90 }) };
    const withLoss = {
      ...hour('1.0.0', '2026-03-01T11:00:00.000Z', { ...emptyTotals(), predictions: 60 }),
      lostPredictions: 50,
    };
    const s = summarize([captured, withLoss], { groupByVersion: true });
    expect(s.total.capture).toEqual({ answered: 200, captured: 150, lost: 50, completeness: 0.75 });
    expect(s.versions?.[0]?.capture.completeness).toBe(0.75);
  });

  it('is null-safe without requests or feedback', () => {
    const empty = summarize([]);
    expect(empty.total).toEqual({
      version: null,
      from: null,
      to: null,
      requests: 0,
      errors: 0,
      errorRate: null,
      predictions: 0,
      latencyMs: null,
      meanConfidence: null,
      feedback: null,
      capture: { answered: 0, captured: 0, lost: 0, completeness: null },
    });
    expect(empty.from).toBeNull();
    // Feedback arrived for an hour whose requests are counted elsewhere: no NaN anywhere.
    const onlyFeedback = hour('1.0.0', '2026-03-01T10:00:00.000Z', {
      ...emptyTotals(),
      feedback: feedbackTotals({ kind: 'regression', predicted: 2 }, 1),
    });
    const s = summarize([onlyFeedback], { from: '2026-03-01T00:00:00.000Z', to: '2026-03-02T00:00:00.000Z' });
    expect(s.total.errorRate).toBeNull();
    expect(s.total.latencyMs).toBeNull();
    expect(s.total.meanConfidence).toBeNull();
    expect(s.total.feedback).toEqual({ count: 1, regression: { mae: 1, rmse: 1, meanError: 1 } });
    expect([s.from, s.to]).toEqual(['2026-03-01T00:00:00.000Z', '2026-03-02T00:00:00.000Z']);
    const numbers = (v: unknown): number[] =>
      typeof v === 'number' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(numbers) : [];
    expect(numbers(s).every(Number.isFinite)).toBe(true);
  });

  it('groups by version in semver order, with the total over all of them', () => {
    const req = (ms: number, outcome: 'ok' | 'error' = 'ok') =>
      requestTotals({ outcome, latencyMs: ms, predictions: [] });
    const aggs = [
      hour('1.10.0', '2026-03-01T10:00:00.000Z', mergeAggregates([req(10), req(20, 'error')])),
      hour('1.9.0', '2026-03-01T09:00:00.000Z', mergeAggregates([req(5)])),
      hour('1.9.0', '2026-03-01T10:00:00.000Z', mergeAggregates([req(5), req(5, 'error')])),
    ];
    const s = summarize(aggs, { groupByVersion: true });
    expect(s.versions!.map((v) => v.version)).toEqual(['1.9.0', '1.10.0']);
    expect(s.versions!.map((v) => [v.requests, v.errors, v.errorRate])).toEqual([
      [3, 1, 1 / 3],
      [2, 1, 0.5],
    ]);
    expect(s.versions![0]!.from).toBe('2026-03-01T09:00:00.000Z');
    expect(s.versions![1]!.from).toBe('2026-03-01T10:00:00.000Z');
    expect(s.total).toMatchObject({ version: null, requests: 5, errors: 2, errorRate: 0.4 });
    expect(summarize(aggs).versions).toBeUndefined();
  });

  it('hourStartOf floors to the UTC hour', () => {
    expect(hourStartOf('2026-03-01T10:59:59.999Z')).toBe('2026-03-01T10:00:00.000Z');
    expect(hourStartOf(new Date('2026-03-01T11:00:00.000+02:00'))).toBe('2026-03-01T09:00:00.000Z');
    expect(() => hourStartOf('yesterday')).toThrow(RangeError);
  });
});
