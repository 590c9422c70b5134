/**
 * Quality reports on the monitoring table (DynamoDB Local): listed like drift reports (the latest
 * window first, one window's reports newest first, paged), apart from the drift reports in the
 * same partition, and numbers DynamoDB cannot hold (a Poisson tail below 1e-130) stored as the
 * nearest it can, flagged.
 */
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/adapters/aws-clients.js';
import { DynamoMonitoringStore } from '../../functions/adapters/dynamo-monitoring.js';
import type { QualityRecord, ReportRecord } from '../../functions/core/monitoring/ports.js';
import { DEFAULT_QUALITY_THRESHOLDS } from '../../functions/core/monitoring/quality.js';
import { standinsForFile } from '../support/lifecycle.js';
import type { Standins } from '../support/standins.js';

let store: DynamoMonitoringStore;

standinsForFile({
  setup: (aws: Standins) => {
    store = new DynamoMonitoringStore(documentClient(), {
      monitoring: aws.resources.tables.monitoring,
      audit: aws.resources.tables.audit,
    });
  },
});

const quality = (id: string, from: string, to: string, tailP = 0.5): QualityRecord => ({
  id,
  model: 'q',
  createdAt: to,
  trigger: 'schedule',
  window: { from, to },
  baselineId: 'b',
  baselineVersion: '1.0.0',
  status: 'ok',
  rows: 10,
  violationCount: 0,
  severity: 'none',
  driftReportId: `d-${id}`,
  report: {
    rows: 10,
    malformedRows: 0,
    features: [],
    missingColumns: [],
    extraColumns: [],
    violations: [],
    thresholds: DEFAULT_QUALITY_THRESHOLDS,
  },
  volume: {
    status: 'ok',
    hourStart: from,
    history: [100, 100],
    check: { count: 0, median: 100, mad: 0, robustZ: null, tailP, anomaly: 'drop', reason: 'r' },
  },
});

const drift: ReportRecord = {
  id: 'D1',
  model: 'q',
  createdAt: '2026-01-05T01:00:00Z',
  trigger: 'manual',
  window: { from: '2026-01-05T00:00:00Z', to: '2026-01-05T01:00:00Z' },
  baselineId: 'b',
  baselineVersion: '1.0.0',
  status: 'ok',
  mode: 'exact',
  rows: 10,
  datasetDrift: false,
  severity: 'low',
  result: {},
};

describe('quality report listing', () => {
  it('lists the latest window first and one window newest first, without the drift reports', async () => {
    await store.putQualityReport(quality('01A', '2026-01-02T00:00:00Z', '2026-01-02T01:00:00Z'));
    await store.putQualityReport(quality('01B', '2026-01-03T00:00:00Z', '2026-01-03T01:00:00Z'));
    await store.putQualityReport(quality('01C', '2026-01-02T00:00:00Z', '2026-01-02T01:00:00Z'));
    await store.putReport(drift);
    const first = await store.listQualityReports('q', { limit: 2 });
    const rest = await store.listQualityReports('q', { limit: 2, cursor: first.nextCursor });
    expect([...first.items, ...rest.items].map((r) => r.id)).toEqual(['01B', '01C', '01A']);
    expect(rest.nextCursor).toBeUndefined();
    expect((await store.listReports('q', { limit: 10 })).items.map((r) => r.id)).toEqual(['D1']);
    // The stored record reads back as written.
    expect(first.items[0]).toEqual(quality('01B', '2026-01-03T00:00:00Z', '2026-01-03T01:00:00Z'));
  });

  it('stores a Poisson tail below DynamoDB’s smallest number as 0 and says so', async () => {
    await store.putQualityReport(quality('02A', '2026-02-01T00:00:00Z', '2026-02-01T01:00:00Z', 1e-300));
    const [got] = (await store.listQualityReports('q', { limit: 1 })).items;
    expect(got!.id).toBe('02A');
    expect(got!.volume.check!.tailP).toBe(0);
    expect(got!.clampedNumbers).toEqual(['volume.check.tailP']);
  });
});
