/**
 * The report of GET /v1/models/{name}/stats from the hourly aggregates: latency quantiles, error
 * rate, confidence, and accuracy/precision/recall/F1 or MAE/RMSE from feedback.
 */

import { histogramQuantile } from '../kernel/latency-histogram.js';
import { HOUR_MS, mergeAggregates } from './aggregates.js';
import {
  byCodeUnit,
  type ClassificationMetrics,
  type ClassificationOptions,
  classificationMetrics,
  type RegressionMetrics,
  regressionMetrics,
} from './feedback-metrics.js';
import type { HourAggregate } from './ports.js';

export interface FeedbackStats {
  /** Joined feedbacks. */
  readonly count: number;
  /** Present when some feedback was counted as labels (classifiers). */
  readonly classification?: ClassificationMetrics;
  /** Present when some feedback was counted as numeric errors (regressors). */
  readonly regression?: RegressionMetrics;
}

export interface VersionStats {
  /** The version; null in the total over all versions. */
  readonly version: string | null;
  /** First hour with data and the end of the last one ([from, to)); null when there is none. */
  readonly from: string | null;
  readonly to: string | null;
  readonly requests: number;
  readonly errors: number;
  /** errors / requests; null without requests. */
  readonly errorRate: number | null;
  readonly predictions: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number } | null;
  readonly meanConfidence: number | null;
  readonly feedback: FeedbackStats | null;
  /**
   * Capture completeness: predictions answered (captured + lost) against those captured (in S3
   * and counted here). Predictions still on their way to the store count in neither.
   */
  readonly capture: {
    readonly answered: number;
    readonly captured: number;
    readonly lost: number;
    /** captured / answered; null without answered predictions. */
    readonly completeness: number | null;
  };
}

export interface StatsReport {
  /** The window asked for (SummarizeOptions), else the hours with data. */
  readonly from: string | null;
  readonly to: string | null;
  readonly total: VersionStats;
  /** Per version (sorted like semver where versions are semver), when grouped by version. */
  readonly versions?: readonly VersionStats[];
}

export interface SummarizeOptions extends ClassificationOptions {
  readonly groupByVersion?: boolean;
  /** The window the aggregates were read for, reported as the report's from/to. */
  readonly from?: string;
  readonly to?: string;
}

/** Stats of a set of aggregates (one model, any hours and versions). */
export function summarize(aggregates: readonly HourAggregate[], options: SummarizeOptions = {}): StatsReport {
  const total = versionStats(null, aggregates, options);
  const report: StatsReport = {
    from: options.from ?? total.from,
    to: options.to ?? total.to,
    total,
  };
  if (!options.groupByVersion) return report;
  const byVersion = new Map<string, HourAggregate[]>();
  for (const a of aggregates) {
    const list = byVersion.get(a.version);
    if (list) list.push(a);
    else byVersion.set(a.version, [a]);
  }
  const versions = [...byVersion.keys()].sort(compareVersions);
  return { ...report, versions: versions.map((v) => versionStats(v, byVersion.get(v) ?? [], options)) };
}

function versionStats(
  version: string | null,
  aggregates: readonly HourAggregate[],
  options: ClassificationOptions,
): VersionStats {
  const t = mergeAggregates(aggregates);
  const lost = aggregates.reduce((sum, a) => sum + (a.lostPredictions ?? 0), 0);
  const answered = t.predictions + lost;
  const hours = aggregates.map((a) => a.hourStart).sort();
  const first = hours[0];
  const last = hours[hours.length - 1];
  const p50 = histogramQuantile(t.latency, 0.5);
  const confusionCount = Object.values(t.feedback.confusion).reduce((s, c) => s + c, 0);
  const classification = classificationMetrics(t.feedback.confusion, options);
  const regression = regressionMetrics(t.feedback, Math.max(0, t.feedback.count - confusionCount));
  return {
    version,
    from: first ?? null,
    to: last === undefined ? null : new Date(new Date(last).getTime() + HOUR_MS).toISOString(),
    requests: t.requests,
    errors: t.errors,
    errorRate: t.requests > 0 ? t.errors / t.requests : null,
    predictions: t.predictions,
    latencyMs:
      p50 === null
        ? null
        : {
            p50,
            p95: histogramQuantile(t.latency, 0.95) as number,
            p99: histogramQuantile(t.latency, 0.99) as number,
          },
    meanConfidence: t.confidenceCount > 0 ? t.confidenceSum / t.confidenceCount : null,
    feedback:
      t.feedback.count > 0
        ? {
            count: t.feedback.count,
            ...(classification ? { classification } : {}),
            ...(regression ? { regression } : {}),
          }
        : null,
    capture: {
      answered,
      captured: t.predictions,
      lost,
      completeness: answered > 0 ? t.predictions / answered : null,
    },
  };
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;

/** Semver order for semver versions (before anything else), code-unit order otherwise. */
function compareVersions(a: string, b: string): number {
  const x = SEMVER.exec(a);
  const y = SEMVER.exec(b);
  if (x && y) {
    for (let i = 1; i <= 3; i++) {
      const d = Number(x[i]) - Number(y[i]);
      if (d !== 0) return d;
    }
    return 0;
  }
  if (x) return -1;
  if (y) return 1;
  return byCodeUnit(a, b);
}
