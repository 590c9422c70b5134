/**
 * An in-memory MonitoringStore: alerts deduplicated by id as the table's conditional put does,
 * reports listed as the table lists them (the latest window first, one window's newest first).
 */
import type { MonitoringPolicy } from '../../functions/core/monitoring/policy.js';
import type {
  AlertRecord,
  BaselineRef,
  CaptureSource,
  DocumentStore,
  MonitoringStore,
  QualityRecord,
  ReportRecord,
} from '../../functions/core/monitoring/ports.js';

/** A DocumentStore over `docs`, which the test may read: what is put is what is got back. */
export function memoryDocs(docs: Map<string, unknown> = new Map()): DocumentStore {
  return { putJson: async (k, v) => void docs.set(k, v), getJson: async (k) => docs.get(k) };
}

/** Where a test's capture source keeps a partition's sketches: under the partition's hour. */
export const hourSketchKey: CaptureSource['sketchKey'] = (_m, p, b) => `${p.hourStart}/${b}`;

function newestWindowFirst<T extends { window: { to: string }; id: string }>(items: readonly T[]): T[] {
  const key = (r: T) => `${r.window.to}#${r.id}`;
  return [...items].sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0));
}

function paged<T>(
  items: T[],
  page: { limit?: number; cursor?: string },
): { items: T[]; nextCursor?: string } {
  const start = page.cursor ? Number(page.cursor) : 0;
  const limit = page.limit ?? 50;
  const slice = items.slice(start, start + limit);
  return start + limit < items.length
    ? { items: slice, nextCursor: String(start + limit) }
    : { items: slice };
}

export class MemoryMonitoringStore implements MonitoringStore {
  policies = new Map<string, MonitoringPolicy>();
  baselines: BaselineRef[] = [];
  reports: ReportRecord[] = [];
  qualityReports: QualityRecord[] = [];
  alerts = new Map<string, AlertRecord>();
  async getPolicy(m: string) {
    return this.policies.get(m);
  }
  async putPolicy(m: string, p: MonitoringPolicy) {
    this.policies.set(m, p);
  }
  async listPolicies() {
    return { items: [...this.policies].map(([model, policy]) => ({ model, policy })) };
  }
  async putBaseline(ref: BaselineRef) {
    this.baselines.push(ref);
  }
  async latestBaseline(m: string, v?: string) {
    return this.baselines.filter((b) => b.model === m && (!v || b.version === v)).at(-1);
  }
  async putReport(r: ReportRecord) {
    this.reports.push(r);
  }
  async listReports(m: string, page: { limit?: number; cursor?: string } = {}) {
    return paged(newestWindowFirst(this.reports.filter((r) => r.model === m)), page);
  }
  async putQualityReport(r: QualityRecord) {
    this.qualityReports.push(r);
  }
  async listQualityReports(m: string, page: { limit?: number; cursor?: string } = {}) {
    return paged(newestWindowFirst(this.qualityReports.filter((r) => r.model === m)), page);
  }
  async lastScheduledCheck() {
    return undefined;
  }
  async claimScheduledCheck() {
    return true;
  }
  async putAlertOnce(a: AlertRecord) {
    if (this.alerts.has(a.id)) return false;
    this.alerts.set(a.id, a);
    return true;
  }
  async getAlert(id: string) {
    return this.alerts.get(id);
  }
  async markAlertPublished(id: string) {
    this.alerts.set(id, { ...this.alerts.get(id)!, published: true });
  }
  async listAlerts() {
    return { items: [...this.alerts.values()] };
  }
  async ackAlert() {}
}
