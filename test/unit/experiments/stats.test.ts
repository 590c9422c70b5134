/**
 * The statistics beyond the reference set: Holm (hand-worked), ties, the undefined (null)
 * results, the mSPRT state's O(1) updates (batch splitting and pre-aggregated batches give the
 * same looks; Λ against its closed form), SRM against scipy.stats.chisquare, and input errors.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { benjaminiHochberg, bonferroni, holm } from '../../../functions/core/experiments/adjust.js';
import { compareMeans, compareProportions } from '../../../functions/core/experiments/fixed.js';
import {
  type MsprtParams,
  msprtObserve,
  msprtStart,
  msprtUpdate,
  summarize,
} from '../../../functions/core/experiments/msprt.js';
import { sampleRatioMismatch } from '../../../functions/core/experiments/srm.js';
import { domainError } from '../../support/expect-code.js';
import { loadCase } from './reference.js';

const close = (a: number, e: number, rtol = 1e-12) => Math.abs(a - e) <= rtol * Math.abs(e) + 1e-300;

describe('multiple-testing adjustments', () => {
  it('Holm: hand-worked step-down with the running maximum, in input order', () => {
    // sorted 0.01, 0.02, 0.03, 0.04, 0.05 → 5·0.01, 4·0.02, 3·0.03, max(0.09, 2·0.04), max(0.09, 0.05)
    const out = holm([0.04, 0.01, 0.05, 0.03, 0.02]);
    [0.09, 0.05, 0.09, 0.09, 0.08].forEach((e, i) => {
      expect(close(out[i]!, e)).toBe(true);
    });
    expect(holm([0.5, 0.6])).toEqual([1, 1]);
  });

  it('ties get equal values in every method; Holm lies between raw and Bonferroni', () => {
    const ps = [0.04, 0.01, 0.04, 0.2, 0.01, 0.5, 0.04];
    for (const adj of [bonferroni(ps), holm(ps), benjaminiHochberg(ps)]) {
      expect(adj[1]).toBe(adj[4]);
      expect(adj[0]).toBe(adj[2]);
      expect(adj[2]).toBe(adj[6]);
    }
    const h = holm(ps);
    const b = bonferroni(ps);
    ps.forEach((p, i) => {
      expect(h[i]).toBeGreaterThanOrEqual(p);
      expect(h[i]).toBeLessThanOrEqual(b[i]!);
    });
  });

  it('BH: m·p_(r)/r is not monotone, so the step-up minimum applies (exact fractions)', () => {
    // m = 3, sorted 0.01, 0.04, 0.045: 3·0.01/1 = 0.03, 3·0.04/2 = 0.06, 3·0.045/3 = 0.045
    // → q = 0.03, min(0.06, 0.045) = 0.045, 0.045.
    const q = benjaminiHochberg([0.045, 0.01, 0.04]);
    expect(close(q[0]!, 0.045)).toBe(true);
    expect(close(q[1]!, 0.03)).toBe(true);
    expect(close(q[2]!, 0.045)).toBe(true);
  });

  it('rejects p-values outside [0, 1]', () => {
    expect(() => holm([0.1, 1.5])).toThrow(domainError('validation_failed'));
    expect(() => benjaminiHochberg([Number.NaN])).toThrow(domainError('validation_failed'));
  });
});

describe('undefined results are null', () => {
  it('control rate 0 → lift null; all-0 arms → z and p null, CI [0, 0]', () => {
    const r = compareProportions({ n: 100, successes: 0 }, { n: 100, successes: 3 });
    expect(r.lift).toBeNull();
    expect(r.z).not.toBeNull();
    const zero = compareProportions({ n: 50, successes: 0 }, { n: 80, successes: 0 });
    expect(zero).toEqual({ diff: 0, lift: null, z: null, p_value: null, ci_lower: 0, ci_upper: 0 });
    expect(JSON.parse(JSON.stringify(zero)).z).toBeNull();
  });

  it('Welch: one variance 0 → df = n − 1 of the other arm; both 0 → t, df, p and CI null', () => {
    const one = compareMeans({ n: 10, mean: 1, variance: 0 }, { n: 7, mean: 2, variance: 4 });
    expect(one.df).toBe(6);
    const both = compareMeans({ n: 10, mean: 1, variance: 0 }, { n: 7, mean: 2, variance: 0 });
    expect(both).toEqual({ diff: 1, t: null, df: null, p_value: null, ci_lower: null, ci_upper: null });
  });

  it('pooled z-test p equals the 2×2 chi-square (1 df) p: z² = χ², closed form', () => {
    // For the 2×2 table, Pearson χ² = N(ad − bc)² / (r1 r2 c1 c2), which equals z².
    const [a, n1, c, n2] = [30, 200, 50, 210];
    const b = n1 - a;
    const d = n2 - c;
    const N = n1 + n2;
    const chi2 = (N * (a * d - b * c) ** 2) / (n1 * n2 * (a + c) * (b + d));
    const r = compareProportions({ n: n1, successes: a }, { n: n2, successes: c });
    expect(close(r.z! * r.z!, chi2, 1e-12)).toBe(true);
  });
});

describe('mSPRT running state', () => {
  const c = loadCase('pub_ms_continuous_effect_sample_var.json');
  const params = c.params as unknown as MsprtParams;
  const batches = (c.input as { batches: { control: number[]; treatment: number[] }[] }).batches;

  it('pre-aggregated batches give the same looks as raw ones, in O(1) state', () => {
    let raw = msprtStart();
    let agg = msprtStart();
    for (const b of batches) {
      const r = msprtObserve(raw, params, b.control, b.treatment);
      const s = msprtUpdate(agg, params, summarize(b.control), summarize(b.treatment));
      raw = r.state;
      agg = s.state;
      expect(close(s.look.p_value, r.look.p_value, 1e-12)).toBe(true);
    }
    expect(Object.keys(agg).sort()).toEqual(['control', 'first_rejection', 'looks', 'p_value', 'treatment']);
  });

  it('one big batch = the final look of many small ones (Chan merge vs direct moments)', () => {
    const allC = batches.flatMap((b) => b.control);
    const allT = batches.flatMap((b) => b.treatment);
    let s = msprtStart();
    let last = 0;
    for (const b of batches) {
      const r = msprtObserve(s, params, b.control, b.treatment);
      s = r.state;
      last = r.look.log_lambda;
    }
    const once = msprtObserve(msprtStart(), params, allC, allT).look;
    expect(close(once.log_lambda, last, 1e-11)).toBe(true);
  });

  it('known variance: log Λ matches the closed form computed by hand', () => {
    const p: MsprtParams = {
      tau2: 0.5,
      alpha: 0.05,
      variance: { mode: 'known', sigma2_control: 1, sigma2_treatment: 1 },
    };
    // n = 2, Δ = (3 + 5)/2 − (1 + 2)/2 = 2.5, V = 2: ½ ln(2/3) + 4·0.5·6.25/(2·2·3).
    const { look } = msprtObserve(msprtStart(), p, [1, 2], [3, 5]);
    expect(close(look.log_lambda, 0.5 * Math.log(2 / 3) + 12.5 / 12, 1e-14)).toBe(true);
    expect(close(look.p_value, Math.min(1, Math.exp(-look.log_lambda)), 1e-15)).toBe(true);
  });

  it('V = 0 means Λ = 1; the p-value never increases; unequal batches are refused', () => {
    const p: MsprtParams = { tau2: 0.01, alpha: 0.05, variance: { mode: 'binary' } };
    const first = msprtObserve(msprtStart(), p, [0, 0, 0], [0, 0, 0]);
    expect(first.look.p_value).toBe(1);
    expect(first.look.variance).toBeNull();
    let s = msprtStart();
    let prev = 1;
    for (const b of (loadCase('pub_ms_binary_null.json').input as { batches: typeof batches }).batches) {
      s = msprtObserve(s, p, b.control, b.treatment).state;
      expect(s.p_value).toBeLessThanOrEqual(prev);
      prev = s.p_value;
    }
    expect(() => msprtObserve(msprtStart(), p, [1], [1, 0])).toThrow(domainError('validation_failed'));
  });
});

describe('sample-ratio mismatch', () => {
  const ref = JSON.parse(
    readFileSync(new URL('../../fixtures/experiments/special/special.json', import.meta.url), 'utf8'),
  ) as { srm_scipy_chisquare: { counts: number[]; weights: number[]; chi2: number; p_value: number }[] };

  it('agrees with scipy.stats.chisquare; ok iff p >= 0.001', () => {
    expect(ref.srm_scipy_chisquare.length).toBe(8);
    for (const c of ref.srm_scipy_chisquare) {
      const r = sampleRatioMismatch(c.counts, c.weights);
      expect(close(r.chi2, c.chi2, 1e-12) || (c.chi2 === 0 && r.chi2 === 0), JSON.stringify(c)).toBe(true);
      expect(close(r.p_value!, c.p_value, 1e-12), JSON.stringify(c)).toBe(true);
      expect(r.ok).toBe(c.p_value >= 0.001);
    }
  });

  it('the 90/10 case with 9120/880 is a mismatch, 9000/1000 is not', () => {
    expect(sampleRatioMismatch([9120, 880], [90, 10]).ok).toBe(false);
    expect(sampleRatioMismatch([9000, 1000], [90, 10]).ok).toBe(true);
  });

  it('weight-0 variants: ignored when empty, a mismatch when anyone landed there; nothing observed → null', () => {
    expect(sampleRatioMismatch([500, 500, 0], [50, 50, 0]).df).toBe(1);
    expect(sampleRatioMismatch([500, 500, 1], [50, 50, 0])).toMatchObject({ p_value: 0, ok: false });
    expect(sampleRatioMismatch([0, 0], [50, 50])).toMatchObject({ p_value: null, ok: true });
    expect(() => sampleRatioMismatch([1, 2], [50])).toThrow(domainError('validation_failed'));
  });
});
