/**
 * Monitoring: baselines, drift checks over windows of captured predictions, reports and alerts.
 * The same check runs on demand (API) and on schedule (worker). A check streams the window: rows
 * go into a WindowAccumulator that stays exact for small windows and turns into sketches past the
 * policy's limit; each complete hour's sketch is stored next to its data, so later checks over
 * large windows read summaries instead of rows. The same pass counts the window's data quality
 * (QualityAccumulator), whose hourly counts are stored beside the sketches for the same reason;
 * scheduled checks also judge the last complete hour's prediction volume (docs/quality.md).
 */

import { createHash } from 'node:crypto';
import { ARTIFACT_PREFIXES, JSON_SUFFIX } from '../../contract/artifact-keys.js';
import type { Principal } from '../auth/principal.js';
import type { LabelledPredictions } from '../inference/ports.js';
import type { AuditEvent } from '../kernel/audit.js';
import { auditEvent } from '../kernel/audit.js';
import type { Clock, IdGenerator } from '../kernel/clock.js';
import { conflict, isConcurrentModification, notFound, validationFailed } from '../kernel/errors.js';
import { allItems, type Page, type PageRequest } from '../kernel/paging.js';
import { rollbackCandidate } from '../registry/lifecycle.js';
import type { RegistryStore } from '../registry/ports.js';
import type { Severity } from '../stats/drift-report.js';
import { alertForCheck, alertForLifecycleEvent, alertView, type LifecycleEventLike } from './alerts.js';
import { type BaselineProfile, buildBaseline } from './baseline.js';
import { CapturedAtReader } from './captured-at.js';
import { type DriftCheckResult, runDriftCheck } from './check.js';
import { type FairnessQuery, type TrafficFairness, trafficFairness } from './fairness-report.js';
import {
  type Degradation,
  degradation,
  type PerformanceQuery,
  type PerformanceReport,
  performanceAlertId,
  performanceReport,
} from './performance-report.js';
import { DEFAULT_POLICY, MonitoringPolicy } from './policy.js';
import type {
  AlertRecord,
  BaselineRef,
  CapturedRow,
  CapturePartition,
  CaptureSource,
  DatasetSource,
  DocumentStore,
  EventPublisher,
  MonitoringStore,
  QualityRecord,
  ReportRecord,
  ServingCounts,
  VolumeRecord,
} from './ports.js';
import { parseBaselineProfile } from './profile-schema.js';
import { parseQualityCounts, QualityAccumulator, type QualityCounts, volumeAnomaly } from './quality.js';
import { alertForQuality, alertForVolume, qualitySeverity } from './quality-alerts.js';
import type { Row } from './row-values.js';
import { parseWindowSketch, WindowAccumulator } from './window.js';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;
/**
 * An hour's volume is judged only once it ended this long before the check: captures reach the
 * serving counts through a queue, seconds to a minute after the request.
 */
export const VOLUME_SETTLE_MS = 5 * 60_000;
/** Baselines are built in memory from at most this many rows (the profile keeps a sample). */
export const MAX_BASELINE_ROWS = 1_000_000;
export const BASELINE_SAMPLE = 20_000;

export interface MonitoringDeps {
  readonly store: MonitoringStore;
  readonly docs: DocumentStore;
  readonly captures: CaptureSource;
  readonly datasets: DatasetSource;
  readonly registry: Pick<
    RegistryStore,
    'getModel' | 'getVersion' | 'listVersions' | 'listProductionChanges'
  >;
  readonly events?: EventPublisher;
  /** The serving counts volume is judged from; without them volume is reported unavailable. */
  readonly serving?: ServingCounts;
  /** Labelled predictions by prediction time: performance and its degradation alerts need them. */
  readonly labels?: LabelledPredictions;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

export interface BaselineInput {
  readonly version?: string;
  readonly rows?: readonly Row[];
  readonly datasetUri?: string;
}

/** An alert another part of Serval raises (a canary rolled back, a retraining candidate ready). */
export interface OperationalAlert {
  readonly kind: 'experiment' | 'retraining';
  /** One alert per key: the same incident reported again raises nothing new. */
  readonly key: string;
  readonly model: string;
  readonly severity: Severity;
  readonly title: string;
  readonly recommendation: string;
  readonly details: Record<string, unknown>;
}

export class MonitoringService {
  constructor(private readonly deps: MonitoringDeps) {}

  // ---- baselines -------------------------------------------------------------------------

  async putBaseline(principal: Principal, model: string, input: BaselineInput): Promise<BaselineRef> {
    const m = await this.deps.registry.getModel(model);
    if (!m) throw notFound(`model ${model} does not exist`, { model });
    const version = input.version ?? m.productionVersion ?? m.latestVersion;
    if (!version) throw conflict(`model ${model} has no versions; register one first`);
    const v = await this.deps.registry.getVersion(model, version);
    if (!v) throw notFound(`version ${version} of model ${model} does not exist`, { model, version });

    let rows: Row[];
    let source: string;
    if (input.rows) {
      rows = [...input.rows];
      source = 'request';
    } else {
      rows = [];
      for await (const row of this.deps.datasets.rows(input.datasetUri!)) {
        if (rows.length >= MAX_BASELINE_ROWS) {
          throw validationFailed(
            `baselines are built from at most ${MAX_BASELINE_ROWS} rows; sample the dataset`,
            {
              field: 'datasetUri',
            },
          );
        }
        rows.push(row);
      }
      if (rows.length === 0) throw validationFailed(`the dataset ${input.datasetUri} has no rows`);
      source = input.datasetUri!;
    }
    const createdAt = this.now();
    // 20,000 reference rows per feature keep exact tests exact up to that size (Evidently picks a
    // distance test above 1,000 anyway) while a 50-feature profile stays near 10 MB.
    const profile = buildBaseline({
      rows,
      inputSchema: v.inputSchema,
      version,
      createdAt,
      maxSample: BASELINE_SAMPLE,
    });
    const id = this.deps.ids.next();
    const profileKey = `${ARTIFACT_PREFIXES.baselines}${model}/${version}/${id}${JSON_SUFFIX}`;
    await this.deps.docs.putJson(profileKey, profile);
    const ref: BaselineRef = {
      id,
      model,
      version,
      createdAt,
      createdBy: principal.id,
      rows: profile.rows,
      features: profile.features.map((f) => ({ name: f.name, kind: f.kind })),
      profileKey,
      source,
    };
    await this.deps.store.putBaseline(ref);
    // A model with a baseline is monitored: it gets the default policy unless it has one.
    if (!(await this.deps.store.getPolicy(model))) {
      await this.deps.store.putPolicy(
        model,
        DEFAULT_POLICY,
        this.audit(principal, 'policy.default', model, { after: DEFAULT_POLICY }),
      );
    }
    return ref;
  }

  async getBaseline(
    model: string,
    version?: string,
  ): Promise<{ ref: BaselineRef; profile: BaselineProfile }> {
    const ref = await this.deps.store.latestBaseline(model, version);
    if (!ref) {
      throw notFound(`model ${model} has no baseline${version ? ` for version ${version}` : ''}`, {
        model,
      });
    }
    const json = await this.deps.docs.getJson(ref.profileKey);
    if (json === undefined) throw notFound(`the profile of baseline ${ref.id} is missing from storage`);
    return { ref, profile: parseBaselineProfile(json) };
  }

  // ---- policy ---------------------------------------------------------------------------

  async getPolicy(model: string): Promise<MonitoringPolicy> {
    await this.requireModel(model);
    return this.policyOf(model);
  }

  async putPolicy(principal: Principal, model: string, policy: MonitoringPolicy): Promise<MonitoringPolicy> {
    const m = await this.requireModel(model);
    await this.assertKnownFeatures(m, Object.keys(policy.features));
    const before = await this.deps.store.getPolicy(model);
    await this.deps.store.putPolicy(
      model,
      policy,
      this.audit(principal, 'policy.update', model, { before: before ?? null, after: policy }),
    );
    return policy;
  }

  /**
   * A feature override names a feature the model has (its baseline's, or its serving version's
   * input schema): a misspelt name would be stored and never applied, as checks test only the
   * baseline's features. A model with neither yet cannot tell, and takes any name.
   */
  private async assertKnownFeatures(
    m: { readonly name: string; readonly productionVersion?: string; readonly latestVersion?: string },
    named: readonly string[],
  ): Promise<void> {
    if (named.length === 0) return;
    const model = m.name;
    const known = new Set((await this.deps.store.latestBaseline(model))?.features.map((f) => f.name));
    const version = m.productionVersion ?? m.latestVersion;
    const schema = version ? (await this.deps.registry.getVersion(model, version))?.inputSchema : undefined;
    for (const f of schema?.features ?? []) known.add(f.name);
    if (known.size === 0) return;
    const unknown = named.filter((n) => !known.has(n));
    if (unknown.length === 0) return;
    throw validationFailed(
      `features names ${unknown.map((n) => JSON.stringify(n)).join(', ')}, which ${model} does not have; its features: ${[...known].join(', ')}`,
      { field: 'features', unknown, features: [...known] },
    );
  }

  // ---- checks ---------------------------------------------------------------------------

  /** Runs a check over [from, to), stores the report, and raises at most one alert per window. */
  async check(
    model: string,
    range: { from: string; to: string },
    trigger: 'manual' | 'schedule',
  ): Promise<ReportRecord> {
    const m = await this.requireModel(model);
    const baselineRef =
      (m.productionVersion ? await this.deps.store.latestBaseline(model, m.productionVersion) : undefined) ??
      (await this.deps.store.latestBaseline(model));
    if (!baselineRef) {
      throw conflict(`model ${model} has no baseline; PUT /v1/models/${model}/baseline first`, { model });
    }
    const { profile } = await this.getBaseline(model, baselineRef.version);
    const policy = await this.policyOf(model);
    const from = new Date(range.from);
    const to = new Date(range.to);
    const now = this.deps.clock.now();
    const { window, quality } = await this.accumulate(model, baselineRef.id, profile, policy, from, to, now);

    const result: DriftCheckResult = runDriftCheck({
      baseline: profile,
      window,
      policy,
      windowRange: { from: from.toISOString(), to: to.toISOString() },
      now: now.toISOString(),
    });
    const id = this.deps.ids.next();
    const qualityId = this.deps.ids.next();
    const alert = alertForCheck({
      model,
      result,
      baselineId: baselineRef.id,
      minSeverity: policy.alertMinSeverity,
    });
    const report: ReportRecord = {
      id,
      model,
      createdAt: now.toISOString(),
      trigger,
      window: { from: from.toISOString(), to: to.toISOString() },
      baselineId: baselineRef.id,
      baselineVersion: baselineRef.version,
      status: result.status,
      mode: result.mode,
      rows: result.rows,
      datasetDrift: result.report?.datasetDrift ?? false,
      severity: result.report?.severity ?? 'low',
      alertId: alert?.id,
      qualityReportId: qualityId,
      result: result as unknown as Record<string, unknown>,
    };
    await this.deps.store.putReport(report);
    if (alert) {
      const record: AlertRecord = {
        id: alert.id,
        kind: 'drift',
        model,
        createdAt: now.toISOString(),
        status: 'open',
        severity: alert.severity,
        title: alert.title,
        recommendation: alert.recommendation,
        reportId: id,
        window: report.window,
        details: alert as unknown as Record<string, unknown>,
      };
      // The id is derived from model, window and baseline: a re-run or a redelivered message
      // finds it taken and raises nothing new.
      await this.raise(record, { report: { id, window: report.window, severity: report.severity } });
    }
    await this.checkQuality({
      id: qualityId,
      model,
      driftReport: report,
      quality,
      policy,
      trigger,
      to,
      now,
    });
    await this.checkPerformance(model, policy, to);
    return report;
  }

  // ---- performance ----------------------------------------------------------------------

  /** Metrics from ground truth over a window of prediction time (docs/performance.md). */
  async performance(model: string, query: PerformanceQuery): Promise<PerformanceReport> {
    return performanceReport(this.performanceDeps(), model, query);
  }

  /** Group fairness of a version's served decisions over a window (docs/fairness.md). */
  async fairness(model: string, query: FairnessQuery): Promise<TrafficFairness> {
    return trafficFairness({ ...this.performanceDeps(), captures: this.deps.captures }, model, query);
  }

  private performanceDeps() {
    const labels = this.deps.labels;
    if (!labels) throw new Error('this function cannot read labelled predictions');
    return {
      registry: this.deps.registry,
      labels,
      ...(this.deps.serving ? { serving: this.deps.serving } : {}),
      clock: this.deps.clock,
    };
  }

  /**
   * The degradation check of a drift check: the production (else latest) version's metrics over
   * the policy's window ending where the check's does, against its registered metrics. One alert
   * per (model, version, window), like drift alerts.
   */
  private async checkPerformance(
    model: string,
    policy: MonitoringPolicy,
    to: Date,
  ): Promise<Degradation | undefined> {
    const watched = policy.performance;
    if (!this.deps.labels || Object.keys(watched.metrics).length === 0) return undefined;
    const m = await this.deps.registry.getModel(model);
    const version = m?.productionVersion ?? m?.latestVersion;
    if (!version) return undefined;
    const from = new Date(to.getTime() - watched.windowMinutes * 60_000);
    const report = await this.performance(model, {
      version,
      from: from.toISOString(),
      to: to.toISOString(),
    });
    const judged = degradation(report, watched);
    if (judged.degraded.length === 0) return judged;
    const worst = judged.degraded
      .map((d) => `${d.metric} ${fmt(d.observed)} (registered ${fmt(d.registered)}, bound ${fmt(d.bound)})`)
      .join('; ');
    await this.raise(
      {
        id: performanceAlertId(model, version, report.window.from, report.window.to),
        kind: 'performance',
        model,
        createdAt: this.now(),
        status: 'open',
        severity: 'high',
        title: `${model} ${version}: performance below its registered metrics on ${report.rows} labelled predictions`,
        recommendation: `${worst}. Compare the window's inputs with the baseline (drift, data quality); if the population changed, retrain on recent labelled data, else roll back to a version that holds up.`,
        reportId: performanceAlertId(model, version, report.window.from, report.window.to),
        window: report.window,
        details: {
          version,
          labels: report.rows,
          minLabels: judged.minLabels,
          truncated: report.truncated,
          degraded: judged.degraded,
          unjudged: judged.unjudged,
          labelCoverage: report.labelCoverage,
        },
      },
      { performance: { version, window: report.window } },
    );
    return judged;
  }

  /** Stores the window's quality report (with the hour's volume) and raises their alerts. */
  private async checkQuality(c: {
    id: string;
    model: string;
    driftReport: ReportRecord;
    quality: QualityAccumulator;
    policy: MonitoringPolicy;
    trigger: 'manual' | 'schedule';
    to: Date;
    now: Date;
  }): Promise<QualityRecord> {
    const { id, model, driftReport, policy } = c;
    const report = c.quality.report(policy.quality);
    // A window too small to test drift on is too small for its rates to mean much either: its
    // counts are stored, but nothing is judged.
    const skipped = report.rows < policy.minRows;
    const judged = skipped ? { ...report, violations: [] } : report;
    const alert = skipped
      ? undefined
      : alertForQuality({ model, window: driftReport.window, baselineId: driftReport.baselineId, report });
    const volume = await this.volume(model, policy, c.trigger, c.to);
    const volumeAlert =
      volume.status === 'ok' && volume.check && volume.hourStart
        ? alertForVolume({
            model,
            hourStart: volume.hourStart,
            check: volume.check,
            history: volume.history ?? [],
          })
        : undefined;
    const record: QualityRecord = {
      id,
      model,
      createdAt: c.now.toISOString(),
      trigger: c.trigger,
      window: driftReport.window,
      baselineId: driftReport.baselineId,
      baselineVersion: driftReport.baselineVersion,
      status: skipped ? 'skipped' : 'ok',
      ...(skipped
        ? { reason: `${report.rows} rows in the window, fewer than the policy's minRows (${policy.minRows})` }
        : {}),
      rows: report.rows,
      violationCount: judged.violations.length,
      severity: qualitySeverity(judged),
      alertId: alert?.id,
      driftReportId: driftReport.id,
      report: judged,
      volume: volumeAlert ? { ...volume, alertId: volumeAlert.id } : volume,
    };
    await this.deps.store.putQualityReport(record);
    const at = c.now.toISOString();
    if (alert) {
      await this.raise(
        {
          id: alert.id,
          kind: 'quality',
          model,
          createdAt: at,
          status: 'open',
          severity: alert.severity,
          title: alert.title,
          recommendation: alert.recommendation,
          reportId: id,
          window: record.window,
          details: alert.details,
        },
        { qualityReport: { id, window: record.window, severity: record.severity } },
      );
    }
    if (volumeAlert && volume.hourStart) {
      const hour = {
        from: volume.hourStart,
        to: new Date(Date.parse(volume.hourStart) + HOUR_MS).toISOString(),
      };
      await this.raise(
        {
          id: volumeAlert.id,
          kind: 'volume',
          model,
          createdAt: at,
          status: 'open',
          severity: volumeAlert.severity,
          title: volumeAlert.title,
          recommendation: volumeAlert.recommendation,
          reportId: id,
          window: hour,
          details: volumeAlert.details,
        },
        { qualityReport: { id, window: record.window } },
      );
    }
    return record;
  }

  /**
   * The last complete hour's predictions against the same hour on earlier days. Scheduled checks
   * only: the hour is the one before the check, which a manual check over an old window is not
   * about. Days before the model's first served hour in the look-back are not history: a model
   * deployed last week has no zero-traffic past.
   */
  private async volume(
    model: string,
    policy: MonitoringPolicy,
    trigger: 'manual' | 'schedule',
    to: Date,
  ): Promise<VolumeRecord> {
    if (!policy.volume.enabled) return { status: 'disabled', reason: 'volume checks are off in the policy' };
    if (trigger !== 'schedule') {
      return { status: 'disabled', reason: 'volume is judged by scheduled checks only' };
    }
    const serving = this.deps.serving;
    if (!serving) return { status: 'unavailable', reason: 'the serving counts cannot be read here' };
    const end = Math.floor((to.getTime() - VOLUME_SETTLE_MS) / HOUR_MS) * HOUR_MS;
    const start = end - HOUR_MS;
    const days = policy.volume.historyDays;
    const aggregates = await serving.aggregates(model, new Date(start - days * DAY_MS), new Date(end));
    const byHour = new Map<number, number>();
    let first = Number.POSITIVE_INFINITY;
    for (const a of aggregates) {
      const t = Date.parse(a.hourStart);
      // Answered predictions: those the capture path lost were served all the same.
      const n = a.predictions + (a.lostPredictions ?? 0);
      byHour.set(t, (byHour.get(t) ?? 0) + n);
      if (n > 0 || a.requests > 0) first = Math.min(first, t);
    }
    const history: number[] = [];
    for (let d = days; d >= 1; d--) {
      const t = start - d * DAY_MS;
      if (t >= first) history.push(byHour.get(t) ?? 0);
    }
    const count = byHour.get(start) ?? 0;
    const check = volumeAnomaly(count, history, {
      z: policy.volume.z,
      p: policy.volume.p,
      minHistory: policy.volume.minHistory,
    });
    return { status: 'ok', hourStart: new Date(start).toISOString(), history, check };
  }

  listQualityReports(model: string, page: PageRequest): Promise<Page<QualityRecord>> {
    return this.requireModel(model).then(() => this.deps.store.listQualityReports(model, page));
  }

  /**
   * Raises the alert a registry lifecycle event calls for (a corrupt artifact, a fallback), once
   * per incident: the id is derived from the model, the kind and the version(s).
   */
  async raiseForLifecycleEvent(event: LifecycleEventLike): Promise<AlertRecord | undefined> {
    const model = typeof event.data.model === 'string' ? event.data.model : undefined;
    if (!model || !['version.integrity_failed', 'version.serving_failed'].includes(event.type)) {
      return undefined;
    }
    const m = await this.deps.registry.getModel(model);
    const alert = alertForLifecycleEvent(event, {
      productionVersion: m?.productionVersion,
      rollbackTo: m?.productionVersion ? await rollbackCandidate(this.deps.registry, model) : undefined,
    });
    if (!alert) return undefined;
    const record: AlertRecord = {
      id: alert.id,
      kind: alert.kind,
      model,
      createdAt: event.at,
      status: 'open',
      severity: alert.severity,
      title: alert.title,
      recommendation: alert.recommendation,
      reportId: event.id,
      window: { from: event.at, to: event.at },
      details: { ...alert.details, version: alert.version, action: alert.action },
    };
    return this.raise(record, {});
  }

  /**
   * Raises an alert another part of Serval found (experiments: a canary rolled back), once per
   * `key`: the same incident reported again (a redelivered analysis) raises nothing new.
   */
  async raiseOperationalAlert(input: OperationalAlert): Promise<AlertRecord> {
    const at = this.deps.clock.now().toISOString();
    return this.raise(
      {
        id: createHash('sha256')
          .update([input.model, input.kind, input.key].join('|'), 'utf8')
          .digest('hex')
          .slice(0, 32),
        kind: input.kind,
        model: input.model,
        createdAt: at,
        status: 'open',
        severity: input.severity,
        title: input.title,
        recommendation: input.recommendation,
        reportId: input.key,
        window: { from: at, to: at },
        details: input.details,
      },
      {},
    );
  }

  /**
   * Stores an alert unless its id is taken, and publishes it. A taken id raises nothing new, but
   * publishes the alert if an earlier attempt stored it and then failed to publish (delivery ids
   * derive from the event id, so a receiver that did get it can tell the repeat).
   */
  private async raise(record: AlertRecord, data: Record<string, unknown>): Promise<AlertRecord> {
    const created = await this.deps.store.putAlertOnce({ ...record, published: false });
    const stored = created ? record : await this.deps.store.getAlert(record.id);
    const view = alertView(stored ?? record);
    if (created || stored?.published === false) {
      await this.deps.events?.publish({
        id: record.id,
        type: 'alert.raised',
        at: view.createdAt,
        data: { alert: view, ...data },
      });
      await this.deps.store.markAlertPublished(record.id);
    }
    return view;
  }

  listReports(model: string, page: PageRequest): Promise<Page<ReportRecord>> {
    return this.requireModel(model).then(() => this.deps.store.listReports(model, page));
  }

  /**
   * Models whose scheduled check is due now, each claimed so concurrent scheduler runs enqueue it
   * once; returns the window to check.
   */
  async claimDueChecks(): Promise<{ model: string; from: string; to: string }[]> {
    const now = this.deps.clock.now();
    // Windows end on a whole minute, so a redelivered message describes exactly the same window.
    const to = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
    const due: { model: string; from: string; to: string }[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.deps.store.listPolicies({ limit: 100, cursor });
      for (const { model, policy } of page.items) {
        if (!policy.enabled) continue;
        const notAfter = new Date(to.getTime() - policy.scheduleMinutes * 60_000 + 30_000).toISOString();
        if (await this.deps.store.claimScheduledCheck(model, to.toISOString(), notAfter)) {
          due.push({
            model,
            from: new Date(to.getTime() - policy.windowMinutes * 60_000).toISOString(),
            to: to.toISOString(),
          });
        }
      }
      cursor = page.nextCursor;
    } while (cursor);
    return due;
  }

  // ---- alerts ---------------------------------------------------------------------------

  async listAlerts(
    query: PageRequest & { model?: string; status?: 'open' | 'acknowledged' },
  ): Promise<Page<AlertRecord>> {
    const page = await this.deps.store.listAlerts(query);
    return { ...page, items: page.items.map(alertView) };
  }

  async ackAlert(principal: Principal, id: string, comment?: string): Promise<AlertRecord> {
    const alert = await this.deps.store.getAlert(id);
    if (!alert) throw notFound(`alert ${id} does not exist`, { alertId: id });
    if (alert.status !== 'open') throw conflict(`alert ${id} is already acknowledged`, { alertId: id });
    const at = this.now();
    try {
      await this.deps.store.ackAlert(
        id,
        principal.id,
        at,
        comment,
        this.audit(principal, 'alert.ack', alert.model, {
          before: { status: 'open' },
          after: { status: 'acknowledged' },
          comment,
        }),
      );
    } catch (err) {
      if (isConcurrentModification(err)) throw conflict(`alert ${id} is already acknowledged`);
      throw err;
    }
    return alertView({
      ...alert,
      status: 'acknowledged',
      acknowledgedBy: principal.id,
      acknowledgedAt: at,
      ...(comment ? { ackComment: comment } : {}),
    });
  }

  // ---- internals ------------------------------------------------------------------------

  private async accumulate(
    model: string,
    baselineId: string,
    profile: BaselineProfile,
    policy: MonitoringPolicy,
    from: Date,
    to: Date,
    now: Date,
  ): Promise<{ window: WindowAccumulator; quality: QualityAccumulator }> {
    const versions = (await allItems((page) => this.deps.registry.listVersions(model, page))).map(
      (v) => v.version,
    );
    const partitions = await this.deps.captures.partitions(model, versions, from, to);
    const complete = (p: CapturePartition) => {
      const start = Date.parse(p.hourStart);
      return start >= from.getTime() && start + HOUR_MS <= to.getTime() && start + HOUR_MS <= now.getTime();
    };
    // Sketches already stored for whole hours: when they alone exceed the exact limit, the window
    // is tested through sketches anyway, so those hours are not read again. An hour counts as
    // stored only with its quality counts too (hours sketched before quality checks existed are
    // read once more), so the quality report always covers the whole window.
    const qualityKey = (p: CapturePartition) =>
      this.deps.captures.sketchKey(model, p, `${baselineId}.quality`);
    const stored = new Map<
      CapturePartition,
      { sketch: ReturnType<typeof parseWindowSketch>; quality: QualityCounts }
    >();
    for (const p of partitions.filter(complete)) {
      const json = await this.deps.docs.getJson(this.deps.captures.sketchKey(model, p, baselineId));
      if (json === undefined) continue;
      const counts = await this.deps.docs.getJson(qualityKey(p));
      if (counts === undefined) continue;
      try {
        const sketch = parseWindowSketch(json);
        const quality = parseQualityCounts(counts);
        if (sketch.layoutId === profile.layoutId && quality.layoutId === profile.layoutId) {
          stored.set(p, { sketch, quality });
        }
      } catch {
        // an unreadable sketch or count is recomputed from the rows below
      }
    }
    const storedRows = [...stored.values()].reduce((n, s) => n + s.sketch.rows, 0);
    const useStored = storedRows > policy.exactRowLimit;

    const window = new WindowAccumulator(profile, { exactRowLimit: policy.exactRowLimit });
    const quality = new QualityAccumulator(profile);
    const at = new CapturedAtReader();
    for (const p of partitions) {
      const kept = useStored ? stored.get(p) : undefined;
      if (kept) {
        window.addSketch(kept.sketch);
        quality.addCounts(kept.quality);
        continue;
      }
      // A complete hour read now is also summarised on its own, for the next checks.
      const summarise = complete(p) && !stored.has(p);
      const hour = summarise ? new WindowAccumulator(profile, { exactRowLimit: 0 }) : undefined;
      const hourQuality = summarise ? new QualityAccumulator(profile) : undefined;
      // Once the window is sketched anyway, an hour being summarised is added to the window as
      // its summary, as a later check adds the stored one: each row was sketched and counted
      // twice (window and hour), which was a third of the first check's profile.
      const viaHour = hour !== undefined && window.mode === 'sketch';
      const fromMs = from.getTime();
      const toMs = to.getTime();
      for await (const batch of batchesOf(this.deps.captures, p)) {
        for (const row of batch) {
          const t = at.ms(row.at);
          if (!(t >= fromMs && t < toMs)) continue;
          // Quality sees the row as sent; drift reads it with wrong-typed values as missing, and
          // not at all when no feature can be read from it.
          if (viaHour) {
            const readable = hourQuality!.add(row.instance);
            if (readable !== null) hour.add(readable);
            continue;
          }
          const readable = quality.add(row.instance);
          hourQuality?.add(row.instance);
          if (readable === null) continue;
          window.add(readable);
          hour?.add(readable);
        }
      }
      if (hour && hourQuality && hourQuality.rows > 0) {
        const sketch = hour.toSketch();
        const counts = hourQuality.counts();
        if (viaHour) {
          if (sketch.rows > 0) window.addSketch(sketch);
          quality.addCounts(counts);
        }
        await this.deps.docs.putJson(this.deps.captures.sketchKey(model, p, baselineId), sketch);
        await this.deps.docs.putJson(qualityKey(p), counts);
      }
    }
    return { window, quality };
  }

  /** The stored policy with defaults filled for fields added since it was written. */
  private async policyOf(model: string): Promise<MonitoringPolicy> {
    const stored = await this.deps.store.getPolicy(model);
    return stored ? MonitoringPolicy.parse(stored) : DEFAULT_POLICY;
  }

  /** The model's record; a 404 when there is none. */
  private async requireModel(model: string) {
    const m = await this.deps.registry.getModel(model);
    if (!m) throw notFound(`model ${model} does not exist`, { model });
    return m;
  }

  private audit(
    principal: Principal,
    action: string,
    model: string,
    e: { before?: unknown; after?: unknown; comment?: string },
  ): AuditEvent {
    return auditEvent(this.deps, principal, action, `model/${model}`, { model, ...e });
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

/** A partition's rows in batches, from a source that reads them so, or one at a time. */
async function* batchesOf(
  source: CaptureSource,
  partition: CapturePartition,
): AsyncIterable<readonly CapturedRow[]> {
  if (source.rowBatches) {
    yield* source.rowBatches(partition);
    return;
  }
  for await (const row of source.rows(partition)) yield [row];
}
