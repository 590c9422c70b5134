/**
 * Drift reports for people (`serval drift check` and `serval drift reports`). Typed by the
 * records the API answers with (functions/core/monitoring), so a renderer that reads a field the
 * report does not have fails the typecheck instead of printing dashes.
 */
import type { DriftCheckResult } from '../../functions/core/monitoring/check.js';
import type { ReportRecord } from '../../functions/core/monitoring/ports.js';
import { listTable, num, pval, table } from './tables.js';

const pct = (share: number) => `${Math.round(share * 100)}%`;

/** One report: the verdict, the window, each feature's test, and what to do about it. */
export function renderDriftReport(r: ReportRecord): string {
  const result = r.result as unknown as DriftCheckResult;
  const window = `${r.window.from} → ${r.window.to}, ${r.rows} rows (${r.mode})`;
  const head = `drift report ${r.id} of ${r.model} against baseline ${r.baselineId} (version ${r.baselineVersion})`;
  if (r.status === 'skipped' || !result.report) {
    return `${head}\n  window: ${window}\n  skipped: ${result.reason ?? 'no report'}`;
  }
  const report = result.report;
  const verdict = report.datasetDrift
    ? `DRIFT in ${report.driftedCount} of ${report.features.length} features (${report.severity})`
    : `no dataset drift: ${report.driftedCount} of ${report.features.length} features drifted, under the ${pct(report.driftShare)} the policy calls dataset drift`;
  const lines = [head, `  window: ${window}`, `  ${verdict}`, ''];
  lines.push(
    table([
      ['FEATURE', 'KIND', 'TEST', 'STATISTIC', 'P / SCORE', 'THRESHOLD', 'DRIFTED', 'SEVERITY'],
      ...report.features.map((f) => [
        f.name,
        f.kind,
        f.test,
        num(f.statistic),
        f.score !== undefined ? num(f.score) : pval(f.adjustedPValue ?? f.pValue),
        num(f.threshold),
        f.drifted ? 'yes' : 'no',
        f.severity,
      ]),
    ]),
  );
  for (const u of result.untested) lines.push(`  untested: ${u.name}: ${u.reason}`);
  lines.push('', report.recommendation);
  if (r.alertId) lines.push(`alert ${r.alertId} (serval alerts list --model ${r.model})`);
  return lines.join('\n');
}

/** A page of reports, the latest window first. */
export function renderDriftReports(page: unknown): string {
  return listTable<ReportRecord>(
    page,
    [
      ['ID', (r) => r.id],
      ['WINDOW', (r) => `${r.window.from} → ${r.window.to}`],
      ['ROWS', (r) => r.rows],
      ['STATUS', (r) => r.status],
      ['DRIFT', (r) => (r.status === 'skipped' ? '' : r.datasetDrift ? 'yes' : 'no')],
      ['SEVERITY', (r) => (r.status === 'skipped' ? '' : r.severity)],
      ['BASELINE', (r) => r.baselineVersion],
      ['TRIGGER', (r) => r.trigger],
    ],
    'no drift reports',
  );
}
