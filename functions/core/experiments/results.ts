/**
 * An experiment's results from its running aggregates: per variant n, mean and CI; per treatment
 * and metric the difference with the control, lift, the fixed-horizon p-value, the always-valid
 * (mSPRT) p-value and its multiple-testing adjustment; sample-ratio mismatch; guardrails; and the
 * decision. Pure: the service reads the aggregates and stores what changes (sequential, snapshots).
 *
 * Decisions use the adjusted always-valid p-values, so results may be looked at at any time
 * without inflating the false-positive rate (docs/experiments.md, "Reading results").
 */
import { histogramQuantile, type LatencyHistogram } from '../kernel/latency-histogram.js';
import { normalUpperQuantile, studentTwoSidedQuantile } from '../stats/special.js';
import { benjaminiHochberg, bonferroni, holm } from './adjust.js';
import { allocationWeights } from './assignment.js';
import {
  type Adjustment,
  controlOf,
  type Experiment,
  type MetricDef,
  metricKind,
  type Variant,
} from './definition.js';
import { compareMeans, compareProportions } from './fixed.js';
import { msprtLookFromSummaries } from './msprt.js';
import type { MetricAggregate } from './ports.js';
import { exposureMetric } from './serving.js';
import { sampleRatioMismatch } from './srm.js';

export const DECISIONS = ['continue', 'winner', 'no_difference', 'srm_failed', 'rolled_back'] as const;
export type Decision = (typeof DECISIONS)[number];

export interface ArmSummary {
  readonly n: number;
  readonly mean: number | null;
  /** Sample variance (ddof 1); 0 below two observations. */
  readonly variance: number;
  /** 95 % interval of the mean: Wald for binary metrics, Student t for continuous; null below 2. */
  readonly ci: readonly [number, number] | null;
}

export interface Comparison {
  readonly variant: string;
  readonly metric: string;
  readonly diff: number | null;
  readonly lift: number | null;
  /** 95 % interval of the difference (Wald / Welch). */
  readonly ci: readonly [number, number] | null;
  /** Fixed-horizon: two-proportion z-test (binary) or Welch's t-test (continuous). */
  readonly pValue: number | null;
  /** mSPRT, the running minimum over every look so far. */
  readonly alwaysValidPValue: number;
  /** alwaysValidPValue adjusted across the treatments by `adjustment`. */
  readonly adjustedPValue: number;
  readonly adjustment: Adjustment;
  readonly significant: boolean;
}

export interface GuardrailResult {
  readonly variant: string;
  readonly metric: string;
  readonly goal: MetricDef['goal'];
  readonly control: { readonly n: number; readonly mean: number | null };
  readonly treatment: { readonly n: number; readonly mean: number | null };
  readonly alwaysValidPValue: number;
  /** Enough samples in both arms to decide anything. */
  readonly decided: boolean;
  readonly failed: boolean;
  readonly reason: string;
}

export interface VariantResult {
  readonly name: string;
  readonly version: string;
  readonly control: boolean;
  readonly weight: number;
  /** Units assigned under the current weights (the SRM counts). */
  readonly exposures: number;
  readonly metric: ArmSummary;
  readonly serving: {
    readonly requests: number;
    readonly errorRate: number | null;
    readonly latencyMeanMs: number | null;
    readonly latencyP99Ms: number | null;
    readonly accuracy: ArmSummary;
  };
}

export interface ShadowResult {
  readonly variant: string;
  /** Share of rows where the shadow's label (or rounded value) equals the control's. */
  readonly agreement: ArmSummary;
  /** Mean absolute difference of the scores (probability of the predicted class, or the value). */
  readonly scoreDiff: ArmSummary;
  readonly latencyMeanMs: { readonly control: number | null; readonly shadow: number | null };
  readonly latencyP99Ms: { readonly control: number | null; readonly shadow: number | null };
}

export interface Results {
  readonly experimentId: string;
  readonly model: string;
  readonly kind: Experiment['kind'];
  readonly state: Experiment['state'];
  readonly computedAt: string;
  readonly metric: MetricDef;
  readonly variants: VariantResult[];
  readonly comparisons: Comparison[];
  readonly guardrails: GuardrailResult[];
  readonly srm: {
    readonly pValue: number | null;
    readonly ok: boolean;
    readonly counts: Record<string, number>;
    readonly expected: Record<string, number>;
  };
  readonly shadow?: ShadowResult;
  readonly canary?: {
    readonly step: number;
    readonly steps: readonly number[];
    readonly weight: number;
    readonly stepStartedAt: string;
    readonly waitingFor?: string;
  };
  readonly decision: Decision;
  readonly winner?: string;
  readonly reason: string;
  /** The updated running minima of the always-valid p-values (stored by the service). */
  readonly sequential: Record<string, number>;
}

/** Latency guardrail metric: the share of requests slower than the control's p99. */
export const SLOW_SHARE = 'latency_p99_exceedance';

const Z95 = normalUpperQuantile(0.025);

function findAgg(
  aggs: readonly MetricAggregate[],
  variant: string,
  metric: string,
): MetricAggregate | undefined {
  return aggs.find((a) => a.variant === variant && a.metric === metric);
}

export function armSummary(agg: MetricAggregate | undefined, binary: boolean): ArmSummary {
  const n = agg?.n ?? 0;
  if (!agg || n === 0) return { n: 0, mean: null, variance: 0, ci: null };
  const mean = agg.sum / n;
  // Σx² − (Σx)²/n loses digits when the mean is large against the spread; clamped at 0.
  const variance = n > 1 ? Math.max(0, (agg.sumSq - (agg.sum * agg.sum) / n) / (n - 1)) : 0;
  if (n < 2) return { n, mean, variance, ci: null };
  const half = binary
    ? Z95 * Math.sqrt((mean * (1 - mean)) / n)
    : studentTwoSidedQuantile(0.05, n - 1) * Math.sqrt(variance / n);
  return { n, mean, variance, ci: [mean - half, mean + half] };
}

/**
 * Default τ²: 0.01 × the pooled per-observation variance (plausible effects around 0.1 σ), or
 * undefined while it cannot be chosen yet. A binary metric's variance is floored at that of a 5 %
 * rate, so a guardrail whose arms have had no error yet (p̄ = 0) still gets a usable τ²; a
 * continuous metric without any spread yet waits for one.
 */
function defaultTau2(c: ArmSummary, t: ArmSummary, binary: boolean): number | undefined {
  const n = c.n + t.n;
  if (binary) {
    const p = n > 0 ? ((c.mean ?? 0) * c.n + (t.mean ?? 0) * t.n) / n : 0.5;
    return 0.01 * Math.max(p * (1 - p), 0.05 * 0.95);
  }
  const pooled =
    n > 2 ? (c.variance * Math.max(0, c.n - 1) + t.variance * Math.max(0, t.n - 1)) / (n - 2) : 0;
  return pooled > 0 ? 0.01 * pooled : undefined;
}

function adjust(method: Adjustment, p: readonly number[]): number[] {
  if (p.length === 0) return [];
  if (method === 'bonferroni') return bonferroni(p);
  if (method === 'bh') return benjaminiHochberg(p);
  return holm(p);
}

interface Pair {
  readonly c: ArmSummary;
  readonly t: ArmSummary;
  readonly p: number;
  readonly key: string;
}

/**
 * The always-valid p-value of one comparison: this look's mSPRT p-value, and the running minimum
 * over looks. With the default τ², nothing is claimed (p = 1) until both arms have minSamples;
 * τ² is then fixed from that look's data and kept (`tau2:<key>`), as the guarantee requires.
 */
function alwaysValid(
  e: Experiment,
  sequential: Record<string, number>,
  variant: string,
  metric: string,
  c: ArmSummary,
  t: ArmSummary,
  binary: boolean,
): Pair {
  const key = `${variant}/${metric}`;
  let tau2 = e.tau2 ?? sequential[`tau2:${key}`];
  if (tau2 === undefined && c.n >= e.minSamples && t.n >= e.minSamples) {
    tau2 = defaultTau2(c, t, binary);
    if (tau2 !== undefined) sequential[`tau2:${key}`] = tau2;
  }
  const look =
    c.mean === null || t.mean === null || tau2 === undefined
      ? { p_value: 1 }
      : msprtLookFromSummaries(
          { n: c.n, mean: c.mean, variance: c.variance },
          { n: t.n, mean: t.mean, variance: t.variance },
          { tau2, binary },
        );
  const p = Math.min(sequential[key] ?? 1, look.p_value);
  sequential[key] = p;
  return { c, t, p, key };
}

function fixedHorizon(
  c: ArmSummary,
  t: ArmSummary,
  binary: boolean,
  aggC?: MetricAggregate,
  aggT?: MetricAggregate,
) {
  if (c.n < 2 || t.n < 2 || c.mean === null || t.mean === null) {
    return {
      diff: c.mean !== null && t.mean !== null ? t.mean - c.mean : null,
      lift: null,
      ci: null,
      pValue: null,
    };
  }
  if (binary) {
    const r = compareProportions(
      { n: c.n, successes: Math.round(aggC!.sum) },
      { n: t.n, successes: Math.round(aggT!.sum) },
    );
    return { diff: r.diff, lift: r.lift, ci: [r.ci_lower, r.ci_upper] as const, pValue: r.p_value };
  }
  const r = compareMeans(
    { n: c.n, mean: c.mean, variance: c.variance },
    { n: t.n, mean: t.mean, variance: t.variance },
  );
  return {
    diff: r.diff,
    lift: c.mean !== 0 ? t.mean / c.mean - 1 : null,
    ci: r.ci_lower !== null && r.ci_upper !== null ? ([r.ci_lower, r.ci_upper] as const) : null,
    pValue: r.p_value,
  };
}

const better = (goal: MetricDef['goal'], diff: number) => (goal === 'maximize' ? diff > 0 : diff < 0);

function slowShare(hist: LatencyHistogram | undefined, threshold: number): { n: number; slow: number } {
  let n = 0;
  let slow = 0;
  for (const [k, count] of Object.entries(hist ?? {})) {
    n += count;
    if (Number(k) > threshold) slow += count;
  }
  return { n, slow };
}

/** The bucket index holding the control's p99 (its requests above it are ~1 %). */
function p99Bucket(hist: LatencyHistogram | undefined): number | null {
  const buckets = Object.entries(hist ?? {})
    .map(([k, c]) => [Number(k), c] as const)
    .filter(([, c]) => c > 0)
    .sort((a, b) => a[0] - b[0]);
  const n = buckets.reduce((s, [, c]) => s + c, 0);
  if (n === 0) return null;
  // As histogramQuantile ranks: q·n rounded when it is an integer up to rounding error.
  const qn = 0.99 * n;
  const rounded = Math.round(qn);
  const k = Math.max(1, Math.abs(qn - rounded) <= 1e-9 * Math.max(1, qn) ? rounded : Math.ceil(qn));
  let seen = 0;
  for (const [i, c] of buckets) {
    seen += c;
    if (seen >= k) return i;
  }
  return null;
}

function guardrail(
  e: Experiment,
  sequential: Record<string, number>,
  variant: string,
  metric: string,
  goal: MetricDef['goal'],
  c: ArmSummary,
  t: ArmSummary,
  binary: boolean,
): GuardrailResult {
  const { p } = alwaysValid(e, sequential, variant, metric, c, t, binary);
  const decided = c.n >= e.minSamples && t.n >= e.minSamples;
  const diff = c.mean !== null && t.mean !== null ? t.mean - c.mean : 0;
  const failed = decided && p < e.alpha && diff !== 0 && !better(goal, diff);
  const fmt = (x: number | null) => (x === null ? 'n/a' : Number(x.toPrecision(4)).toString());
  const reason = !decided
    ? `waiting for ${e.minSamples} samples per variant (control ${c.n}, ${variant} ${t.n})`
    : failed
      ? `${metric} of ${variant} is ${fmt(t.mean)} against the control's ${fmt(c.mean)} (always-valid p = ${p.toExponential(2)} < ${e.alpha})`
      : `${metric} holds (${fmt(t.mean)} vs control ${fmt(c.mean)}, always-valid p = ${fmt(p)})`;
  return {
    variant,
    metric,
    goal,
    control: { n: c.n, mean: c.mean },
    treatment: { n: t.n, mean: t.mean },
    alwaysValidPValue: p,
    decided,
    failed,
    reason,
  };
}

/**
 * Results of `e` from its aggregates. `now` is the computation time. Does not change `e`; the
 * returned sequential holds the new running minima.
 */
export function analyze(e: Experiment, aggs: readonly MetricAggregate[], now: Date): Results {
  const sequential: Record<string, number> = { ...e.sequential };
  const control = controlOf(e);
  const treatments = e.variants.filter((v) => !v.control && !(e.kind === 'shadow'));
  const weights = new Map(allocationWeights(e.allocation).map((w) => [w.name, w.weight]));
  const epoch = epochOf(e);
  const primaryBinary = e.metric.kind === 'binary';
  const arm = (v: Variant, metric: string) =>
    armSummary(findAgg(aggs, v.name, metric), metricKind(e, metric) === 'binary');

  const variants: VariantResult[] = e.variants.map((v) => {
    const errors = findAgg(aggs, v.name, 'error_rate');
    const latency = findAgg(aggs, v.name, 'latency_ms');
    return {
      name: v.name,
      version: v.version,
      control: v.control,
      weight: weights.get(v.name) ?? 0,
      exposures: findAgg(aggs, v.name, exposureMetric(epoch))?.n ?? 0,
      metric: arm(v, e.metric.name),
      serving: {
        requests: errors?.n ?? 0,
        errorRate: errors && errors.n > 0 ? errors.sum / errors.n : null,
        latencyMeanMs: latency && latency.n > 0 ? latency.sum / latency.n : null,
        latencyP99Ms: latency?.histogram ? histogramQuantile(latency.histogram, 0.99) : null,
        accuracy: arm(v, 'accuracy'),
      },
    };
  });

  // Primary metric: every treatment against the control.
  const cPrimary = arm(control, e.metric.name);
  const raw = treatments.map((t) => {
    const tPrimary = arm(t, e.metric.name);
    const fixed = fixedHorizon(
      cPrimary,
      tPrimary,
      primaryBinary,
      findAgg(aggs, control.name, e.metric.name),
      findAgg(aggs, t.name, e.metric.name),
    );
    const av = alwaysValid(e, sequential, t.name, e.metric.name, cPrimary, tPrimary, primaryBinary);
    return { t, tPrimary, fixed, av };
  });
  const adjusted = adjust(
    e.adjustment,
    raw.map((r) => r.av.p),
  );
  const comparisons: Comparison[] = raw.map((r, i) => ({
    variant: r.t.name,
    metric: e.metric.name,
    diff: r.fixed.diff,
    lift: r.fixed.lift,
    ci: r.fixed.ci,
    pValue: r.fixed.pValue,
    alwaysValidPValue: r.av.p,
    adjustedPValue: adjusted[i]!,
    adjustment: e.adjustment,
    significant: adjusted[i]! < e.alpha && cPrimary.n >= e.minSamples && r.tPrimary.n >= e.minSamples,
  }));

  // Guardrails: error rate and (canary) latency always; the outcome guardrails declared.
  const guardrails: GuardrailResult[] = [];
  for (const t of treatments) {
    guardrails.push(
      guardrail(
        e,
        sequential,
        t.name,
        'error_rate',
        'minimize',
        arm(control, 'error_rate'),
        arm(t, 'error_rate'),
        true,
      ),
    );
    if (e.kind === 'canary' && e.canary?.latencyGuardrail !== false) {
      const ch = findAgg(aggs, control.name, 'latency_ms')?.histogram;
      // The threshold is fixed at the first look where the control has minSamples requests.
      let threshold: number | null = sequential[`p99:${t.name}`] ?? null;
      if (threshold === null) {
        threshold = p99Bucket(ch);
        const controlRequests = Object.values(ch ?? {}).reduce((sum, c) => sum + c, 0);
        if (threshold !== null && controlRequests >= e.minSamples) sequential[`p99:${t.name}`] = threshold;
      }
      if (threshold !== null) {
        const cs = slowShare(ch, threshold);
        const ts = slowShare(findAgg(aggs, t.name, 'latency_ms')?.histogram, threshold);
        const asAgg = (s: { n: number; slow: number }, name: string): MetricAggregate => ({
          variant: name,
          metric: SLOW_SHARE,
          n: s.n,
          sum: s.slow,
          sumSq: s.slow,
        });
        guardrails.push(
          guardrail(
            e,
            sequential,
            t.name,
            SLOW_SHARE,
            'minimize',
            armSummary(asAgg(cs, control.name), true),
            armSummary(asAgg(ts, t.name), true),
            true,
          ),
        );
      }
    }
    for (const g of e.guardrails) {
      guardrails.push(
        guardrail(
          e,
          sequential,
          t.name,
          g.name,
          g.goal,
          arm(control, g.name),
          arm(t, g.name),
          g.kind === 'binary',
        ),
      );
    }
  }

  // SRM over the current epoch's exposures and weights (variants of weight 0 included: anyone
  // assigned to one is a mismatch). Shadow copies every request to the shadow: no assignment.
  const counted = e.kind === 'shadow' ? [] : e.variants;
  const counts = counted.map((v) => findAgg(aggs, v.name, exposureMetric(epoch))?.n ?? 0);
  const w = counted.map((v) => weights.get(v.name) ?? 0);
  const srmResult =
    counted.length >= 2 && w.some((x) => x > 0)
      ? sampleRatioMismatch(counts, w)
      : { p_value: null, ok: true, expected: w.map(() => 0) };
  const srm = {
    pValue: srmResult.p_value,
    ok: srmResult.ok,
    counts: Object.fromEntries(counted.map((v, i) => [v.name, counts[i]!])),
    expected: Object.fromEntries(counted.map((v, i) => [v.name, srmResult.expected[i]!])),
  };

  let shadow: ShadowResult | undefined;
  if (e.kind === 'shadow') {
    const s = e.variants.find((v) => !v.control)!;
    const lat = (v: Variant) => findAgg(aggs, v.name, 'latency_ms');
    const mean = (a?: MetricAggregate) => (a && a.n > 0 ? a.sum / a.n : null);
    const p99 = (a?: MetricAggregate) => (a?.histogram ? histogramQuantile(a.histogram, 0.99) : null);
    shadow = {
      variant: s.name,
      agreement: arm(s, 'agreement'),
      scoreDiff: arm(s, 'score_diff'),
      latencyMeanMs: { control: mean(lat(control)), shadow: mean(lat(s)) },
      latencyP99Ms: { control: p99(lat(control)), shadow: p99(lat(s)) },
    };
  }

  const { decision, winner, reason } = decide(e, variants, comparisons, guardrails, srm.ok, srm.pValue);
  return {
    experimentId: e.id,
    model: e.model,
    kind: e.kind,
    state: e.state,
    computedAt: now.toISOString(),
    metric: e.metric,
    variants,
    comparisons,
    guardrails,
    srm,
    ...(shadow ? { shadow } : {}),
    ...(e.kind === 'canary' && e.canary && e.canaryProgress
      ? {
          canary: {
            step: e.canaryProgress.step,
            steps: e.canary.steps,
            weight: weights.get(treatments[0]!.name) ?? 0,
            stepStartedAt: e.canaryProgress.stepStartedAt,
            ...(e.canaryProgress.waitingFor ? { waitingFor: e.canaryProgress.waitingFor } : {}),
          },
        }
      : {}),
    decision,
    ...(winner !== undefined ? { winner } : {}),
    reason,
    sequential,
  };
}

function epochOf(e: Pick<Experiment, 'epoch'>): number {
  return e.epoch;
}

function decide(
  e: Experiment,
  variants: readonly VariantResult[],
  comparisons: readonly Comparison[],
  guardrails: readonly GuardrailResult[],
  srmOk: boolean,
  srmP: number | null,
): { decision: Decision; winner?: string; reason: string } {
  if (e.outcome?.result === 'rolled_back') {
    // The control keeps the traffic: it is what won.
    return { decision: 'rolled_back', winner: controlOf(e).name, reason: e.outcome.reason };
  }
  if (!srmOk) {
    return {
      decision: 'srm_failed',
      reason: `sample-ratio mismatch: the exposures do not match the weights (chi-square p = ${srmP?.toExponential(2)} < 0.001); assignment or logging is broken, so no decision can be trusted`,
    };
  }
  if (e.kind === 'shadow') {
    return { decision: 'continue', reason: 'a shadow run compares outputs; it has no winner (see shadow)' };
  }
  if (e.kind === 'canary') {
    if (e.outcome?.result === 'promoted' || e.outcome?.result === 'winner') {
      return { decision: 'winner', winner: e.outcome.variant!, reason: e.outcome.reason };
    }
    const failed = guardrails.find((g) => g.failed);
    if (failed) return { decision: 'continue', reason: `guardrail failed: ${failed.reason}` };
    return {
      decision: 'continue',
      reason: e.canaryProgress?.waitingFor ?? 'the canary is ramping; guardrails hold',
    };
  }
  const short = variants.find((v) => v.metric.n < e.minSamples);
  if (short) {
    return {
      decision: 'continue',
      reason: `variant ${short.name} has ${short.metric.n} of the ${e.minSamples} samples needed before deciding`,
    };
  }
  const guarded = new Set(guardrails.filter((g) => g.failed).map((g) => g.variant));
  const goal = e.metric.goal;
  const wins = comparisons.filter(
    (c) => c.significant && c.diff !== null && better(goal, c.diff) && !guarded.has(c.variant),
  );
  if (wins.length > 0) {
    const best = wins.reduce((a, b) => (better(goal, b.diff! - a.diff!) ? b : a));
    return {
      decision: 'winner',
      winner: best.variant,
      reason: `${best.variant} ${goal === 'maximize' ? 'raises' : 'lowers'} ${e.metric.name} by ${fmtSigned(best.diff!)} against the control (adjusted always-valid p = ${best.adjustedPValue.toExponential(2)} < ${e.alpha})`,
    };
  }
  const control = variants.find((v) => v.control)!;
  if (
    comparisons.length > 0 &&
    comparisons.every((c) => c.significant && c.diff !== null && !better(goal, c.diff))
  ) {
    return {
      decision: 'winner',
      winner: control.name,
      reason: `every treatment is significantly worse than the control on ${e.metric.name}`,
    };
  }
  if (variants.every((v) => v.metric.n >= e.maxSamples)) {
    return {
      decision: 'no_difference',
      reason: `every variant has at least ${e.maxSamples} samples and no difference is significant at ${e.alpha}`,
    };
  }
  return {
    decision: 'continue',
    reason: `no significant difference yet; results are always valid, so keep looking (no_difference at ${e.maxSamples} samples per variant)`,
  };
}

function fmtSigned(x: number): string {
  const s = Number(x.toPrecision(3)).toString();
  return x > 0 ? `+${s}` : s;
}
