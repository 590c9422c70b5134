/**
 * GET /v1/models/{name}/performance: the metrics of a version's served predictions joined with
 * their labels over a window of prediction time (docs/performance.md). A label that arrives days
 * later counts in the window its prediction was served in: the labelled rows are read by
 * prediction time (LabelledPredictions), never by label time.
 *
 * Label coverage comes from the hourly serving counts, where feedback is counted into its
 * prediction's hour as well: labelled / predicted over the whole UTC hours the window touches
 * (the counts are hourly), so it is exact for windows on hour boundaries.
 *
 * The degradation check (degradation()) compares a window's metrics with the values the version
 * was registered with, once enough labels exist.
 */
import { createHash } from 'node:crypto';
import type { LabelledPrediction, LabelledPredictions } from '../inference/ports.js';
import { conflict, notFound, validationFailed } from '../kernel/errors.js';
import type { OutputSchema } from '../kernel/model-io.js';
import type { RegistryStore } from '../registry/ports.js';
import type { ModelVersion } from '../registry/types.js';
import {
  type ClassificationMetrics,
  classificationMetrics,
  type RegressionMetrics,
  regressionMetrics,
} from './performance.js';
import type { PerformancePolicy } from './policy.js';
import type { ServingCounts } from './ports.js';

/** Labelled rows one report reads at most; beyond, it reports on the oldest and says truncated. */
export const MAX_PERFORMANCE_ROWS = 100_000;
const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

export interface PerformanceDeps {
  readonly registry: Pick<RegistryStore, 'getModel' | 'getVersion'>;
  readonly labels: LabelledPredictions;
  readonly serving?: ServingCounts;
  readonly clock: { now(): Date };
  /** Overrides MAX_PERFORMANCE_ROWS (tests). */
  readonly maxRows?: number;
}

export interface PerformanceQuery {
  readonly version?: string;
  readonly from?: string;
  readonly to?: string;
}

export interface LabelCoverage {
  readonly labelled: number;
  readonly predictions: number;
  /** labelled / predictions; null without predictions. */
  readonly share: number | null;
  /** The whole hours the counts cover (the window's hours, widened to the hour). */
  readonly hours: { readonly from: string; readonly to: string };
}

export interface PerformanceReport {
  readonly model: string;
  readonly version: string;
  readonly kind: OutputSchema['kind'];
  readonly window: { readonly from: string; readonly to: string };
  /** Labelled rows the metrics are computed on. */
  readonly rows: number;
  /** More labelled rows exist in the window than maxRows: the metrics cover the oldest maxRows. */
  readonly truncated: boolean;
  readonly maxRows: number;
  /** Rows whose label could not be read as the model's kind (a regression label that is not a number). */
  readonly unreadableLabels: number;
  readonly labelCoverage: LabelCoverage | null;
  readonly classification: ClassificationMetrics | null;
  readonly regression: RegressionMetrics | null;
  /** The metrics the version was registered with, which degradation compares against. */
  readonly registered: Record<string, number>;
}

/** The window of a query: [from, to), to defaulting to now and from to 24 hours before it. */
export function windowOf(query: PerformanceQuery, now: Date): { from: Date; to: Date } {
  const to = query.to ? new Date(query.to) : now;
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - DAY_MS);
  if (!Number.isFinite(from.getTime()) || !Number.isFinite(to.getTime())) {
    throw validationFailed('from and to must be ISO times', { from: query.from, to: query.to });
  }
  if (from.getTime() >= to.getTime()) {
    throw validationFailed('from must be before to (to defaults to now)', {
      from: from.toISOString(),
      to: to.toISOString(),
    });
  }
  if (to.getTime() - from.getTime() > 31 * DAY_MS) {
    throw validationFailed('a window is at most 31 days', { from: from.toISOString(), to: to.toISOString() });
  }
  return { from, to };
}

/** The version a query is about: the one named, else production, else the latest. */
export async function versionFor(
  registry: PerformanceDeps['registry'],
  model: string,
  version: string | undefined,
): Promise<ModelVersion> {
  const m = await registry.getModel(model);
  if (!m) throw notFound(`model ${model} does not exist`, { model });
  const name = version ?? m.productionVersion ?? m.latestVersion;
  if (!name) throw conflict(`model ${model} has no versions`, { model });
  const v = await registry.getVersion(model, name);
  if (!v) throw notFound(`version ${name} of model ${model} does not exist`, { model, version: name });
  return v;
}

export async function performanceReport(
  deps: PerformanceDeps,
  model: string,
  query: PerformanceQuery,
): Promise<PerformanceReport> {
  const { from, to } = windowOf(query, deps.clock.now());
  const v = await versionFor(deps.registry, model, query.version);
  const maxRows = deps.maxRows ?? MAX_PERFORMANCE_ROWS;
  const { rows, truncated } = await deps.labels.labelled(model, from, to, {
    version: v.version,
    limit: maxRows,
  });
  const kind = v.outputSchema?.kind ?? rows[0]?.kind ?? 'regression';
  const metrics = metricsOf(rows, kind, v.outputSchema?.classes);
  return {
    model,
    version: v.version,
    kind,
    window: { from: from.toISOString(), to: to.toISOString() },
    rows: metrics.used,
    truncated,
    maxRows,
    unreadableLabels: metrics.unreadable,
    labelCoverage: await coverage(deps.serving, model, v.version, from, to),
    classification: metrics.classification,
    regression: metrics.regression,
    registered: v.metrics,
  };
}

function metricsOf(
  rows: readonly LabelledPrediction[],
  kind: OutputSchema['kind'],
  classes: readonly (string | number)[] | undefined,
): {
  used: number;
  unreadable: number;
  classification: ClassificationMetrics | null;
  regression: RegressionMetrics | null;
} {
  if (kind === 'regression') {
    const usable: { predicted: number; actual: number }[] = [];
    for (const r of rows) {
      const actual = Number(r.actual);
      const predicted = Number(r.predicted);
      if (Number.isFinite(actual) && Number.isFinite(predicted)) usable.push({ predicted, actual });
    }
    return {
      used: usable.length,
      unreadable: rows.length - usable.length,
      classification: null,
      regression: regressionMetrics(usable),
    };
  }
  // Labels compare as text: clients send 1 and "1" for the same class.
  const names = (classes ?? []).map(String);
  const labelled = rows.map((r) => ({
    predicted: String(r.predicted),
    actual: String(r.actual),
    ...(r.probabilities && r.probabilities.length === names.length ? { probabilities: r.probabilities } : {}),
  }));
  return {
    used: labelled.length,
    unreadable: 0,
    classification: classificationMetrics(labelled, names),
    regression: null,
  };
}

async function coverage(
  serving: ServingCounts | undefined,
  model: string,
  version: string,
  from: Date,
  to: Date,
): Promise<LabelCoverage | null> {
  if (!serving) return null;
  const start = Math.floor(from.getTime() / HOUR_MS) * HOUR_MS;
  const end = Math.ceil(to.getTime() / HOUR_MS) * HOUR_MS;
  // aggregates() takes hours whose start is in [from, to).
  const hours = await serving.aggregates(model, new Date(start), new Date(end));
  let labelled = 0;
  let predictions = 0;
  for (const h of hours) {
    if (h.version !== version) continue;
    labelled += h.feedback.count;
    predictions += h.predictions;
  }
  return {
    labelled,
    predictions,
    share: predictions > 0 ? labelled / predictions : null,
    hours: { from: new Date(start).toISOString(), to: new Date(end).toISOString() },
  };
}

// ---- degradation -----------------------------------------------------------------------------

/** Metrics a degradation policy can watch, and whether larger is better. */
export const WATCHED_METRICS = {
  accuracy: 'higher',
  macroF1: 'higher',
  weightedF1: 'higher',
  macroPrecision: 'higher',
  macroRecall: 'higher',
  rocAuc: 'higher',
  logLoss: 'lower',
  mae: 'lower',
  rmse: 'lower',
  r2: 'higher',
  mape: 'lower',
} as const;
export type WatchedMetric = keyof typeof WATCHED_METRICS;

/** A watched metric's value in a report, or null when the report has none. */
export function observed(report: PerformanceReport, metric: WatchedMetric): number | null {
  const c = report.classification;
  const r = report.regression;
  switch (metric) {
    case 'accuracy':
      return c?.accuracy ?? null;
    case 'macroF1':
      return c?.macro.f1 ?? null;
    case 'weightedF1':
      return c?.weighted.f1 ?? null;
    case 'macroPrecision':
      return c?.macro.precision ?? null;
    case 'macroRecall':
      return c?.macro.recall ?? null;
    case 'rocAuc':
      return c?.rocAuc ?? null;
    case 'logLoss':
      return c?.logLoss ?? null;
    default:
      return r ? r[metric] : null;
  }
}

export interface DegradedMetric {
  readonly metric: WatchedMetric;
  readonly observed: number;
  readonly registered: number;
  readonly tolerance: number;
  /** The value past which it degraded: registered − tolerance (higher is better) or + tolerance. */
  readonly bound: number;
}

export interface Degradation {
  /** 'insufficient_labels' below minLabels; 'ok' when judged. */
  readonly status: 'ok' | 'insufficient_labels';
  readonly labels: number;
  readonly minLabels: number;
  readonly degraded: DegradedMetric[];
  /** Watched metrics that could not be judged, and why. */
  readonly unjudged: { readonly metric: WatchedMetric; readonly reason: string }[];
}

/**
 * Which watched metrics fell past the version's registered value by more than their tolerance.
 * The registered value is looked up under the metric's name, or the policy's `registeredAs`.
 */
export function degradation(report: PerformanceReport, policy: PerformancePolicy): Degradation {
  const base = { labels: report.rows, minLabels: policy.minLabels };
  if (report.rows < policy.minLabels) {
    return { status: 'insufficient_labels', ...base, degraded: [], unjudged: [] };
  }
  const degraded: DegradedMetric[] = [];
  const unjudged: Degradation['unjudged'] = [];
  for (const [name, rule] of Object.entries(policy.metrics)) {
    const metric = name as WatchedMetric;
    const key = rule.registeredAs ?? metric;
    const registered = Object.hasOwn(report.registered, key) ? report.registered[key] : undefined;
    const value = observed(report, metric);
    if (typeof registered !== 'number' || !Number.isFinite(registered)) {
      unjudged.push({ metric, reason: `the version was registered without metrics.${key}` });
      continue;
    }
    if (value === null) {
      unjudged.push({ metric, reason: `the window has no ${metric} (wrong kind, or no probabilities)` });
      continue;
    }
    const higher = WATCHED_METRICS[metric] === 'higher';
    const bound = higher ? registered - rule.tolerance : registered + rule.tolerance;
    if (higher ? value < bound : value > bound) {
      degraded.push({ metric, observed: value, registered, tolerance: rule.tolerance, bound });
    }
  }
  return { status: 'ok', ...base, degraded, unjudged };
}

/** One alert per (model, version, window): a re-run or a redelivered check raises nothing new. */
export function performanceAlertId(model: string, version: string, from: string, to: string): string {
  return createHash('sha256')
    .update(['performance', model, version, from, to].join('|'), 'utf8')
    .digest('hex')
    .slice(0, 32);
}
