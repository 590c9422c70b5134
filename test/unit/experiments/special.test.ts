/**
 * Special functions against independent values: the reference README's exact t quantiles and
 * tails, mpmath at 40 digits (test/fixtures/experiments/special/special.json, gen_special.py),
 * and closed forms (χ²₂ tail = e^(−x/2), χ²₄ tail = e^(−x/2)(1 + x/2), t₁ tail = 1 − 2·atan(t)/π).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as experiments from '../../../functions/core/experiments/index.js';
import * as stats from '../../../functions/core/stats/special.js';
import {
  betaIncReg,
  chiSquareSf,
  normalTwoSidedP,
  normalUpperQuantile,
  studentTwoSidedP,
  studentTwoSidedQuantile,
} from '../../../functions/core/stats/special.js';

const ref = JSON.parse(
  readFileSync(new URL('../../fixtures/experiments/special/special.json', import.meta.url), 'utf8'),
) as {
  student_two_sided: [number, number, number][];
  normal_two_sided: [number, number][];
  chi2_sf: [number, number, number][];
  normal_upper_quantile: [number, number][];
};

const rel = (a: number, e: number) => (e === 0 ? Math.abs(a) : Math.abs(a - e) / Math.abs(e));

describe('Student t quantile (README table: nearest doubles from mpmath)', () => {
  const table: [number, number][] = [
    [1, 12.706204736174705],
    [1.5, 6.0166631044279315],
    [2, 4.302652729749464],
    [3.7, 2.8675207071911895],
    [5, 2.5705818356363155],
    [10.5, 2.213840292918789],
    [39, 2.0226909200367613],
    [100, 1.9839715185235522],
    [1000.25, 1.962338486494193],
    [100000, 1.9599877075346097],
  ];
  it.each(table)('t_{0.975, %d}', (df, q) => {
    // 1e-12 at df = 10⁵ (see special.ts on conditioning), within ~20 ulps elsewhere.
    expect(rel(studentTwoSidedQuantile(0.05, df), q)).toBeLessThan(df >= 1e5 ? 1e-12 : 5e-15);
  });

  it('README tail values', () => {
    expect(rel(studentTwoSidedP(2.0, 3.7), 0.121817201905234)).toBeLessThan(1e-14);
    expect(rel(studentTwoSidedP(2.5, 39), 0.016733784747197843)).toBeLessThan(1e-14);
    expect(rel(studentTwoSidedP(6, 1000.25), 2.755144520039584e-9)).toBeLessThan(1e-13);
    expect(rel(normalTwoSidedP(5), 5.733031437583878e-7)).toBeLessThan(1e-15);
  });
});

describe('tails against mpmath (40 digits)', () => {
  it('two-sided t tail over df 1 … 10⁷, t 0.1 … 20', () => {
    const bad = ref.student_two_sided.filter(([t, df, p]) => {
      const tol = df <= 1e3 ? 1e-13 : df <= 1e5 ? 5e-12 : 5e-10;
      return !(rel(studentTwoSidedP(t, df), p) <= tol);
    });
    expect(ref.student_two_sided.length).toBe(88);
    expect(bad).toEqual([]);
  });

  it('normal two-sided tail down to 1e-300', () => {
    // Deep tails carry the rounding of exp(−z²/2): ~z²/2 · eps relative.
    for (const [z, p] of ref.normal_two_sided)
      expect(rel(normalTwoSidedP(z), p), `z=${z}`).toBeLessThan(1e-13);
    expect(normalTwoSidedP(-3)).toBe(normalTwoSidedP(3));
  });

  it('normal upper quantile', () => {
    for (const [p, z] of ref.normal_upper_quantile) {
      expect(Math.abs(normalUpperQuantile(p) - z), `p=${p}`).toBeLessThanOrEqual(
        4e-15 * Math.max(1, Math.abs(z)),
      );
    }
    // README: 1.959963984540054 (scipy) or 1.9599639845400543 (correctly rounded); 1.96 fails.
    expect(Math.abs(normalUpperQuantile(0.025) - 1.9599639845400543)).toBeLessThan(2e-15);
  });

  it('chi-square survival function', () => {
    for (const [x, df, p] of ref.chi2_sf)
      expect(rel(chiSquareSf(x, df), p), `x=${x} df=${df}`).toBeLessThan(1e-13);
  });
});

describe('closed forms', () => {
  it('χ² with 2 and 4 df, t with 1 df, I_x(1, 1) = x and I_x(a, 1) = x^a', () => {
    for (const x of [0.001, 0.3, 2, 17, 90, 700]) {
      expect(rel(chiSquareSf(x, 2), Math.exp(-x / 2))).toBeLessThan(1e-13);
      expect(rel(chiSquareSf(x, 4), Math.exp(-x / 2) * (1 + x / 2))).toBeLessThan(1e-13);
    }
    for (const t of [0.2, 1, 3, 50, 1e4]) {
      expect(rel(studentTwoSidedP(t, 1), 1 - (2 * Math.atan(t)) / Math.PI)).toBeLessThan(1e-12);
    }
    for (const x of [0.01, 0.4, 0.9]) {
      expect(rel(betaIncReg(1, 1, x), x)).toBeLessThan(1e-15);
      expect(rel(betaIncReg(3.5, 1, x), x ** 3.5)).toBeLessThan(1e-14);
    }
  });

  it('edges: t = 0 → 1, t = ±∞ → 0, bad df → NaN', () => {
    expect(studentTwoSidedP(0, 5)).toBe(1);
    expect(studentTwoSidedP(Number.POSITIVE_INFINITY, 5)).toBe(0);
    expect(studentTwoSidedP(1, 0)).toBeNaN();
    expect(chiSquareSf(0, 3)).toBe(1);
  });
});

describe('one implementation for drift and experiments', () => {
  it('the experiments surface re-exports the stats functions themselves, not a copy', () => {
    const pairs = [
      [experiments.logGamma, stats.logGamma],
      [experiments.gammaQ, stats.gammaQ],
      [experiments.chiSquareSf, stats.chiSquareSf],
      [experiments.normalTwoSidedP, stats.normalTwoSidedP],
      [experiments.betaIncReg, stats.betaIncReg],
      [experiments.studentTwoSidedP, stats.studentTwoSidedP],
      [experiments.studentTwoSidedQuantile, stats.studentTwoSidedQuantile],
    ] as const;
    for (const [fromExperiments, fromStats] of pairs) expect(fromExperiments).toBe(fromStats);
    // The shared χ² tail treats a non-positive df as a bad argument, like the t functions do;
    // both callers (binned.ts, srm.ts) answer df 0 themselves before calling it.
    expect(chiSquareSf(3, 0)).toBeNaN();
  });
});
