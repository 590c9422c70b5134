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
  unsupported,
  validationFailed,
} from '../kernel/errors.js';
import type { Page } from '../kernel/paging.js';
import { DEFAULT_POLICY, type RetrainingPolicy } from '../monitoring/policy.js';
import { logisticRegressionOnnx, softmaxRegressionOnnx } from '../onnx/models.js';
import { sha256Hex } from '../registry/records.js';
import type { ModelVersion } from '../registry/types.js';
import { crossValidate } from '../training/cv.js';
import { predictLogistic, trainLogisticRegression } from '../training/logistic.js';
import { classificationMetrics } from '../training/metrics.js';
import { createRng } from '../training/random.js';
import { type ParamSpace, search } from '../training/search.js';
import { predictSoftmax, trainSoftmaxRegression } from '../training/softmax.js';
import { buildTrainingSet, type DatasetPorts } from './dataset.js';
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

const DEFAULT_RETRAINING: RetrainingPolicy = DEFAULT_POLICY.retraining;

export const DEFAULT_L2_GRID = [1e-4, 1e-3, 1e-2, 1e-1, 1] as const;
const DEFAULTS = { seed: 0, holdoutFraction: 0.2, folds: 5 } as const;

export interface RetrainDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly registry: RetrainRegistry;
  readonly rows: RowSource;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly policy?: Partial<RetrainPolicy>;
  /** The model's retraining policy (margin, promotion); absent: defaults, the candidate stays in staging. */
  readonly retrainingPolicy?: (model: string) => Promise<RetrainingPolicy | undefined>;
  /** Captured labelled rows in, training rows and manifest out; absent: the parent's dataset alone. */
  readonly dataset?: DatasetPorts;
  /** What promotion under the policy needs; absent: the candidate stays in staging. */
  readonly promotion?: PromotionPorts;
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

/** Thrown between trials once a cancel was requested (search records it as the trial's error). */
class Cancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

export class RetrainService {
  private readonly policy: RetrainPolicy;

  constructor(private readonly deps: RetrainDeps) {
    this.policy = { ...DEFAULT_RETRAIN_POLICY, ...deps.policy };
  }

  private now(): string {
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
    await this.deps.registry.getModel(model);
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
  private async update(
    id: string,
    change: (j: RetrainJob) => RetrainJob,
    logLine?: string,
  ): Promise<RetrainJob> {
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
   * The worker's entry: runs a queued job to its end. A redelivered message finds the job
   * running or finished and starts nothing; a running job whose worker went silent is failed.
   */
  async run(id: string): Promise<RetrainJob | undefined> {
    const job = await this.deps.store.get(id);
    if (!job) return undefined;
    if (!isActive(job.state)) return job;
    if (job.state === 'running') {
      const beat = Date.parse(job.heartbeatAt ?? job.updatedAt);
      if (this.deps.clock.now().getTime() - beat < this.policy.staleAfterMs) return job;
      return this.finish(job.id, {
        state: 'failed',
        error: `the worker stopped (no progress since ${job.heartbeatAt ?? job.updatedAt}); request a new retrain`,
      });
    }
    let running: RetrainJob;
    try {
      running = await this.saveExactly(job, {
        ...job,
        state: 'running',
        heartbeatAt: this.now(),
        progress: { ...job.progress, message: 'loading the dataset' },
      });
    } catch (err) {
      // Another delivery of the same message started it first.
      if (isConcurrentModification(err)) return this.deps.store.get(id);
      throw err;
    }
    try {
      return await this.train(running);
    } catch (err) {
      if (err instanceof Cancelled) {
        return this.finish(id, { state: 'cancelled', outcome: 'cancelled while running' });
      }
      return this.finish(id, { state: 'failed', error: (err as Error).message });
    }
  }

  /** Writes `next` only if `cur` is still what is stored: the one write that claims a job. */
  private async saveExactly(cur: RetrainJob, next: RetrainJob): Promise<RetrainJob> {
    const now = this.now();
    const saved = {
      ...next,
      log: [...next.log, { at: now, message: `state ${cur.state} → ${next.state}` }].slice(-MAX_LOG_LINES),
      updatedAt: now,
      revision: cur.revision + 1,
    };
    await this.deps.store.save(saved, cur.revision);
    return saved;
  }

  private async finish(
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
  private async progress(id: string, p: RetrainJob['progress'], logLine?: string): Promise<void> {
    const job = await this.update(id, (j) => ({ ...j, progress: p, heartbeatAt: this.now() }), logLine);
    if (job.cancelRequested) throw new Cancelled();
  }

  private async train(job: RetrainJob): Promise<RetrainJob> {
    const { registry } = this.deps;
    const seed = job.params.seed ?? DEFAULTS.seed;
    const holdoutFraction = job.params.holdoutFraction ?? DEFAULTS.holdoutFraction;
    const folds = job.params.folds ?? DEFAULTS.folds;
    const retraining = (await this.deps.retrainingPolicy?.(job.model)) ?? DEFAULT_RETRAINING;
    const margin = job.params.margin ?? retraining.margin;

    const model = await registry.getModel(job.model);
    const parentVersion = model.productionVersion ?? model.latestVersion;
    if (!parentVersion) throw validationFailed(`model ${job.model} has no version to retrain from`);
    const parent = await registry.getVersion(job.model, parentVersion);
    const { features, classes } = signature(parent);
    const parentUri = parent.dataset?.uri;
    const withBaseline = !this.deps.dataset || retraining.dataset.includeBaseline;
    if (withBaseline && !parentUri)
      throw validationFailed(`version ${parentVersion} records no dataset to retrain on`);
    const baseline = withBaseline && parentUri ? await this.load(parentUri, features, classes) : undefined;
    // With a dataset port, the rows trained on are written to S3 with a manifest, and that file is
    // what lineage points at; without one, the parent's file as it is.
    const data = this.deps.dataset
      ? await buildTrainingSet(this.deps.dataset, {
          model: job.model,
          jobId: job.id,
          features,
          classes,
          ...(baseline && parentUri ? { baseline: { uri: parentUri, ...baseline } } : {}),
          windowDays: retraining.dataset.windowDays,
          now: this.deps.clock.now(),
          maxRows: this.policy.maxRows,
        })
      : { ...(baseline as NonNullable<typeof baseline>), uri: parentUri as string };
    const uri = data.uri;
    if (data.x.length < 10)
      throw validationFailed(`the training rows (${uri}) are ${data.x.length}; retraining needs at least 10`);
    const k = classes.length;
    const trainer: TrainerName = job.params.trainer ?? (k === 2 ? 'logistic' : 'softmax');
    if (trainer === 'logistic' && k !== 2)
      throw validationFailed('logistic needs two classes', { field: 'trainer' });
    await this.progress(
      job.id,
      { fraction: 0.05, message: `loaded ${data.x.length} rows`, trial: 0, trials: 0 },
      `dataset ${uri}: ${data.x.length} rows, sha256 ${data.sha256}`,
    );

    // The split: a seeded permutation, so the same rows and seed hold out the same rows.
    const order = createRng(seed).permutation(data.x.length);
    const cut = data.x.length - Math.max(1, Math.round(data.x.length * holdoutFraction));
    const trainIdx = order.slice(0, cut);
    const holdIdx = order.slice(cut);
    const tx = trainIdx.map((i) => data.x[i] as number[]);
    const ty = trainIdx.map((i) => data.y[i] as number);
    const hx = holdIdx.map((i) => data.x[i] as number[]);
    const hy = holdIdx.map((i) => data.y[i] as number);
    if (new Set(ty).size < k) throw validationFailed('the training rows do not hold every class');

    const trainOn = (x: number[][], y: number[], l2: number) =>
      trainer === 'logistic'
        ? { kind: 'logistic' as const, m: trainLogisticRegression(x, y, { l2 }) }
        : { kind: 'softmax' as const, m: trainSoftmaxRegression(x, y, { l2, classes: k }) };
    const proba = (f: ReturnType<typeof trainOn>, x: number[][]): number[][] =>
      f.kind === 'logistic' ? predictLogistic(f.m, x).map((p) => [1 - p, p]) : predictSoftmax(f.m, x);
    const score = (f: ReturnType<typeof trainOn>, x: number[][], y: number[]) => {
      const p = proba(f, x);
      return classificationMetrics({ actual: y, predicted: p.map(argmax), classes: k, probabilities: p });
    };

    const grid = job.search.l2 ?? DEFAULT_L2_GRID;
    const space: ParamSpace = { l2: { type: 'choice', values: [...grid] } };
    const strategy = job.search.strategy ?? 'grid';
    const trials = Math.min(job.search.maxTrials ?? grid.length, grid.length);
    let trial = 0;
    let stopped = false;
    const found = await search({
      strategy,
      space,
      seed,
      maxTrials: trials,
      objective: async (params) => {
        // Once cancelled, the trials search still launches fail at once and write nothing.
        if (stopped) throw new Cancelled();
        trial++;
        await this.progress(
          job.id,
          {
            fraction: 0.1 + (0.7 * (trial - 1)) / trials,
            message: `trial ${trial} of ${trials}`,
            trial,
            trials,
          },
          `trial ${trial}/${trials}: l2 ${params.l2}`,
        ).catch((err: unknown) => {
          if (err instanceof Cancelled) stopped = true;
          throw err;
        });
        const cv = await crossValidate(ty, {
          k: folds,
          seed,
          task: 'classification',
          fit: (rows) => trainOn(pick(tx, rows), pick(ty, rows), Number(params.l2)),
          evaluate: (m, rows) => ({ accuracy: score(m, pick(tx, rows), pick(ty, rows)).accuracy }),
        });
        return { score: cv.mean.accuracy as number, std: cv.std.accuracy as number };
      },
    });
    // A cancel during the last trial is seen here; one during an earlier trial made the rest fail fast.
    if ((await this.get(job.id)).cancelRequested) throw new Cancelled();
    const best = found.best;
    if (!best) throw new Error(`every trial failed: ${found.trials.map((t) => t.error).join('; ')}`);
    const l2 = Number(best.params.l2);

    const final = trainOn(tx, ty, l2);
    const holdout = score(final, hx, hy);
    const labels = classes;
    const onnx =
      final.kind === 'logistic'
        ? logisticRegressionOnnx({
            weights: final.m.weights,
            bias: final.m.bias,
            featureNames: features,
            classes: labels,
          })
        : softmaxRegressionOnnx({
            weights: final.m.weights,
            bias: final.m.bias,
            featureNames: features,
            classes: labels,
          });
    await this.progress(job.id, { fraction: 0.85, message: 'registering the candidate', trial, trials });

    const lineage = {
      parent: parentVersion,
      jobId: job.id,
      trigger: job.trigger,
      // sha256 of the rows as trained on (features and label, canonical CSV), whatever the file's format.
      dataset: { uri, sha256: data.sha256, rows: data.x.length },
      search: {
        strategy,
        space,
        trials: found.trials.map((t) => ({ id: t.id, params: t.params, score: t.score, status: t.status })),
        best: { trial: best.id, params: best.params, score: best.score },
      },
    };
    const cvStd = Number(best.result?.std ?? 0);
    const principal = jobPrincipal(job);
    const candidate = await registry.registerStaging(principal, job.model, {
      artifact: { base64: Buffer.from(onnx).toString('base64') },
      framework: 'onnx',
      runtime: parent.runtime,
      inputSchema: parent.inputSchema,
      outputSchema: parent.outputSchema,
      parent: parentVersion,
      // The registry digests the dataset file itself (verified); lineage keeps the digest of the rows.
      dataset: { uri, rows: data.x.length },
      metrics: {
        cvAccuracyMean: best.score as number,
        cvAccuracyStd: cvStd,
        accuracy: holdout.accuracy,
        f1: holdout.f1,
        ...(holdout.logLoss !== null ? { logLoss: holdout.logLoss } : {}),
      },
      params: { trainer, l2, seed, folds, holdoutFraction, lineage },
      description: `retrained by job ${job.id}: ${job.reason}`,
    });

    // The report and the comparison run the registered artifacts, not the in-memory model, on the
    // same held-out rows: what serving would answer.
    await this.progress(job.id, { fraction: 0.92, message: 'validating on held-out rows', trial, trials });
    const accuracyOf = (answers: readonly (string | number)[]) =>
      answers.filter((a, i) => String(a) === String(labels[hy[i] as number])).length / hy.length;
    const candidateAccuracy = accuracyOf(await registry.predict(principal, job.model, candidate.version, hx));
    let comparison: Record<string, unknown> = {
      production: null,
      note: 'the model has no production version',
    };
    let better = true;
    if (model.productionVersion) {
      const prodAccuracy = accuracyOf(
        await registry.predict(principal, job.model, model.productionVersion, hx),
      );
      better = candidateAccuracy >= prodAccuracy + margin;
      comparison = {
        production: model.productionVersion,
        rows: hy.length,
        metric: 'accuracy',
        candidate: candidateAccuracy,
        champion: prodAccuracy,
        difference: candidateAccuracy - prodAccuracy,
        margin,
        better,
      };
    }
    await registry.recordValidation(principal, job.model, candidate.version, {
      passed: better,
      kind: 'retraining',
      rows: hy.length,
      metrics: {
        accuracy: candidateAccuracy,
        f1: holdout.f1,
        ...(holdout.logLoss !== null ? { logLoss: holdout.logLoss } : {}),
      },
      confusion: holdout.confusion,
      comparison,
    });
    const judged = model.productionVersion
      ? better
        ? `${candidate.version} beats production ${model.productionVersion} by ${fmt(candidateAccuracy - (comparison.champion as number))} accuracy on ${hy.length} held-out rows; in staging`
        : `${candidate.version} is not better than production ${model.productionVersion} by the margin ${margin} (${fmt(candidateAccuracy)} vs ${fmt(comparison.champion as number)}); kept in staging`
      : `${candidate.version} registered in staging (no production version to compare with)`;
    const promotion = this.deps.promotion
      ? await promoteCandidate(this.deps.promotion, retraining, {
          model: job.model,
          jobId: job.id,
          candidate: candidate.version,
          ...(model.productionVersion ? { production: model.productionVersion } : {}),
          better,
          comparison,
          reason: job.reason,
        })
      : undefined;
    const outcome = promotion ? `${judged}; ${promotion.detail}` : judged;
    return this.finish(job.id, {
      state: 'succeeded',
      resultVersion: candidate.version,
      outcome,
      ...(promotion ? { promotion } : {}),
    });
  }

  /** The rows of a dataset as features and class indices, with the SHA-256 of exactly those rows. */
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

function signature(v: ModelVersion): { features: string[]; classes: string[] } {
  const features = v.inputSchema?.features.map((f) => f.name);
  const out = v.outputSchema;
  if (!features || !out) throw validationFailed(`version ${v.version} has no input and output schema`);
  if (out.kind === 'regression' || !out.classes || out.classes.length < 2) {
    throw unsupported('retraining trains classifiers only for now');
  }
  return { features, classes: out.classes.map(String) };
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

function pick<T>(values: readonly T[], rows: readonly number[]): T[] {
  return rows.map((i) => values[i] as T);
}

function argmax(p: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if ((p[i] as number) > (p[best] as number)) best = i;
  return best;
}

const fmt = (v: number) => v.toFixed(4);
