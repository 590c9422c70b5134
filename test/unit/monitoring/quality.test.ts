/**
 * Data quality against a baseline built from rows, every check on a window made to break it (and
 * a clean window that breaks nothing), and volume anomalies: the Poisson tail against scipy's
 * values, the robust z-score worked by hand, drops (to zero too) and spikes.
 */
import { describe, expect, it } from 'vitest';
import { buildBaseline } from '../../../functions/core/monitoring/baseline.js';
import {
  dataQuality,
  parseQualityCounts,
  poissonCdf,
  QualityAccumulator,
  volumeAnomaly,
} from '../../../functions/core/monitoring/quality.js';
import { seededRandom } from '../../support/random.js';

const g = seededRandom(11);
const reference = Array.from({ length: 1000 }, (_, i) => ({
  age: 20 + Math.floor(g.uniform() * 50),
  plan: ['basic', 'pro', 'team'][i % 3]!,
  income: i % 20 === 0 ? null : 1000 + g.uniform() * 9000,
}));
const profile = buildBaseline({ rows: reference, version: '1.0.0', createdAt: '2026-01-01T00:00:00.000Z' });

describe('data quality', () => {
  it('a window like the baseline has no violation', () => {
    const r = dataQuality(profile, reference.slice(0, 300));
    expect(r.violations).toEqual([]);
    expect(r.features.find((f) => f.name === 'income')!.baselineMissingRate).toBeCloseTo(50 / 1000, 10);
  });

  it('finds missing values, wrong types, out-of-range values, unseen categories and columns', () => {
    const window = Array.from({ length: 100 }, (_, i) => ({
      age: i < 10 ? 150 : i < 13 ? 'old' : 30, // 10 % out of range, 3 % wrong type
      plan: i < 5 ? 'enterprise' : 'pro', // 5 % unseen
      ...(i < 20 ? {} : { income: 5000 }), // 20 % missing against 5 %
      coupon: 'X', // not a feature
    }));
    const r = dataQuality(profile, window);
    const by = Object.fromEntries(r.violations.map((v) => [`${v.check}:${v.feature}`, v.observed]));
    expect(by).toEqual({
      'out_of_range:age': 0.1,
      'type_mismatch:age': 0.03,
      'unseen_category:plan': 0.05,
      'missing:income': 0.2,
      'extra_column:coupon': 1,
    });
    expect(r.features.find((f) => f.name === 'plan')!.unseenCategories).toEqual(['enterprise']);
    expect(r.extraColumns).toEqual(['coupon']);
  });

  it('a category named like an Object.prototype property is still unseen', () => {
    const r = dataQuality(
      profile,
      Array.from({ length: 10 }, () => ({ age: 30, plan: 'constructor', income: 5000 })),
    );
    expect(r.features.find((f) => f.name === 'plan')!.unseenCategories).toEqual(['constructor']);
  });

  it('counts of parts of a window add up to the counts of the whole', () => {
    const rows = Array.from({ length: 90 }, (_, i) => ({
      age: i % 7 === 0 ? 'x' : 20 + (i % 60),
      plan: i % 11 === 0 ? `new-${i % 4}` : 'pro',
      ...(i % 5 === 0 ? { extra: 1 } : { income: 2000 }),
    }));
    const whole = new QualityAccumulator(profile);
    const a = new QualityAccumulator(profile);
    const b = new QualityAccumulator(profile);
    rows.forEach((r, i) => {
      whole.add(r);
      (i < 40 ? a : b).add(r);
    });
    const merged = new QualityAccumulator(profile);
    merged.addCounts(parseQualityCounts(JSON.stringify(a.counts())));
    merged.addCounts(parseQualityCounts(JSON.stringify(b.counts())));
    expect(merged.report()).toEqual(whole.report());
    expect(whole.report().violations.length).toBeGreaterThan(0);
  });

  it('passes wrong-typed values on to drift as missing, and malformed rows not at all', () => {
    const acc = new QualityAccumulator(profile);
    expect(acc.add({ age: 'x', plan: { a: 1 }, income: 3 })).toEqual({ age: null, plan: null, income: 3 });
    const fine = { age: 30, plan: 'pro', income: 3 };
    expect(acc.add(fine)).toBe(fine);
    expect(acc.add('nope')).toBeNull();
    // Array rows need a baseline in schema order; this one was inferred from objects.
    expect(acc.add([30, 'pro', 3])).toBeNull();
    expect(acc.report().malformedRows).toBe(2);
  });

  it('a column absent from every row is a missing column', () => {
    const r = dataQuality(profile, [{ age: 30, plan: 'pro' }]);
    expect(r.missingColumns).toEqual(['income']);
    expect(r.violations.map((v) => v.check)).toContain('missing_column');
  });
});

describe('volume', () => {
  it('Poisson CDF agrees with scipy.stats.poisson', () => {
    const cases: [number, number, number][] = [
      [0, 5, 0.006737946999085468],
      [3, 10.5, 0.007147429634343745],
      [20, 10, 0.998411739338142],
      [100, 120, 0.03466803469442497],
      [0, 0.5, 0.6065306597126334],
      [250, 200, 0.9997153785997117],
    ];
    for (const [k, l, p] of cases)
      expect(Math.abs(poissonCdf(k, l) - p)).toBeLessThan(1e-12 * Math.max(1, p) + 1e-15);
  });

  const history = [100, 96, 104, 99, 101, 110, 90, 102, 98];

  it('robust z by hand: median 100, MAD 2', () => {
    const c = volumeAnomaly(120, history);
    expect(c.median).toBe(100);
    expect(c.mad).toBe(2);
    expect(c.robustZ).toBeCloseTo(20 / (1.4826 * 2), 12);
    // z ≈ 6.7 but P(X ≥ 120 | λ = 100) ≈ 0.03: not enough evidence alone.
    expect(c.anomaly).toBeNull();
  });

  it('drops (to zero too) and spikes; too little history judges nothing', () => {
    expect(volumeAnomaly(0, history).anomaly).toBe('drop');
    expect(volumeAnomaly(0, history).reason).toMatch(/no predictions/);
    expect(volumeAnomaly(40, history).anomaly).toBe('drop');
    expect(volumeAnomaly(300, history).anomaly).toBe('spike');
    expect(volumeAnomaly(103, history).anomaly).toBeNull();
    expect(volumeAnomaly(0, [100, 100]).anomaly).toBeNull();
    // A flat history: the Poisson tail decides.
    expect(volumeAnomaly(60, Array(10).fill(100)).anomaly).toBe('drop');
    expect(volumeAnomaly(100, Array(10).fill(100)).anomaly).toBeNull();
  });
});
