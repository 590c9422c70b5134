/**
 * Automatic retraining triggers (docs/retraining.md, "Triggers"). `decide` is the pure rule: from
 * the model's retraining policy and the facts (stored drift reports, open alerts, labels since
 * the last job, the last job and the slot) it says whether a trigger fires, is suppressed (a
 * condition was met, but the cooldown holds: audited with its reason), or has nothing to say.
 * `RetrainTriggers` gathers those facts where they arise (after a drift check; on the retrain
 * scheduler's tick) and hands a firing trigger to RetrainService.request, whose one-slot-per-
 * model and duplicate rules still apply: a trigger that fires while a job runs is recorded on it.
 */
import type { Principal } from '../auth/principal.js';
import { auditEvent } from '../kernel/audit.js';
import type { Clock, IdGenerator } from '../kernel/clock.js';
import { isDomainError } from '../kernel/errors.js';
import type { RetrainingPolicy } from '../monitoring/policy.js';
import type { AlertRecord, ReportRecord } from '../monitoring/ports.js';
import type { JobStore, RetrainJob } from './jobs.js';
import type { RetrainRequest } from './service.js';

export const TRIGGERS = ['drift', 'degradation', 'schedule', 'labels'] as const;
export type TriggerName = (typeof TRIGGERS)[number];

const SEVERITY_RANK: Readonly<Record<string, number>> = { low: 0, medium: 1, high: 2, critical: 3 };

export interface TriggerFacts {
  readonly now: Date;
  /** Stored drift reports of the model, latest window first (as listReports returns them). */
  readonly reports?: readonly Pick<ReportRecord, 'id' | 'window' | 'status' | 'severity'>[];
  /** The model's open alerts. */
  readonly alerts?: readonly Pick<AlertRecord, 'id' | 'kind' | 'createdAt' | 'title'>[];
  /** Labelled predictions served since the last job was created (or over the dataset window). */
  readonly newLabels?: number;
  /** The model's newest job, whatever its state. */
  readonly lastJob?: Pick<RetrainJob, 'id' | 'createdAt' | 'state'>;
  /** When the model's last job ended (its slot's releasedAt). */
  readonly releasedAt?: string;
}

export type TriggerDecision =
  | { readonly action: 'fire'; readonly trigger: TriggerName; readonly reason: string }
  /** A condition was met but the policy's cooldown holds: audited, nothing queued. */
  | { readonly action: 'suppress'; readonly trigger: TriggerName; readonly reason: string }
  | { readonly action: 'none'; readonly reason: string };

/** The condition of one trigger, or undefined when it is off or not met. */
function condition(policy: RetrainingPolicy, trigger: TriggerName, f: TriggerFacts): string | undefined {
  switch (trigger) {
    case 'drift': {
      const rule = policy.onDrift;
      if (!rule || !f.reports) return undefined;
      // A window checked again (a re-run, a redelivered message) is one window; skipped windows
      // (too few rows) neither count nor break the streak.
      const seen = new Set<string>();
      const windows: (typeof f.reports)[number][] = [];
      for (const r of f.reports) {
        if (r.status !== 'ok') continue;
        const key = `${r.window.from}|${r.window.to}`;
        if (seen.has(key)) continue;
        seen.add(key);
        windows.push(r);
        if (windows.length === rule.consecutiveWindows) break;
      }
      const min = SEVERITY_RANK[rule.minSeverity] ?? 2;
      if (windows.length < rule.consecutiveWindows) return undefined;
      if (!windows.every((r) => (SEVERITY_RANK[r.severity] ?? 0) >= min)) return undefined;
      const last = windows[windows.length - 1];
      return `drift at or above ${rule.minSeverity} in the last ${rule.consecutiveWindows} checked windows (${last?.window.from} to ${windows[0]?.window.to}; reports ${windows.map((r) => r.id).join(', ')})`;
    }
    case 'degradation': {
      if (!policy.onDegradation || !f.alerts) return undefined;
      // An alert the last job already answered does not start another.
      const since = f.lastJob?.createdAt ?? '';
      const alert = f.alerts.find((a) => a.kind === 'performance' && a.createdAt > since);
      return alert ? `performance degradation alert ${alert.id}: ${alert.title}` : undefined;
    }
    case 'schedule': {
      const every = policy.schedule?.everyHours;
      if (!every) return undefined;
      if (!f.lastJob) return `scheduled every ${every} h; the model has never been retrained`;
      const age = f.now.getTime() - Date.parse(f.lastJob.createdAt);
      return age >= every * 3_600_000
        ? `scheduled every ${every} h; the last job ${f.lastJob.id} was created ${f.lastJob.createdAt}`
        : undefined;
    }
    case 'labels': {
      const min = policy.minNewLabels;
      if (!min || f.newLabels === undefined || f.newLabels < min) return undefined;
      const counted = f.newLabels >= min * LABEL_COUNT_FACTOR ? `at least ${f.newLabels}` : `${f.newLabels}`;
      return `${counted} new labelled predictions since ${f.lastJob ? `job ${f.lastJob.id}` : 'the dataset window began'} (policy: ${min})`;
    }
  }
}

/**
 * Labels are counted up to this many times the threshold: enough for the reason to say how many
 * there are, without paging through a model's whole labelled history on every sweep.
 */
export const LABEL_COUNT_FACTOR = 10;

/**
 * Whether one of `triggers` fires (the first whose condition holds, in the given order). Only
 * the policy's cooldown suppresses here: an active job is left to RetrainService.request, which
 * records the trigger on it as a duplicate.
 */
export function decide(
  policy: RetrainingPolicy,
  facts: TriggerFacts,
  triggers: readonly TriggerName[] = TRIGGERS,
): TriggerDecision {
  for (const trigger of triggers) {
    const reason = condition(policy, trigger, facts);
    if (!reason) continue;
    const active = facts.lastJob && ['queued', 'running'].includes(facts.lastJob.state);
    if (!active && facts.releasedAt && policy.cooldownMinutes > 0) {
      const until = Date.parse(facts.releasedAt) + policy.cooldownMinutes * 60_000;
      if (facts.now.getTime() < until) {
        return {
          action: 'suppress',
          trigger,
          reason: `${reason}; suppressed: the cooldown of ${policy.cooldownMinutes} min after the last job ends at ${new Date(until).toISOString()}`,
        };
      }
    }
    return { action: 'fire', trigger, reason };
  }
  return { action: 'none', reason: 'no trigger condition holds' };
}

export interface TriggerPorts {
  /** The model's retraining policy; undefined when the model has no monitoring policy. */
  policy(model: string): Promise<RetrainingPolicy | undefined>;
  /** Every model with a monitoring policy (the scheduler's tick). */
  policies(): Promise<{ model: string; retraining: RetrainingPolicy }[]>;
  /** The newest drift reports, latest window first. */
  reports(model: string, limit: number): Promise<ReportRecord[]>;
  openAlerts(model: string): Promise<AlertRecord[]>;
  /** Labelled predictions served in [from, to), counted up to `atMost`. */
  countLabels(model: string, from: Date, to: Date, atMost: number): Promise<number>;
  readonly jobs: Pick<JobStore, 'list' | 'slot' | 'audit'>;
  readonly retrain: { request(p: Principal, model: string, r: RetrainRequest): Promise<RetrainJob> };
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

export interface TriggerOutcome {
  readonly model: string;
  readonly decision: TriggerDecision;
  /** The queued job, or the active job the trigger was recorded on. */
  readonly jobId?: string;
  /** Why RetrainService did not queue it (duplicate, its own cooldown). */
  readonly refused?: string;
}

function triggerPrincipal(trigger: TriggerName): Principal {
  return { id: `trigger:${trigger}`, name: `retraining trigger (${trigger})`, role: 'scientist' };
}

export class RetrainTriggers {
  constructor(private readonly ports: TriggerPorts) {}

  /** After a drift check of `model`: the drift and degradation triggers. */
  async afterCheck(model: string): Promise<TriggerOutcome | undefined> {
    const policy = await this.ports.policy(model);
    if (!policy || (!policy.onDrift && !policy.onDegradation)) return undefined;
    const limit = Math.min(100, 3 * (policy.onDrift?.consecutiveWindows ?? 1));
    const facts = await this.jobFacts(model);
    return this.act(
      model,
      policy,
      {
        ...facts,
        reports: policy.onDrift ? await this.ports.reports(model, limit) : undefined,
        alerts: policy.onDegradation ? await this.ports.openAlerts(model) : undefined,
      },
      ['drift', 'degradation'],
    );
  }

  /** The scheduler's tick: the schedule and new-label triggers of every model with a policy. */
  async tick(): Promise<TriggerOutcome[]> {
    const out: TriggerOutcome[] = [];
    for (const { model, retraining: policy } of await this.ports.policies()) {
      if (!policy.schedule && !policy.minNewLabels) continue;
      const facts = await this.jobFacts(model);
      let newLabels: number | undefined;
      if (policy.minNewLabels) {
        const from = facts.lastJob
          ? new Date(facts.lastJob.createdAt)
          : new Date(facts.now.getTime() - policy.dataset.windowDays * 86_400_000);
        newLabels = await this.ports.countLabels(
          model,
          from,
          facts.now,
          policy.minNewLabels * LABEL_COUNT_FACTOR,
        );
      }
      const o = await this.act(model, policy, { ...facts, newLabels }, ['labels', 'schedule']);
      if (o) out.push(o);
    }
    return out;
  }

  private async jobFacts(model: string) {
    const [last, slot] = await Promise.all([
      this.ports.jobs.list({ model, limit: 1 }),
      this.ports.jobs.slot(model),
    ]);
    return { now: this.ports.clock.now(), lastJob: last.items[0], releasedAt: slot.releasedAt };
  }

  private async act(
    model: string,
    policy: RetrainingPolicy,
    facts: TriggerFacts,
    triggers: readonly TriggerName[],
  ): Promise<TriggerOutcome | undefined> {
    const decision = decide(policy, facts, triggers);
    if (decision.action === 'none') return undefined;
    if (decision.action === 'suppress') {
      await this.ports.jobs.audit(
        auditEvent(
          this.ports,
          triggerPrincipal(decision.trigger),
          'retrain.trigger_suppressed',
          `model/${model}`,
          { model, after: { trigger: decision.trigger }, comment: decision.reason },
        ),
      );
      return { model, decision };
    }
    try {
      const job = await this.ports.retrain.request(triggerPrincipal(decision.trigger), model, {
        reason: decision.reason,
        trigger: decision.trigger,
      });
      return { model, decision, jobId: job.id };
    } catch (err) {
      // Recorded on the active job, or refused by the service's cooldown or the operating mode
      // (maintenance answers `unavailable`): all audited there.
      if (!isDomainError(err, 'conflict') && !isDomainError(err, 'unavailable')) throw err;
      const jobId = typeof err.details?.jobId === 'string' ? err.details.jobId : undefined;
      return { model, decision, ...(jobId ? { jobId } : {}), refused: err.message };
    }
  }
}
