/**
 * Special functions for the drift and experiments statistics: log-gamma, log-beta, the
 * regularised incomplete gamma and beta functions, and from them the normal, Student-t and
 * chi-square tails and quantiles, plus the Kolmogorov limiting distribution. Plain doubles, no
 * dependencies. Kept in stats (below experiments in the core order) so both engines share one
 * implementation.
 *
 * Accuracy (test/unit/experiments/special.test.ts, against mpmath at 40 digits and the reference
 * README's t quantiles; test/unit/stats/engine.test.ts, closed forms and scipy): normal and
 * chi-square tails ~1e-15 relative; the two-sided t tail ≤ 1e-13 relative up to df ≈ 1000 and
 * ≤ 3e-12 up to df = 10⁵, degrading to ~3e-10 at df = 10⁷. The loss at huge df is conditioning,
 * not truncation: I_x(df/2, ½) is evaluated at x = df/(df + t²), whose rounding near 1 is
 * amplified by ~t²/2 · eps/(1 − x). An expansion in 1 − x (TOMS 708's BGRAT) would remove it; at
 * the 1e-9 the reference set checks, it is not needed.
 */

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
const HALF_LOG_PI = 0.5 * Math.log(Math.PI);
const LANCZOS_G = 7;
// Lanczos (g = 7, n = 9): the widely published coefficient set, ~15 significant digits.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** Stirling's remainder ln Γ(x) − [(x − ½) ln x − x + ½ ln 2π], for x ≥ 10 (series to x⁻¹³). */
function stirlingCorrection(x: number): number {
  const r = 1 / x;
  const r2 = r * r;
  return (
    r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188 - r2 * (691 / 360360))))))
  );
}

/** ln Γ(x) for x > 0 (NaN otherwise). */
export function logGamma(x: number): number {
  if (!(x > 0)) return Number.NaN;
  if (x === 1 || x === 2) return 0;
  if (x === 0.5) return HALF_LOG_PI;
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  if (x >= 10) return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + stirlingCorrection(x);
  const z = x - 1;
  let s = LANCZOS[0]!;
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS.length; i++) s += LANCZOS[i]! / (z + i);
  return HALF_LOG_2PI + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/**
 * ln B(a, b). When the larger argument is big, ln Γ(a) − ln Γ(a + b) is formed from Stirling's
 * series directly instead of as the difference of two large numbers (for the t-test a = df/2
 * reaches 10⁵ and more, where the naive difference would lose ~6 digits).
 */
export function logBeta(a: number, b: number): number {
  if (!(a > 0) || !(b > 0)) return Number.NaN;
  const big = Math.max(a, b);
  const small = Math.min(a, b);
  if (big < 10) return logGamma(a) + logGamma(b) - logGamma(a + b);
  // ln Γ(big) − ln Γ(big + small)
  //   = −(big − ½) ln(1 + small/big) − small ln(big + small) + small + c(big) − c(big + small)
  const diff =
    -(big - 0.5) * Math.log1p(small / big) -
    small * Math.log(big + small) +
    small +
    stirlingCorrection(big) -
    stirlingCorrection(big + small);
  return logGamma(small) + diff;
}

const EPS = 1e-16;
const TINY = 1e-300;
const MAX_ITER = 200_000;

/**
 * Regularised upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a): the series for P below x = a + 1,
 * the continued fraction for Q (modified Lentz) above, so a small upper tail is never 1 − (≈1).
 */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  const logFront = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let ap = a;
    let term = 1 / a;
    let sum = term;
    for (let i = 0; i < MAX_ITER; i++) {
      ap += 1;
      term *= x / ap;
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    return Math.min(1, Math.max(0, 1 - sum * Math.exp(logFront)));
  }
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.min(1, Math.max(0, Math.exp(logFront) * h));
}

/** Continued fraction of I_x(a, b) (Numerical Recipes' betacf, modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < MAX_ITER; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return h;
}

/**
 * Regularised incomplete beta I_x(a, b), given x and y = 1 − x separately (the caller can often
 * form y without cancellation, e.g. t²/(df + t²) for the t tail). The continued fraction is used
 * on the side where it converges fast, with I_x(a, b) = 1 − I_y(b, a) on the other.
 */
export function betaIncReg(a: number, b: number, x: number, y: number = 1 - x): number {
  if (!(a > 0) || !(b > 0) || Number.isNaN(x) || Number.isNaN(y)) return Number.NaN;
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const logX = x > 0.5 ? Math.log1p(-y) : Math.log(x);
  const logY = y > 0.5 ? Math.log1p(-x) : Math.log(y);
  const front = Math.exp(a * logX + b * logY - logBeta(a, b));
  if (x < (a + 1) / (a + b + 2)) return Math.min(1, (front * betaContinuedFraction(a, b, x)) / a);
  return Math.max(0, 1 - (front * betaContinuedFraction(b, a, y)) / b);
}

/** P(|Z| > |z|) = erfc(|z|/√2) for a standard normal Z, accurate deep into the tail. */
export function normalTwoSidedP(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  return gammaQ(0.5, (z * z) / 2);
}

/** P(Z > z), the upper normal tail. */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  const half = 0.5 * normalTwoSidedP(z);
  return z >= 0 ? half : 1 - half;
}

/** Standard normal density. */
function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z - HALF_LOG_2PI);
}

// Acklam's rational approximation of Φ⁻¹ (relative error < 1.2e-9), refined by Halley steps below.
const ACK_A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
  2.506628277459239,
];
const ACK_B = [
  -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1,
];
const ACK_C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const ACK_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

function acklam(p: number): number {
  const [a0, a1, a2, a3, a4, a5] = ACK_A as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = ACK_B as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = ACK_C as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = ACK_D as [number, number, number, number];
  const pLow = 0.02425;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1)
    );
  }
  if (p > 1 - pLow) return -acklam(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}

/**
 * The upper quantile: z with P(Z > z) = p, for 0 < p < 1. Acklam's approximation, then Halley
 * steps on the accurate tail until the step is below an ulp (e.g. p = 0.025 gives 1.959963984540054).
 */
export function normalUpperQuantile(p: number): number {
  if (!(p > 0 && p < 1))
    return p === 0 ? Number.POSITIVE_INFINITY : p === 1 ? Number.NEGATIVE_INFINITY : Number.NaN;
  let z = -acklam(p);
  for (let i = 0; i < 8; i++) {
    const e = normalSf(z) - p;
    const u = e / normalPdf(z);
    const step = u / (1 + (z * u) / 2);
    z += step;
    if (Math.abs(step) <= 2e-16 * Math.abs(z)) break;
  }
  return z;
}

/** P(|T| > |t|) for Student's t with df > 0 degrees of freedom (df need not be an integer). */
export function studentTwoSidedP(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return Number.NaN;
  if (!Number.isFinite(t)) return 0;
  const t2 = t * t;
  if (t2 === 0) return 1;
  // x = df/(df + t²), y = t²/(df + t²), each formed without cancellation.
  const x = df / (df + t2);
  const y = t2 / (df + t2);
  return betaIncReg(df / 2, 0.5, x, y);
}

/** Student-t density at t. */
function studentPdf(t: number, df: number): number {
  return Math.exp(-((df + 1) / 2) * Math.log1p((t * t) / df) - 0.5 * Math.log(df) - logBeta(df / 2, 0.5));
}

/**
 * q > 0 with P(|T_df| > q) = alpha (so q = t_{1 − alpha/2, df}), for 0 < alpha < 1 and any
 * df > 0. Safeguarded Newton on the incomplete-beta tail, starting from a Cornish–Fisher guess,
 * bisecting whenever a step would leave the bracket; iterated until the step is below an ulp.
 */
export function studentTwoSidedQuantile(alpha: number, df: number): number {
  if (!(alpha > 0 && alpha < 1) || !(df > 0)) return Number.NaN;
  const z = normalUpperQuantile(alpha / 2);
  let lo = 0;
  let hi = Math.max(1, 2 * z);
  for (let i = 0; i < 2000 && studentTwoSidedP(hi, df) > alpha; i++) {
    lo = hi;
    hi *= 2;
  }
  const z3 = z * z * z;
  let q = z + (z3 + z) / (4 * df) + (5 * z3 * z * z + 16 * z3 + 3 * z) / (96 * df * df);
  if (!(q > lo && q < hi)) q = (lo + hi) / 2;
  for (let i = 0; i < 300; i++) {
    const f = studentTwoSidedP(q, df) - alpha;
    if (f === 0) return q;
    if (f > 0) lo = q;
    else hi = q;
    let next = q + f / (2 * studentPdf(q, df));
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    const step = next - q;
    q = next;
    if (Math.abs(step) <= 2e-16 * q || hi - lo <= 4e-16 * hi) break;
  }
  return q;
}

/** P(χ²_df > x), the chi-square survival function, for df > 0. */
export function chiSquareSf(x: number, df: number): number {
  if (!(df > 0) || Number.isNaN(x)) return Number.NaN;
  return gammaQ(df / 2, x / 2);
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
