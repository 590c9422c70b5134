/**
 * The order of GET /v1/models/{name}/drift, as the store gives it: the latest window first, and
 * reports of the same window newest first. A re-check of an old window made today therefore
 * lists below the reports of newer windows — the listing is a time series of windows, not a log
 * of when checks ran (that is the audit feed).
 */
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/adapters/aws-clients.js';
import { DynamoMonitoringStore } from '../../functions/adapters/dynamo-monitoring.js';
import type { ReportRecord } from '../../functions/core/monitoring/ports.js';
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

const report = (id: string, from: string, to: string, createdAt: string): ReportRecord => ({
  id,
  model: 'm',
  createdAt,
  trigger: 'manual',
  window: { from, to },
  baselineId: 'b',
  baselineVersion: '1.0.0',
  status: 'ok',
  mode: 'exact',
  rows: 10,
  datasetDrift: false,
  severity: 'low',
  result: {},
});

describe('drift report listing', () => {
  it('lists the latest window first, and reports of one window newest first', async () => {
    // Written in the order the checks ran: the old window was re-checked last.
    await store.putReport(
      report('01A', '2026-01-02T00:00:00Z', '2026-01-02T01:00:00Z', '2026-01-02T01:05:00Z'),
    );
    await store.putReport(
      report('01B', '2026-01-03T00:00:00Z', '2026-01-03T01:00:00Z', '2026-01-03T01:05:00Z'),
    );
    await store.putReport(
      report('01C', '2026-01-02T00:00:00Z', '2026-01-02T01:00:00Z', '2026-01-04T09:00:00Z'),
    );
    const first = await store.listReports('m', { limit: 2 });
    const rest = await store.listReports('m', { limit: 2, cursor: first.nextCursor });
    expect([...first.items, ...rest.items].map((r) => r.id)).toEqual(['01B', '01C', '01A']);
  });
});
