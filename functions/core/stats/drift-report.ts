/**
 * Per-feature drift tests and the dataset-level verdict.
 *
 * Default test per feature follows Evidently's `_get_default_stattest` (checked against
 * evidently/calculations/stattests/registry.py): with at most 1000 reference rows a p-value
 * test (KS for numbers; chi-square, or a two-proportion z-test for ≤ 2 values), otherwise a
 * distance (normalised Wasserstein for numbers, Jensen–Shannon for categories). Numerical
 * features with ≤ 5 distinct values are tested like categories, as Evidently does. Dataset
 * drift = share of drifted features ≥ driftShare (Evidently's `>=`, default 0.5).
 */

import { validationFailed } from '../kernel/errors.js';
import { binnedMetrics, chiSquareGoodnessOfFit } from './binned.js';
import { alignCounts } from './categorical.js';
import { ksAutoPValue, ksStatistic } from './ks.js';
import {
  binCountsSorted,
  normalisedWasserstein,
  populationStd,
  psiInnerEdges,
  wassersteinSorted,
} from './numerical.js';
import { type CategoricalValue, type CategoryCounts, countCategories, prepareNumeric } from './samples.js';
import { normalTwoSidedP } from './special.js';

export type FeatureKind = 'numerical' | 'categorical';
export type DriftTest = 'ks' | 'chisquare' | 'z' | 'wasserstein' | 'jensenshannon' | 'psi';
export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type Correction = 'none' | 'bonferroni' | 'benjamini-hochberg';

/** Tests that produce a p-value: drift when p < threshold. The others are distances: drift when ≥. */
export const P_VALUE_TESTS: ReadonlySet<DriftTest> = new Set(['ks', 'chisquare', 'z']);

export const DEFAULT_THRESHOLDS: Readonly<Record<DriftTest, number>> = {
  ks: 0.05,
  chisquare: 0.05,
  z: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.1,
};

/** Evidently's switch from p-value tests to distances. */
export const SMALL_REFERENCE_ROWS = 1000;
/** Numerical features with at most this many distinct values are tested as categories. */
export const DISCRETE_MAX_VALUES = 5;

export interface FeatureColumns {
  readonly name: string;
  /** Inferred when omitted: numerical when every non-null value on both sides is a number. */
  readonly kind?: FeatureKind;
  readonly reference: ArrayLike<CategoricalValue>;
  readonly current: ArrayLike<CategoricalValue>;
}

export interface TestOverride {
  readonly test?: DriftTest;
  readonly threshold?: number;
}

export interface DriftReportOptions {
  /** Per feature name: replace the default test and/or its threshold. */
  readonly overrides?: Readonly<Record<string, TestOverride>>;
  /** Multiple-testing correction over the features tested by p-value (default 'none'). */
  readonly correction?: Correction;
  /** Dataset drift when driftedShare ≥ this (default 0.5). */
  readonly driftShare?: number;
}

export interface FeatureDrift {
  readonly name: string;
  readonly kind: FeatureKind;
  readonly test: DriftTest;
  /** KS D, chi-square statistic, z, or the distance itself. */
  readonly statistic: number;
  /** p-value tests only: the raw p-value… */
  readonly pValue?: number;
  /** …and, when a correction is applied, the adjusted one that was compared to the threshold. */
  readonly adjustedPValue?: number;
  /** Distance tests only: the distance compared to the threshold. */
  readonly score?: number;
  readonly threshold: number;
  readonly drifted: boolean;
  readonly severity: Severity;
  readonly nReference: number;
  readonly nCurrent: number;
}

export interface DriftReport {
  readonly features: FeatureDrift[];
  readonly driftedCount: number;
  readonly driftedShare: number;
  readonly driftShare: number;
  readonly datasetDrift: boolean;
  readonly correction: Correction;
  readonly severity: Severity;
  readonly recommendation: string;
}

// ------------------------------------------------------------------------ one feature

interface Prepared {
  readonly kind: FeatureKind;
  readonly nReference: number;
  readonly nCurrent: number;
  /** Numerical only. */
  readonly ref?: Float64Array;
  readonly cur?: Float64Array;
  /** Categories (or, for numbers, the distinct values) — filled lazily for numerical features. */
  counts?: { ref: CategoryCounts; cur: CategoryCounts };
}

function inferKind(f: FeatureColumns): FeatureKind {
  if (f.kind) return f.kind;
  for (const col of [f.reference, f.current]) {
    for (let i = 0; i < col.length; i++) {
      const v = col[i];
      if (v !== null && v !== undefined && typeof v !== 'number') return 'categorical';
    }
  }
  return 'numerical';
}

function prepare(f: FeatureColumns): Prepared {
  const kind = inferKind(f);
  if (kind === 'numerical') {
    const ref = prepareNumeric(f.reference as ArrayLike<number | null | undefined>, `${f.name} (reference)`);
    const cur = prepareNumeric(f.current as ArrayLike<number | null | undefined>, `${f.name} (current)`);
    return {
      kind,
      nReference: ref.sorted.length,
      nCurrent: cur.sorted.length,
      ref: ref.sorted,
      cur: cur.sorted,
    };
  }
  const ref = countCategories(f.reference, `${f.name} (reference)`);
  const cur = countCategories(f.current, `${f.name} (current)`);
  return { kind, nReference: ref.total, nCurrent: cur.total, counts: { ref, cur } };
}

/** Distinct values over both sorted samples, counting only up to `cap + 1`. */
function distinctPooled(a: Float64Array, b: Float64Array, cap: number): number {
  let i = 0;
  let j = 0;
  let count = 0;
  while ((i < a.length || j < b.length) && count <= cap) {
    const t = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < a.length && a[i]! <= t) i++;
    while (j < b.length && b[j]! <= t) j++;
    count++;
  }
  return count;
}

/** Counts per distinct value of a sorted sample: equal values are adjacent, one key per run. */
function countSorted(x: Float64Array): CategoryCounts {
  const counts = new Map<string, number>();
  let i = 0;
  while (i < x.length) {
    let j = i + 1;
    while (j < x.length && x[j] === x[i]) j++;
    const key = String(x[i]);
    counts.set(key, (counts.get(key) ?? 0) + (j - i));
    i = j;
  }
  return { counts, total: x.length, dropped: 0 };
}

function categoryCounts(p: Prepared): { ref: CategoryCounts; cur: CategoryCounts } {
  if (!p.counts) p.counts = { ref: countSorted(p.ref!), cur: countSorted(p.cur!) };
  return p.counts;
}

function uniqueCategories(p: Prepared): number {
  const { ref, cur } = categoryCounts(p);
  const keys = new Set(ref.counts.keys());
  for (const k of cur.counts.keys()) keys.add(k);
  return keys.size;
}

/** Evidently's default test for a prepared feature. */
export function defaultTest(kind: FeatureKind, referenceRows: number, distinctValues: number): DriftTest {
  const small = referenceRows <= SMALL_REFERENCE_ROWS;
  if (kind === 'numerical' && distinctValues > DISCRETE_MAX_VALUES) return small ? 'ks' : 'wasserstein';
  if (!small) return 'jensenshannon';
  return distinctValues > 2 ? 'chisquare' : 'z';
}

function chooseTest(name: string, p: Prepared, override?: TestOverride): DriftTest {
  if (override?.test) {
    if ((override.test === 'ks' || override.test === 'wasserstein') && p.kind !== 'numerical') {
      throw validationFailed(`${name}: test '${override.test}' needs a numerical feature`, {
        feature: name,
        test: override.test,
      });
    }
    return override.test;
  }
  const distinct =
    p.kind === 'numerical' ? distinctPooled(p.ref!, p.cur!, DISCRETE_MAX_VALUES) : uniqueCategories(p);
  return defaultTest(p.kind, p.nReference, distinct);
}

interface RawResult {
  readonly statistic: number;
  readonly pValue?: number;
}

export function twoProportionZ(ref: CategoryCounts, cur: CategoryCounts, name: string): RawResult {
  const aligned = alignCounts(ref.counts, cur.counts);
  const k = aligned.categories.length;
  if (k > 2) {
    throw validationFailed(`${name}: the z-test compares two categories, found ${k}`, { feature: name });
  }
  if (k === 1) return { statistic: 0, pValue: 1 };
  const n1 = ref.total;
  const n2 = cur.total;
  const a = aligned.ref[0]!;
  const b = aligned.cur[0]!;
  const pooled = (a + b) / (n1 + n2);
  const z = (a / n1 - b / n2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  return { statistic: z, pValue: normalTwoSidedP(z) };
}

function runTest(name: string, p: Prepared, test: DriftTest): RawResult {
  switch (test) {
    case 'ks': {
      const stat = ksStatistic(p.ref!, p.cur!);
      return { statistic: stat.d, pValue: ksAutoPValue(stat).pValue };
    }
    case 'wasserstein':
      return { statistic: normalisedWasserstein(wassersteinSorted(p.ref!, p.cur!), populationStd(p.ref!)) };
    case 'chisquare': {
      const { ref, cur } = categoryCounts(p);
      const aligned = alignCounts(ref.counts, cur.counts);
      const chi = chiSquareGoodnessOfFit(aligned.ref, ref.total, aligned.cur, cur.total);
      return { statistic: chi.statistic, pValue: chi.pValue };
    }
    case 'z': {
      const { ref, cur } = categoryCounts(p);
      return twoProportionZ(ref, cur, name);
    }
    case 'jensenshannon':
    case 'psi': {
      let binned: ReturnType<typeof binnedMetrics>;
      if (p.kind === 'numerical') {
        const edges = psiInnerEdges(p.ref!);
        binned = binnedMetrics(
          binCountsSorted(p.ref!, edges),
          p.nReference,
          binCountsSorted(p.cur!, edges),
          p.nCurrent,
        );
      } else {
        const { ref, cur } = categoryCounts(p);
        const aligned = alignCounts(ref.counts, cur.counts);
        binned = binnedMetrics(aligned.ref, ref.total, aligned.cur, cur.total);
      }
      return { statistic: test === 'psi' ? binned.psi : binned.jsDistance };
    }
  }
}

// ------------------------------------------------------------------ severity and verdict

/**
 * How far past its threshold a drifted test is. Distances: multiples of the threshold
 * ([1, 2) medium, [2, 4) high, ≥ 4 critical). p-values: orders of magnitude below the
 * threshold, log10(threshold / p) ([0, 2) medium, [2, 6) high, ≥ 6 critical).
 */
export function featureSeverity(
  test: DriftTest,
  drifted: boolean,
  value: number,
  threshold: number,
): Severity {
  if (!drifted) return 'low';
  if (P_VALUE_TESTS.has(test)) {
    const orders = value > 0 ? Math.log10(threshold / value) : Number.POSITIVE_INFINITY;
    if (orders >= 6) return 'critical';
    return orders >= 2 ? 'high' : 'medium';
  }
  const ratio = value / threshold;
  if (ratio >= 4) return 'critical';
  return ratio >= 2 ? 'high' : 'medium';
}

/**
 * Dataset severity: nothing drifted → low; a minority drifted → medium (high if one of them is
 * critical); dataset drift → high (critical if one of the drifted features is critical).
 */
export function datasetSeverity(features: readonly FeatureDrift[], datasetDrift: boolean): Severity {
  const drifted = features.filter((f) => f.drifted);
  if (drifted.length === 0) return 'low';
  const anyCritical = drifted.some((f) => f.severity === 'critical');
  if (datasetDrift) return anyCritical ? 'critical' : 'high';
  return anyCritical ? 'high' : 'medium';
}

function listNames(features: readonly FeatureDrift[]): string {
  const names = features.filter((f) => f.drifted).map((f) => f.name);
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

export function recommendation(report: Omit<DriftReport, 'recommendation'>): string {
  const total = report.features.length;
  const what = `Drift in ${report.driftedCount} of ${total} features (${listNames(report.features)})`;
  switch (report.severity) {
    case 'low':
      return `No drift detected in ${total} features: keep monitoring.`;
    case 'medium':
      return `${what}: investigate these features (upstream data changes, pipeline bugs, seasonality) and keep monitoring.`;
    case 'high':
      return `${what}: retrain the model on recent data and validate it before promoting.`;
    case 'critical':
      return `${what}, some far past their thresholds: roll back to the last known-good model version, then retrain.`;
  }
}

// ----------------------------------------------------------------- multiple testing

/** Adjusted p-values (same order as the input). */
export function adjustPValues(pValues: readonly number[], correction: Correction): number[] {
  const m = pValues.length;
  if (correction === 'none' || m === 0) return [...pValues];
  if (correction === 'bonferroni') return pValues.map((p) => Math.min(1, p * m));
  // Benjamini–Hochberg step-up: p_(i)·m/i, made monotone from the largest p down.
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const out = new Array<number>(m);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    const { p, i } = order[r]!;
    running = Math.min(running, (p * m) / (r + 1));
    out[i] = Math.min(1, running);
  }
  return out;
}

// ---------------------------------------------------------------------------- report

export function validateThreshold(name: string, test: DriftTest, threshold: number): void {
  const ok = P_VALUE_TESTS.has(test)
    ? threshold > 0 && threshold < 1
    : Number.isFinite(threshold) && threshold > 0;
  if (!ok) {
    throw validationFailed(`${name}: threshold ${threshold} is out of range for test '${test}'`, {
      feature: name,
      test,
      threshold,
    });
  }
}

export function driftReport(
  features: readonly FeatureColumns[],
  options: DriftReportOptions = {},
): DriftReport {
  if (features.length === 0) throw validationFailed('no features to compare');
  const correction = options.correction ?? 'none';
  const driftShare = options.driftShare ?? 0.5;
  if (!(driftShare > 0 && driftShare <= 1)) {
    throw validationFailed(`driftShare ${driftShare} must be in (0, 1]`);
  }
  const names = new Set(features.map((f) => f.name));
  for (const [name, o] of Object.entries(options.overrides ?? {})) {
    if (!names.has(name)) throw validationFailed(`override for unknown feature '${name}'`, { feature: name });
    if (o.test !== undefined && !(o.test in DEFAULT_THRESHOLDS)) {
      throw validationFailed(`${name}: unknown test '${String(o.test)}'`, { feature: name });
    }
  }
  const seen = new Set<string>();
  const raw = features.map((f) => {
    if (seen.has(f.name)) throw validationFailed(`duplicate feature name '${f.name}'`, { feature: f.name });
    seen.add(f.name);
    const prepared = prepare(f);
    const override = options.overrides?.[f.name];
    const test = chooseTest(f.name, prepared, override);
    const threshold = override?.threshold ?? DEFAULT_THRESHOLDS[test];
    validateThreshold(f.name, test, threshold);
    return { f, prepared, test, threshold, result: runTest(f.name, prepared, test) };
  });

  const pIndex = raw.flatMap((r, i) => (r.result.pValue === undefined ? [] : [i]));
  const adjusted = adjustPValues(
    pIndex.map((i) => raw[i]!.result.pValue!),
    correction,
  );
  const adjustedByIndex = new Map(pIndex.map((i, k) => [i, adjusted[k]!]));

  const out: FeatureDrift[] = raw.map((r, i) => {
    const { test, threshold, result } = r;
    const base = {
      name: r.f.name,
      kind: r.prepared.kind,
      test,
      statistic: result.statistic,
      threshold,
      nReference: r.prepared.nReference,
      nCurrent: r.prepared.nCurrent,
    };
    if (result.pValue !== undefined) {
      const p = adjustedByIndex.get(i)!;
      const drifted = p < threshold;
      return {
        ...base,
        pValue: result.pValue,
        ...(correction === 'none' ? {} : { adjustedPValue: p }),
        drifted,
        severity: featureSeverity(test, drifted, p, threshold),
      };
    }
    const drifted = result.statistic >= threshold;
    return {
      ...base,
      score: result.statistic,
      drifted,
      severity: featureSeverity(test, drifted, result.statistic, threshold),
    };
  });

  return summarizeDrift(out, driftShare, correction);
}

/** Dataset drift, severity and recommendation from the tested features (shared with sketch checks). */
export function summarizeDrift<F extends FeatureDrift>(
  features: F[],
  driftShare: number,
  correction: Correction,
): Omit<DriftReport, 'features'> & { features: F[] } {
  const driftedCount = features.filter((f) => f.drifted).length;
  const driftedShare = driftedCount / features.length;
  const datasetDrift = driftedShare >= driftShare;
  const partial = {
    features,
    driftedCount,
    driftedShare,
    driftShare,
    datasetDrift,
    correction,
    severity: datasetSeverity(features, datasetDrift),
  };
  return { ...partial, recommendation: recommendation(partial) };
}
