/**
 * Two-sample Kolmogorov–Smirnov test: the statistic from sorted samples and three p-values.
 *
 * - exact: P(D ≥ d) under H0 over all C(n1+n2, n1) equally likely arrangements;
 * - asymp: what scipy 1.10 reports for method='asymp', i.e. the ONE-sample two-sided
 *   distribution kstwo.sf(D, N) with N = round-half-even(n1·n2/(n1+n2)). scipy evaluates it with
 *   Simard & L'Ecuyer's selection of algorithms, two of which are approximations (the Miller
 *   "2·smirnov" tail and the Pelz–Good series). To agree with scipy at 1e-6 we must use the same
 *   algorithm in the same region, so kstwoSf below keeps that branch structure;
 * - kolmogorov: the textbook limiting distribution with λ = √(n1·n2/(n1+n2))·D.
 *
 * `auto` follows scipy 1.10: exact when max(n1, n2) ≤ 10000, asymp otherwise.
 */
import { kolmogorovSf, logGamma } from './special.js';

export const KS_AUTO_EXACT_MAX_N = 10_000;

export type KsMethod = 'exact' | 'asymp';

export interface KsStatistic {
  /** sup |F_r − F_c| as scipy computes it, |i/n1 − j/n2| in doubles. */
  readonly d: number;
  /** The same supremum scaled to an integer: max |i·n2 − j·n1| (exact while n1·n2 < 2^53). */
  readonly dScaled: number;
  readonly n1: number;
  readonly n2: number;
}

/** KS statistic of two ascending, NaN-free samples, evaluated at every pooled value. */
export function ksStatistic(r: Float64Array, c: Float64Array): KsStatistic {
  const n1 = r.length;
  const n2 = c.length;
  let i = 0;
  let j = 0;
  let best = 0;
  let bestI = 0;
  let bestJ = 0;
  // Once either sample is exhausted the difference only shrinks towards 0, so stop there.
  while (i < n1 && j < n2) {
    const t = Math.min(r[i]!, c[j]!);
    while (i < n1 && r[i]! <= t) i++;
    while (j < n2 && c[j]! <= t) j++;
    const diff = Math.abs(i * n2 - j * n1);
    if (diff > best) {
      best = diff;
      bestI = i;
      bestJ = j;
    }
  }
  return { d: Math.abs(bestI / n1 - bestJ / n2), dScaled: best, n1, n2 };
}

export function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y !== 0) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

/** n·x rounded half to even, as numpy's np.round does (en = 2.5 → 2). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

// ---------------------------------------------------------------- exact two-sample p-value

/**
 * Exact two-sided P(D ≥ d). `h` is d expressed on the lattice: d·lcm(n1, n2), an integer
 * (for a statistic from ksStatistic, h = dScaled / gcd(n1, n2)).
 */
export function ksExactPValue(n1: number, n2: number, h: number): number {
  if (h <= 0) return 1;
  if (n1 === n2) return exactEqualSizes(n1, h);
  return exactLattice(n1, n2, h);
}

/**
 * n1 = n2 = n: P(D ≥ h/n) = 2 Σ_{k≥1} (−1)^(k−1) C(2n, n−kh) / C(2n, n) (reflection principle).
 * Written in nested form a1(1 − a2(1 − a3(…))) with a_k the ratio of consecutive binomials, so
 * no binomial coefficient is ever formed and tiny p-values keep their relative accuracy.
 */
function exactEqualSizes(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 1; k--) {
    const base = (k - 1) * h;
    let a = 1;
    for (let j = 0; j < h; j++) a = (a * (n - base - j)) / (n + base + j + 1);
    p = a * (1 - p);
  }
  return Math.min(1, Math.max(0, 2 * p));
}

/**
 * General sizes: walk the lattice of paths (0,0)→(m,n) column by column. A(i,j) is the fraction of
 * the paths reaching (i,j) that have already touched a point with |i/m − j/n| ≥ d (value 1 on
 * those points). Paths to (i,j) arrive from (i−1,j) and (i,j−1) in proportions i:j, so
 * A(i,j) = (i·A(i−1,j) + j·A(i,j−1)) / (i+j) — a convex combination of numbers in [0,1], which
 * is why tiny p-values come out with full relative precision (Viehmann's "1 − p" form of
 * Hodges' recursion). Only the band of inside points is stored: O(m · band) time.
 */
function exactLattice(n1: number, n2: number, h: number): number {
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const g = gcd(m, n);
  const mg = m / g;
  const ng = n / g;
  // (i, j) is outside the band when |i·ng − j·mg| ≥ h.
  let prev = new Float64Array(n + 1);
  let cur = new Float64Array(n + 1);
  // Column 0 (all zeros: the straight path up the axis is inside up to the band edge).
  let prevHi = Math.min(n, Math.ceil(h / mg) - 1);
  for (let i = 1; i <= m; i++) {
    const a = i * ng;
    // The band only moves up as i grows, so lo ≥ the previous column's lo: every j ≥ lo that is
    // ≤ prevHi has an inside left neighbour, every j above prevHi an outside one (value 1).
    const lo = Math.max(0, Math.floor((a - h) / mg) + 1);
    const hi = Math.min(n, Math.ceil((a + h) / mg) - 1);
    if (lo > hi) return 1;
    // Value at (i, lo−1): outside the band, or absent (weight j = 0) when lo = 0.
    let below = lo === 0 ? 0 : 1;
    const mid = Math.min(hi, prevHi);
    let j = lo;
    for (; j <= mid; j++) {
      below = (i * prev[j]! + j * below) / (i + j);
      cur[j] = below;
    }
    for (; j <= hi; j++) {
      below = (i + j * below) / (i + j);
      cur[j] = below;
    }
    const t = prev;
    prev = cur;
    cur = t;
    prevHi = hi;
  }
  return Math.min(1, Math.max(0, prev[n]!));
}

// ------------------------------------------------ one-sample KS distribution (scipy's kstwo)

const LOG_DBL_MIN = -708.3964185322641;
const SMIRNOV_MAX_EXACT_N = 1_000_000;

/** Dekker's exact product: a·b = hi + lo. */
function twoProduct(a: number, b: number): [number, number] {
  const hi = a * b;
  const split = 134217729; // 2^27 + 1
  const ta = split * a;
  const ah = ta - (ta - a);
  const al = a - ah;
  const tb = split * b;
  const bh = tb - (tb - b);
  const bl = b - bh;
  const lo = ah * bh - hi + ah * bl + al * bh + al * bl;
  return [hi, lo];
}

/**
 * One-sided Smirnov tail P(D+_n ≥ x), the Birnbaum–Tingey sum
 *   x · Σ_{v=0}^{⌊n(1−x)⌋} C(n,v) (x + v/n)^(v−1) (1 − x − v/n)^(n−v).
 * Terms are positive, evaluated in log space. n·x is split exactly into ⌊nx⌋ + α so that the
 * bases x + v/n and 1 − x − v/n are formed without cancellation.
 */
export function smirnovSf(n: number, x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  if (n === 1) return 1 - x;
  const [hi, lo] = twoProduct(n, x);
  let nxFloor = Math.floor(hi);
  let alpha = hi - nxFloor + lo;
  if (alpha < 0) {
    nxFloor -= 1;
    alpha += 1;
  } else if (alpha >= 1) {
    nxFloor += 1;
    alpha -= 1;
  }
  if (nxFloor === 0 || (nxFloor === 1 && alpha === 0)) {
    // x ≤ 1/n: the complementary (upper) sum has a single term.
    return Math.min(1, Math.max(0, 1 - x * (1 + x) ** (n - 1)));
  }
  if (-2 * n * x * x < LOG_DBL_MIN) return 0;
  if (nxFloor >= n - 1) return (1 - x) ** n;
  if (n > SMIRNOV_MAX_EXACT_N) {
    // Too many terms; scipy switches to this approximation above the same size.
    return Math.exp(-((6 * n * x + 1) ** 2) / 18 / n);
  }
  const vMax = n - nxFloor - 1;
  let logC = 0; // ln C(n, v)
  let sum = 0;
  let prevTerm = 0;
  for (let v = 0; v <= vMax; v++) {
    const up = (nxFloor + v + alpha) / n; // x + v/n
    const down = (n - nxFloor - v - alpha) / n; // 1 − x − v/n
    const term = Math.exp(logC + (v - 1) * Math.log(up) + (n - v) * Math.log(down));
    sum += term;
    // Past the peak, stop once all remaining terms together cannot move the sum.
    if (term < prevTerm && 4 * (vMax - v) * term < 1e-17 * sum) break;
    prevTerm = term;
    logC += Math.log((n - v) / (v + 1));
  }
  return Math.min(1, Math.max(0, x * sum));
}

/** 2^e · x without intermediate overflow/underflow of 2^e. */
function ldexp(x: number, e: number): number {
  let r = x;
  let k = e;
  while (k > 1000) {
    r *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    r *= 2 ** -1000;
    k += 1000;
  }
  return r * 2 ** k;
}

interface Scaled {
  m: Float64Array;
  /** The matrix represents m · 2^e. */
  e: number;
}

function matMul(a: Scaled, b: Scaled, size: number): Scaled {
  const out = new Float64Array(size * size);
  const am = a.m;
  const bm = b.m;
  for (let i = 0; i < size; i++) {
    const rowOut = i * size;
    for (let k = 0; k < size; k++) {
      const aik = am[i * size + k]!;
      if (aik === 0) continue;
      const rowB = k * size;
      for (let j = 0; j < size; j++) out[rowOut + j]! += aik * bm[rowB + j]!;
    }
  }
  return rescale({ m: out, e: a.e + b.e });
}

/** Keep entries near 1 by moving powers of two into the exponent (exact). */
function rescale(s: Scaled): Scaled {
  let max = 0;
  for (let i = 0; i < s.m.length; i++) {
    const v = Math.abs(s.m[i]!);
    if (v > max) max = v;
  }
  if (max === 0 || (max < 2 ** 100 && max > 2 ** -100)) return s;
  const shift = Math.floor(Math.log2(max));
  const f = 2 ** -shift;
  for (let i = 0; i < s.m.length; i++) s.m[i]! *= f;
  return { m: s.m, e: s.e + shift };
}

/**
 * P(D_n < d) for the one-sample two-sided statistic, exactly, by Durbin's matrix formula in
 * Marsaglia–Tsang–Wang form: with k = ⌈nd⌉, h = k − nd and the (2k−1)² matrix H,
 * P = n!/n^n · (H^n)[k−1][k−1]. Powers of two are tracked separately to avoid overflow.
 */
export function durbinCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const size = 2 * k - 1;
  const invFact = new Float64Array(size + 1);
  invFact[0] = 1;
  for (let j = 1; j <= size; j++) invFact[j] = invFact[j - 1]! / j;
  const H = new Float64Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const p = r - c + 1;
      if (p >= 0) H[r * size + c] = invFact[p]!;
    }
  }
  for (let r = 0; r < size; r++) H[r * size]! -= h ** (r + 1) * invFact[r + 1]!;
  const last = (size - 1) * size;
  for (let c = 0; c < size; c++) H[last + c]! -= h ** (size - c) * invFact[size - c]!;
  if (2 * h - 1 > 0) H[last]! += (2 * h - 1) ** size * invFact[size]!;

  let result: Scaled | undefined;
  let base: Scaled = { m: H, e: 0 };
  let nn = n;
  while (nn > 0) {
    if (nn % 2 === 1)
      result = result === undefined ? { m: base.m.slice(), e: base.e } : matMul(result, base, size);
    nn = Math.floor(nn / 2);
    if (nn > 0) base = matMul(base, base, size);
  }
  const r = result!;
  let val = r.m[(k - 1) * size + (k - 1)]!;
  let e = r.e;
  // Multiply by n!/n^n one factor at a time, renormalising before it can underflow.
  for (let i = 1; i <= n; i++) {
    val = (val * i) / n;
    if (val !== 0 && Math.abs(val) < 2 ** -200) {
      val *= 2 ** 200;
      e -= 200;
    }
  }
  return Math.min(1, Math.max(0, ldexp(val, e)));
}

const PI2 = Math.PI * Math.PI;
const PI4 = PI2 * PI2;
const PI6 = PI4 * PI2;
const SQRT_2PI = Math.sqrt(2 * Math.PI);

/**
 * Pelz–Good asymptotic series for P(D_n ≤ x): K0 + K1/√n + K2/n + K3/n^(3/2) with z = x√n,
 * each K_i written as a Jacobi-theta-transformed sum that converges quickly for small z.
 * (Pelz & Good 1976; as selected by Simard & L'Ecuyer 2011.)
 */
export function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const z7 = z6 * z;
  const z8 = z4 * z4;
  const z10 = z8 * z2;
  const logQ = -PI2 / 8 / z2;
  if (logQ < -708) return 0;
  const kMax = Math.ceil((16 * z) / Math.PI);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = 1; k <= kMax; k++) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const w = Math.exp(logQ * m2);
    s0 += w;
    s1 += ((PI2 * m2) / 4 - z2) * w;
    s2 += (6 * z6 + 2 * z4 + (PI2 * (2 * z4 - 5 * z2) * m2) / 4 + (PI4 * (1 - 2 * z2) * m4) / 16) * w;
    s3 +=
      (-30 * z6 -
        90 * z8 +
        (PI2 * (135 * z4 - 96 * z6) * m2) / 4 +
        (PI4 * (-60 * z2 + 212 * z4) * m4) / 16 +
        (PI6 * (5 - 30 * z2) * m6) / 64) *
      w;
  }
  let e2 = 0;
  let e3 = 0;
  for (let k = 1; k <= kMax; k++) {
    const k2 = k * k;
    const w = Math.exp((-PI2 * k2) / (2 * z2));
    e2 += k2 * w;
    e3 += (3 * z2 - PI2 * k2) * k2 * w;
  }
  const K0 = (SQRT_2PI * s0) / z;
  const K1 = (SQRT_2PI * s1) / (6 * z4);
  const K2 = (SQRT_2PI * s2) / (72 * z7) - ((PI2 * SQRT_2PI) / (36 * z3)) * e2;
  const K3 = (SQRT_2PI * s3) / (6480 * z10) + ((PI2 * SQRT_2PI) / (216 * z6)) * e3;
  return K0 + K1 / Math.sqrt(n) + K2 / n + K3 / (n * Math.sqrt(n));
}

function clip01(p: number): number {
  return Math.min(1, Math.max(0, p));
}

/**
 * P(D_n ≥ x) for the one-sample two-sided KS statistic (scipy: kstwo.sf(x, n)), choosing the
 * algorithm by region exactly as scipy's _kolmogn does, first matching rule wins. In the region
 * where scipy runs Pomeranz's recursion we run the Durbin matrix instead: both are exact, so the
 * values agree to rounding.
 */
export function kstwoSf(n: number, x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    // Ruben–Gambino: P(D_n ≤ x) = n!/n^n (2t − 1)^n for 1/(2n) ≤ x ≤ 1/n.
    if (t <= 0.5) return 1;
    let cdf: number;
    if (n <= 140) {
      cdf = 1;
      const f = 2 * t - 1;
      for (let i = 1; i <= n; i++) cdf *= i * (1 / n) * f;
    } else {
      cdf = Math.exp(logGamma(n + 1) - n * Math.log(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - cdf);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nxx = t * x;
  if (n <= 140) {
    if (nxx <= 4) return clip01(1 - durbinCdf(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxx >= 370) return 0;
  if (nxx >= 2.2) return clip01(2 * smirnovSf(n, x));
  const cdf = n <= 100_000 && n * x ** 1.5 <= 1.4 ? durbinCdf(n, x) : pelzGoodCdf(n, x);
  return clip01(1 - cdf);
}

// ------------------------------------------------------------------- two-sample p-values

/** scipy's ks_2samp(method='asymp') two-sided p-value. */
export function ksAsympPValue(n1: number, n2: number, d: number): number {
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  // scipy would pass N = 0 (en = 0.5, i.e. n1 = n2 = 1) and return NaN; one sample is the
  // smallest meaningful size.
  const N = Math.max(1, roundHalfEven(en));
  return kstwoSf(N, d);
}

/** Kolmogorov limiting distribution with the un-rounded effective size. */
export function ksKolmogorovPValue(n1: number, n2: number, d: number): number {
  const en = (n1 * n2) / (n1 + n2);
  return kolmogorovSf(Math.sqrt(en) * d);
}

export function ksAutoMethod(n1: number, n2: number): KsMethod {
  return Math.max(n1, n2) <= KS_AUTO_EXACT_MAX_N ? 'exact' : 'asymp';
}

/** Exact p-value for a statistic from ksStatistic. */
export function ksExactPValueFor(stat: KsStatistic): number {
  const g = gcd(stat.n1, stat.n2);
  return ksExactPValue(stat.n1, stat.n2, Math.round(stat.dScaled / g));
}

export function ksAutoPValue(stat: KsStatistic): { pValue: number; method: KsMethod } {
  const method = ksAutoMethod(stat.n1, stat.n2);
  const pValue = method === 'exact' ? ksExactPValueFor(stat) : ksAsympPValue(stat.n1, stat.n2, stat.d);
  return { pValue, method };
}
