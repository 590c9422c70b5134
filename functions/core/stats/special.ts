/**
 * Special functions the drift tests need: log-gamma, the regularised upper incomplete gamma
 * function (chi-square and normal tail probabilities) and the Kolmogorov limiting distribution.
 * Plain doubles only; accuracy targets are ~1e-13 relative, far inside the 1e-6 the p-values are
 * checked at.
 */

const LANCZOS_G = 7;
// Lanczos (g = 7, n = 9) coefficients, the widely published set; ~15 significant digits.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) return Number.NaN;
  if (x < 0.5) {
    // Reflection keeps the Lanczos sum in its accurate range.
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  if (x >= 15) {
    // Stirling's series: for large x it is more accurate than Lanczos, whose (x+0.5)·ln(t) − t
    // form cancels digits.
    const r = 1 / x;
    const r2 = r * r;
    const series =
      r *
      (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188 - r2 * (691 / 360360))))));
    return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + series;
  }
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i]! / (z + i);
  return HALF_LOG_2PI + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

const GAMMA_EPS = 1e-16;
const GAMMA_MAX_ITER = 100_000;
const TINY = 1e-300;

/**
 * Regularised upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a).
 * The series for P converges fast below x = a + 1, the continued fraction for Q above it; using
 * each on its own side keeps the small tail (the p-value) from being computed as 1 − (≈1).
 */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  const logPrefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let ap = a;
    let term = 1 / a;
    let sum = term;
    for (let i = 0; i < GAMMA_MAX_ITER; i++) {
      ap += 1;
      term *= x / ap;
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * GAMMA_EPS) break;
    }
    const p = sum * Math.exp(logPrefix);
    return Math.min(1, Math.max(0, 1 - p));
  }
  // Modified Lentz evaluation of the continued fraction for Γ(a, x).
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < GAMMA_MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < GAMMA_EPS) break;
  }
  return Math.min(1, Math.max(0, Math.exp(logPrefix) * h));
}

/** P(χ²_df > stat). */
export function chiSquareSf(stat: number, df: number): number {
  if (df <= 0) return 1;
  return gammaQ(df / 2, stat / 2);
}

/** Two-sided normal tail P(|Z| > |z|) = erfc(|z|/√2) = Q(1/2, z²/2), accurate deep into the tail. */
export function normalTwoSidedP(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (z === 0) return 1;
  return gammaQ(0.5, (z * z) / 2);
}

/**
 * Kolmogorov's limiting distribution, Q(λ) = P(K > λ) = 2 Σ (−1)^(k−1) exp(−2k²λ²).
 * Below λ ≈ 1 that alternating series needs many terms and cancels, so the Jacobi-theta form
 * of the CDF, √(2π)/λ Σ exp(−(2k−1)²π²/(8λ²)), is used there instead.
 */
export function kolmogorovSf(lambda: number): number {
  if (Number.isNaN(lambda)) return Number.NaN;
  if (lambda <= 0) return 1;
  if (lambda < 1) {
    const w = (Math.PI * Math.PI) / (8 * lambda * lambda);
    let s = 0;
    for (let k = 1; k < 100; k++) {
      const t = Math.exp(-(2 * k - 1) * (2 * k - 1) * w);
      s += t;
      if (t <= s * 1e-17) break;
    }
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * s));
  }
  let s = 0;
  for (let k = 1; k < 100; k++) {
    const t = Math.exp(-2 * k * k * lambda * lambda);
    s += k % 2 === 1 ? t : -t;
    if (t <= Math.abs(s) * 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * s));
}
