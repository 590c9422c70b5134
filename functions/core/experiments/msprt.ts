/**
 * Always-valid p-values by the mixture sequential probability ratio test (Johari, Pekelis &
 * Walsh, "Always valid inference", 2017 / Operations Research 2022), for the difference of means
 * of paired observations (treatment − control) with a normal mixture N(θ0, τ²) and a plug-in
 * variance. The p-value may be looked at after every batch without inflating the type-I error.
 *
 * The state is a small object of running moments per arm (count, compensated sum, sum of squared
 * deviations merged by Chan et al.'s formula), so each look costs O(1) beyond reading the new
 * batch, and a batch may also arrive pre-aggregated as {n, mean, m2}.
 */
import { check } from './errors.js';

export type MsprtVariance =
  | { readonly mode: 'binary' }
  | { readonly mode: 'sample' }
  | { readonly mode: 'known'; readonly sigma2_control: number; readonly sigma2_treatment: number };

export interface MsprtParams {
  /** Mixing variance τ² > 0. */
  readonly tau2: number;
  /** Mixing mean θ0 (the null difference); 0 unless testing a non-zero null. */
  readonly theta0?: number;
  /** Significance level for the rejection decision. */
  readonly alpha: number;
  readonly variance: MsprtVariance;
}

/** Running moments of one arm. */
export interface ArmMoments {
  readonly n: number;
  /** Σx, with its Neumaier compensation term. */
  readonly sum: number;
  readonly sumComp: number;
  /** Σ(x − mean)². */
  readonly m2: number;
}

export interface MsprtState {
  readonly looks: number;
  readonly control: ArmMoments;
  readonly treatment: ArmMoments;
  /** Always-valid p-value after the last look (1 before any). Never increases. */
  readonly p_value: number;
  /** The first look with p < alpha (1-based) and the per-arm n then; null until it happens. */
  readonly first_rejection: { readonly look: number; readonly n: number } | null;
}

/** One batch of one arm in aggregate form: count, mean and Σ(x − mean)². */
export interface BatchSummary {
  readonly n: number;
  readonly mean: number;
  readonly m2: number;
}

export interface MsprtLook {
  readonly look: number;
  /** Observations per arm so far. */
  readonly n: number;
  readonly delta: number;
  /** Variance of one paired difference, or null when it is 0 or undefined (then Λ = 1). */
  readonly variance: number | null;
  readonly log_lambda: number;
  readonly p_value: number;
  readonly rejected: boolean;
}

const EMPTY: ArmMoments = { n: 0, sum: 0, sumComp: 0, m2: 0 };

export function checkMsprtParams(params: MsprtParams): void {
  check(Number.isFinite(params.tau2) && params.tau2 > 0, 'tau2 must be a finite number > 0');
  check(params.theta0 === undefined || Number.isFinite(params.theta0), 'theta0 must be a finite number');
  check(params.alpha > 0 && params.alpha < 1, 'alpha must be in (0, 1)');
  const v = params.variance;
  check(
    v !== null && typeof v === 'object' && ['binary', 'sample', 'known'].includes(v.mode),
    'variance.mode must be "binary", "sample" or "known"',
  );
  if (v.mode === 'known') {
    check(
      Number.isFinite(v.sigma2_control) &&
        v.sigma2_control >= 0 &&
        Number.isFinite(v.sigma2_treatment) &&
        v.sigma2_treatment >= 0,
      'known variance needs sigma2_control and sigma2_treatment >= 0',
    );
  }
}

export function msprtStart(): MsprtState {
  return { looks: 0, control: EMPTY, treatment: EMPTY, p_value: 1, first_rejection: null };
}

/** Count, mean and Σ(x − mean)² of a batch (two passes). */
export function summarize(values: readonly number[]): BatchSummary {
  const n = values.length;
  let s = 0;
  for (const x of values) {
    check(typeof x === 'number' && Number.isFinite(x), 'observations must be finite numbers');
    s += x;
  }
  const mean = n > 0 ? s / n : 0;
  let m2 = 0;
  for (const x of values) m2 += (x - mean) * (x - mean);
  return { n, mean, m2 };
}

function merge(a: ArmMoments, b: BatchSummary): ArmMoments {
  if (b.n === 0) return a;
  const n = a.n + b.n;
  // Neumaier-compensated Σx: batch sums are added to a running total without losing the
  // low-order digits, so the mean stays exact for integer (binary) data.
  const add = b.n * b.mean;
  const t = a.sum + add;
  const comp = a.sumComp + (Math.abs(a.sum) >= Math.abs(add) ? a.sum - t + add : add - t + a.sum);
  const meanA = a.n > 0 ? (a.sum + a.sumComp) / a.n : 0;
  const d = b.mean - meanA;
  const m2 = a.m2 + b.m2 + (d * d * a.n * b.n) / n;
  return { n, sum: t, sumComp: comp, m2 };
}

const mean = (m: ArmMoments): number => (m.sum + m.sumComp) / m.n;

function pairedVariance(params: MsprtParams, c: ArmMoments, t: ArmMoments): number {
  const v = params.variance;
  if (v.mode === 'known') return v.sigma2_control + v.sigma2_treatment;
  if (v.mode === 'binary') {
    const mc = mean(c);
    const mt = mean(t);
    return mc * (1 - mc) + mt * (1 - mt);
  }
  if (c.n < 2) return Number.NaN;
  return c.m2 / (c.n - 1) + t.m2 / (t.n - 1);
}

/**
 * Adds one batch (equal counts per arm, ≥ 1) and takes a look. Returns the new state and the
 * look; the input state is not modified.
 */
export function msprtUpdate(
  state: MsprtState,
  params: MsprtParams,
  control: BatchSummary,
  treatment: BatchSummary,
): { state: MsprtState; look: MsprtLook } {
  check(
    Number.isSafeInteger(control.n) && control.n >= 1 && control.n === treatment.n,
    'a batch needs the same number (>= 1) of control and treatment observations',
  );
  const c = merge(state.control, control);
  const t = merge(state.treatment, treatment);
  const n = c.n;
  const delta = mean(t) - mean(c) - (params.theta0 ?? 0);
  const V = pairedVariance(params, c, t);
  let logLambda = 0;
  if (V > 0) {
    const nt = n * params.tau2;
    logLambda = 0.5 * Math.log(V / (V + nt)) + (n * nt * delta * delta) / (2 * V * (V + nt));
  }
  const p = Math.min(1, state.p_value, Math.exp(-logLambda));
  const looks = state.looks + 1;
  const rejected = p < params.alpha;
  const first_rejection = state.first_rejection ?? (rejected ? { look: looks, n } : null);
  return {
    state: { looks, control: c, treatment: t, p_value: p, first_rejection },
    look: {
      look: looks,
      n,
      delta: delta + (params.theta0 ?? 0),
      variance: V > 0 ? V : null,
      log_lambda: logLambda,
      p_value: p,
      rejected,
    },
  };
}

/** Adds one batch of raw observations (same length per arm) and takes a look. */
export function msprtObserve(
  state: MsprtState,
  params: MsprtParams,
  control: readonly number[],
  treatment: readonly number[],
): { state: MsprtState; look: MsprtLook } {
  return msprtUpdate(state, params, summarize(control), summarize(treatment));
}

/**
 * The mSPRT statistic from two arms' summaries with any counts, for analyses that read running
 * aggregates rather than paired batches (the experiments' results). With σ̂² the variance of the
 * estimated difference δ̂ = mean_t − mean_c − θ0:
 *
 *   Λ = √(σ̂² / (σ̂² + τ²)) · exp(τ² δ̂² / (2 σ̂² (σ̂² + τ²)))
 *
 * which is msprtUpdate's formula with V/n replaced by σ̂² (equal counts n: σ̂² = V/n gives exactly
 * the paired statistic). σ̂² is p̄(1 − p̄)(1/n_c + 1/n_t) with the pooled rate p̄ for binary data
 * (so an arm that is all 0 or all 1 still has a variance), s_c²/n_c + s_t²/n_t otherwise.
 * Returns this look's p = min(1, 1/Λ); the caller keeps the running minimum over looks.
 */
export function msprtLookFromSummaries(
  control: { readonly n: number; readonly mean: number; readonly variance: number },
  treatment: { readonly n: number; readonly mean: number; readonly variance: number },
  options: { readonly tau2: number; readonly binary: boolean; readonly theta0?: number },
): { delta: number; variance: number | null; p_value: number } {
  check(Number.isFinite(options.tau2) && options.tau2 > 0, 'tau2 must be a finite number > 0');
  const delta = treatment.mean - control.mean - (options.theta0 ?? 0);
  if (control.n < 1 || treatment.n < 1) return { delta, variance: null, p_value: 1 };
  let s2: number;
  if (options.binary) {
    const pooled = (control.mean * control.n + treatment.mean * treatment.n) / (control.n + treatment.n);
    s2 = pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n);
  } else {
    if (control.n < 2 || treatment.n < 2) return { delta, variance: null, p_value: 1 };
    s2 = control.variance / control.n + treatment.variance / treatment.n;
  }
  if (!(s2 > 0)) return { delta, variance: null, p_value: 1 };
  const t2 = options.tau2;
  const logLambda = 0.5 * Math.log(s2 / (s2 + t2)) + (t2 * delta * delta) / (2 * s2 * (s2 + t2));
  return { delta, variance: s2, p_value: Math.min(1, Math.exp(-logLambda)) };
}
