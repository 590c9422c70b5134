/**
 * What experiments need from the outside world. functions/adapters/dynamo-experiments.ts
 * implements the store on DynamoDB; test/support/memory-stores.ts has an in-memory one with the
 * same semantics.
 */
import type { Principal } from '../auth/principal.js';
import type { AuditEvent } from '../kernel/audit.js';
import type { Page, PageRequest } from '../kernel/paging.js';
import type { Experiment, ExperimentState } from './definition.js';

/** One contribution to a variant's aggregate of a metric. */
export interface Contribution {
  readonly variant: string;
  readonly metric: string;
  readonly value: number;
  /** Latency histogram bucket (core/kernel/latency-histogram.ts) to count this value into. */
  readonly bucket?: number;
}

/**
 * Contributions counted at most once: a second group with the same key (a replayed outcome event,
 * a redelivered capture message, a subject seen again) adds nothing.
 * Keys: `evt:<eventId>`, `cap:<messageId>`, `fb:<predictionId>`, `subj:<subject>`.
 */
export interface ObservationGroup {
  readonly key: string;
  readonly contributions: readonly Contribution[];
}

/** Running sums of one metric of one variant, kept with atomic adds (never read-modify-write). */
export interface MetricAggregate {
  readonly variant: string;
  readonly metric: string;
  readonly n: number;
  readonly sum: number;
  readonly sumSq: number;
  /** Latency histogram bucket → count (latency_ms only). */
  readonly histogram?: Readonly<Record<number, number>>;
}

export interface ExperimentQuery extends PageRequest {
  readonly model?: string;
  readonly state?: ExperimentState;
}

/** One analysis run's results, kept so the results can be shown over time. */
export interface ResultsSnapshot {
  readonly experimentId: string;
  readonly at: string;
  readonly results: Record<string, unknown>;
}

/**
 * `lock`: a model has at most one running experiment. 'acquire' takes the model's running slot
 * in the same transaction as the write (failing with conflict naming the holder when another
 * experiment holds it); 'release' gives it back.
 */
export type RunningLock = 'acquire' | 'release';

export interface ExperimentStore {
  /** Fails with conflict when the id exists. */
  create(experiment: Experiment, audit: AuditEvent): Promise<void>;
  get(id: string): Promise<Experiment | undefined>;
  /** Newest first. */
  list(query: ExperimentQuery): Promise<Page<Experiment>>;
  /**
   * Writes the experiment if its stored revision is `expectRevision` (else concurrentModification()),
   * with the audit event and the lock change, all or nothing.
   */
  update(
    experiment: Experiment,
    expectRevision: number,
    options?: { audit?: AuditEvent; lock?: RunningLock },
  ): Promise<void>;
  /** The experiment holding the model's running slot. */
  running(model: string): Promise<Experiment | undefined>;
  /** Every running experiment (the analysis schedule). */
  listRunning(): Promise<Experiment[]>;
  /**
   * Adds each group's contributions atomically with its key's marker; a group whose key was
   * already recorded adds nothing. Safe under any number of concurrent writers.
   */
  observe(
    experimentId: string,
    groups: readonly ObservationGroup[],
  ): Promise<{ accepted: number; duplicates: number }>;
  aggregates(experimentId: string): Promise<MetricAggregate[]>;
  putSnapshot(snapshot: ResultsSnapshot): Promise<void>;
  /** Oldest first. */
  listSnapshots(experimentId: string, page: PageRequest): Promise<Page<ResultsSnapshot>>;
}

/** A registry version as experiments see it: enough to check it can be a variant. */
export interface VariantVersion {
  readonly version: string;
  readonly stage: string;
  readonly status: string;
}

/** Reads and moves in the registry (core/registry services, wired by the handler). */
export interface ExperimentRegistry {
  getModel(name: string): Promise<{ readonly name: string; readonly productionVersion?: string } | undefined>;
  getVersion(model: string, version: string): Promise<VariantVersion | undefined>;
  /**
   * Promotes through the registry's rules (role, approval, validation gate) as `principal`;
   * throws their errors.
   */
  promote(principal: Principal, model: string, version: string, comment: string): Promise<void>;
}

/** Alerts (monitoring) and events (webhooks, SNS) of experiments; both best effort for the caller. */
export interface ExperimentNotices {
  alert(input: {
    model: string;
    experimentId: string;
    severity: 'low' | 'medium' | 'high' | 'critical';
    title: string;
    message: string;
    details: Record<string, unknown>;
  }): Promise<void>;
  event(type: string, data: Record<string, unknown>): Promise<void>;
}
