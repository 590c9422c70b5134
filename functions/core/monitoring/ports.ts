/** What the monitoring service needs from the outside world; adapters implement these. */

import type { PredictionStore } from '../inference/ports.js';
import type { AuditEvent } from '../kernel/audit.js';
import type { Page, PageRequest } from '../kernel/paging.js';
import type { FeatureKind, Severity } from '../stats/drift-report.js';
import type { MonitoringPolicy } from './policy.js';
import type { QualityReport, VolumeCheck } from './quality.js';

/** A stored baseline: the pointer kept in the table; the profile itself is a JSON object in S3. */
export interface BaselineRef {
  readonly id: string;
  readonly model: string;
  readonly version: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly rows: number;
  readonly features: readonly { readonly name: string; readonly kind: FeatureKind }[];
  /** Where the profile lives (object key in the artifacts bucket). */
  readonly profileKey: string;
  readonly source: string;
}

export interface ReportRecord {
  readonly id: string;
  readonly model: string;
  readonly createdAt: string;
  readonly trigger: 'schedule' | 'manual';
  readonly window: { readonly from: string; readonly to: string };
  readonly baselineId: string;
  readonly baselineVersion: string;
  readonly status: 'ok' | 'skipped';
  readonly mode: 'exact' | 'sketch';
  readonly rows: number;
  readonly datasetDrift: boolean;
  readonly severity: Severity;
  readonly alertId?: string;
  /** The data-quality report of the same window (GET /v1/models/{name}/quality). */
  readonly qualityReportId?: string;
  /** The full check result (features, tests, statistics, recommendation). */
  readonly result: Record<string, unknown>;
  /**
   * Stored reports only: paths of numbers the table could not hold as computed and holds as the
   * nearest it can (a p-value below 1e-130 as 0; docs/monitoring.md).
   */
  readonly clampedNumbers?: readonly string[];
}

/** Prediction volume of one hour against the same hour on earlier days (scheduled checks only). */
export interface VolumeRecord {
  /** 'disabled' by the policy; 'unavailable' when the serving counts cannot be read here. */
  readonly status: 'ok' | 'disabled' | 'unavailable';
  readonly reason?: string;
  /** The hour judged: the last complete one before the check. */
  readonly hourStart?: string;
  /** Predictions answered in the same hour on earlier days since the model first served, oldest first. */
  readonly history?: number[];
  readonly check?: VolumeCheck;
  readonly alertId?: string;
}

/** A window's data-quality report (docs/quality.md), stored per check like drift reports. */
export interface QualityRecord {
  readonly id: string;
  readonly model: string;
  readonly createdAt: string;
  readonly trigger: 'schedule' | 'manual';
  readonly window: { readonly from: string; readonly to: string };
  readonly baselineId: string;
  readonly baselineVersion: string;
  /** 'skipped': fewer rows than the policy's minRows; counted, but not judged. */
  readonly status: 'ok' | 'skipped';
  readonly reason?: string;
  readonly rows: number;
  readonly violationCount: number;
  /** 'high' with a type mismatch, a missing column or a malformed row; 'medium' with others. */
  readonly severity: 'none' | 'medium' | 'high';
  readonly alertId?: string;
  /** The drift report of the same check. */
  readonly driftReportId: string;
  readonly report: QualityReport;
  readonly volume: VolumeRecord;
  /** As on ReportRecord: numbers stored as the nearest the table can hold. */
  readonly clampedNumbers?: readonly string[];
}

export interface AlertRecord {
  readonly id: string;
  /**
   * `drift` (absent on alerts stored before kinds existed), `quality` or `volume` (the checks of
   * docs/quality.md), `performance` (docs/performance.md), `integrity`, `fallback` or `experiment`.
   */
  readonly kind?:
    | 'drift'
    | 'quality'
    | 'volume'
    | 'integrity'
    | 'fallback'
    | 'experiment'
    | 'performance'
    | 'retraining';
  readonly model: string;
  readonly createdAt: string;
  readonly status: 'open' | 'acknowledged';
  readonly severity: Severity;
  readonly title: string;
  readonly recommendation: string;
  /**
   * The drift report behind the alert; for quality and volume alerts, the quality report's; for
   * integrity and fallback alerts, the audit event's id.
   */
  readonly reportId: string;
  /**
   * The checked window; for volume alerts, the hour judged; for integrity and fallback alerts, the
   * instant of the failure.
   */
  readonly window: { readonly from: string; readonly to: string };
  readonly details: Record<string, unknown>;
  readonly acknowledgedBy?: string;
  readonly acknowledgedAt?: string;
  /** The comment given with the acknowledgement, if one was. */
  readonly ackComment?: string;
  /**
   * The store's own: false until the alert event went out (webhooks, SNS); a redelivered check
   * publishes it then. Never shown (alertView).
   */
  readonly published?: boolean;
  /** As on ReportRecord: numbers stored as the nearest the table can hold. */
  readonly clampedNumbers?: readonly string[];
}

export interface MonitoringStore {
  getPolicy(model: string): Promise<MonitoringPolicy | undefined>;
  putPolicy(model: string, policy: MonitoringPolicy, audit: AuditEvent): Promise<void>;
  listPolicies(page: PageRequest): Promise<Page<{ model: string; policy: MonitoringPolicy }>>;
  putBaseline(ref: BaselineRef): Promise<void>;
  /** The newest baseline of `version`, or of any version. */
  latestBaseline(model: string, version?: string): Promise<BaselineRef | undefined>;
  putReport(report: ReportRecord): Promise<void>;
  listReports(model: string, page: PageRequest): Promise<Page<ReportRecord>>;
  putQualityReport(report: QualityRecord): Promise<void>;
  /** The latest window first, reports of one window newest first (as listReports). */
  listQualityReports(model: string, page: PageRequest): Promise<Page<QualityRecord>>;
  lastScheduledCheck(model: string): Promise<string | undefined>;
  /** Sets the last scheduled check to `at` only if it is unset or not after `notAfter`. */
  claimScheduledCheck(model: string, at: string, notAfter: string): Promise<boolean>;
  /** Stores the alert unless one with its id exists; true when stored now. */
  putAlertOnce(alert: AlertRecord): Promise<boolean>;
  getAlert(id: string): Promise<AlertRecord | undefined>;
  markAlertPublished(id: string): Promise<void>;
  listAlerts(
    query: PageRequest & { model?: string; status?: 'open' | 'acknowledged' },
  ): Promise<Page<AlertRecord>>;
  ackAlert(id: string, by: string, at: string, comment: string | undefined, audit: AuditEvent): Promise<void>;
}

/** JSON documents too large for a table item (baseline profiles, partition sketches). */
export interface DocumentStore {
  putJson(key: string, value: unknown): Promise<void>;
  getJson(key: string): Promise<unknown | undefined>;
}

/** One hour of one version's captured predictions. */
export interface CapturePartition {
  readonly version: string;
  readonly hourStart: string;
  /** The object keys holding it (gzip JSON lines). */
  readonly keys: readonly string[];
}

export interface CapturedRow {
  readonly at: string;
  readonly version: string;
  /** The instance as sent: positional array or object keyed by feature name. */
  readonly instance: unknown;
  readonly predictionId?: string;
  readonly prediction?: string | number;
  /** What the request said about the prediction besides its inputs (fairness reads it). */
  readonly context?: Readonly<Record<string, unknown>>;
  /** A shadow variant's copy: never served. */
  readonly shadow?: boolean;
}

export interface CaptureSource {
  /** Partitions of these versions whose hour overlaps [from, to). */
  partitions(model: string, versions: readonly string[], from: Date, to: Date): Promise<CapturePartition[]>;
  /** Streams a partition's rows; a worker never holds a whole window. */
  rows(partition: CapturePartition): AsyncIterable<CapturedRow>;
  /**
   * The same rows in arrays of a few hundred, as they are decoded: a window of 10M rows read
   * row by row spent more in the async iteration itself than in sketching the rows.
   */
  rowBatches?(partition: CapturePartition): AsyncIterable<readonly CapturedRow[]>;
  /** Where the sketch of a whole partition, against one baseline, is kept. */
  sketchKey(model: string, partition: CapturePartition, baselineId: string): string;
}

/** Rows of a dataset file (CSV with a header, or JSON lines) named by an s3:// URI. */
export interface DatasetSource {
  rows(uri: string): AsyncIterable<Record<string, unknown>>;
}

/** The hourly serving aggregates the capture path keeps (counts of served predictions). */
export type ServingCounts = Pick<PredictionStore, 'aggregates'>;

/** Where alert and lifecycle events go (webhooks, SNS). */
export interface EventPublisher {
  publish(event: { id: string; type: string; at: string; data: Record<string, unknown> }): Promise<void>;
}
