/**
 * Sketches: merging is exact and order-free, JSON round-trips, and the metrics read from
 * sketches stay within their error bounds of the exact engine (and of scipy on the fixtures).
 * `node --import tsx test/bench/sketch-accuracy.ts` prints the accuracy table quoted in
 * docs/drift-statistics.md (1M rows per side).
 */
import { describe, expect, it } from 'vitest';
import { categoricalMetrics } from '../../../functions/core/stats/categorical.js';
import {
  categoricalSketch,
  mergeCategoricalSketches,
  mergeNumericSketches,
  type NumericSketch,
  numericSketch,
  parseSketch,
  sketchLayout,
} from '../../../functions/core/stats/sketch.js';
import {
  categoricalSketchMetrics,
  numericSketchMetrics,
} from '../../../functions/core/stats/sketch-metrics.js';
import { domainError } from '../../support/expect-code.js';
import { expectSameNumericSketch } from '../../support/expect-sketch.js';
import { compare, generator, SCENARIOS } from '../../support/sketch-scenarios.js';
import { agrees, caseFiles, loadCase } from './tolerances.js';

describe('numeric sketch: merging and serialisation', () => {
  const g = generator(5);
  const values = Array.from({ length: 30_000 }, (_, i) => (i % 97 === 0 ? null : g.normal() * 3 + 1));
  const layout = sketchLayout(values.slice(0, 10_000), 256);
  const [a, b, c] = [0, 1, 2].map((k) =>
    numericSketch(values.slice(k * 10_000, (k + 1) * 10_000), layout),
  ) as [NumericSketch, NumericSketch, NumericSketch];
  const whole = numericSketch(values, layout);

  it('is associative and commutative, and merging parts equals sketching the whole', () => {
    expectSameNumericSketch(
      mergeNumericSketches(mergeNumericSketches(a, b), c),
      mergeNumericSketches(a, mergeNumericSketches(b, c)),
    );
    expectSameNumericSketch(mergeNumericSketches(a, b), mergeNumericSketches(b, a));
    expectSameNumericSketch(mergeNumericSketches(mergeNumericSketches(c, a), b), whole);
    expect(whole.nulls).toBe(values.filter((v) => v === null).length);
  });

  it('merges with an empty window', () => {
    const empty = numericSketch([null, null], layout);
    expect(empty).toMatchObject({ n: 0, nulls: 2, min: null, max: null });
    expectSameNumericSketch(mergeNumericSketches(empty, a), { ...a, nulls: a.nulls + 2 });
  });

  it('round-trips through JSON and rejects malformed sketches', () => {
    const text = JSON.stringify(whole);
    expect(parseSketch(text)).toEqual(whole);
    expect(parseSketch(JSON.stringify(numericSketch([null], layout)))).toMatchObject({ n: 0 });
    expect(() => parseSketch(JSON.stringify({ ...whole, counts: whole.counts.slice(1) }))).toThrow(
      domainError('validation_failed'),
    );
    expect(() => parseSketch(JSON.stringify({ ...whole, n: whole.n + 1 }))).toThrow(/add up/);
    expect(() => parseSketch(JSON.stringify({ ...whole, version: 99 }))).toThrow(/version/);
    expect(() => parseSketch(JSON.stringify({ ...whole, edges: [...whole.edges].reverse() }))).toThrow(
      /ascending/,
    );
  });

  it('refuses to mix layouts', () => {
    const other = numericSketch([1, 2, 3], sketchLayout([0, 5, 10]));
    expect(() => mergeNumericSketches(a, other)).toThrow(/different layouts/);
    expect(() => numericSketchMetrics(a, other)).toThrow(/different layouts/);
    expect(() => sketchLayout([1, 2], 1)).toThrow(domainError('validation_failed'));
  });
});

describe('numeric sketch: accuracy against the exact engine', () => {
  it('is exact for discrete data (one bin per distinct value)', () => {
    const { exact, approx, layout } = compare('Poisson 3 → 3.5 (discrete)', 20_000);
    expect(layout.length).toBeLessThan(30);
    expect(approx.ksStatistic).toBeCloseTo(exact.ksStatistic, 14);
    expect(approx.ksErrorBound).toBe(0);
    expect(approx.psi).toBeCloseTo(exact.psi, 12);
    expect(approx.jsDistance).toBeCloseTo(exact.jsDistance, 12);
    expect(Math.abs(approx.wasserstein - exact.wasserstein)).toBeLessThan(1e-12);
    expect(Math.abs(approx.wassersteinNorm - exact.wassersteinNorm)).toBeLessThan(1e-9);
  });

  it.each(Object.keys(SCENARIOS))('%s: errors within bounds (20k rows, 1024 bins)', (name) => {
    const { exact, approx } = compare(name, 20_000);
    expect(approx.n1).toBe(20_000);
    // Evaluated at edges: never above the exact D, never below it by more than the bound.
    expect(approx.ksStatistic).toBeLessThanOrEqual(exact.ksStatistic + 1e-12);
    expect(exact.ksStatistic - approx.ksStatistic).toBeLessThanOrEqual(approx.ksErrorBound + 1e-12);
    expect(exact.ksStatistic - approx.ksStatistic).toBeLessThan(2e-3);
    expect(Math.abs(approx.wassersteinNorm - exact.wassersteinNorm)).toBeLessThan(2e-3);
    expect(Math.abs(approx.psi - exact.psi)).toBeLessThan(0.02 * Math.max(1, exact.psi));
    expect(Math.abs(approx.jsDistance - exact.jsDistance)).toBeLessThan(2e-3);
  });

  it('KS statistic from sketches stays within its bound of scipy on the numerical fixtures', () => {
    for (const file of caseFiles().filter((f) => f.includes('_num_'))) {
      const c = loadCase(file);
      const layout = sketchLayout(c.reference as (number | null)[], 256);
      const m = numericSketchMetrics(
        numericSketch(c.reference as (number | null)[], layout),
        numericSketch(c.current as (number | null)[], layout),
      );
      const expected = c.expected.ks_statistic as number;
      expect(m.ksStatistic, file).toBeLessThanOrEqual(expected + 1e-12);
      expect(expected - m.ksStatistic, file).toBeLessThanOrEqual(m.ksErrorBound + 1e-12);
    }
  });
});

describe('categorical sketch', () => {
  it('gives the exact chi-square, PSI and JS of the raw rows (scipy fixtures)', () => {
    for (const file of caseFiles().filter((f) => f.includes('_cat_'))) {
      const c = loadCase(file);
      const half = Math.floor(c.current.length / 2);
      // Built in two windows and merged, to exercise merging on real data.
      const cur = mergeCategoricalSketches(
        categoricalSketch(c.current.slice(0, half)),
        categoricalSketch(c.current.slice(half)),
      );
      const ref = parseSketch(JSON.stringify(categoricalSketch(c.reference)));
      if (ref.kind !== 'categorical') throw new Error('expected a categorical sketch');
      const m = categoricalSketchMetrics(ref, cur);
      const got: Record<string, number> = {
        chi2_stat: m.chi2Stat,
        chi2_pvalue: m.chi2PValue,
        chi2_df: m.chi2Df,
        psi: m.psi,
        js_distance: m.jsDistance,
        js_distance_raw: m.jsDistanceRaw,
      };
      for (const [metric, expected] of Object.entries(c.expected)) {
        expect(agrees(metric, got[metric], expected), `${file} ${metric}`).toBe(true);
      }
    }
  });

  it('merges associatively and refuses empty sketches', () => {
    const a = categoricalSketch(['x', 'y', null]);
    const b = categoricalSketch(['y', 'z']);
    const c = categoricalSketch([null]);
    const left = mergeCategoricalSketches(mergeCategoricalSketches(a, b), c);
    const right = mergeCategoricalSketches(a, mergeCategoricalSketches(b, c));
    expect(left).toEqual(right);
    expect(left).toMatchObject({ n: 4, nulls: 2, counts: { x: 1, y: 2, z: 1 } });
    expect(categoricalSketchMetrics(left, b).chi2Df).toBe(
      categoricalMetrics(['x', 'y', 'y', 'z'], ['y', 'z']).chi2Df,
    );
    expect(() => categoricalSketchMetrics(c, a)).toThrow(/empty/);
  });
});
