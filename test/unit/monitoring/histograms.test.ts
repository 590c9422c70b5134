/**
 * The baseline-vs-window histograms of a drift report: a raw window binned by hand, the same
 * window through its sketch landing in the same bins, and categories beyond the top ten folded
 * into "(other)".
 */
import { describe, expect, it } from 'vitest';
import { buildBaseline } from '../../../functions/core/monitoring/baseline.js';
import { featureHistogram, HISTOGRAM_BINS, OTHER } from '../../../functions/core/monitoring/histograms.js';
import { numericSketch } from '../../../functions/core/stats/sketch.js';
import { seededRandom } from '../../support/random.js';

const g = seededRandom(9);
const rows = Array.from({ length: 2000 }, (_, i) => ({ x: g.normal() * 2 + 10, c: `k${i % 13}` }));
const profile = buildBaseline({ rows, version: '1.0.0', createdAt: '2026-01-01T00:00:00.000Z' });
const x = profile.features.find((f) => f.name === 'x')!;
const c = profile.features.find((f) => f.name === 'c')!;

describe('drift report histograms', () => {
  it('bins a raw window between the baseline p01 and p99, with open ends', () => {
    if (x.kind !== 'numerical') throw new Error('x is numerical');
    const q = x.summary.quantiles!;
    const window = Float64Array.from([q.p01 - 100, q.p99 + 100, q.p01, Number.NaN, (q.p01 + q.p99) / 2]);
    const h = featureHistogram(x, window)!;
    expect(h.kind).toBe('numerical');
    if (h.kind !== 'numerical') return;
    expect(h.edges).toHaveLength(HISTOGRAM_BINS + 1);
    expect(h.edges[0]).toBe(q.p01);
    expect(h.edges.at(-1)).toBeCloseTo(q.p99, 9);
    // Four non-null values: one below, one above, one at p01 (first inner bin), one in the middle.
    expect(h.current[0]).toBe(0.25);
    expect(h.current.at(-1)).toBe(0.25);
    expect(h.current[1]).toBe(0.25);
    expect(h.current[1 + HISTOGRAM_BINS / 2]).toBe(0.25);
    // The baseline's own shares: ~1 % below p01 and above p99, the rest inside.
    expect(h.baseline[0]).toBeGreaterThan(0.003);
    expect(h.baseline[0]).toBeLessThan(0.02);
    expect(h.baseline.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('a window read through its sketch lands in the same bins as its raw values', () => {
    if (x.kind !== 'numerical' || !x.sketch) throw new Error('x has a sketch');
    const values = Float64Array.from({ length: 3000 }, () => g.normal() * 2 + 11);
    const raw = featureHistogram(x, values)!;
    const sketched = featureHistogram(x, numericSketch(values, x.sketch.edges))!;
    raw.current.forEach((share, i) => {
      expect(Math.abs(share - sketched.current[i]!)).toBeLessThan(0.01);
    });
  });

  it('keeps the ten most frequent categories and folds the rest into (other)', () => {
    const window = [
      ...Array.from({ length: 50 }, () => 'new'),
      ...Array.from({ length: 50 }, (_, i) => `k${i % 13}`),
      null,
    ];
    const h = featureHistogram(c, window)!;
    if (h.kind !== 'categorical') throw new Error('categorical');
    expect(h.categories).toHaveLength(11);
    expect(h.categories.at(-1)).toBe(OTHER);
    expect(h.categories).toContain('new');
    expect(h.current[h.categories.indexOf('new')]).toBe(0.5);
    expect(h.baseline[h.categories.indexOf('new')]).toBe(0);
    expect(h.current.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});
