/**
 * RetrainService: a person's request becomes a queued job (one active per model, a cooldown
 * after the last one, a repeated trigger recorded on the active job), and the worker runs it:
 * the parent version's dataset, a seeded split, a search with cross-validation over the
 * trainer's space, the best candidate trained on the training rows, registered in staging with
 * its lineage, and judged on the held-out rows against production.
 */
import type { Principal } from '../auth/principal.js';
import { type Actor, auditEvent } from '../kernel/audit.js';
import type { Clock, IdGenerator } from '../kernel/clock.js';
import {
  conflict,
  isConcurrentModification,
  isDomainError,
  notFound,
  unavailable,
  unsupported,
  validationFailed,
} from '../kernel/errors.js';
import type { Page } from '../kernel/paging.js';
import { DEFAULT_POLICY, type RetrainingPolicy, type SageMakerTrainingPolicy } from '../monitoring/policy.js';
import { sha256Hex } from '../registry/records.js';
import type { ModelVersion } from '../registry/types.js';
import {
  type ClassificationMetrics,
  classificationMetrics,
  type RegressionMetrics,
  regressionMetrics,
} from '../training/metrics.js';
import { createRng } from '../training/random.js';
import { gridCandidates, type ParamSpace, type Params } from '../training/search.js';
import { buildTrainingSet, type DatasetPorts } from './dataset.js';
import {
  type Budget,
  Cancelled,
  type ExecutionPorts,
  JobExecutor,
  type SweepResult,
  type TrialMessage,
  type TrialRecord,
} from './execution.js';
import {
  assertMove,
  isActive,
  type JobQuery,
  type JobQueue,
  type JobStore,
  MAX_DUPLICATES,
  MAX_LOG_LINES,
  type RetrainJob,
  type RetrainParams,
  type RetrainRegistry,
  type RowSource,
  type SearchRequest,
  TRAINERS,
  type TrainerName,
} from './jobs.js';
import { type PromotionPorts, promoteCandidate } from './promotion.js';
import { jobSpace, type Task, TRAINER_IMPLS, trainerFor } from './trainers.js';

export interface RetrainPolicy {
  /** No new job for a model until this long after its last one ended (default 10 min). */
  readonly cooldownMs: number;
  /** A running job whose worker has not written for this long is presumed dead (default 15 min). */
  readonly staleAfterMs: number;
  /** Rows a job trains on at most. */
  readonly maxRows: number;
}

export const DEFAULT_RETRAIN_POLICY: RetrainPolicy = {
  cooldownMs: 10 * 60_000,
  staleAfterMs: 15 * 60_000,
  maxRows: 200_000,
};

export { DEFAULT_L2_GRID } from './trainers.js';

/** Every grid point is a trial (a message, when fanned out): more is a mistake, not a search. */
const MAX_GRID_TRIALS = 1000;
const DEFAULTS = { seed: 0, holdoutFraction: 0.2, folds: 5 } as const;
const DEFAULT_RETRAINING: RetrainingPolicy = DEFAULT_POLICY.retraining;

export interface RetrainDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly registry: RetrainRegistry;
  readonly rows: RowSource;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly policy?: Partial<RetrainPolicy>;
  /** Checkpoints, trial results and the trials queue (absent: in memory, trials in process). */
  readonly execution?: ExecutionPorts;
  /** The model's retraining policy (margin, promotion); absent: defaults, the candidate stays in staging. */
  readonly retrainingPolicy?: (model: string) => Promise<RetrainingPolicy | undefined>;
  /** Captured labelled rows in, training rows and manifest out; absent: the parent's dataset alone. */
  readonly dataset?: DatasetPorts;
  /** What promotion under the policy needs; absent: the candidate stays in staging. */
  readonly promotion?: PromotionPorts;
  /** The operating mode's say on a new job for the model; absent: always allowed. */
  readonly mode?: (model: string) => Promise<ModeVerdict>;
}

/** What the operating mode says about retraining a model now (core/system/modes.ts decides). */
export interface ModeVerdict {
  readonly mode: string;
  readonly retraining: 'always' | 'if_policy_allows' | 'never';
  readonly allowed: boolean;
}

export interface RunOptions {
  /** The attempt a continuation message starts (absent: the first run of a queued job). */
  readonly attempt?: number;
  /** The invocation's remaining time (Lambda's getRemainingTimeInMillis); unlimited when absent. */
  readonly budget?: Budget;
}

/** What a job's search found: every trial, the best, and why it stopped. */
export interface SearchSummary {
  readonly strategy: string;
  readonly space: ParamSpace;
  readonly trials: readonly TrialRecord[];
  readonly best: TrialRecord & { readonly params: Params; readonly score: number };
  readonly stoppedBy: string;
}

/** A job's parent, rows and seeded split (features, and class indices or a regressor's values). */
export interface Prepared {
  readonly parentVersion: string;
  readonly parent: ModelVersion;
  readonly productionVersion?: string;
  readonly features: string[];
  readonly task: Task;
  /** The parent's classes; empty for a regressor. */
  readonly classes: string[];
  readonly uri: string;
  readonly sha256: string;
  readonly rows: number;
  readonly trainer: TrainerName;
  readonly seed: number;
  readonly folds: number;
  readonly holdoutFraction: number;
  readonly margin: number;
  /** The policy's SageMaker training job, when the candidate trains there rather than in the worker. */
  readonly sagemaker?: SageMakerTrainingPolicy;
  readonly tx: number[][];
  readonly ty: number[];
  readonly hx: number[][];
  readonly hy: number[];
}

export interface RetrainRequest {
  readonly reason: string;
  readonly trigger?: string;
  readonly trainer?: TrainerName;
  readonly params?: Omit<RetrainParams, 'trainer'>;
  readonly search?: SearchRequest;
}

/** The principal a job registers its candidate as: the job itself, acting for its requester. */
function jobPrincipal(job: RetrainJob): Principal {
  return { id: `job:${job.id}`, name: `retraining for ${job.requestedBy.name}`, role: 'scientist' };
}

const SYSTEM_ACTOR: Actor = { id: 'retrain-worker', name: 'retraining worker' };

export class RetrainService {
  readonly policy: RetrainPolicy;
  private readonly executor: JobExecutor;

  constructor(private readonly deps: RetrainDeps) {
    this.policy = { ...DEFAULT_RETRAIN_POLICY, ...deps.policy };
    this.executor = new JobExecutor(this, deps, deps.execution);
  }

  now(): string {
    return this.deps.clock.now().toISOString();
  }

  private audit(actor: Actor, action: string, model: string, after: unknown, comment?: string) {
    return auditEvent(this.deps, actor, action, `model/${model}`, {
      model,
      after,
      ...(comment ? { comment } : {}),
    });
  }

  async get(id: string): Promise<RetrainJob> {
    const job = await this.deps.store.get(id);
    if (!job) throw notFound(`no job ${id}`);
    return job;
  }

  list(query: JobQuery): Promise<Page<RetrainJob>> {
    return this.deps.store.list(query);
  }

  /**
   * Queues a job, or refuses: while a job is active (the trigger is recorded on it), or within
   * the cooldown after the last one. Every decision is audited with its reason.
   */
  async request(principal: Principal, model: string, req: RetrainRequest): Promise<RetrainJob> {
    const trigger = req.trigger ?? 'manual';
    if (req.trainer !== undefined && !TRAINERS.includes(req.trainer)) {
      throw validationFailed(`trainer must be one of ${TRAINERS.join(', ')}`, { field: 'trainer' });
    }
    // A space the trainer cannot search is refused now, not after the job has queued.
    const space = jobSpace(TRAINER_IMPLS[req.trainer ?? 'logistic'], req.search?.space, req.search?.l2);
    if ((req.search?.strategy ?? 'grid') === 'grid' && gridCandidates(space).length > MAX_GRID_TRIALS) {
      throw validationFailed(
        `a grid search tries at most ${MAX_GRID_TRIALS} candidates; use random or halving`,
        {
          field: 'search.space',
        },
      );
    }
    const found = await this.deps.registry.getModel(model);
    await this.assertFitsWhereItTrains(model, req);
    if (req.trainer !== undefined) await this.assertTrainerFits(model, found, req.trainer);
    await this.assertModeAllows(principal, model, trigger, req.reason);
    const slot = await this.deps.store.slot(model);
    if (slot.activeJobId) return this.duplicate(principal, model, slot.activeJobId, trigger, req.reason);
    if (slot.releasedAt) {
      const until = Date.parse(slot.releasedAt) + this.policy.cooldownMs;
      if (this.deps.clock.now().getTime() < until) {
        const retryAt = new Date(until).toISOString();
        await this.deps.store.audit(
          this.audit(principal, 'retrain.refused', model, { trigger, retryAt }, `cooldown: ${req.reason}`),
        );
        throw conflict(`model ${model} was retrained recently; the cooldown ends at ${retryAt}`, {
          reason: 'cooldown',
          retryAt,
        });
      }
    }
    const now = this.now();
    const job: RetrainJob = {
      id: this.deps.ids.next(),
      model,
      state: 'queued',
      reason: req.reason,
      trigger,
      requestedBy: { id: principal.id, name: principal.name },
      params: { ...req.params, ...(req.trainer ? { trainer: req.trainer } : {}) },
      search: req.search ?? {},
      progress: { fraction: 0, message: 'queued', trial: 0, trials: 0 },
      duplicates: [],
      log: [{ at: now, message: `queued by ${principal.name} (${trigger}): ${req.reason}` }],
      createdAt: now,
      updatedAt: now,
      revision: 1,
    };
    try {
      await this.deps.store.create(
        job,
        this.audit(principal, 'retrain.requested', model, { jobId: job.id, trigger }, req.reason),
      );
    } catch (err) {
      // Another request took the slot between the read and the write: this one is its duplicate.
      if (!isDomainError(err, 'conflict')) throw err;
      const again = await this.deps.store.slot(model);
      if (!again.activeJobId) throw err;
      return this.duplicate(principal, model, again.activeJobId, trigger, req.reason);
    }
    try {
      await this.deps.queue.send({ jobId: job.id });
    } catch (err) {
      // A job nobody will run must not hold the slot.
      await this.update(job.id, (j) => ({
        ...j,
        state: 'failed',
        error: `could not be queued: ${(err as Error).message}`,
      }));
      throw err;
    }
    return job;
  }

  /**
   * A model whose policy trains on SageMaker runs the policy's image once: no trainer of Serval's,
   * no search and no cross-validation. Asking for them is a 400 rather than a job that quietly
   * does without them (docs/retraining.md, "SageMaker training").
   */
  private async assertFitsWhereItTrains(model: string, req: RetrainRequest) {
    const asked = [
      ...(req.trainer !== undefined ? ['trainer'] : []),
      ...(req.search !== undefined ? ['search'] : []),
      ...(req.params?.folds !== undefined ? ['params.folds'] : []),
    ];
    if (asked.length === 0) return;
    const sagemaker = (await this.retrainingPolicy(model)).training?.sagemaker;
    if (!sagemaker) return;
    throw validationFailed(
      `${model} trains on SageMaker (its policy's retraining.training.sagemaker runs ${sagemaker.image} once): ${asked.join(', ')} ${asked.length === 1 ? 'does' : 'do'} not apply; seed, holdoutFraction and margin do`,
      { fields: asked, image: sagemaker.image },
    );
  }

  /**
   * A trainer that cannot learn the parent's task (logistic for a regressor, linear for a
   * classifier) is a 400 now rather than a job that fails once it has loaded the rows. A model
   * without a version to read is left to the job, which says so.
   */
  private async assertTrainerFits(
    model: string,
    found: { readonly productionVersion?: string; readonly latestVersion?: string },
    trainer: TrainerName,
  ) {
    const version = found.productionVersion ?? found.latestVersion;
    if (!version) return;
    const out = (await this.deps.registry.getVersion(model, version)).outputSchema;
    if (!out) return;
    const task: Task = out.kind === 'regression' ? 'regression' : 'classification';
    trainerFor(trainer, task, out.classes?.length ?? 2);
  }

  /**
   * Refused at request time rather than queued to wait: a trigger re-evaluates its condition at
   * the next check or sweep anyway, and a person gets an answer now instead of a job that may
   * sit queued until someone changes the mode.
   */
  private async assertModeAllows(principal: Principal, model: string, trigger: string, reason: string) {
    const verdict = await this.deps.mode?.(model);
    if (!verdict || verdict.allowed) return;
    const details = { reason: 'mode', mode: verdict.mode, retraining: verdict.retraining };
    await this.deps.store.audit(
      this.audit(
        principal,
        'retrain.refused',
        model,
        { trigger, ...details },
        `mode ${verdict.mode}: ${reason}`,
      ),
    );
    if (verdict.retraining === 'never') {
      throw unavailable(
        `Serval is in ${verdict.mode} mode: no retraining job starts until an admin ends it`,
        details,
      );
    }
    throw conflict(
      `Serval is in ${verdict.mode} mode and ${model}'s retraining policy does not allow retraining while serving (allowInServing: false); an admin can switch to training mode (PUT /v1/mode)`,
      details,
    );
  }

  private async duplicate(
    principal: Principal,
    model: string,
    activeId: string,
    trigger: string,
    reason: string,
  ): Promise<never> {
    const at = this.now();
    const active = await this.update(activeId, (j) =>
      isActive(j.state)
        ? {
            ...j,
            duplicates: [...j.duplicates, { at, by: principal.id, trigger, reason }].slice(-MAX_DUPLICATES),
          }
        : j,
    );
    if (!isActive(active.state)) {
      // It ended between the slot read and now: the cooldown it started applies to this request.
      await this.deps.store.audit(
        this.audit(
          principal,
          'retrain.refused',
          model,
          { trigger, endedJobId: activeId },
          `cooldown: ${reason}`,
        ),
      );
      throw conflict(`model ${model}'s job ${activeId} has just ended; the cooldown applies`, {
        reason: 'cooldown',
        jobId: activeId,
      });
    }
    await this.deps.store.audit(
      this.audit(principal, 'retrain.duplicate', model, { activeJobId: activeId, trigger }, reason),
    );
    throw conflict(
      `model ${model} has an active retraining job ${activeId}; this request was recorded on it`,
      {
        jobId: activeId,
      },
    );
  }

  /** Queued: cancelled at once. Running: flagged, and the worker stops at its next trial. */
  async cancel(principal: Principal, id: string): Promise<RetrainJob> {
    const job = await this.update(
      id,
      (j) => {
        if (j.state === 'queued')
          return { ...j, state: 'cancelled', progress: { ...j.progress, message: 'cancelled' } };
        if (j.state === 'running') return { ...j, cancelRequested: true };
        throw conflict(`job ${id} is ${j.state}; only queued or running jobs can be cancelled`, {
          state: j.state,
        });
      },
      `cancel requested by ${principal.name}`,
    );
    await this.deps.store.audit(
      this.audit(principal, 'retrain.cancel', job.model, { jobId: id, state: job.state }),
    );
    return job;
  }

  /**
   * Re-reads the job, applies `change` and writes it conditioned on the revision read, again when
   * another writer (a cancel, a duplicate trigger, progress) got in between.
   */
  async update(id: string, change: (j: RetrainJob) => RetrainJob, logLine?: string): Promise<RetrainJob> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.get(id);
      const changed = change(cur);
      if (changed === cur && !logLine) return cur;
      if (changed.state !== cur.state) assertMove(cur, changed.state);
      const now = this.now();
      const next: RetrainJob = {
        ...changed,
        log: logLine ? [...changed.log, { at: now, message: logLine }].slice(-MAX_LOG_LINES) : changed.log,
        updatedAt: now,
        revision: cur.revision + 1,
      };
      try {
        await this.deps.store.save(next, cur.revision);
        return next;
      } catch (err) {
        if (!isConcurrentModification(err) || attempt >= 5) throw err;
      }
    }
  }

  /**
   * The worker's entry: runs or continues a job (a first run, a continuation after a time limit,
   * a gather after the trials fanned out, a resume after a dead worker): execution.ts.
   */
  run(id: string, options: RunOptions = {}): Promise<RetrainJob | undefined> {
    return this.executor.step(
      { jobId: id, ...(options.attempt ? { attempt: options.attempt } : {}) },
      options.budget,
    );
  }

  /** One trial message of a fanned-out search (the trial worker's entry). */
  runTrial(message: TrialMessage): Promise<void> {
    return this.executor.trial(message);
  }

  /** Resumes (or fails) running jobs whose worker stopped writing: the sweeper's entry. */
  sweep(): Promise<SweepResult> {
    return this.executor.sweep();
  }

  /** Writes `next` only if `cur` is still what is stored: the one write that claims a job. */
  async saveExactly(cur: RetrainJob, next: RetrainJob): Promise<RetrainJob> {
    const now = this.now();
    // A claim by a later attempt leaves the state as it was: the attempt says what it does itself.
    const log =
      cur.state === next.state
        ? next.log
        : [...next.log, { at: now, message: `state ${cur.state} → ${next.state}` }].slice(-MAX_LOG_LINES);
    const saved = {
      ...next,
      log,
      updatedAt: now,
      revision: cur.revision + 1,
    };
    await this.deps.store.save(saved, cur.revision);
    return saved;
  }

  async finish(
    id: string,
    end: Pick<RetrainJob, 'state'> &
      Partial<Pick<RetrainJob, 'error' | 'outcome' | 'resultVersion' | 'promotion'>>,
  ): Promise<RetrainJob> {
    const job = await this.update(
      id,
      (j) => ({
        ...j,
        ...end,
        progress: {
          ...j.progress,
          fraction: end.state === 'succeeded' ? 1 : j.progress.fraction,
          message: end.outcome ?? end.error ?? end.state,
        },
      }),
      `${end.state}${end.error ? `: ${end.error}` : end.outcome ? `: ${end.outcome}` : ''}`,
    );
    await this.deps.store.audit(
      this.audit(SYSTEM_ACTOR, `retrain.${end.state}`, job.model, {
        jobId: id,
        resultVersion: end.resultVersion,
        error: end.error,
        outcome: end.outcome,
      }),
    );
    return job;
  }

  /** Progress and heartbeat; throws Cancelled when a cancel was requested meanwhile. */
  async progress(id: string, p: RetrainJob['progress'], logLine?: string): Promise<RetrainJob> {
    const job = await this.update(id, (j) => ({ ...j, progress: p, heartbeatAt: this.now() }), logLine);
    if (job.cancelRequested) throw new Cancelled();
    return job;
  }

  /** The model's retraining policy (defaults when it has none, or this function reads none). */
  async retrainingPolicy(model: string): Promise<RetrainingPolicy> {
    return (await this.deps.retrainingPolicy?.(model)) ?? DEFAULT_RETRAINING;
  }

  /**
   * The parent, its dataset's rows and the seeded split: what every step of a job starts from. The
   * first step builds the training rows (and, with a dataset port, writes them to S3 with a
   * manifest); a continuation or a trial passes what its checkpoint pinned, and reads exactly
   * those rows again rather than a window that has moved on.
   */
  async prepare(job: RetrainJob, pinned?: { parentVersion: string; datasetUri: string }): Promise<Prepared> {
    const { registry } = this.deps;
    const seed = job.params.seed ?? DEFAULTS.seed;
    const holdoutFraction = job.params.holdoutFraction ?? DEFAULTS.holdoutFraction;
    const folds = job.params.folds ?? DEFAULTS.folds;
    const retraining = (await this.deps.retrainingPolicy?.(job.model)) ?? DEFAULT_RETRAINING;
    const margin = job.params.margin ?? retraining.margin;

    const model = await registry.getModel(job.model);
    // A continuation keeps the parent its checkpoint names, even if production moved meanwhile.
    const parentVersion = pinned?.parentVersion ?? model.productionVersion ?? model.latestVersion;
    if (!parentVersion) throw validationFailed(`model ${job.model} has no version to retrain from`);
    const parent = await registry.getVersion(job.model, parentVersion);
    const { features, classes, task } = signature(parent);
    const k = classes.length;
    const trainer = trainerFor(job.params.trainer, task, k);
    if (task === 'regression' && retraining.training?.sagemaker && !pinned)
      throw unsupported(
        'SageMaker training of regression models is not built; retrain this model in the worker (remove retraining.training.sagemaker)',
      );
    const data = pinned
      ? { ...(await this.load(pinned.datasetUri, features, classes)), uri: pinned.datasetUri }
      : await this.trainingRows(job, parent, features, classes, retraining);
    const uri = data.uri;
    // The split: a seeded permutation, so the same rows and seed hold out the same rows.
    const order = createRng(seed).permutation(data.x.length);
    const cut = data.x.length - Math.max(1, Math.round(data.x.length * holdoutFraction));
    const trainIdx = order.slice(0, cut);
    const holdIdx = order.slice(cut);
    const tx = trainIdx.map((i) => data.x[i] as number[]);
    const ty = trainIdx.map((i) => data.y[i] as number);
    const hx = holdIdx.map((i) => data.x[i] as number[]);
    const hy = holdIdx.map((i) => data.y[i] as number);
    if (task === 'classification' && new Set(ty).size < k)
      throw validationFailed('the training rows do not hold every class');

    return {
      parentVersion,
      parent,
      productionVersion: model.productionVersion,
      features,
      task,
      classes,
      uri,
      sha256: data.sha256,
      rows: data.x.length,
      trainer,
      seed,
      folds,
      holdoutFraction,
      margin,
      ...(retraining.training?.sagemaker ? { sagemaker: retraining.training.sagemaker } : {}),
      tx,
      ty,
      hx,
      hy,
    };
  }

  /**
   * The best parameters trained on all training rows, exported to ONNX, registered in staging
   * with the lineage, and judged on the held-out rows against production.
   */
  async conclude(job: RetrainJob, p: Prepared, found: SearchSummary): Promise<RetrainJob> {
    const { features, classes, trainer, seed, folds, holdoutFraction, tx, ty, hx, hy } = p;
    const k = classes.length;
    const { strategy, space, best } = found;
    const trials = found.trials.length;
    const final = TRAINER_IMPLS[trainer].fit(tx, ty, best.params, k, seed);
    let fitted: { onnx: Uint8Array; metrics: Record<string, number>; holdout: Holdout };
    if (final.task === 'regression') {
      fitted = {
        onnx: final.onnx(features),
        // A trial's score is the negative RMSE (the search maximises); the version reports RMSE.
        metrics: { cvRmseMean: -(best.score as number), cvRmseStd: Number(best.std ?? 0) },
        holdout: { task: 'regression', ...regressionMetrics(hy, final.predict(hx)) },
      };
    } else {
      const pr = final.proba(hx);
      fitted = {
        onnx: final.onnx(features, classes),
        metrics: { cvAccuracyMean: best.score as number, cvAccuracyStd: Number(best.std ?? 0) },
        holdout: {
          task: 'classification',
          ...classificationMetrics({ actual: hy, predicted: pr.map(argmax), classes: k, probabilities: pr }),
        },
      };
    }
    return this.registerCandidate(job, p, {
      ...fitted,
      trials,
      params: { trainer, ...best.params, seed, folds, holdoutFraction },
      lineage: {
        search: {
          strategy,
          space,
          trials: found.trials.map((t) => ({
            id: t.id,
            params: t.params,
            score: t.score,
            status: t.status,
            ...(t.rung !== null ? { rung: t.rung, resource: t.resource } : {}),
          })),
          best: { trial: best.id, params: best.params, score: best.score },
          stoppedBy: found.stoppedBy,
        },
      },
    });
  }

  /**
   * A candidate trained elsewhere (a SageMaker training job's model.onnx): registered, judged
   * and promoted exactly as a searched one, its held-out metrics from the registered artifact's
   * own answers (labels only, so no log loss).
   */
  concludeWith(
    job: RetrainJob,
    p: Prepared,
    trained: { onnx: Uint8Array; params: Record<string, unknown>; lineage: Record<string, unknown> },
  ): Promise<RetrainJob> {
    return this.registerCandidate(job, p, { ...trained, trials: 0, metrics: {} });
  }

  /**
   * Registers the candidate in staging with its lineage, judges it on the held-out rows against
   * production (both registered artifacts, through the runner), and applies the policy.
   */
  private async registerCandidate(
    job: RetrainJob,
    p: Prepared,
    c: {
      onnx: Uint8Array;
      /** From the in-memory model; absent: from the registered artifact's answers. */
      holdout?: Holdout;
      trials: number;
      metrics: Record<string, number>;
      params: Record<string, unknown>;
      lineage: Record<string, unknown>;
    },
  ): Promise<RetrainJob> {
    const { registry } = this.deps;
    const { parentVersion, parent, uri, seed, folds, holdoutFraction, hx } = p;
    const production = p.productionVersion;
    const trial = c.trials;
    const trials = c.trials;
    await this.progress(job.id, { fraction: 0.85, message: 'registering the candidate', trial, trials });

    const lineage = {
      parent: parentVersion,
      jobId: job.id,
      trigger: job.trigger,
      // sha256 of the rows as trained on (features and label, canonical CSV), whatever the file's format.
      dataset: { uri, sha256: p.sha256, rows: p.rows },
      ...c.lineage,
    };
    const principal = jobPrincipal(job);
    const candidate = await registry.registerStaging(principal, job.model, {
      artifact: { base64: Buffer.from(c.onnx).toString('base64') },
      framework: 'onnx',
      runtime: parent.runtime,
      inputSchema: parent.inputSchema,
      outputSchema: parent.outputSchema,
      parent: parentVersion,
      // The registry digests the dataset file itself (verified); lineage keeps the digest of the rows.
      dataset: { uri, rows: p.rows },
      ...(c.holdout ? { metrics: { ...c.metrics, ...holdoutMetrics(c.holdout) } } : {}),
      params: { ...c.params, seed, folds, holdoutFraction, lineage },
      description: `retrained by job ${job.id}: ${job.reason}`,
    });

    // The report and the comparison run the registered artifacts, not the in-memory model, on the
    // same held-out rows: what serving would answer.
    await this.progress(job.id, { fraction: 0.92, message: 'validating on held-out rows', trial, trials });
    const answers = await registry.predict(principal, job.model, candidate.version, hx);
    const champion = production ? await registry.predict(principal, job.model, production, hx) : undefined;
    const judged = judge(p, candidate.version, answers, champion, c.holdout);
    const { better } = judged;
    await registry.recordValidation(principal, job.model, candidate.version, judged.report);
    const promotion = this.deps.promotion
      ? await promoteCandidate(
          this.deps.promotion,
          (await this.deps.retrainingPolicy?.(job.model)) ?? DEFAULT_RETRAINING,
          {
            model: job.model,
            jobId: job.id,
            candidate: candidate.version,
            ...(production ? { production } : {}),
            better,
            comparison: judged.report.comparison,
            reason: job.reason,
          },
        )
      : undefined;
    // A candidate that is not better says so in the verdict already; the policy adds only its name.
    const outcome = !promotion
      ? judged.text
      : promotion.action === 'kept_in_staging'
        ? `${judged.text} (promotion policy: ${promotion.mode})`
        : `${judged.text}; ${promotion.detail}`;
    return this.finish(job.id, {
      state: 'succeeded',
      resultVersion: candidate.version,
      outcome,
      ...(promotion ? { promotion } : {}),
    });
  }

  /**
   * A first step's rows: with a dataset port, the parent's rows (if the policy includes them) plus
   * labelled captures, written to S3 with a manifest whose file lineage then points at; without
   * one, the parent's dataset file as it is.
   */
  private async trainingRows(
    job: RetrainJob,
    parent: ModelVersion,
    features: string[],
    classes: string[],
    retraining: RetrainingPolicy,
  ): Promise<{ x: number[][]; y: number[]; sha256: string; uri: string }> {
    const parentUri = parent.dataset?.uri;
    const withBaseline = !this.deps.dataset || retraining.dataset.includeBaseline;
    if (withBaseline && !parentUri)
      throw validationFailed(`version ${parent.version} records no dataset to retrain on`);
    const baseline = withBaseline && parentUri ? await this.load(parentUri, features, classes) : undefined;
    if (!this.deps.dataset)
      return { ...(baseline as NonNullable<typeof baseline>), uri: parentUri as string };
    const data = await buildTrainingSet(this.deps.dataset, {
      model: job.model,
      jobId: job.id,
      features,
      classes,
      ...(baseline && parentUri ? { baseline: { uri: parentUri, ...baseline } } : {}),
      windowDays: retraining.dataset.windowDays,
      now: this.deps.clock.now(),
      maxRows: this.policy.maxRows,
    });
    if (data.x.length < 10)
      throw validationFailed(
        `the training rows (${data.uri}) are ${data.x.length}; retraining needs at least 10`,
      );
    return data;
  }

  /**
   * The rows of a dataset as features and class indices (a regressor's: the label's value), with
   * the SHA-256 of exactly those rows. `classes` empty: a regression model.
   */
  private async load(uri: string, features: readonly string[], classes: readonly string[]) {
    const x: number[][] = [];
    const y: number[] = [];
    const lines: string[] = [[...features, 'label'].join(',')];
    let label: string | undefined;
    let n = 0;
    for await (const row of this.deps.rows.rows(uri)) {
      n++;
      if (n > this.policy.maxRows)
        throw validationFailed(`the dataset has more than ${this.policy.maxRows} rows`);
      label ??= labelColumn(row, features);
      const values = features.map((f) => Number(row[f]));
      const bad = values.findIndex((v, j) => row[features[j] as string] === null || !Number.isFinite(v));
      if (bad >= 0)
        throw validationFailed(`row ${n} of ${uri}: ${features[bad]} is not a number`, { row: n });
      if (classes.length === 0) {
        const value = numeric(row[label]);
        if (value === undefined)
          throw validationFailed(
            `row ${n} of ${uri}: label ${String(row[label])} is not a number (a regression model's label is its value)`,
            { row: n, column: label },
          );
        x.push(values);
        y.push(value);
        lines.push([...values, value].join(','));
        continue;
      }
      const cls = classes.indexOf(String(row[label]));
      if (cls < 0)
        throw validationFailed(`row ${n} of ${uri}: label ${String(row[label])} is not a class`, { row: n });
      x.push(values);
      y.push(cls);
      lines.push([...values, classes[cls]].join(','));
    }
    if (x.length < 10)
      throw validationFailed(`the dataset ${uri} has ${x.length} rows; retraining needs at least 10`);
    const sha256 = await sha256Hex(new TextEncoder().encode(lines.join('\n')));
    return { x, y, sha256 };
  }
}

function signature(v: ModelVersion): { features: string[]; classes: string[]; task: Task } {
  const features = v.inputSchema?.features.map((f) => f.name);
  const out = v.outputSchema;
  if (!features || !out) throw validationFailed(`version ${v.version} has no input and output schema`);
  if (out.kind === 'regression') return { features, classes: [], task: 'regression' };
  if (!out.classes || out.classes.length < 2)
    throw validationFailed(`version ${v.version}'s output schema names no classes to retrain on`);
  return { features, classes: out.classes.map(String), task: 'classification' };
}

/** A CSV cell or JSON value as a finite number; undefined for text, blanks and nulls. */
function numeric(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** The candidate's held-out metrics, from the in-memory model (or the registered artifact's answers). */
type Holdout =
  | ({ readonly task: 'classification' } & ClassificationMetrics)
  | ({ readonly task: 'regression' } & RegressionMetrics);

function holdoutMetrics(h: Holdout): Record<string, number> {
  if (h.task === 'regression') return { rmse: h.rmse, mae: h.mae, r2: h.r2 };
  return { accuracy: h.accuracy, f1: h.f1, ...(h.logLoss !== null ? { logLoss: h.logLoss } : {}) };
}

interface Judgement {
  readonly better: boolean;
  readonly report: { passed: boolean; comparison: Record<string, unknown>; [k: string]: unknown };
  /** The job's outcome, before what promotion did. */
  readonly text: string;
}

/**
 * The validation report on the held-out rows and the champion/challenger comparison, from the
 * registered candidate's answers and production's (absent: no production version). A classifier
 * must beat production's accuracy by `margin` points; a regressor's RMSE must be lower than
 * production's by the fraction `margin` (0.01: 1 % lower), a relative margin because RMSE is in
 * the label's units, so no absolute margin fits every model.
 */
function judge(
  p: Prepared,
  version: string,
  answers: readonly (string | number)[],
  champion: readonly (string | number)[] | undefined,
  holdout: Holdout | undefined,
): Judgement {
  const { hy, margin } = p;
  const production = p.productionVersion;
  const rows = hy.length;
  const none = { production: null, note: 'the model has no production version' };
  const alone = `${version} registered in staging (no production version to compare with)`;
  if (p.task === 'regression') {
    const values = (who: string, a: readonly (string | number)[]) =>
      a.map((v, i) => {
        const n = numeric(v);
        if (n === undefined)
          throw validationFailed(`${who} answered ${String(v)} for held-out row ${i + 1}, not a number`);
        return n;
      });
    const cand = regressionMetrics(hy, values(`candidate ${version}`, answers));
    const metrics = { rmse: cand.rmse, mae: cand.mae, r2: cand.r2 };
    if (!production || !champion)
      return {
        better: true,
        report: { passed: true, kind: 'retraining', rows, metrics, comparison: none },
        text: alone,
      };
    const champ = regressionMetrics(hy, values(`production ${production}`, champion));
    const needed = champ.rmse * (1 - margin);
    const better = cand.rmse <= needed;
    const improvement = champ.rmse > 0 ? (champ.rmse - cand.rmse) / champ.rmse : null;
    const comparison = {
      production,
      rows,
      metric: 'rmse',
      candidate: cand.rmse,
      champion: champ.rmse,
      difference: cand.rmse - champ.rmse,
      relativeImprovement: improvement,
      margin,
      better,
      metrics: { candidate: metrics, champion: { rmse: champ.rmse, mae: champ.mae, r2: champ.r2 } },
    };
    const rmses = `RMSE ${fmt(cand.rmse)} vs ${fmt(champ.rmse)}`;
    return {
      better,
      report: { passed: better, kind: 'retraining', rows, metrics, comparison },
      text: better
        ? `${version} beats production ${production}: ${rmses}${improvement !== null ? ` (${(improvement * 100).toFixed(1)} % lower)` : ''} on ${rows} held-out rows; in staging`
        : `${version} is not better than production ${production} by the margin ${margin} (${rmses}; needs at most ${fmt(needed)}); kept in staging`,
    };
  }
  const labels = p.classes;
  const k = labels.length;
  const accuracyOf = (a: readonly (string | number)[]) =>
    a.filter((v, i) => String(v) === String(labels[hy[i] as number])).length / rows;
  const candidateAccuracy = accuracyOf(answers);
  const h =
    holdout?.task === 'classification'
      ? holdout
      : classificationMetrics({
          actual: hy,
          // An answer that is no class of the parent counts as wrong: the class it is not.
          predicted: answers.map((a, i) => {
            const at = labels.indexOf(String(a));
            return at >= 0 ? at : ((hy[i] as number) + 1) % k;
          }),
          classes: k,
        });
  const metrics = {
    accuracy: candidateAccuracy,
    f1: h.f1,
    ...(h.logLoss !== null ? { logLoss: h.logLoss } : {}),
  };
  if (!production || !champion)
    return {
      better: true,
      report: { passed: true, kind: 'retraining', rows, metrics, confusion: h.confusion, comparison: none },
      text: alone,
    };
  const prodAccuracy = accuracyOf(champion);
  const better = candidateAccuracy >= prodAccuracy + margin;
  const comparison = {
    production,
    rows,
    metric: 'accuracy',
    candidate: candidateAccuracy,
    champion: prodAccuracy,
    difference: candidateAccuracy - prodAccuracy,
    margin,
    better,
  };
  return {
    better,
    report: { passed: better, kind: 'retraining', rows, metrics, confusion: h.confusion, comparison },
    text: better
      ? `${version} beats production ${production} by ${fmt(candidateAccuracy - prodAccuracy)} accuracy on ${rows} held-out rows; in staging`
      : `${version} is not better than production ${production} by the margin ${margin} (${fmt(candidateAccuracy)} vs ${fmt(prodAccuracy)}); kept in staging`,
  };
}

/** The column that is not a feature: `label`, `target` or `y` if present, else the only other one. */
function labelColumn(row: Record<string, unknown>, features: readonly string[]): string {
  const others = Object.keys(row).filter((c) => !features.includes(c));
  const named = others.find((c) => ['label', 'target', 'y', 'class'].includes(c.toLowerCase()));
  if (named) return named;
  if (others.length === 1) return others[0] as string;
  throw validationFailed(
    `the dataset needs one label column besides the features (found ${others.join(', ') || 'none'})`,
  );
}

function argmax(p: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if ((p[i] as number) > (p[best] as number)) best = i;
  return best;
}

const fmt = (v: number) => v.toFixed(4);
