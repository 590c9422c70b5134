/**
 * Edge cases and closed forms for the statistics engine. Expected values come from formulas
 * worked out here (or brute-force enumeration), never from the engine itself.
 */
import { describe, expect, it } from 'vitest';
import type { DomainError } from '../../../functions/core/kernel/errors.js';
import { chiSquareGoodnessOfFit, jsDistance } from '../../../functions/core/stats/binned.js';
import { categoricalMetrics } from '../../../functions/core/stats/categorical.js';
import {
  durbinCdf,
  gcd,
  ksAsympPValue,
  ksExactPValue,
  ksStatistic,
  kstwoSf,
  roundHalfEven,
  smirnovSf,
} from '../../../functions/core/stats/ks.js';
import {
  binCountsColumn,
  numericalMetrics,
  populationStd,
  psiInnerEdges,
  quantileLinear,
  wassersteinSorted,
} from '../../../functions/core/stats/numerical.js';
import { prepareNumeric } from '../../../functions/core/stats/samples.js';
import {
  chiSquareSf,
  kolmogorovSf,
  logGamma,
  normalTwoSidedP,
} from '../../../functions/core/stats/special.js';
import { domainError } from '../../support/expect-code.js';

function close(actual: number, expected: number, rtol: number, atol = 0): void {
  const diff = Math.abs(actual - expected);
  if (!(diff <= atol || diff <= rtol * Math.abs(expected))) {
    throw new Error(`expected ${expected}, got ${actual} (|diff| ${diff})`);
  }
}

const f64 = (xs: number[]) => Float64Array.from(xs).sort();
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);

describe('input validation', () => {
  it('rejects an empty sample with a typed validation error', () => {
    expect(() => numericalMetrics([], [1, 2])).toThrow(domainError('validation_failed'));
    try {
      numericalMetrics([1, 2], []);
    } catch (err) {
      expect(err).toEqual(domainError('validation_failed'));
      expect((err as DomainError).code).toBe('validation_failed');
      expect((err as Error).message).toMatch(/current/);
    }
  });

  it('rejects a column that is all nulls/NaN after dropping them', () => {
    expect(() => numericalMetrics([null, Number.NaN, null], [1])).toThrow(/no values left/);
    expect(() => categoricalMetrics(['a'], [null, null])).toThrow(domainError('validation_failed'));
  });

  it('drops nulls and NaN before anything else', () => {
    const withNulls = numericalMetrics([null, 0, 1, Number.NaN, 2], [5, null, 6, 7]);
    expect(withNulls.n1).toBe(3);
    expect(withNulls.n2).toBe(3);
    // Disjoint supports: D = 1 and, with n1 = n2 = 3, exact p = 2 / C(6, 3) = 0.1.
    expect(withNulls.ksStatistic).toBe(1);
    close(withNulls.ksPValueAuto, 0.1, 1e-14);
    // Each quantile of {0,1,2} moves by 5: W = 5.
    close(withNulls.wasserstein, 5, 1e-15);
  });

  it('rejects non-numbers and infinities in a numerical column', () => {
    expect(() => prepareNumeric([1, 'x' as unknown as number], 'ref')).toThrow(/index 1 is not a number/);
    expect(() => prepareNumeric([1, Number.POSITIVE_INFINITY], 'ref')).toThrow(/infinite/);
  });
});

describe('KS statistic and p-values', () => {
  it('evaluates ties at every pooled value', () => {
    // t=1: 1/4 vs 0; t=2: 3/4 vs 3/4; t=3: 1 vs 3/4; t=4: 1 vs 1  →  D = 1/4.
    const s = ksStatistic(f64([1, 2, 2, 3]), f64([2, 2, 2, 4]));
    expect(s.d).toBe(0.25);
    expect(s.dScaled).toBe(4); // |i·n2 − j·n1| = |1·4 − 0·4|
  });

  it('identical samples: D = 0, every p-value 1, every distance 0', () => {
    const x = Array.from({ length: 300 }, (_, i) => Math.sin(i) * 10);
    const m = numericalMetrics(x, [...x].reverse());
    expect(m.ksStatistic).toBe(0);
    expect(m.ksPValueAuto).toBe(1);
    expect(m.ksPValueAsymp).toBe(1);
    expect(m.ksPValueKolmogorov).toBe(1);
    expect(m.wasserstein).toBe(0);
    expect(m.psi).toBe(0);
    expect(m.jsDistance).toBe(0);
  });

  // All C(n1+n2, n1) arrangements of two tie-free samples are equally likely under H0.
  function bruteForceTail(n1: number, n2: number): Map<number, number> {
    const n = n1 + n2;
    const g = gcd(n1, n2);
    const freq = new Map<number, number>();
    let total = 0;
    for (let mask = 0; mask < 1 << n; mask++) {
      let ones = 0;
      for (let b = 0; b < n; b++) if (mask & (1 << b)) ones++;
      if (ones !== n1) continue;
      let i = 0;
      let j = 0;
      let best = 0;
      for (let b = 0; b < n; b++) {
        if (mask & (1 << b)) i++;
        else j++;
        best = Math.max(best, Math.abs(i * n2 - j * n1));
      }
      freq.set(best / g, (freq.get(best / g) ?? 0) + 1);
      total++;
    }
    const tail = new Map<number, number>();
    for (const h of freq.keys()) {
      let c = 0;
      for (const [h2, k] of freq) if (h2 >= h) c += k;
      tail.set(h, c / total);
    }
    return tail;
  }

  const sizes: [number, number][] = [
    [1, 1],
    [3, 3],
    [5, 5],
    [7, 7],
    [8, 8],
    [1, 6],
    [2, 5],
    [3, 7],
    [4, 6],
    [5, 8],
    [6, 9],
    [7, 9],
  ];
  it.each(sizes)('exact p-value for n1=%i, n2=%i equals enumeration of all arrangements', (n1, n2) => {
    const tail = bruteForceTail(n1, n2);
    expect(tail.size).toBeGreaterThan(0);
    for (const [h, p] of tail) {
      close(ksExactPValue(n1, n2, h), p, 1e-12, 1e-15);
      close(ksExactPValue(n2, n1, h), p, 1e-12, 1e-15);
    }
  });

  it('exact p-value for disjoint equal samples is 2 / C(2n, n)', () => {
    // C(20, 10) = 184756
    close(ksExactPValue(10, 10, 10), 2 / 184756, 1e-13);
  });

  it('asymp uses N = round-half-even(n1·n2/(n1+n2))', () => {
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(3.5)).toBe(4);
    expect(roundHalfEven(44.44)).toBe(44);
    // n1 = n2 = 5: en = 2.5 → N = 2. For D ≥ 1 − 1/N (here D = 0.6 ≥ 0.5) scipy's branch is
    // Ruben–Gambino: P(D_N ≥ d) = 2(1 − d)^N.
    close(ksAsympPValue(5, 5, 0.6), 2 * 0.4 ** 2, 1e-14);
  });

  it('one-sample KS distribution matches the Ruben–Gambino closed forms at both ends', () => {
    // 1/(2n) ≤ d ≤ 1/n: P(D_n ≤ d) = n! (2d − 1/n)^n.
    for (const [n, d] of [
      [3, 0.25],
      [7, 0.1],
      [20, 0.04],
    ] as const) {
      let fact = 1;
      for (let i = 2; i <= n; i++) fact *= i;
      const cdf = fact * (2 * d - 1 / n) ** n;
      close(kstwoSf(n, d), 1 - cdf, 1e-12);
      close(durbinCdf(n, d), cdf, 1e-10);
    }
    // d ≥ 1 − 1/n: P(D_n ≥ d) = 2(1 − d)^n; the Durbin matrix must agree there too.
    close(kstwoSf(4, 0.8), 2 * 0.2 ** 4, 1e-13);
    close(1 - durbinCdf(4, 0.8), 2 * 0.2 ** 4, 1e-9);
    // n = 1: D_1 = max(U, 1 − U), so P(D_1 < d) = 2d − 1.
    close(durbinCdf(1, 0.7), 0.4, 1e-14);
  });

  it('one-sided Smirnov tail matches Birnbaum–Tingey by hand for n = 2 and (1 − x)^n near 1', () => {
    // n = 2, x < 1/2: x[x^−1 (1−x)^2 + 2 (1 − x − 1/2)] = 1 − x − x²
    close(smirnovSf(2, 0.3), 1 - 0.3 - 0.09, 1e-14);
    close(smirnovSf(1, 0.3), 0.7, 1e-15);
    close(smirnovSf(10, 0.95), 0.05 ** 10, 1e-12);
  });

  it('Kolmogorov limit reproduces the classical critical values', () => {
    close(kolmogorovSf(1.3581), 0.05, 1e-3);
    close(kolmogorovSf(1.2238), 0.1, 1e-3);
    close(kolmogorovSf(1.6276), 0.01, 1e-3);
    // scipy.special.kolmogorov(1.0)
    close(kolmogorovSf(1), 0.26999967167735456, 1e-13);
    expect(kolmogorovSf(0)).toBe(1);
  });
});

describe('distances', () => {
  it('Wasserstein of a pure shift is the shift; of two point masses their distance', () => {
    const r = f64([0, 1, 2, 3, 10]);
    const c = f64([0, 1, 2, 3, 10].map((x) => x + 2.5));
    close(wassersteinSorted(r, c), 2.5, 1e-15);
    expect(wassersteinSorted(f64([1, 1, 1]), f64([6, 6]))).toBe(5);
    // Half the mass moves by 4: W = 2.
    close(wassersteinSorted(f64([0, 0]), f64([0, 4])), 2, 1e-15);
  });

  it('normalised Wasserstein divides by the population std with a 0.001 floor', () => {
    // {0, 2}: mean 1, population std 1.
    expect(populationStd(f64([0, 2]))).toBe(1);
    const m = numericalMetrics([0, 2], [3, 5]);
    close(m.wassersteinNorm, 3, 1e-15);
    const constant = numericalMetrics([7, 7, 7], [7.5, 7.5]);
    close(constant.wassersteinNorm, 0.5 / 0.001, 1e-12);
  });

  it('quantile edges follow numpy linear interpolation', () => {
    const s = f64([10, 20, 30, 40, 50]);
    // v = 4p: p = 0.1 → 0.4 → 10 + 10·0.4; p = 0.9 → 3.6 → g ≥ 0.5: 50 − 10·0.4
    close(quantileLinear(s, 0.1), 14, 1e-15);
    close(quantileLinear(s, 0.9), 46, 1e-15);
    expect(quantileLinear(s, 1)).toBe(50);
    // n = 11 makes (n−1)·k/10 = k integral, so edges are data points: s[1..6] = 0, s[7..9] = 1,
    // and the nine quantiles collapse to two edges once duplicates are removed.
    expect([...psiInnerEdges(f64([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2]))]).toEqual([0, 1]);
  });

  it('bins raw columns left-closed, skipping nulls, with few or many edges', () => {
    // Edges 1..9 over values 0..10: (−∞,1) holds 0, [k,k+1) holds k, [9,∞) holds 9 and 10.
    const few = binCountsColumn([null, ...range(11), Number.NaN], Float64Array.from(range(9, 1)), 'x');
    expect(few.n).toBe(11);
    expect([...few.counts]).toEqual([...Array(9).fill(1), 2]);
    const many = binCountsColumn(Float64Array.from(range(21)), Float64Array.from(range(19, 1)), 'x');
    expect([...many.counts]).toEqual([...Array(19).fill(1), 2]);
    expect(() => binCountsColumn([1, Number.NEGATIVE_INFINITY], Float64Array.of(0), 'x')).toThrow(/infinite/);
    expect(() => binCountsColumn([null], Float64Array.of(0), 'x')).toThrow(/no values left/);
  });

  it('PSI over quantile bins, worked by hand (left-closed bins, 1e-4 floor)', () => {
    // Reference 1..11: (n−1)·k/10 = k, so the inner edges are 2..10 exactly, bins
    // (−∞,2) [2,3) … [9,10) [10,∞) hold 1,1,…,1,2 values. Current: five 1s, all in bin 0.
    const ref = Array.from({ length: 11 }, (_, i) => i + 1);
    const m = numericalMetrics(ref, [1, 1, 1, 1, 1]);
    const R = [...Array(9).fill(1 / 11), 2 / 11];
    const C = [1, ...Array(9).fill(1e-4)];
    let psi = 0;
    for (let k = 0; k < 10; k++) psi += (C[k] - R[k]) * Math.log(C[k] / R[k]);
    close(m.psi, psi, 1e-13);
  });

  it('Jensen–Shannon distance (base 2) is 1 for disjoint supports and 0 for equal ones', () => {
    expect(jsDistance([1, 0], [0, 1])).toBe(1);
    expect(jsDistance([0.2, 0.8], [2, 8])).toBe(0);
    const m = categoricalMetrics(['a', 'a', 'a'], ['b', 'b']);
    expect(m.jsDistanceRaw).toBe(1);
    // Floored: p = (1, 1e-4)/(1.0001), q reversed; closed form of the JS divergence.
    const p = 1 / 1.0001;
    const q = 1e-4 / 1.0001;
    const mid = (p + q) / 2;
    const jsd = (2 * (p * Math.log(p / mid) + q * Math.log(q / mid))) / Math.LN2 / 2;
    close(m.jsDistance, Math.sqrt(jsd), 1e-12);
  });
});

describe('chi-square and special functions', () => {
  it('chi-square survival function against closed forms for even df', () => {
    for (const x of [0.5, 3, 10, 40]) {
      close(chiSquareSf(x, 2), Math.exp(-x / 2), 1e-13);
      close(chiSquareSf(x, 4), Math.exp(-x / 2) * (1 + x / 2), 1e-13);
      close(chiSquareSf(x, 6), Math.exp(-x / 2) * (1 + x / 2 + (x * x) / 8), 1e-13);
    }
    // scipy.stats.chi2.sf(16, 1)
    close(chiSquareSf(16, 1), 6.334248366623988e-5, 1e-12);
    // Far tail keeps relative precision: df = 2 → exp(−x/2) exactly.
    close(chiSquareSf(1200, 2), Math.exp(-600), 1e-10);
  });

  it('goodness of fit worked by hand', () => {
    // Reference 50/50, current 30/70 of 100: expected 50, 50 → (20² + 20²)/50 = 16, df 1.
    const r = chiSquareGoodnessOfFit([50, 50], 100, [30, 70], 100);
    close(r.statistic, 16, 1e-14);
    expect(r.df).toBe(1);
    close(r.pValue, 6.334248366623988e-5, 1e-12);
    const m = categoricalMetrics(['x', 'x'], ['x']);
    expect([m.chi2Stat, m.chi2Df, m.chi2PValue]).toEqual([0, 0, 1]);
  });

  it('log-gamma and the normal tail', () => {
    close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-15);
    let logFact = 0;
    for (let n = 2; n <= 60; n++) {
      close(logGamma(n), logFact, 1e-14, 1e-14);
      logFact += Math.log(n);
    }
    close(normalTwoSidedP(1.9599639845400545), 0.05, 1e-12);
    expect(normalTwoSidedP(0)).toBe(1);
  });
});
