/**
 * How a retraining job runs across invocations: claims, checkpoints, trial fan-out, continuation
 * and recovery. The service (service.ts) prepares the rows and concludes with the candidate; this
 * module runs the search between them.
 *
 * - **Claims.** Every invocation that works on a job first claims `attempt + 1` with a
 *   revision-conditioned write. The first message of a job carries no attempt (it claims 1); a
 *   continuation names the attempt it starts. A redelivered or superseded message names an
 *   attempt already claimed and starts nothing, so no job ever has two runners.
 * - **Checkpoint** (S3, `jobs/<id>/checkpoint.json`): the parent, the dataset's digest and the
 *   split's seed and sizes, the search plan per rung, every finished trial and the best so far.
 *   Rows are re-read and re-split from the seed on every step; a digest that differs from the
 *   checkpoint's fails the job rather than mixing two datasets in one search.
 * - **Fan-out.** With a trials queue bound, a step sends one message per pending trial of the
 *   current rung and returns. Each trial's result is a conditional put (a redelivered trial
 *   never counts twice); the trial that finds the rung complete sends the continuation that
 *   gathers it. Several may; each names the attempt after the fan-out's, so the claim lets one
 *   through.
 * - **In process** (no trials queue): trials run one after the other, each result checkpointed;
 *   when the invocation's remaining time would not fit another trial, the step writes its
 *   checkpoint, sends a continuation and returns.
 * - **Recovery.** A running job whose heartbeat is older than `staleAfterMs` is resumed from its
 *   checkpoint by the sweep (a continuation with the next attempt), or failed with a clear error
 *   when it never wrote one.
 */
import type { TrialMessage } from '../../contract/messages.js';
import { isConcurrentModification, validationFailed } from '../kernel/errors.js';
import { crossValidate } from '../training/cv.js';
import { classificationMetrics, regressionMetrics } from '../training/metrics.js';
import { gridCandidates, type ParamSpace, type Params, randomCandidates } from '../training/search.js';
import { isActive, type JobQueue, type JobStore, type RetrainJob } from './jobs.js';
import {
  followOnSageMaker,
  type SageMakerContext,
  type SageMakerPorts,
  startOnSageMaker,
} from './sagemaker-training.js';
import type { Prepared, RetrainService } from './service.js';
import { jobSpace, TRAINER_IMPLS } from './trainers.js';

/** Thrown between trials once a cancel was requested. */
export class Cancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

/** Reads and claims of a job one invocation makes before it leaves the message to a redelivery. */
const CLAIM_TRIES = 5;

/** Thrown when a later attempt claimed the job (a resume after this worker was presumed dead). */
class Superseded extends Error {}

export interface Budget {
  /** Milliseconds this invocation has left (Lambda's context.getRemainingTimeInMillis). */
  remainingMs(): number;
}

const UNLIMITED: Budget = { remainingMs: () => Number.POSITIVE_INFINITY };

/** The trial queue's message, as the contract validates it (one shape, not two to keep in step). */
export type { TrialMessage };

export interface TrialRecord {
  /** Launch order across rungs, from 0. */
  readonly id: number;
  readonly rung: number | null;
  readonly index: number;
  readonly params: Params;
  /** Rows each fold trained on (halving's budget); null: all of them. */
  readonly resource: number | null;
  readonly status: 'ok' | 'failed';
  readonly score: number | null;
  readonly std: number | null;
  readonly durationMs: number;
  readonly error: string | null;
}

export interface TrialResultStore {
  /** Stores the result unless one exists for (job, rung, index); false when it did. */
  put(jobId: string, record: TrialRecord): Promise<boolean>;
  list(jobId: string): Promise<TrialRecord[]>;
}

export interface Rung {
  readonly resource: number | null;
  readonly plan: readonly Params[];
  /** Trial id of plan[0]. */
  readonly firstId: number;
}

export interface Checkpoint {
  readonly version: 1;
  readonly jobId: string;
  readonly parentVersion: string;
  readonly trainer: string;
  readonly dataset: { readonly uri: string; readonly sha256: string; readonly rows: number };
  readonly split: { readonly seed: number; readonly train: number; readonly holdout: number };
  readonly strategy: 'grid' | 'random' | 'halving';
  readonly space: ParamSpace;
  readonly factor: number;
  readonly rungCount: number;
  /** Rows a fold trains on: the last rung's resource. */
  readonly fullResource: number;
  readonly maxTrials: number | null;
  readonly timeBudgetMs: number | null;
  /** Epoch ms the search began: the time budget counts from here across invocations. */
  readonly startedAt: number;
  readonly rungs: readonly Rung[];
  readonly finished: readonly TrialRecord[];
  readonly best: TrialRecord | null;
  readonly stoppedBy: 'completed' | 'maxTrials' | 'maxTime' | null;
  /** Trials the whole search plans (progress's `trials`). */
  readonly planned: number;
}

export interface CheckpointStore {
  read(jobId: string): Promise<Checkpoint | undefined>;
  write(checkpoint: Checkpoint): Promise<void>;
}

export interface TrialQueue {
  send(messages: readonly TrialMessage[]): Promise<void>;
}

export interface ExecutionPorts {
  readonly checkpoints?: CheckpointStore;
  readonly results?: TrialResultStore;
  /** Bound: trials fan out, one message each. Absent: they run in the job's own invocation. */
  readonly trials?: TrialQueue;
  /** Time kept in hand before starting a trial or the conclusion (default 30 s). */
  readonly reserveMs?: number;
  /** SageMaker training jobs, for models whose policy trains there (absent: such jobs fail). */
  readonly sagemaker?: SageMakerPorts;
}

export interface SweepResult {
  readonly resumed: string[];
  readonly failed: string[];
}

interface Ports {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly clock: { now(): Date };
}

class MemoryCheckpoints implements CheckpointStore {
  private readonly map = new Map<string, Checkpoint>();
  async read(id: string) {
    return structuredClone(this.map.get(id));
  }
  async write(c: Checkpoint) {
    this.map.set(c.jobId, structuredClone(c));
  }
}

class MemoryResults implements TrialResultStore {
  private readonly map = new Map<string, TrialRecord>();
  async put(jobId: string, r: TrialRecord) {
    const key = `${jobId}#${r.rung ?? 0}#${r.index}`;
    if (this.map.has(key)) return false;
    this.map.set(key, structuredClone(r));
    return true;
  }
  async list(jobId: string) {
    return [...this.map.entries()]
      .filter(([k]) => k.startsWith(`${jobId}#`))
      .map(([, r]) => structuredClone(r));
  }
}

const DEFAULT_RESERVE_MS = 30_000;
const MIN_HALVING_ROWS = 30;
const MAX_HALVING_RUNGS = 3;

export class JobExecutor {
  private readonly checkpoints: CheckpointStore;
  private readonly results: TrialResultStore;
  private readonly trials?: TrialQueue;
  private readonly reserveMs: number;
  private readonly sagemaker?: SageMakerPorts;

  constructor(
    private readonly service: RetrainService,
    private readonly deps: Ports,
    ports: ExecutionPorts = {},
  ) {
    this.checkpoints = ports.checkpoints ?? new MemoryCheckpoints();
    this.results = ports.results ?? new MemoryResults();
    if (ports.trials) this.trials = ports.trials;
    this.reserveMs = ports.reserveMs ?? DEFAULT_RESERVE_MS;
    if (ports.sagemaker) this.sagemaker = ports.sagemaker;
  }

  private sagemakerContext(): SageMakerContext {
    if (!this.sagemaker)
      throw validationFailed(
        "the model's retraining policy trains on SageMaker, but this worker is not bound to SageMaker training",
      );
    return {
      service: this.service,
      queue: this.deps.queue,
      ports: this.sagemaker,
      beat: (job, p, line) => this.beat(job, p, line),
    };
  }

  private stale(job: RetrainJob): boolean {
    const beat = Date.parse(job.heartbeatAt ?? job.updatedAt);
    return this.deps.clock.now().getTime() - beat >= this.service.policy.staleAfterMs;
  }

  /** One invocation's work on a job; returns the job as it left it. */
  async step(
    message: { readonly jobId: string; readonly attempt?: number },
    budget: Budget = UNLIMITED,
  ): Promise<RetrainJob | undefined> {
    const want = message.attempt ?? 1;
    let job: RetrainJob | undefined;
    let claimed: RetrainJob | undefined;
    // A claim conditioned on the revision fails whenever anything else wrote the job meanwhile:
    // another delivery's claim, but also a repeat request recorded on it by the API or a cancel.
    // So a failed claim reads the job again and decides afresh; only a claim by someone else
    // ends this invocation (a job left queued because a person asked twice would never run).
    for (let tries = 0; claimed === undefined; tries++) {
      job = await this.deps.store.get(message.jobId);
      if (!job) return undefined;
      if (!isActive(job.state)) return job;
      const current = job.attempt ?? (job.state === 'running' ? 1 : 0);
      if (want !== current + 1) {
        // Already claimed: a redelivery, or a second gather of the same rung. A running job whose
        // worker went silent is the sweep's to resume; a redelivered message may trigger that.
        if (job.state === 'running' && this.stale(job)) await this.recover(job);
        return this.deps.store.get(job.id);
      }
      if (job.state === 'queued' && want !== 1) return job;
      try {
        claimed = await this.service.saveExactly(job, {
          ...job,
          state: 'running',
          attempt: want,
          heartbeatAt: this.service.now(),
          progress:
            job.state === 'queued' ? { ...job.progress, message: 'loading the dataset' } : job.progress,
        });
      } catch (err) {
        if (!isConcurrentModification(err)) throw err;
        // Writes keep racing: the message is redelivered and tries again later.
        if (tries + 1 >= CLAIM_TRIES) throw err;
      }
    }
    if (!job) return undefined;
    try {
      return await this.advance(claimed, budget);
    } catch (err) {
      if (err instanceof Cancelled) return this.stopCancelled(job.id);
      // A resumed run owns the job now; this one stops without writing anything more.
      if (err instanceof Superseded) return this.deps.store.get(job.id);
      return this.failIfRunning(job.id, (err as Error).message);
    }
  }

  /** Heartbeat and progress, as long as this attempt still owns the job. */
  private async beat(job: RetrainJob, p: RetrainJob['progress'], line?: string): Promise<void> {
    const now = await this.service.progress(job.id, p, line);
    if (now.attempt !== job.attempt) throw new Superseded();
  }

  private async stopCancelled(id: string): Promise<RetrainJob | undefined> {
    const job = await this.deps.store.get(id);
    if (job?.state !== 'running') return job;
    return this.service.finish(id, { state: 'cancelled', outcome: 'cancelled while running' });
  }

  private async failIfRunning(id: string, error: string): Promise<RetrainJob | undefined> {
    const job = await this.deps.store.get(id);
    if (job?.state !== 'running') return job;
    return this.service.finish(id, { state: 'failed', error });
  }

  /** Runs the job as far as this invocation may: plan, trials (or their fan-out), conclusion. */
  private async advance(job: RetrainJob, budget: Budget): Promise<RetrainJob | undefined> {
    if (job.training) {
      // Polls need no rows: only the conclusion reads them again.
      const policy = (await this.service.retrainingPolicy(job.model)).training?.sagemaker;
      return followOnSageMaker(this.sagemakerContext(), job, job.training, policy);
    }
    let cp = await this.checkpoints.read(job.id);
    /** Whether cp already holds every stored result (the loop merges them otherwise). */
    let merged = false;
    const prepared = await this.service.prepare(
      job,
      cp ? { parentVersion: cp.parentVersion, datasetUri: cp.dataset.uri } : undefined,
    );
    if (!cp && prepared.sagemaker)
      return startOnSageMaker(this.sagemakerContext(), job, prepared, prepared.sagemaker);
    if (!cp) {
      cp = this.plan(job, prepared);
      await this.checkpoints.write(cp);
      await this.beat(
        job,
        { fraction: 0.05, message: `loaded ${prepared.rows} rows`, trial: 0, trials: cp.planned },
        `dataset ${prepared.uri}: ${prepared.rows} rows, sha256 ${prepared.sha256}; ${cp.strategy} search of ${cp.planned} trials${this.trials ? ', fanned out' : ''}`,
      );
    } else if (cp.dataset.sha256 !== prepared.sha256) {
      throw validationFailed(
        `the dataset ${cp.dataset.uri} changed since the job's checkpoint (sha256 ${cp.dataset.sha256} → ${prepared.sha256})`,
      );
    } else {
      // Merged first: after a fan-out the trials' results are stored apart from the checkpoint.
      cp = await this.merge(cp);
      merged = true;
      await this.beat(
        job,
        { ...job.progress },
        `attempt ${job.attempt}: continuing from the checkpoint (${cp.finished.length} of ${cp.planned} trials done)`,
      );
    }
    let longest = 0;
    let ran = 0;
    for (;;) {
      if (!merged) cp = await this.merge(cp);
      merged = false;
      const rung = cp.rungs[cp.rungs.length - 1] as Rung;
      const pending = this.pending(cp, rung);
      if (pending.length > 0 && cp.stoppedBy === null) {
        if (this.trials) {
          const attempt = job.attempt ?? 1;
          await this.trials.send(
            pending.map((index) => ({ jobId: job.id, rung: cp!.rungs.length - 1, index, attempt })),
          );
          await this.beat(
            job,
            { ...job.progress, message: `${pending.length} trials sent`, trials: cp.planned },
            `rung ${cp.rungs.length - 1}: ${pending.length} trial messages sent`,
          );
          return this.deps.store.get(job.id);
        }
        const index = pending[0] as number;
        // At least one trial per invocation, so a budget smaller than the reserve still progresses.
        if (ran > 0 && budget.remainingMs() < Math.max(this.reserveMs, 2 * longest))
          return this.continueLater(job, cp);
        const t0 = performance.now();
        const record = await this.runTrial(job, cp, prepared, cp.rungs.length - 1, index);
        longest = Math.max(longest, performance.now() - t0);
        ran++;
        await this.results.put(job.id, record);
        continue;
      }
      const next = this.nextRung(cp);
      if (next) {
        cp = { ...cp, rungs: [...cp.rungs, next] };
        await this.checkpoints.write(cp);
        continue;
      }
      break;
    }
    await this.beat(job, { ...job.progress, fraction: 0.8, trial: cp.finished.length, trials: cp.planned });
    if (!cp.best || cp.best.score === null) {
      throw new Error(`every trial failed: ${cp.finished.map((t) => t.error).join('; ')}`);
    }
    if (ran > 0 && budget.remainingMs() < Math.max(this.reserveMs, 2 * longest))
      return this.continueLater(job, cp);
    return this.service.conclude(job, prepared, {
      strategy: cp.strategy,
      space: cp.space,
      trials: [...cp.finished].sort((a, b) => a.id - b.id),
      best: cp.best as TrialRecord & { params: Params; score: number },
      stoppedBy: cp.stoppedBy ?? 'completed',
    });
  }

  private async continueLater(job: RetrainJob, cp: Checkpoint): Promise<RetrainJob | undefined> {
    await this.checkpoints.write(cp);
    const next = (job.attempt ?? 1) + 1;
    await this.beat(
      job,
      { ...job.progress, trials: cp.planned },
      `time limit near: checkpointed ${cp.finished.length} of ${cp.planned} trials; continuing as attempt ${next}`,
    );
    await this.deps.queue.send({ jobId: job.id, attempt: next });
    return this.deps.store.get(job.id);
  }

  /** The checkpoint with every stored result folded in, the budgets applied, the best updated. */
  private async merge(cp: Checkpoint): Promise<Checkpoint> {
    const stored = await this.results.list(cp.jobId);
    const byId = new Map(cp.finished.map((t) => [t.id, t]));
    for (const r of stored) byId.set(r.id, r);
    const finished = [...byId.values()].sort((a, b) => a.id - b.id);
    // Halving's best is the best of the highest rung that produced one, as in search.ts.
    let best: TrialRecord | null = null;
    for (const t of finished) {
      if (t.status !== 'ok' || t.score === null) continue;
      if (
        !best ||
        (t.rung ?? 0) > (best.rung ?? 0) ||
        ((t.rung ?? 0) === (best.rung ?? 0) && t.score > (best.score as number))
      )
        best = t;
    }
    let stoppedBy = cp.stoppedBy;
    if (stoppedBy === null && cp.timeBudgetMs !== null) {
      if (this.deps.clock.now().getTime() - cp.startedAt >= cp.timeBudgetMs) stoppedBy = 'maxTime';
    }
    const next = { ...cp, finished, best, stoppedBy };
    if (finished.length !== cp.finished.length || stoppedBy !== cp.stoppedBy)
      await this.checkpoints.write(next);
    return next;
  }

  /** Indices of the rung's trials without a result, within the trial budget. */
  private pending(cp: Checkpoint, rung: Rung): number[] {
    const done = new Set(cp.finished.map((t) => t.id));
    const out: number[] = [];
    rung.plan.forEach((_, i) => {
      const id = rung.firstId + i;
      if (!done.has(id) && (cp.maxTrials === null || id < cp.maxTrials)) out.push(i);
    });
    return out;
  }

  private nextRung(cp: Checkpoint): Rung | undefined {
    if (cp.strategy !== 'halving' || cp.stoppedBy !== null) return undefined;
    const r = cp.rungs.length;
    if (r >= cp.rungCount) return undefined;
    const last = cp.rungs[r - 1] as Rung;
    const ok = cp.finished
      .filter((t) => t.rung === r - 1 && t.status === 'ok' && t.score !== null)
      .sort((a, b) => (b.score as number) - (a.score as number) || a.id - b.id);
    const keep = ok.slice(0, Math.ceil(ok.length / cp.factor)).map((t) => t.params);
    if (keep.length === 0) return undefined;
    const resource = Math.max(1, Math.round(cp.fullResource / cp.factor ** (cp.rungCount - 1 - r)));
    return { resource, plan: keep, firstId: last.firstId + last.plan.length };
  }

  /** The search plan: rung 0's candidates and, for halving, the row budgets. */
  private plan(job: RetrainJob, p: Prepared): Checkpoint {
    const trainer = TRAINER_IMPLS[p.trainer];
    const space = jobSpace(trainer, job.search.space, job.search.l2);
    const strategy = job.search.strategy ?? 'grid';
    const maxTrials = job.search.trials ?? job.search.maxTrials ?? null;
    const factor = job.search.factor ?? 3;
    // Rows a fold trains on: halving's full resource.
    const full = Math.floor((p.tx.length * (p.folds - 1)) / p.folds);
    let rungs: Rung[];
    let rungCount = 1;
    let planned: number;
    if (strategy === 'halving') {
      // Up to three rungs, fewer when a smaller first rung would train on too few rows.
      const fit = Math.floor(Math.log(full / MIN_HALVING_ROWS) / Math.log(factor) + 1e-9) + 1;
      rungCount = Math.max(1, Math.min(MAX_HALVING_RUNGS, fit));
      const count = Math.min(factor ** (rungCount - 1), maxTrials ?? Number.POSITIVE_INFINITY);
      const first = Math.max(1, Math.round(full / factor ** (rungCount - 1)));
      rungs = [{ resource: first, plan: randomCandidates(space, Math.ceil(count), p.seed), firstId: 0 }];
      planned = 0;
      for (let r = 0, n = Math.ceil(count); r < rungCount && n > 0; r++, n = Math.ceil(n / factor))
        planned += n;
    } else {
      const plan =
        strategy === 'grid' ? gridCandidates(space) : randomCandidates(space, maxTrials ?? 10, p.seed);
      rungs = [{ resource: null, plan, firstId: 0 }];
      planned = plan.length;
    }
    if (maxTrials !== null) planned = Math.min(planned, maxTrials);
    return {
      version: 1,
      jobId: job.id,
      parentVersion: p.parentVersion,
      trainer: p.trainer,
      dataset: { uri: p.uri, sha256: p.sha256, rows: p.rows },
      split: { seed: p.seed, train: p.tx.length, holdout: p.hx.length },
      strategy,
      space,
      factor,
      rungCount,
      fullResource: full,
      maxTrials,
      timeBudgetMs: job.search.timeBudgetMs ?? null,
      startedAt: this.deps.clock.now().getTime(),
      rungs,
      finished: [],
      best: null,
      stoppedBy: null,
      planned,
    };
  }

  /**
   * k-fold CV of one candidate on the training rows, stratified for a classifier (halving: on a
   * prefix of each fold's rows).
   */
  private async runTrial(
    job: RetrainJob,
    cp: Checkpoint,
    p: Prepared,
    rungIndex: number,
    index: number,
  ): Promise<TrialRecord> {
    const rung = cp.rungs[rungIndex] as Rung;
    const params = rung.plan[index] as Params;
    const id = rung.firstId + index;
    const done = cp.finished.length;
    await this.beat(
      job,
      {
        fraction: 0.1 + (0.7 * done) / Math.max(1, cp.planned),
        message: `trial ${done + 1} of ${cp.planned}`,
        trial: done + 1,
        trials: cp.planned,
      },
      `trial ${id + 1}/${cp.planned}: ${JSON.stringify(params)}${rung.resource !== null ? ` on ${rung.resource} rows` : ''}`,
    );
    return this.evaluate(cp, p, rungIndex, index);
  }

  private async evaluate(
    cp: Checkpoint,
    p: Prepared,
    rungIndex: number,
    index: number,
  ): Promise<TrialRecord> {
    const rung = cp.rungs[rungIndex] as Rung;
    const params = rung.plan[index] as Params;
    const trainer = TRAINER_IMPLS[p.trainer];
    const k = p.classes.length;
    const start = performance.now();
    const base = {
      id: rung.firstId + index,
      rung: cp.strategy === 'halving' ? rungIndex : null,
      index,
      params,
      resource: rung.resource,
    };
    try {
      const regression = p.task === 'regression';
      const cv = await crossValidate(p.ty, {
        k: p.folds,
        seed: p.seed,
        // Regression: plain k-fold over the shuffled rows (there are no classes to stratify by).
        task: p.task,
        fit: (rows) => {
          const use = rung.resource === null ? rows : rows.slice(0, rung.resource);
          return trainer.fit(pick(p.tx, use), pick(p.ty, use), params, k, p.seed);
        },
        evaluate: (m, rows): Record<string, number> => {
          const x = pick(p.tx, rows);
          const y = pick(p.ty, rows);
          if (m.task === 'regression') return { rmse: regressionMetrics(y, m.predict(x)).rmse };
          const pr = m.proba(x);
          const predicted = pr.map(argmax);
          return {
            accuracy: classificationMetrics({ actual: y, predicted, classes: k, probabilities: pr }).accuracy,
          };
        },
      });
      // The search maximises: a regressor's score is the negative RMSE (sklearn's
      // neg_root_mean_squared_error), in the label's units like the champion comparison.
      const score = regression ? -(cv.mean.rmse as number) : (cv.mean.accuracy as number);
      if (!Number.isFinite(score)) throw new Error(`the trial's score is not finite (${score})`);
      return {
        ...base,
        status: 'ok',
        score,
        std: Number((regression ? cv.std.rmse : cv.std.accuracy) ?? 0),
        durationMs: performance.now() - start,
        error: null,
      };
    } catch (err) {
      return {
        ...base,
        status: 'failed',
        score: null,
        std: null,
        durationMs: performance.now() - start,
        error: (err as Error).message || 'the trial failed',
      };
    }
  }

  /**
   * A fanned-out trial: runs it, stores its result once, and when the rung is complete sends
   * the continuation that gathers it.
   */
  async trial(message: TrialMessage): Promise<void> {
    const job = await this.deps.store.get(message.jobId);
    if (job?.state !== 'running') return;
    if (job.cancelRequested) {
      await this.stopCancelled(job.id);
      return;
    }
    const cp = await this.checkpoints.read(job.id);
    const rung = cp?.rungs[message.rung];
    if (!cp || !rung || message.index >= rung.plan.length) return;
    const id = rung.firstId + message.index;
    const before = await this.results.list(job.id);
    if (!before.some((t) => t.id === id)) {
      const prepared = await this.service.prepare(job, {
        parentVersion: cp.parentVersion,
        datasetUri: cp.dataset.uri,
      });
      if (prepared.sha256 !== cp.dataset.sha256) return;
      const record = await this.evaluate(cp, prepared, message.rung, message.index);
      // Another delivery stored it first: that one reported it. It may still leave the gather to
      // this one: a delivery from before a resume names an attempt the resume claimed, and its
      // gather starts nothing. So this one looks whether the rung is complete all the same.
      if (await this.results.put(job.id, record)) {
        const cancelled = await this.reportTrial(job.id, cp, before.length + 1, id, record);
        if (cancelled) {
          await this.stopCancelled(job.id);
          return;
        }
      }
    } else if (cp.rungs.length !== message.rung + 1) {
      // A redelivery after its rung was gathered: nothing left to do.
      return;
    }
    // Also on a redelivery whose first delivery stored the result but died before this point.
    const all = await this.results.list(job.id);
    const ofRung = all.filter((t) => t.id >= rung.firstId && t.id < rung.firstId + rung.plan.length);
    const expected = rung.plan.filter(
      (_, i) => cp.maxTrials === null || rung.firstId + i < cp.maxTrials,
    ).length;
    if (ofRung.length >= expected) {
      // Named by the fan-out's attempt, not by the job's attempt as this trial reads it: a trial
      // that finishes with another just after that one's gather was claimed would read the
      // claimed attempt and send a second gather, which fanned out the next rung again.
      const attempt = message.attempt ?? (await this.deps.store.get(job.id))?.attempt ?? 1;
      await this.deps.queue.send({ jobId: job.id, attempt: attempt + 1 });
    }
  }

  /** A stored trial's progress line; true when the job was cancelled meanwhile. */
  private reportTrial(
    jobId: string,
    cp: Checkpoint,
    done: number,
    id: number,
    record: TrialRecord,
  ): Promise<boolean> {
    return (
      this.service
        .progress(
          jobId,
          {
            fraction: 0.1 + (0.7 * done) / Math.max(1, cp.planned),
            message: `trial ${done} of ${cp.planned}`,
            trial: done,
            trials: cp.planned,
          },
          `trial ${id + 1}/${cp.planned} ${record.status}: ${JSON.stringify(record.params)} score ${record.score ?? record.error}`,
        )
        // Progress is best effort under many concurrent trials; the result is what counts.
        .then(
          () => false,
          (err: unknown) => err instanceof Cancelled,
        )
    );
  }

  /** Resumes a silent running job from its checkpoint, or fails it when it has none. */
  private async recover(job: RetrainJob): Promise<'resumed' | 'failed' | 'fresh'> {
    const cp = await this.checkpoints.read(job.id);
    const since = job.heartbeatAt ?? job.updatedAt;
    if (!cp && !job.training) {
      await this.failIfRunning(
        job.id,
        `the worker stopped (no progress since ${since}) before its first checkpoint; request a new retrain`,
      );
      return 'failed';
    }
    // A fanned-out rung's results are in the results store until a continuation merges them.
    const done = cp
      ? new Set([...cp.finished, ...(await this.results.list(job.id))].map((t) => t.id)).size
      : 0;
    let sent: number | undefined;
    await this.service.update(
      job.id,
      (j) => {
        if (j.state !== 'running' || !this.stale(j)) return j;
        sent = (j.attempt ?? 1) + 1;
        // A fresh heartbeat keeps the next sweep from resuming it a second time meanwhile.
        return { ...j, heartbeatAt: this.service.now() };
      },
      cp
        ? `the worker stopped (no progress since ${since}); resuming from the checkpoint (${done} of ${cp.planned} trials done)`
        : `the worker stopped (no progress since ${since}); following SageMaker training job ${job.training?.trainingJobName} again`,
    );
    if (sent === undefined) return 'fresh';
    await this.deps.queue.send({ jobId: job.id, attempt: sent });
    return 'resumed';
  }

  async sweep(): Promise<SweepResult> {
    const out: SweepResult = { resumed: [], failed: [] };
    let cursor: string | undefined;
    do {
      const page = await this.deps.store.list({
        state: 'running',
        limit: 100,
        ...(cursor ? { cursor } : {}),
      });
      for (const job of page.items) {
        if (!this.stale(job)) continue;
        const r = await this.recover(job);
        if (r === 'resumed') out.resumed.push(job.id);
        if (r === 'failed') out.failed.push(job.id);
      }
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }
}

function pick<T>(values: readonly T[], rows: readonly number[]): T[] {
  return rows.map((i) => values[i] as T);
}

function argmax(p: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if ((p[i] as number) > (p[best] as number)) best = i;
  return best;
}
