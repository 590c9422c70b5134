/**
 * One drift check: a window against a baseline under a model's policy.
 *
 * - Exact mode (the window kept its raw rows): the stats engine's driftReport on the baseline's
 *   reference sample against the window's columns — Evidently's test choice, the policy's
 *   overrides, correction and dataset drift share.
 * - Sketch mode (a large or pre-sketched window): distances read from the baseline's and the
 *   window's sketches, whose errors are two to three orders of magnitude below the 0.1 thresholds
 *   (docs/drift-statistics.md). p-values read from numeric sketches are not reliable near the
 *   null, so a numerical feature is tested by normalised Wasserstein (JS when the reference has
 *   ≤ 5 distinct values) even where Evidently or the policy would run KS, with a note saying so.
 *   Categorical sketches are exact counts, so their tests — Evidently's defaults included
 *   (chi-square or z below 1000 reference rows) — give the raw-row results.
 * Both modes end in the same dataset verdict, severity and recommendation as driftReport.
 */
import { validationFailed } from '../kernel/errors.js';
import {
  adjustPValues,
  DEFAULT_THRESHOLDS,
  DISCRETE_MAX_VALUES,
  type DriftReport,
  type DriftTest,
  defaultTest,
  driftReport,
  type FeatureColumns,
  type FeatureDrift,
  type FeatureKind,
  featureSeverity,
  P_VALUE_TESTS,
  SMALL_REFERENCE_ROWS,
  summarizeDrift,
  type TestOverride,
  twoProportionZ,
  validateThreshold,
} from '../stats/drift-report.js';
import { categoricalSketchMetrics, numericSketchMetrics } from '../stats/sketch-metrics.js';
import { type BaselineProfile, type FeatureProfile, referenceSample } from './baseline.js';
import { type FeatureHistogram, featureHistogram } from './histograms.js';
import type { MonitoringPolicy } from './policy.js';
import { WindowAccumulator, type WindowColumn, type WindowMode, type WindowSketch } from './window.js';

export interface CheckedFeature extends FeatureDrift {
  /** Why the test or its inputs differ from what the policy or Evidently's defaults would give. */
  readonly note?: string;
  /** Baseline against window distribution (histograms.ts), to draw. */
  readonly histogram?: FeatureHistogram;
}

export interface DriftCheckReport extends Omit<DriftReport, 'features'> {
  readonly features: CheckedFeature[];
}

export interface UntestedFeature {
  readonly name: string;
  readonly reason: string;
}

export interface DriftCheckResult {
  readonly status: 'ok' | 'skipped';
  readonly reason?: string;
  readonly mode: WindowMode;
  readonly rows: number;
  readonly window: { readonly from: string; readonly to: string };
  readonly checkedAt: string;
  readonly baselineVersion: string;
  readonly report?: DriftCheckReport;
  /** Features left out of the tests for lack of data (ignored ones are not listed). */
  readonly untested: UntestedFeature[];
}

export interface DriftCheckInput {
  readonly baseline: BaselineProfile;
  /** An accumulator (exact or sketch mode, as it stands) or a merged window sketch. */
  readonly window: WindowAccumulator | WindowSketch;
  readonly policy: MonitoringPolicy;
  readonly windowRange: { readonly from: string; readonly to: string };
  readonly now: Date | string;
}

const kindName = (f: FeatureProfile): FeatureKind => f.kind;

function nonNull(col: WindowColumn): number {
  let k = 0;
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (v !== null && v !== undefined && !(typeof v === 'number' && Number.isNaN(v))) k++;
  }
  return k;
}

/** Distinct non-null values over two columns, counting only up to `cap + 1`. */
function distinctUpTo(a: ArrayLike<unknown>, b: ArrayLike<unknown>, cap: number): number {
  const seen = new Set<unknown>();
  for (const col of [a, b]) {
    for (let i = 0; i < col.length && seen.size <= cap; i++) {
      const v = col[i];
      if (v !== null && v !== undefined && !(typeof v === 'number' && Number.isNaN(v))) seen.add(v);
    }
  }
  return seen.size;
}

// --------------------------------------------------------------------------- exact mode

function exactReport(
  features: readonly FeatureProfile[],
  columns: Map<string, WindowColumn>,
  policy: MonitoringPolicy,
): { report?: DriftCheckReport; untested: UntestedFeature[] } {
  const untested: UntestedFeature[] = [];
  const inputs: FeatureColumns[] = [];
  const overrides: Record<string, TestOverride> = {};
  const notes = new Map<string, string>();
  for (const f of features) {
    const current = columns.get(f.name)!;
    if (nonNull(current) === 0) {
      untested.push({ name: f.name, reason: 'no non-null values in the window' });
      continue;
    }
    const reference = referenceSample(f);
    if (reference.length === 0) {
      untested.push({ name: f.name, reason: 'no non-null values in the reference sample' });
      continue;
    }
    inputs.push({
      name: f.name,
      kind: kindName(f),
      reference,
      current: current as ArrayLike<string | number | null>,
    });
    const p = policy.features[f.name];
    const o: { test?: DriftTest; threshold?: number } = {};
    if (p?.test) o.test = p.test;
    if (p?.threshold !== undefined) o.threshold = p.threshold;
    // Evidently picks p-value tests or distances by the reference's size; the engine sees only
    // the sample, which can fall on the other side of 1000 non-null values (a small maxSample,
    // or a sparse feature). The choice is then made here on the full reference.
    const full = f.summary.count;
    if (!o.test && full > SMALL_REFERENCE_ROWS !== reference.length > SMALL_REFERENCE_ROWS) {
      o.test = defaultTest(f.kind, full, distinctUpTo(reference, current, DISCRETE_MAX_VALUES));
      notes.set(
        f.name,
        `test chosen on the full reference (${full} values), not the ${reference.length}-value sample`,
      );
    }
    if (o.test || o.threshold !== undefined) overrides[f.name] = o;
  }
  if (inputs.length === 0) return { untested };
  const r = driftReport(inputs, {
    overrides,
    correction: policy.correction,
    driftShare: policy.datasetDriftShare,
  });
  const report: DriftCheckReport = {
    ...r,
    features: r.features.map((f) => {
      const note = notes.get(f.name);
      return note ? { ...f, note } : f;
    }),
  };
  return { report, untested };
}

// -------------------------------------------------------------------------- sketch mode

interface SketchResult {
  readonly feature: Omit<CheckedFeature, 'drifted' | 'severity' | 'adjustedPValue'>;
}

const SKETCH_NUMERIC_TESTS: ReadonlySet<DriftTest> = new Set(['wasserstein', 'psi', 'jensenshannon']);

function sketchFeature(f: FeatureProfile, window: WindowSketch, policy: MonitoringPolicy): SketchResult {
  const cur = window.features[f.name]!;
  const p = policy.features[f.name];
  if (f.kind === 'numerical') {
    const ref = f.sketch!;
    if (cur.kind !== 'numeric') throw validationFailed(`${f.name}: the window sketch is not numeric`);
    let test: DriftTest;
    let threshold: number;
    let note: string | undefined;
    if (p?.test && !SKETCH_NUMERIC_TESTS.has(p.test)) {
      test = 'wasserstein';
      threshold = DEFAULT_THRESHOLDS.wasserstein;
      note = `'${p.test}' needs raw rows (p-values from sketches are not reliable); tested by normalised Wasserstein ≥ ${threshold} instead`;
    } else if (p?.test) {
      test = p.test;
      threshold = p.threshold ?? DEFAULT_THRESHOLDS[test];
    } else {
      // Without raw rows the window's distinct values are unknown: the discrete rule (tested like
      // categories, by JS) is decided on the reference's.
      test = f.summary.distinct > DISCRETE_MAX_VALUES ? 'wasserstein' : 'jensenshannon';
      threshold = DEFAULT_THRESHOLDS[test];
      if (f.summary.count > SMALL_REFERENCE_ROWS) threshold = p?.threshold ?? threshold;
      else {
        // Evidently's default here is a p-value test, so a threshold set without a test is a
        // p-value threshold, meaningless for a distance.
        const ignored =
          p?.threshold !== undefined ? ` (the policy's threshold ${p.threshold} is for that test)` : '';
        note = `the default test for a reference of ≤ ${SMALL_REFERENCE_ROWS} values is a p-value test, which needs raw rows; tested by ${test} ≥ ${threshold} from sketches${ignored}`;
      }
    }
    validateThreshold(f.name, test, threshold);
    const m = numericSketchMetrics(ref, cur);
    const score = test === 'wasserstein' ? m.wassersteinNorm : test === 'psi' ? m.psi : m.jsDistance;
    return {
      feature: {
        name: f.name,
        kind: 'numerical',
        test,
        statistic: score,
        score,
        threshold,
        nReference: m.n1,
        nCurrent: m.n2,
        ...(note ? { note } : {}),
      },
    };
  }
  const ref = f.sketch;
  if (cur.kind !== 'categorical') throw validationFailed(`${f.name}: the window sketch is not categorical`);
  // Category counts are exact, so Evidently's default (decided on the full reference, like the
  // exact mode) needs no compromise here.
  const test: DriftTest =
    p?.test ??
    defaultTest('categorical', ref.n, new Set([...Object.keys(ref.counts), ...Object.keys(cur.counts)]).size);
  if (test === 'ks' || test === 'wasserstein') {
    throw validationFailed(`${f.name}: test '${test}' needs a numerical feature`, {
      feature: f.name,
      test,
    });
  }
  const threshold = p?.threshold ?? DEFAULT_THRESHOLDS[test];
  validateThreshold(f.name, test, threshold);
  const base = {
    name: f.name,
    kind: 'categorical' as const,
    test,
    threshold,
    nReference: ref.n,
    nCurrent: cur.n,
  };
  if (test === 'z') {
    const counts = (s: typeof ref) => ({
      counts: new Map(Object.entries(s.counts)),
      total: s.n,
      dropped: s.nulls,
    });
    const z = twoProportionZ(counts(ref), counts(cur), f.name);
    return { feature: { ...base, statistic: z.statistic, pValue: z.pValue! } };
  }
  const m = categoricalSketchMetrics(ref, cur);
  if (test === 'chisquare') return { feature: { ...base, statistic: m.chi2Stat, pValue: m.chi2PValue } };
  const score = test === 'psi' ? m.psi : m.jsDistance;
  return { feature: { ...base, statistic: score, score } };
}

function sketchReport(
  features: readonly FeatureProfile[],
  window: WindowSketch,
  policy: MonitoringPolicy,
): { report?: DriftCheckReport; untested: UntestedFeature[] } {
  const untested: UntestedFeature[] = [];
  const raw: SketchResult[] = [];
  for (const f of features) {
    const cur = window.features[f.name];
    if (!cur) throw validationFailed(`the window sketch has no "${f.name}"`, { feature: f.name });
    if (cur.n === 0) {
      untested.push({ name: f.name, reason: 'no non-null values in the window' });
      continue;
    }
    raw.push(sketchFeature(f, window, policy));
  }
  if (raw.length === 0) return { untested };
  // The verdict below is driftReport's, step for step, on these results.
  const correction = policy.correction;
  const pIndex = raw.flatMap((r, i) => (r.feature.pValue === undefined ? [] : [i]));
  const adjusted = adjustPValues(
    pIndex.map((i) => raw[i]!.feature.pValue!),
    correction,
  );
  const adjustedByIndex = new Map(pIndex.map((i, k) => [i, adjusted[k]!]));
  const out: CheckedFeature[] = raw.map(({ feature: f }, i) => {
    if (P_VALUE_TESTS.has(f.test)) {
      const p = adjustedByIndex.get(i)!;
      const drifted = p < f.threshold;
      return {
        ...f,
        ...(correction === 'none' ? {} : { adjustedPValue: p }),
        drifted,
        severity: featureSeverity(f.test, drifted, p, f.threshold),
      };
    }
    const drifted = f.statistic >= f.threshold;
    return { ...f, drifted, severity: featureSeverity(f.test, drifted, f.statistic, f.threshold) };
  });
  return { report: summarizeDrift(out, policy.datasetDriftShare, correction), untested };
}

// ---------------------------------------------------------------------------------- check

export function runDriftCheck(input: DriftCheckInput): DriftCheckResult {
  const { baseline, window, policy, windowRange } = input;
  const checkedAt =
    typeof input.now === 'string' ? new Date(input.now).toISOString() : input.now.toISOString();
  const accumulator = window instanceof WindowAccumulator ? window : null;
  const mode: WindowMode = accumulator ? accumulator.mode : 'sketch';
  const rows = window.rows;
  const layoutId = window.layoutId;
  if (layoutId !== baseline.layoutId) {
    throw validationFailed('the window was built on another baseline layout', {
      expected: baseline.layoutId,
      got: layoutId,
    });
  }
  const head = {
    mode,
    rows,
    window: { from: windowRange.from, to: windowRange.to },
    checkedAt,
    baselineVersion: baseline.version,
  };
  if (rows < policy.minRows) {
    return {
      status: 'skipped',
      reason: `${rows} rows in the window, fewer than the policy's minRows (${policy.minRows})`,
      ...head,
      untested: [],
    };
  }
  const untested: UntestedFeature[] = [];
  const features = baseline.features.filter((f) => {
    if (policy.features[f.name]?.ignore) return false;
    if (f.summary.count === 0) {
      untested.push({ name: f.name, reason: 'no non-null values in the reference' });
      return false;
    }
    return true;
  });
  const tested =
    mode === 'exact'
      ? exactReport(features, accumulator!.columns(), policy)
      : sketchReport(features, accumulator ? accumulator.toSketch() : (window as WindowSketch), policy);
  untested.push(...tested.untested);
  if (!tested.report) {
    return { status: 'skipped', reason: 'no feature could be tested', ...head, untested };
  }
  // Each tested feature's distribution, baseline against window, to be drawn next to its test.
  const columns = mode === 'exact' ? accumulator!.columns() : undefined;
  const sketches =
    mode === 'exact' ? undefined : (accumulator ? accumulator.toSketch() : (window as WindowSketch)).features;
  const profiles = new Map(features.map((f) => [f.name, f]));
  const report: DriftCheckReport = {
    ...tested.report,
    features: tested.report.features.map((f) => {
      const profile = profiles.get(f.name);
      const histogram = profile
        ? featureHistogram(profile, columns?.get(f.name) ?? sketches?.[f.name])
        : undefined;
      return histogram ? { ...f, histogram } : f;
    }),
  };
  return { status: 'ok', ...head, report, untested };
}
