/**
 * Alerts from the data-quality and volume checks (docs/quality.md).
 *
 * Quality: one alert per window with violations, its id a hash of (model, window, baseline) under
 * its own tag, so it never collides with the drift alert of the same window and a re-run or a
 * redelivered message finds it taken. Severity 'high' when inputs cannot be read as the model
 * reads them (a type mismatch, a missing column, a malformed row): predictions on them are
 * wrong, not just less accurate. 'medium' otherwise.
 *
 * Volume: one alert per (model, hour), whichever check judged the hour first.
 */
import { createHash } from 'node:crypto';
import type { QualityCheck, QualityReport, VolumeCheck } from './quality.js';

const HIGH: ReadonlySet<QualityCheck> = new Set(['type_mismatch', 'missing_column', 'malformed_row']);

function canonicalTime(t: string): string {
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : t;
}

function hashId(parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('|'), 'utf8').digest('hex').slice(0, 32);
}

export function qualityAlertId(model: string, from: string, to: string, baselineId: string): string {
  return hashId(['quality', model, canonicalTime(from), canonicalTime(to), baselineId]);
}

export function volumeAlertId(model: string, hourStart: string): string {
  return hashId(['volume', model, canonicalTime(hourStart)]);
}

export function qualitySeverity(report: QualityReport): 'none' | 'medium' | 'high' {
  if (report.violations.length === 0) return 'none';
  return report.violations.some((v) => HIGH.has(v.check)) ? 'high' : 'medium';
}

/** Most alerts list this many violations; the report has them all. */
export const MAX_ALERT_VIOLATIONS = 20;

export interface QualityAlert {
  readonly id: string;
  readonly severity: 'medium' | 'high';
  readonly title: string;
  readonly recommendation: string;
  readonly details: Record<string, unknown>;
}

const ADVICE: Record<QualityCheck, string> = {
  malformed_row:
    'some captured rows are not instances of this model at all: find the client or capture path that sends them',
  missing_column:
    'a feature is never sent: a client was probably released with another schema (a renamed or dropped field); fix the client, or register a version and a baseline for the new schema',
  type_mismatch:
    'values arrive with the wrong type (e.g. numbers as strings): fix the client, since the drift check reads them as missing',
  extra_column:
    'rows carry fields the baseline does not know: a client may send a newer schema; if the model should use them, register a version and a baseline with them',
  missing: 'values go missing more often than in the baseline: check the upstream source of those features',
  unseen_category:
    'categories the baseline never saw appear: if they are legitimate, rebuild the baseline (and retrain) on data that has them',
  out_of_range:
    "values fall outside the baseline's range: check for a unit change or bad inputs upstream, or rebuild the baseline if the population really widened",
};

const ORDER: readonly QualityCheck[] = [
  'malformed_row',
  'missing_column',
  'type_mismatch',
  'extra_column',
  'missing',
  'unseen_category',
  'out_of_range',
];

export function alertForQuality(input: {
  readonly model: string;
  readonly window: { readonly from: string; readonly to: string };
  readonly baselineId: string;
  readonly report: QualityReport;
}): QualityAlert | undefined {
  const { model, window, baselineId, report } = input;
  const severity = qualitySeverity(report);
  if (severity === 'none') return undefined;
  const checks = ORDER.filter((c) => report.violations.some((v) => v.check === c));
  const n = report.violations.length;
  const first = ADVICE[checks[0]!];
  return {
    id: qualityAlertId(model, window.from, window.to, baselineId),
    severity,
    title: `${model}: ${n} data-quality violation${n === 1 ? '' : 's'} (${checks.join(', ')})`,
    recommendation: `${first.charAt(0).toUpperCase()}${first.slice(1)}.${
      checks.length > 1
        ? ` Also: ${checks
            .slice(1)
            .map((c) => ADVICE[c])
            .join('; ')}.`
        : ''
    }`,
    details: {
      baselineId,
      rows: report.rows,
      checks,
      violationCount: n,
      violations: [...report.violations]
        .sort((a, b) => ORDER.indexOf(a.check) - ORDER.indexOf(b.check))
        .slice(0, MAX_ALERT_VIOLATIONS),
    },
  };
}

export interface VolumeAlert {
  readonly id: string;
  readonly severity: 'medium' | 'high';
  readonly title: string;
  readonly recommendation: string;
  readonly details: Record<string, unknown>;
}

export function alertForVolume(input: {
  readonly model: string;
  readonly hourStart: string;
  readonly check: VolumeCheck;
  readonly history: readonly number[];
}): VolumeAlert | undefined {
  const { model, hourStart, check, history } = input;
  if (!check.anomaly) return undefined;
  const drop = check.anomaly === 'drop';
  // No traffic at all is an outage until shown otherwise; a spike is worth a look.
  const severity = drop && check.count === 0 ? 'high' : 'medium';
  return {
    id: volumeAlertId(model, hourStart),
    severity,
    title: `${model}: prediction volume ${drop ? (check.count === 0 ? 'dropped to zero' : 'dropped') : 'spiked'} in the hour from ${hourStart}`,
    recommendation: drop
      ? `${check.reason}. Check that clients still reach the model (gateway errors, a changed alias or URL, an upstream outage) and that captures are still counted.`
      : `${check.reason}. Check for a client retry loop or a new caller, and that the concurrency and rate limits still fit.`,
    details: { hourStart, history: [...history], ...check },
  };
}
