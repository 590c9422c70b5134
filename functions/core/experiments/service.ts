/**
 * Experiments over registered versions: create, start, pause, conclude (promoting the winner under
 * the registry's rules), assignment, outcome events, results, and the scheduled analysis that
 * keeps results snapshots and drives canaries (advance a step, roll back, promote).
 */
import type { Principal } from '../auth/principal.js';
import { SYSTEM_PRINCIPAL } from '../auth/principal.js';
import { type AuditEvent, auditEvent } from '../kernel/audit.js';
import type { Clock, IdGenerator } from '../kernel/clock.js';
import {
  conflict,
  isConcurrentModification,
  isDomainError,
  notFound,
  validationFailed,
} from '../kernel/errors.js';
import type { Page } from '../kernel/paging.js';
import { type Allocation, assign, bucketOf, initialAllocation, reallocate } from './assignment.js';
import {
  type CanaryConfig,
  type CreateExperiment,
  controlOf,
  type Experiment,
  type ExperimentOutcome,
  metricKind,
  outcomeMetrics,
  type Variant,
} from './definition.js';
import type { ExperimentEventType } from './events.js';
import type {
  ExperimentNotices,
  ExperimentQuery,
  ExperimentRegistry,
  ExperimentStore,
  ObservationGroup,
  ResultsSnapshot,
  RunningLock,
} from './ports.js';
import { analyze, type Results } from './results.js';

/** The analysis worker's principal: it advances, rolls back and promotes canaries. */
export const ANALYSIS_PRINCIPAL: Principal = {
  ...SYSTEM_PRINCIPAL,
  id: 'system:experiments',
  name: 'experiments',
};

/** Outcome events per request (POST /v1/experiments/{id}/events). */
export const MAX_EVENTS_PER_REQUEST = 500;

export interface OutcomeEvent {
  readonly eventId: string;
  readonly subject: string;
  readonly metric: string;
  readonly value: number;
}

export interface ExperimentDeps {
  readonly store: ExperimentStore;
  readonly registry: ExperimentRegistry;
  readonly notices?: ExperimentNotices;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly log?: { warn(message: string, extra?: Record<string, unknown>): void };
}

const MAX_ATTEMPTS = 5;

export class ExperimentService {
  constructor(private readonly deps: ExperimentDeps) {}

  // ---- definition and state --------------------------------------------------------------

  async create(principal: Principal, body: CreateExperiment): Promise<Experiment> {
    const model = await this.deps.registry.getModel(body.model);
    if (!model) throw notFound(`model ${body.model} does not exist`, { model: body.model });
    const variants = resolveVariants(body, model.productionVersion);
    for (const v of variants) await this.assertVariantVersion(body.model, v);
    const weights = initialWeights(body, variants);
    const now = this.now();
    const id = this.deps.ids.next();
    const experiment: Experiment = {
      id,
      name: body.name,
      description: body.description,
      model: body.model,
      kind: body.kind,
      state: 'draft',
      variants,
      metric: body.metric,
      guardrails: body.guardrails,
      minSamples: body.minSamples,
      maxSamples: body.maxSamples ?? 10 * body.minSamples,
      alpha: body.alpha,
      adjustment: body.adjustment,
      ...(body.tau2 !== undefined ? { tau2: body.tau2 } : {}),
      ...(body.kind === 'canary' ? { canary: canaryConfig(body) } : {}),
      seed: id,
      allocation: initialAllocation(weights),
      epoch: 0,
      sequential: {},
      createdAt: now,
      createdBy: principal.id,
      updatedAt: now,
      revision: 1,
    };
    if (experiment.maxSamples < experiment.minSamples) {
      throw validationFailed('maxSamples must be at least minSamples', {
        minSamples: experiment.minSamples,
        maxSamples: experiment.maxSamples,
      });
    }
    await this.deps.store.create(
      experiment,
      this.audit(principal, 'experiment.created', experiment, { after: summary(experiment) }),
    );
    return experiment;
  }

  async get(id: string): Promise<Experiment> {
    const e = await this.deps.store.get(id);
    if (!e) throw notFound(`experiment ${id} does not exist`, { experimentId: id });
    return e;
  }

  list(query: ExperimentQuery): Promise<Page<Experiment>> {
    return this.deps.store.list(query);
  }

  /** draft or paused → running: takes the model's running slot (one running experiment per model). */
  async start(principal: Principal, id: string, comment = ''): Promise<Experiment> {
    return this.change(principal, id, 'experiment.started', comment, 'acquire', async (e) => {
      if (e.state !== 'draft' && e.state !== 'paused') {
        throw conflict(`experiment ${id} is ${e.state}; only a draft or paused experiment starts`, {
          state: e.state,
        });
      }
      for (const v of e.variants) await this.assertVariantVersion(e.model, v);
      if (e.kind !== 'ab') {
        const model = await this.deps.registry.getModel(e.model);
        const control = controlOf(e);
        if (model?.productionVersion !== control.version) {
          throw conflict(
            `a ${e.kind}'s control must be the production version (${model?.productionVersion ?? 'none'}), not ${control.version}`,
            { production: model?.productionVersion ?? null, control: control.version },
          );
        }
      }
      const now = this.now();
      return {
        ...e,
        state: 'running',
        startedAt: e.startedAt ?? now,
        // A resumed canary bakes its step again from now: paused time is not bake time.
        ...(e.kind === 'canary'
          ? { canaryProgress: { ...(e.canaryProgress ?? { step: 0 }), stepStartedAt: now } }
          : {}),
      };
    });
  }

  /** running → paused: serving goes back to production; the slot is free again. */
  async pause(principal: Principal, id: string, comment = ''): Promise<Experiment> {
    return this.change(principal, id, 'experiment.paused', comment, 'release', async (e) => {
      if (e.state !== 'running')
        throw conflict(`experiment ${id} is ${e.state}; only a running experiment pauses`, {
          state: e.state,
        });
      return { ...e, state: 'paused' };
    });
  }

  /**
   * running or paused → concluded. With `promote`, the winner (from the results, or `variant`)
   * is promoted to production first, through the registry's rules: when the registry refuses
   * (no approval, validation gate), nothing changes and its error is the answer.
   */
  async conclude(
    principal: Principal,
    id: string,
    options: { promote?: boolean; variant?: string; comment?: string } = {},
  ): Promise<{ experiment: Experiment; results: Results }> {
    const e = await this.get(id);
    if (e.state !== 'running' && e.state !== 'paused') {
      throw conflict(`experiment ${id} is ${e.state}; only a running or paused experiment concludes`, {
        state: e.state,
      });
    }
    const results = analyze(e, await this.deps.store.aggregates(id), this.deps.clock.now());
    const chosen = options.variant ?? results.winner;
    if (options.variant !== undefined && !e.variants.some((v) => v.name === options.variant)) {
      throw validationFailed(`experiment ${id} has no variant ${options.variant}`, {
        variants: e.variants.map((v) => v.name),
      });
    }
    let promotedVersion: string | undefined;
    if (options.promote) {
      if (chosen === undefined) {
        throw conflict(
          `there is no winner to promote (${results.decision}: ${results.reason}); name a variant`,
          {
            decision: results.decision,
          },
        );
      }
      const v = e.variants.find((x) => x.name === chosen)!;
      const model = await this.deps.registry.getModel(e.model);
      if (model?.productionVersion !== v.version) {
        await this.deps.registry.promote(
          principal,
          e.model,
          v.version,
          `experiment ${e.id} (${e.name}) concluded: ${chosen} won`,
        );
        promotedVersion = v.version;
      }
    }
    const outcome: ExperimentOutcome = {
      result:
        options.variant !== undefined
          ? 'winner'
          : results.decision === 'winner'
            ? 'winner'
            : results.decision === 'no_difference'
              ? 'no_difference'
              : 'stopped',
      ...(chosen !== undefined ? { variant: chosen } : {}),
      ...(promotedVersion !== undefined ? { promotedVersion } : {}),
      reason:
        options.variant !== undefined
          ? `concluded with ${options.variant} chosen by ${principal.name}`
          : results.reason,
      by: principal.id,
      at: this.now(),
    };
    const experiment = await this.change(
      principal,
      id,
      'experiment.concluded',
      options.comment ?? '',
      e.state === 'running' ? 'release' : undefined,
      async (cur) => {
        if (cur.state !== 'running' && cur.state !== 'paused') {
          throw conflict(`experiment ${id} is ${cur.state}`, { state: cur.state });
        }
        return {
          ...cur,
          state: 'concluded',
          concludedAt: outcome.at,
          outcome,
          sequential: results.sequential,
        };
      },
    );
    await this.notify('experiment.concluded', experiment);
    return { experiment, results: { ...results, state: 'concluded' } };
  }

  /**
   * New weights for a running or paused A/B experiment, moving as few subjects as possible
   * (assignment.ts reallocate). Starts a new SRM epoch.
   */
  async setWeights(
    principal: Principal,
    id: string,
    weights: readonly { name: string; weight: number }[],
    comment = '',
  ): Promise<Experiment> {
    return this.change(principal, id, 'experiment.weights_changed', comment, undefined, async (e) => {
      if (e.kind !== 'ab')
        throw conflict(`a ${e.kind} experiment's weights are not set by hand`, { kind: e.kind });
      if (e.state === 'concluded') throw conflict(`experiment ${id} is concluded`, { state: e.state });
      const names = new Set(e.variants.map((v) => v.name));
      const unknown = weights.filter((w) => !names.has(w.name)).map((w) => w.name);
      if (unknown.length > 0) throw validationFailed('unknown variants', { unknown, variants: [...names] });
      return { ...e, allocation: reallocate(e.allocation, weights), epoch: e.epoch + 1 };
    });
  }

  // ---- assignment and outcomes ----------------------------------------------------------

  /** The subject's variant, computed as serving computes it; nothing is recorded. */
  async assignment(id: string, subject: string) {
    const e = await this.get(id);
    const bucket = bucketOf(e.seed, subject);
    const name = assign(e.allocation, e.seed, subject);
    const variant = e.variants.find((v) => v.name === name)!;
    return {
      experimentId: e.id,
      subject,
      state: e.state,
      bucket,
      variant: variant.name,
      version: variant.version,
      // Only a running experiment routes predictions; otherwise production answers.
      servedBy: e.state === 'running' ? variant.version : null,
    };
  }

  /**
   * Counts outcome events into the subject's variant. A replayed eventId is not counted again;
   * the whole request is checked before anything is written.
   */
  async recordEvents(
    id: string,
    events: readonly OutcomeEvent[],
  ): Promise<{ accepted: number; duplicates: number }> {
    const e = await this.get(id);
    if (e.state === 'draft' || e.state === 'concluded') {
      throw conflict(`experiment ${id} is ${e.state}; outcome events are taken while it runs or is paused`, {
        state: e.state,
      });
    }
    if (events.length > MAX_EVENTS_PER_REQUEST) {
      throw validationFailed(`at most ${MAX_EVENTS_PER_REQUEST} events per request`, {
        events: events.length,
      });
    }
    const allowed = outcomeMetrics(e).map((m) => m.name);
    const groups: ObservationGroup[] = [];
    const seen = new Set<string>();
    events.forEach((ev, i) => {
      if (!allowed.includes(ev.metric)) {
        throw validationFailed(
          `events[${i}].metric ${ev.metric} is not an outcome metric of this experiment`,
          {
            index: i,
            metrics: allowed,
          },
        );
      }
      if (metricKind(e, ev.metric) === 'binary' && ev.value !== 0 && ev.value !== 1) {
        throw validationFailed(`events[${i}].value must be 0 or 1: ${ev.metric} is a binary metric`, {
          index: i,
        });
      }
      if (seen.has(ev.eventId)) return;
      seen.add(ev.eventId);
      groups.push({
        key: `evt:${ev.eventId}`,
        contributions: [
          { variant: assign(e.allocation, e.seed, ev.subject), metric: ev.metric, value: ev.value },
        ],
      });
    });
    const r = await this.deps.store.observe(id, groups);
    return { accepted: r.accepted, duplicates: r.duplicates + (events.length - groups.length) };
  }

  // ---- results and analysis -------------------------------------------------------------

  async results(id: string): Promise<Results> {
    const e = await this.get(id);
    return analyze(e, await this.deps.store.aggregates(id), this.deps.clock.now());
  }

  /** Results kept by the analysis runs, oldest first (charts of results over time). */
  async history(id: string, page: { limit: number; cursor?: string }): Promise<Page<ResultsSnapshot>> {
    await this.get(id);
    return this.deps.store.listSnapshots(id, page);
  }

  /**
   * One scheduled analysis of a running experiment: a results snapshot, the running minima of
   * the always-valid p-values, and for a canary the step logic (canaryAction).
   */
  async analyzeRun(id: string): Promise<{ results: Results; action: CanaryAction['action'] | 'none' }> {
    const e = await this.get(id);
    const now = this.deps.clock.now();
    const results = analyze(e, await this.deps.store.aggregates(id), now);
    // A message that arrives after the experiment concluded: its results are final, and a
    // snapshot taken now would add a point after the end to the results over time.
    if (e.state === 'concluded') return { results, action: 'none' };
    await this.deps.store.putSnapshot({
      experimentId: id,
      at: results.computedAt,
      results: results as unknown as Record<string, unknown>,
    });
    if (e.state !== 'running') return { results, action: 'none' };
    const action =
      e.kind === 'canary' ? canaryAction(e, results, now) : { action: 'wait' as const, reason: '' };
    switch (action.action) {
      case 'rollback':
        await this.rollback(e, results, action.reason);
        break;
      case 'advance':
        await this.advance(e, results, action.step);
        break;
      case 'promote':
        await this.promoteCanary(e, results);
        break;
      default:
        await this.savePMin(e, results);
    }
    return { results, action: action.action };
  }

  private async rollback(e: Experiment, results: Results, reason: string): Promise<void> {
    const control = controlOf(e);
    const canary = e.variants.find((v) => !v.control)!;
    const outcome: ExperimentOutcome = {
      result: 'rolled_back',
      variant: canary.name,
      reason: `rolled back: ${reason}`,
      by: ANALYSIS_PRINCIPAL.id,
      at: this.now(),
    };
    const after = await this.change(
      ANALYSIS_PRINCIPAL,
      e.id,
      'experiment.rolled_back',
      reason,
      'release',
      async (cur) => ({
        ...cur,
        state: 'concluded',
        allocation: reallocate(cur.allocation, [
          { name: control.name, weight: 100 },
          { name: canary.name, weight: 0 },
        ]),
        epoch: cur.epoch + 1,
        concludedAt: outcome.at,
        outcome,
        sequential: results.sequential,
      }),
    );
    await this.safely(() =>
      this.deps.notices?.alert({
        model: e.model,
        experimentId: e.id,
        severity: 'high',
        title: `canary ${canary.version} of ${e.model} rolled back`,
        message: outcome.reason,
        details: {
          experimentId: e.id,
          variant: canary.name,
          version: canary.version,
          guardrails: results.guardrails.filter((g) => g.failed),
        },
      }),
    );
    await this.notify('experiment.rolled_back', after, { reason: outcome.reason });
  }

  private async advance(e: Experiment, results: Results, step: number): Promise<void> {
    const control = controlOf(e);
    const canary = e.variants.find((v) => !v.control)!;
    const weight = e.canary!.steps[step]!;
    const after = await this.change(
      ANALYSIS_PRINCIPAL,
      e.id,
      'experiment.advanced',
      `canary to ${weight} %`,
      undefined,
      async (cur) => ({
        ...cur,
        allocation: reallocate(cur.allocation, [
          { name: control.name, weight: 100 - weight },
          { name: canary.name, weight },
        ]),
        epoch: cur.epoch + 1,
        canaryProgress: { step, stepStartedAt: this.now() },
        sequential: results.sequential,
      }),
    );
    await this.notify('experiment.advanced', after, { weight });
  }

  private async promoteCanary(e: Experiment, results: Results): Promise<void> {
    const canary = e.variants.find((v) => !v.control)!;
    if (!e.canary!.promote) {
      await this.finishCanary(
        e,
        results,
        'winner',
        undefined,
        'the last step baked with every guardrail holding; promotion is left to a person (canary.promote is false)',
      );
      return;
    }
    try {
      await this.deps.registry.promote(
        ANALYSIS_PRINCIPAL,
        e.model,
        canary.version,
        `canary experiment ${e.id} completed its ramp`,
      );
    } catch (err) {
      if (!isDomainError(err)) throw err;
      // Approval missing or another rule: stay at 100 % and try again at the next analysis.
      const waitingFor = `promotion of ${canary.version} refused by the registry: ${err.message}`;
      if (e.canaryProgress?.waitingFor !== waitingFor) {
        await this.change(
          ANALYSIS_PRINCIPAL,
          e.id,
          'experiment.promotion_waiting',
          waitingFor,
          undefined,
          async (cur) => ({
            ...cur,
            canaryProgress: { ...cur.canaryProgress!, waitingFor },
            sequential: results.sequential,
          }),
        );
      }
      return;
    }
    await this.finishCanary(
      e,
      results,
      'promoted',
      canary.version,
      `the canary completed its ramp with every guardrail holding and ${canary.version} was promoted to production`,
    );
  }

  private async finishCanary(
    e: Experiment,
    results: Results,
    result: 'promoted' | 'winner',
    promotedVersion: string | undefined,
    reason: string,
  ): Promise<void> {
    const canary = e.variants.find((v) => !v.control)!;
    const outcome: ExperimentOutcome = {
      result,
      variant: canary.name,
      ...(promotedVersion ? { promotedVersion } : {}),
      reason,
      by: ANALYSIS_PRINCIPAL.id,
      at: this.now(),
    };
    const after = await this.change(
      ANALYSIS_PRINCIPAL,
      e.id,
      'experiment.concluded',
      reason,
      'release',
      async (cur) => ({
        ...cur,
        state: 'concluded',
        concludedAt: outcome.at,
        outcome,
        sequential: results.sequential,
      }),
    );
    await this.notify('experiment.concluded', after);
  }

  private async savePMin(e: Experiment, results: Results): Promise<void> {
    const changed = Object.entries(results.sequential).some(([k, p]) => e.sequential[k] !== p);
    if (!changed) return;
    try {
      await this.deps.store.update(
        { ...e, sequential: results.sequential, revision: e.revision + 1 },
        e.revision,
      );
    } catch (err) {
      // A person changed the experiment meanwhile: the next run keeps the minima.
      if (!isConcurrentModification(err)) throw err;
    }
  }

  // ---- helpers --------------------------------------------------------------------------

  /** Read-modify-write under the revision, retried on races; `change` sees the fresh record. */
  private async change(
    principal: Principal,
    id: string,
    action: string,
    comment: string,
    lock: RunningLock | undefined,
    change: (e: Experiment) => Promise<Experiment>,
  ): Promise<Experiment> {
    for (let attempt = 1; ; attempt++) {
      const before = await this.get(id);
      const changed = await change(before);
      const after: Experiment = { ...changed, updatedAt: this.now(), revision: before.revision + 1 };
      try {
        await this.deps.store.update(after, before.revision, {
          audit: this.audit(principal, action, after, {
            before: summary(before),
            after: summary(after),
            comment,
          }),
          ...(lock ? { lock } : {}),
        });
        return after;
      } catch (err) {
        if (!isConcurrentModification(err) || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }

  private async assertVariantVersion(model: string, v: Variant): Promise<void> {
    const found = await this.deps.registry.getVersion(model, v.version);
    if (!found) throw notFound(`model ${model} has no version ${v.version}`, { model, version: v.version });
    if (found.stage === 'archived') {
      throw conflict(`version ${v.version} is archived; variants are live versions`, {
        version: v.version,
        stage: found.stage,
      });
    }
    if (found.status !== 'ready') {
      throw conflict(`version ${v.version} is ${found.status}; variants must be ready to serve`, {
        version: v.version,
        status: found.status,
      });
    }
  }

  private audit(
    principal: Principal,
    action: string,
    e: Experiment,
    extra: { before?: unknown; after?: unknown; comment?: string },
  ): AuditEvent {
    return auditEvent(this.deps, principal, action, `experiment/${e.id}`, { model: e.model, ...extra });
  }

  private async notify(
    type: ExperimentEventType,
    e: Experiment,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    await this.safely(() =>
      this.deps.notices?.event(type, {
        experimentId: e.id,
        name: e.name,
        model: e.model,
        kind: e.kind,
        state: e.state,
        ...(e.outcome ? { outcome: e.outcome } : {}),
        ...extra,
      }),
    );
  }

  /** Notices are best effort: the change they report is already committed. */
  private async safely(f: () => Promise<void> | undefined): Promise<void> {
    try {
      await f();
    } catch (err) {
      this.deps.log?.warn('experiment notice failed', { error: (err as Error).message });
    }
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }
}

// ---- pure parts -------------------------------------------------------------------------

/** Variant names and the control: explicit, else the production version (canary, shadow) or the first (A/B). */
export function resolveVariants(body: CreateExperiment, production: string | undefined): Variant[] {
  const named = body.variants.map((v) => ({
    name: v.name ?? v.version,
    version: v.version,
    control: v.control === true,
  }));
  const names = new Set<string>();
  for (const v of named) {
    if (names.has(v.name)) {
      throw validationFailed(
        `two variants are named ${v.name}; name them (the same version twice is an A/A test)`,
        {
          variant: v.name,
        },
      );
    }
    names.add(v.name);
  }
  const flagged = named.filter((v) => v.control).length;
  if (flagged > 1) throw validationFailed('exactly one variant is the control', { controls: flagged });
  if (body.kind !== 'ab' && named.length !== 2) {
    throw validationFailed(
      `a ${body.kind} experiment has exactly two variants: the control and the ${body.kind}`,
      {
        variants: named.length,
      },
    );
  }
  if (flagged === 1) return named;
  const index = body.kind === 'ab' ? 0 : named.findIndex((v) => v.version === production);
  if (index < 0) {
    throw validationFailed(
      `mark the control variant ("control": true): neither variant is the production version`,
      {
        production: production ?? null,
      },
    );
  }
  return named.map((v, i) => ({ ...v, control: i === index }));
}

function canaryConfig(body: CreateExperiment): CanaryConfig {
  const c = body.canary ?? {
    steps: [5, 25, 50, 100],
    bakeMinutes: 10,
    latencyGuardrail: true,
    promote: true,
  };
  const steps = c.steps;
  if (steps.some((s, i) => i > 0 && s <= steps[i - 1]!) || steps[steps.length - 1] !== 100) {
    throw validationFailed('canary.steps must increase and end at 100', { steps });
  }
  return c;
}

export function initialWeights(
  body: CreateExperiment,
  variants: readonly Variant[],
): { name: string; weight: number }[] {
  // Checked first: an A/B experiment would otherwise store nothing of them and answer 201.
  if (body.canary !== undefined && body.kind !== 'canary') {
    throw validationFailed('canary settings belong to canary experiments', { kind: body.kind });
  }
  if (body.kind === 'ab') {
    const missing = body.variants.filter((v) => v.weight === undefined).length;
    if (missing > 0) throw validationFailed('every variant of an A/B experiment needs a weight', { missing });
    const total = body.variants.reduce((s, v) => s + v.weight!, 0);
    if (total !== 100) throw validationFailed(`weights must sum to 100 (got ${total})`, { total });
    return variants.map((v, i) => ({ name: v.name, weight: body.variants[i]!.weight! }));
  }
  const given = body.variants.filter((v) => v.weight !== undefined);
  if (body.kind === 'shadow') {
    for (let i = 0; i < variants.length; i++) {
      const w = body.variants[i]!.weight;
      const want = variants[i]!.control ? 100 : 0;
      if (w !== undefined && w !== want) {
        throw validationFailed(
          'a shadow run serves the control to everyone (weight 100) and copies requests to the shadow (weight 0)',
          {
            variant: variants[i]!.name,
          },
        );
      }
    }
    return variants.map((v) => ({ name: v.name, weight: v.control ? 100 : 0 }));
  }
  if (given.length > 0)
    throw validationFailed("a canary's weights come from canary.steps; leave weight out", {});
  const first = (body.canary?.steps ?? [5])[0]!;
  return variants.map((v) => ({ name: v.name, weight: v.control ? 100 - first : first }));
}

export type CanaryAction =
  | { readonly action: 'wait'; readonly reason: string }
  | { readonly action: 'rollback'; readonly reason: string }
  | { readonly action: 'advance'; readonly step: number; readonly reason: string }
  | { readonly action: 'promote'; readonly reason: string };

/**
 * What one analysis does with a running canary:
 * - a failed guardrail rolls back at once, whatever the step;
 * - a sample-ratio mismatch holds the ramp (no decision can be trusted);
 * - below minSamples per variant the step waits (low traffic is not a failure);
 * - a step that has baked bakeMinutes with enough samples advances, or at the last step promotes.
 */
export function canaryAction(e: Experiment, results: Results, now: Date): CanaryAction {
  const failed = results.guardrails.find((g) => g.failed);
  if (failed) return { action: 'rollback', reason: `guardrail ${failed.metric} failed: ${failed.reason}` };
  if (!results.srm.ok) return { action: 'wait', reason: results.reason };
  const undecided = results.guardrails.find((g) => !g.decided);
  if (undecided || results.guardrails.length === 0) {
    return { action: 'wait', reason: undecided?.reason ?? 'no guardrail data yet' };
  }
  const progress = e.canaryProgress!;
  const bakedMs = now.getTime() - Date.parse(progress.stepStartedAt);
  const bakeMs = e.canary!.bakeMinutes * 60_000;
  if (bakedMs < bakeMs) {
    return {
      action: 'wait',
      reason: `step ${progress.step + 1} bakes until ${new Date(Date.parse(progress.stepStartedAt) + bakeMs).toISOString()}`,
    };
  }
  if (progress.step + 1 < e.canary!.steps.length) {
    return {
      action: 'advance',
      step: progress.step + 1,
      reason: `step ${progress.step + 1} baked with every guardrail holding`,
    };
  }
  return { action: 'promote', reason: 'the last step baked with every guardrail holding' };
}

function summary(e: Experiment) {
  return {
    state: e.state,
    weights: Object.fromEntries(weightsOf(e.allocation, e.variants)),
    ...(e.outcome ? { outcome: e.outcome.result } : {}),
  };
}

function weightsOf(allocation: Allocation, variants: readonly Variant[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const slot of allocation.slots) {
    const name = allocation.variants[slot]!;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return variants.map((v) => [v.name, counts.get(v.name) ?? 0]);
}
