/**
 * Metrics over binned/categorical counts: PSI, Jensen–Shannon distance and the chi-square
 * goodness-of-fit test. Shared by the numerical engine (quantile bins), the categorical engine
 * and the sketches.
 */
import { chiSquareSf } from './special.js';

/** Proportion floor: empty bins would make PSI infinite and chi-square undefined. */
export const PROPORTION_FLOOR = 1e-4;

/** max(count/n, 1e-4) — a floor, not a renormalisation. */
export function flooredProportions(counts: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(counts.length);
  for (let k = 0; k < counts.length; k++) out[k] = Math.max(counts[k]! / n, PROPORTION_FLOOR);
  return out;
}

export function rawProportions(counts: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(counts.length);
  for (let k = 0; k < counts.length; k++) out[k] = counts[k]! / n;
  return out;
}

/** Σ (C − R) ln(C / R) over floored proportions. */
export function psiFromProportions(r: ArrayLike<number>, c: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < r.length; k++) {
    const a = r[k]!;
    const b = c[k]!;
    s += (b - a) * Math.log(b / a);
  }
  return s;
}

/**
 * Jensen–Shannon distance in base 2 (scipy.spatial.distance.jensenshannon(p, q, base=2)): both
 * vectors are renormalised to sum 1, 0·ln 0 = 0, result in [0, 1].
 */
export function jsDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let sp = 0;
  let sq = 0;
  for (let k = 0; k < p.length; k++) {
    sp += p[k]!;
    sq += q[k]!;
  }
  let total = 0;
  for (let k = 0; k < p.length; k++) {
    const a = p[k]! / sp;
    const b = q[k]! / sq;
    const m = (a + b) / 2;
    if (a > 0) total += a * Math.log(a / m);
    if (b > 0) total += b * Math.log(b / m);
  }
  // Rounding can leave a tiny negative sum for identical distributions.
  return Math.sqrt(Math.max(total / Math.LN2, 0) / 2);
}

export interface BinnedMetrics {
  readonly psi: number;
  readonly jsDistance: number;
  readonly jsDistanceRaw: number;
}

/** PSI and JS for two count vectors over the same bins/categories. */
export function binnedMetrics(
  refCounts: ArrayLike<number>,
  n1: number,
  curCounts: ArrayLike<number>,
  n2: number,
): BinnedMetrics {
  const r = flooredProportions(refCounts, n1);
  const c = flooredProportions(curCounts, n2);
  return {
    psi: psiFromProportions(r, c),
    jsDistance: jsDistance(r, c),
    jsDistanceRaw: jsDistance(rawProportions(refCounts, n1), rawProportions(curCounts, n2)),
  };
}

export interface ChiSquareResult {
  readonly statistic: number;
  readonly pValue: number;
  readonly df: number;
}

/**
 * Goodness of fit of the current counts against the reference proportions. The reference
 * proportions are floored (so categories unseen in the reference get a small expected count
 * instead of a division by zero) and renormalised to sum 1.
 */
export function chiSquareGoodnessOfFit(
  refCounts: ArrayLike<number>,
  n1: number,
  curCounts: ArrayLike<number>,
  n2: number,
): ChiSquareResult {
  const k = refCounts.length;
  if (k <= 1) return { statistic: 0, pValue: 1, df: 0 };
  const r = flooredProportions(refCounts, n1);
  let rSum = 0;
  for (let i = 0; i < k; i++) rSum += r[i]!;
  let stat = 0;
  for (let i = 0; i < k; i++) {
    const e = n2 * (r[i]! / rSum);
    const diff = curCounts[i]! - e;
    stat += (diff * diff) / e;
  }
  const df = k - 1;
  return { statistic: stat, pValue: chiSquareSf(stat, df), df };
}
