/**
 * Retraining jobs: the record, its state machine and the ports the service needs. A job is
 * queued by a request, picked up by the retrain worker (running), and ends succeeded, failed or
 * cancelled. At most one job per model is active (queued or running): the model's slot is taken
 * with the job's creation and given back with its end, in one conditional write each, so two
 * concurrent requests cannot both queue a job.
 */
import type { Principal } from '../auth/principal.js';
import type { AuditEvent } from '../kernel/audit.js';
import { conflict } from '../kernel/errors.js';
import type { Page, PageRequest } from '../kernel/paging.js';
import type { RegisterVersionInput } from '../registry/registration.js';
import type { ModelVersion } from '../registry/types.js';
import type { ParamSpace } from '../training/search.js';
import type { PromotionOutcome } from './promotion.js';

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const ACTIVE_STATES: readonly JobState[] = ['queued', 'running'];
export const TRAINERS = ['logistic', 'softmax', 'mlp', 'linear'] as const;
export type TrainerName = (typeof TRAINERS)[number];

export interface JobProgress {
  readonly fraction: number;
  readonly message: string;
  readonly trial: number;
  readonly trials: number;
}

/** What a request may set; everything else comes from the policy defaults. */
export interface RetrainParams {
  /** Default: logistic for two classes, softmax for more, linear for a regression model. */
  readonly trainer?: TrainerName;
  /** Seed of the split, the folds and the search: the same rows and seed give the same model. */
  readonly seed?: number;
  /** Fraction of rows held out for the validation report and the comparison (default 0.2). */
  readonly holdoutFraction?: number;
  /** Cross-validation folds (default 5). */
  readonly folds?: number;
  /**
   * How much better than production the candidate must be on the held-out rows (default 0.01):
   * classifiers, in accuracy (0.01 = one point more); regressors, relative RMSE (0.01 = 1 % lower).
   */
  readonly margin?: number;
}

export interface SearchRequest {
  readonly strategy?: 'grid' | 'random' | 'halving';
  /** Trials started at most (alias `trials`). */
  readonly maxTrials?: number;
  readonly trials?: number;
  /** No trial starts after this long since the search began (checkpoints keep the start). */
  readonly timeBudgetMs?: number;
  /** l2 penalties to try (logistic, softmax); default a log grid 1e-4 … 1. */
  readonly l2?: readonly number[];
  /** The declared space (names the trainer knows: functions/core/retraining/trainers.ts). */
  readonly space?: ParamSpace;
  /** Successive halving's reduction factor (default 3). */
  readonly factor?: number;
}

/** A trigger that fired while the job was active: recorded on it instead of starting another. */
export interface DuplicateTrigger {
  readonly at: string;
  readonly by: string;
  readonly trigger: string;
  readonly reason: string;
}

export interface JobLogLine {
  readonly at: string;
  readonly message: string;
}

export interface RetrainJob {
  readonly id: string;
  readonly model: string;
  readonly state: JobState;
  readonly reason: string;
  /** Who or what asked: `manual` for a person's request. */
  readonly trigger: string;
  readonly requestedBy: { readonly id: string; readonly name: string };
  readonly params: RetrainParams;
  readonly search: SearchRequest;
  readonly progress: JobProgress;
  readonly resultVersion?: string;
  readonly error?: string;
  /** The outcome in one sentence, including whether the candidate beat production. */
  readonly outcome?: string;
  /** What the retraining policy did with the candidate (approval, canary, promotion). */
  readonly promotion?: PromotionOutcome;
  readonly cancelRequested?: boolean;
  readonly duplicates: readonly DuplicateTrigger[];
  /** The most recent log lines (at most MAX_LOG_LINES). */
  readonly log: readonly JobLogLine[];
  /** When the worker last wrote progress; a running job whose heartbeat is stale is presumed dead. */
  readonly heartbeatAt?: string;
  /**
   * Which invocation may run the job: each one claims attempt n + 1 with a revision-conditioned
   * write, and a continuation message names the attempt it starts, so a redelivered or stale
   * message (a lower attempt) starts nothing (functions/core/retraining/execution.ts).
   */
  readonly attempt?: number;
  /** Set when the candidate trains outside the worker (a SageMaker training job). */
  readonly training?: TrainingRun;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly revision: number;
}

/**
 * A job as the API answers it: no revision (the store's), absent result and error as null, and
 * the log only where one job is shown (listings leave it out).
 */
export type JobView = Omit<RetrainJob, 'revision' | 'log' | 'resultVersion' | 'error'> & {
  readonly resultVersion: string | null;
  readonly error: string | null;
  readonly log?: readonly JobLogLine[];
};

export function jobView(job: RetrainJob, withLog = true): JobView {
  const { revision: _revision, log, ...rest } = job;
  return {
    ...rest,
    resultVersion: job.resultVersion ?? null,
    error: job.error ?? null,
    ...(withLog ? { log } : {}),
  };
}

/**
 * A job's SageMaker training job: its deterministic name, what it runs, and the status last
 * described. `status: 'Creating'` is written before CreateTrainingJob is called, so a worker
 * that dies between the two finds the name and creates (or finds) that same training job.
 */
export interface TrainingRun {
  readonly backend: 'sagemaker';
  readonly trainingJobName: string;
  readonly image: string;
  readonly instanceType: string;
  readonly instanceCount: number;
  readonly hyperparameters: Readonly<Record<string, string>>;
  /** The S3 prefix of the `train` channel (train.csv and schema.json). */
  readonly inputUri: string;
  /** S3OutputPath: SageMaker writes `<outputUri>/<name>/output/model.tar.gz`. */
  readonly outputUri: string;
  /** The parent and the rows the job's split came from: the conclusion re-reads exactly these. */
  readonly parentVersion: string;
  readonly dataset: { readonly uri: string; readonly sha256: string; readonly rows: number };
  readonly status: 'Creating' | 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';
  readonly secondaryStatus?: string;
  readonly failureReason?: string;
  readonly modelArtifactUri?: string;
  readonly polls: number;
}

export const MAX_LOG_LINES = 50;
export const MAX_DUPLICATES = 20;

const MOVES: Readonly<Record<JobState, readonly JobState[]>> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export function isActive(state: JobState): boolean {
  return ACTIVE_STATES.includes(state);
}

export function assertMove(job: RetrainJob, to: JobState): void {
  if (!MOVES[job.state].includes(to)) {
    throw conflict(`job ${job.id} is ${job.state}; it cannot become ${to}`, { state: job.state });
  }
}

export interface JobQuery extends PageRequest {
  readonly model?: string;
  readonly state?: JobState;
}

/** The model's slot: the active job, and when the last one ended (for the cooldown). */
export interface JobSlot {
  readonly activeJobId?: string;
  readonly releasedAt?: string;
}

export interface JobStore {
  get(id: string): Promise<RetrainJob | undefined>;
  list(query: JobQuery): Promise<Page<RetrainJob>>;
  slot(model: string): Promise<JobSlot>;
  /**
   * Writes a new queued job and takes the model's slot, with the audit event; throws conflict
   * when the slot is taken (by then another request won).
   */
  create(job: RetrainJob, audit: AuditEvent): Promise<void>;
  /**
   * Replaces the job if its stored revision is `expectRevision` (concurrent_modification
   * otherwise); a job entering a final state gives its slot back in the same write.
   */
  save(job: RetrainJob, expectRevision: number, audit?: AuditEvent): Promise<void>;
  /** An audit event on its own (a refused request). */
  audit(event: AuditEvent): Promise<void>;
}

export interface JobQueue {
  /**
   * `attempt`: a continuation of a running job (absent: the first run of a queued one).
   * `delaySeconds`: made visible only after that long (SQS's DelaySeconds, at most 900): how a job
   * waiting on a SageMaker training job polls it without holding an invocation.
   */
  send(
    message: { readonly jobId: string; readonly attempt?: number },
    options?: { readonly delaySeconds?: number },
  ): Promise<void>;
}

/** Rows of a dataset file (CSV with a header or JSON lines), as the monitoring baseline reads them. */
export interface RowSource {
  rows(uri: string): AsyncIterable<Record<string, unknown>>;
}

export interface RetrainRegistry {
  getModel(name: string): Promise<{ readonly productionVersion?: string; readonly latestVersion?: string }>;
  getVersion(name: string, version: string): Promise<ModelVersion>;
  /** Registers the candidate (draft) and moves it through testing to staging. */
  registerStaging(principal: Principal, name: string, input: RegisterVersionInput): Promise<ModelVersion>;
  recordValidation(
    principal: Principal,
    name: string,
    version: string,
    report: { passed: boolean; [k: string]: unknown },
  ): Promise<void>;
  /** A registered version's answers (labels) on rows of features, from its verified artifact. */
  predict(
    principal: Principal,
    name: string,
    version: string,
    instances: number[][],
  ): Promise<(string | number)[]>;
}
