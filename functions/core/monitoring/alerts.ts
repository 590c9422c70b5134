/**
 * Alerts from drift checks.
 *
 * When: a check alerts when it ran (status 'ok') and its severity reaches `minSeverity` (the
 * policy's alertMinSeverity, default 'medium'). With the engine's severity scale that default
 * means "any feature drifted": a drifted feature is at least medium, and a lone drifted feature
 * past a 0.1 distance or a 0.05 p-value is already worth a look. Raise it to 'high' to hear only
 * of dataset drift or of a feature far past its threshold.
 *
 * Identity: the id is a hash of (model, window, baseline), not a random id, so a redelivered
 * message or a re-run over the same window yields the same id and the store's conditional put
 * keeps the first alert instead of creating a second one.
 */
import { createHash } from 'node:crypto';
import type { DriftTest, Severity } from '../stats/drift-report.js';
import type { DriftCheckResult } from './check.js';
import type { AlertRecord } from './ports.js';

export type AlertAction = 'keep_monitoring' | 'investigate' | 'retrain' | 'rollback';

export interface AlertFeature {
  readonly name: string;
  readonly test: DriftTest;
  readonly score?: number;
  readonly pValue?: number;
  readonly threshold: number;
  readonly severity: Severity;
}

export interface Alert {
  /** 32 hex chars: SHA-256 of model|from|to|baselineId. */
  readonly id: string;
  readonly model: string;
  readonly baselineId: string;
  readonly baselineVersion: string;
  readonly status: 'open';
  readonly severity: Severity;
  readonly action: AlertAction;
  readonly title: string;
  readonly recommendation: string;
  readonly datasetDrift: boolean;
  readonly driftedCount: number;
  readonly featureCount: number;
  readonly driftedShare: number;
  /** Most severe first, at most MAX_ALERT_FEATURES (driftedCount has the total). */
  readonly driftedFeatures: AlertFeature[];
  readonly mode: 'exact' | 'sketch';
  readonly rows: number;
  readonly window: { readonly from: string; readonly to: string };
  /** The check's time, so the alert is the same however often it is rebuilt. */
  readonly createdAt: string;
}

/** Keeps an alert item far below a key-value store's item size with 1000-feature models. */
export const MAX_ALERT_FEATURES = 100;

const RANK: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2, critical: 3 };

export function actionFor(severity: Severity): AlertAction {
  switch (severity) {
    case 'low':
      return 'keep_monitoring';
    case 'medium':
      return 'investigate';
    case 'high':
      return 'retrain';
    case 'critical':
      return 'rollback';
  }
}

/** Equal instants written differently ("…:00Z", "…:00.000Z", "+00:00") must give one id. */
function canonicalTime(t: string): string {
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : t;
}

export function alertId(model: string, from: string, to: string, baselineId: string): string {
  return createHash('sha256')
    .update([model, canonicalTime(from), canonicalTime(to), baselineId].join('|'), 'utf8')
    .digest('hex')
    .slice(0, 32);
}

export interface AlertForCheckInput {
  readonly model: string;
  readonly result: DriftCheckResult;
  /** Identifies the baseline the window was compared to (e.g. its storage key or version). */
  readonly baselineId: string;
  /** Default 'medium' (see above); pass the policy's alertMinSeverity. */
  readonly minSeverity?: Exclude<Severity, 'low'>;
}

export function alertForCheck(input: AlertForCheckInput): Alert | undefined {
  const { model, result, baselineId } = input;
  const report = result.report;
  if (result.status !== 'ok' || !report) return undefined;
  if (RANK[report.severity] < RANK[input.minSeverity ?? 'medium'] || report.driftedCount === 0)
    return undefined;
  const drifted = report.features
    .filter((f) => f.drifted)
    .sort((a, b) => RANK[b.severity] - RANK[a.severity] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const total = report.features.length;
  const what = report.datasetDrift
    ? `dataset drift, ${report.driftedCount} of ${total} features`
    : `drift in ${report.driftedCount} of ${total} feature${total === 1 ? '' : 's'}`;
  return {
    id: alertId(model, result.window.from, result.window.to, baselineId),
    model,
    baselineId,
    baselineVersion: result.baselineVersion,
    status: 'open',
    severity: report.severity,
    action: actionFor(report.severity),
    title: `${model}: ${what} (${report.severity})`,
    recommendation: report.recommendation,
    datasetDrift: report.datasetDrift,
    driftedCount: report.driftedCount,
    featureCount: total,
    driftedShare: report.driftedShare,
    driftedFeatures: drifted.slice(0, MAX_ALERT_FEATURES).map((f) => ({
      name: f.name,
      test: f.test,
      ...(f.score !== undefined ? { score: f.score } : {}),
      ...(f.pValue !== undefined ? { pValue: f.adjustedPValue ?? f.pValue } : {}),
      threshold: f.threshold,
      severity: f.severity,
    })),
    mode: result.mode,
    rows: result.rows,
    window: result.window,
    createdAt: result.checkedAt,
  };
}

/** Alerts that are not about drift: a corrupt artifact, or production answered by a fallback. */
export type OperationalAlertKind = 'integrity' | 'fallback';

export interface OperationalAlert {
  readonly id: string;
  readonly kind: OperationalAlertKind;
  readonly model: string;
  readonly version: string;
  readonly severity: Severity;
  readonly action: AlertAction;
  readonly title: string;
  readonly recommendation: string;
  readonly details: Record<string, unknown>;
}

/** What a lifecycle event says (core/registry/events.ts), as far as alerts read it. */
export interface LifecycleEventLike {
  readonly id: string;
  readonly type: string;
  readonly at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The model's production state when the event is handled. */
export interface ProductionState {
  readonly productionVersion?: string;
  /** Where a rollback would take production (core/registry/lifecycle.ts rollbackCandidate). */
  readonly rollbackTo?: string;
}

/** One id per (model, kind, version[, serving version]): the version's failure is one incident. */
function operationalId(parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('|'), 'utf8').digest('hex').slice(0, 32);
}

function rollbackAdvice(model: string, rollbackTo: string | undefined): Record<string, unknown> | null {
  return rollbackTo
    ? { method: 'POST', path: `/v1/models/${model}/rollback`, body: { toVersion: rollbackTo } }
    : null;
}

/**
 * The alert a lifecycle event calls for, if any: `version.integrity_failed` (critical when the
 * version is production, with the rollback to suggest), or `version.serving_failed` where
 * another version answered instead (a fallback).
 */
export function alertForLifecycleEvent(
  event: LifecycleEventLike,
  production: ProductionState,
): OperationalAlert | undefined {
  const model = typeof event.data.model === 'string' ? event.data.model : undefined;
  const version = typeof event.data.version === 'string' ? event.data.version : undefined;
  if (!model || !version) return undefined;
  const after = (event.data.after ?? {}) as Record<string, unknown>;
  const isProduction = production.productionVersion === version;
  const rollback = isProduction ? rollbackAdvice(model, production.rollbackTo) : null;
  if (event.type === 'version.integrity_failed') {
    return {
      id: operationalId([model, 'integrity', version]),
      kind: 'integrity',
      model,
      version,
      severity: isProduction ? 'critical' : 'high',
      action: isProduction ? 'rollback' : 'investigate',
      title: `${model}: version ${version}${isProduction ? ' (production)' : ''} failed its integrity check`,
      recommendation: isProduction
        ? production.rollbackTo
          ? `Production's artifact is corrupt; requests fall back where the model allows it. Roll back: POST /v1/models/${model}/rollback {"toVersion":"${production.rollbackTo}"}, then find out how the stored bytes changed.`
          : `Production's artifact is corrupt and there is no earlier production version to roll back to: register a good artifact as a new version and promote it.`
        : `The version can never serve or be promoted again; register the artifact again as a new version and find out how the stored bytes changed.`,
      details: {
        eventId: event.id,
        actor: event.data.actor ?? null,
        unusableReason: after.unusableReason ?? null,
        production: isProduction,
        productionVersion: production.productionVersion ?? null,
        suggestedRollback: rollback,
      },
    };
  }
  if (event.type === 'version.serving_failed' && typeof after.servedBy === 'string') {
    const servedBy = after.servedBy;
    return {
      id: operationalId([model, 'fallback', version, servedBy]),
      kind: 'fallback',
      model,
      version,
      severity: 'high',
      action: 'rollback',
      title: `${model}: version ${version} cannot serve; version ${servedBy} answers instead`,
      recommendation: rollback
        ? `Requests are served by the fallback ${servedBy}. Make it official: POST /v1/models/${model}/rollback {"toVersion":"${production.rollbackTo}"}, then investigate ${version}.`
        : `Requests are served by the fallback ${servedBy}; investigate ${version}.`,
      details: {
        eventId: event.id,
        reason: after.reason ?? null,
        servedBy,
        production: isProduction,
        productionVersion: production.productionVersion ?? null,
        suggestedRollback: rollback,
      },
    };
  }
  return undefined;
}

/**
 * An alert as the API and alert events show it: without the store's publishing flag, and with the
 * acknowledgement's comment only when one was given (alerts acknowledged before this stored '').
 */
export function alertView(stored: AlertRecord): AlertRecord {
  const { published: _published, ackComment, ...rest } = stored;
  return ackComment ? { ...rest, ackComment } : rest;
}
