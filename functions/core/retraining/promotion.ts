/**
 * What happens to a registered retraining candidate (docs/retraining.md, "Promotion"), decided by
 * the model's retraining policy: nothing (a person promotes), a request for approval (an alert
 * and a `version.candidate_ready` event for approvers), a canary experiment against production,
 * or promotion to production — only where the policy explicitly waives the approval, and then
 * the waiver is the version's approval, recorded under the policy's name and audited. A candidate
 * that is not better than production by the margin stays in staging whatever the policy says.
 */

import type { Principal } from '../auth/principal.js';
import type { AuditEvent } from '../kernel/audit.js';
import { auditEvent } from '../kernel/audit.js';
import type { Clock, IdGenerator } from '../kernel/clock.js';
import { isDomainError } from '../kernel/errors.js';
import type { RetrainingPolicy } from '../monitoring/policy.js';
import type { OperationalAlert } from '../monitoring/service.js';

/** The event approvers subscribe to (a lifecycle event: webhooks with `lifecycle` receive it). */
export const RETRAINING_EVENT_TYPES = ['version.candidate_ready'] as const;

export type PromotionAction =
  | 'none'
  | 'approval_requested'
  | 'canary_started'
  | 'promoted'
  | 'kept_in_staging'
  | 'failed';

/** What promotion did, on the job (`promotion`) and in its outcome sentence. */
export interface PromotionOutcome {
  readonly mode: RetrainingPolicy['promotion'];
  readonly action: PromotionAction;
  readonly detail: string;
  readonly alertId?: string;
  readonly experimentId?: string;
}

export interface CandidateFacts {
  readonly model: string;
  readonly jobId: string;
  readonly candidate: string;
  readonly production?: string;
  /** Whether it beat production by the margin (true when there is no production version). */
  readonly better: boolean;
  readonly comparison: Record<string, unknown>;
  readonly reason: string;
}

export interface PromotionPorts {
  /** Raises a `retraining` alert once per key; returns its id. */
  alert(a: Omit<OperationalAlert, 'kind'>): Promise<string>;
  event(
    type: (typeof RETRAINING_EVENT_TYPES)[number],
    id: string,
    data: Record<string, unknown>,
  ): Promise<void>;
  /** Creates and starts a canary of `candidate` against `production`; returns the experiment's id. */
  startCanary(
    principal: Principal,
    input: {
      readonly model: string;
      readonly name: string;
      readonly production: string;
      readonly candidate: string;
      readonly canary: RetrainingPolicy['canary'];
    },
  ): Promise<string>;
  /** Records an approval decision on the version (the registry's four-eyes rule applies). */
  approve(principal: Principal, model: string, version: string, comment: string): Promise<void>;
  /** Moves the version to production through the registry (its gates apply). */
  promote(principal: Principal, model: string, version: string, comment: string): Promise<void>;
  audit(event: AuditEvent): Promise<void>;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

/** The principal policy-driven promotion acts as: not the job that registered the candidate. */
const POLICY_PRINCIPAL: Principal = {
  id: 'policy:retraining',
  name: 'retraining policy',
  role: 'approver',
};

export async function promoteCandidate(
  ports: PromotionPorts,
  policy: RetrainingPolicy,
  c: CandidateFacts,
): Promise<PromotionOutcome> {
  const mode = policy.promotion;
  if (!c.better) {
    return {
      mode,
      action: 'kept_in_staging',
      detail: `not better than production by the margin: kept in staging (policy: ${mode})`,
    };
  }
  try {
    switch (mode) {
      case 'none':
        return { mode, action: 'none', detail: 'in staging; promotion is left to a person (policy: none)' };
      case 'approval':
        return await requestApproval(ports, c, mode);
      case 'canary': {
        if (!c.production) {
          const asked = await requestApproval(ports, c, mode);
          return { ...asked, detail: `no production version to run a canary against; ${asked.detail}` };
        }
        const experimentId = await ports.startCanary(POLICY_PRINCIPAL, {
          model: c.model,
          name: `retrain-${c.jobId}`,
          production: c.production,
          candidate: c.candidate,
          canary: policy.canary,
        });
        await audit(ports, c, 'retrain.canary_started', { experimentId });
        return {
          mode,
          action: 'canary_started',
          detail: `canary experiment ${experimentId} of ${c.candidate} against ${c.production} started`,
          experimentId,
        };
      }
      case 'auto': {
        if (!policy.waiveApproval) {
          const asked = await requestApproval(ports, c, mode);
          return {
            ...asked,
            detail: `auto promotion needs waiveApproval in the policy; ${asked.detail}`,
          };
        }
        const comment = `approval waived by the retraining policy (job ${c.jobId})`;
        await ports.approve(POLICY_PRINCIPAL, c.model, c.candidate, comment);
        await ports.promote(POLICY_PRINCIPAL, c.model, c.candidate, comment);
        await audit(ports, c, 'retrain.auto_promoted', { waiveApproval: true }, comment);
        return { mode, action: 'promoted', detail: `promoted to production: ${comment}` };
      }
    }
  } catch (err) {
    // The registry or the experiments refused (a gate, a running experiment): the candidate
    // stays in staging, and the job says why instead of failing a trained candidate.
    if (!isDomainError(err)) throw err;
    return { mode, action: 'failed', detail: `${mode} refused: ${err.message}; kept in staging` };
  }
}

async function requestApproval(
  ports: PromotionPorts,
  c: CandidateFacts,
  mode: RetrainingPolicy['promotion'],
): Promise<PromotionOutcome> {
  const data = {
    model: c.model,
    version: c.candidate,
    production: c.production ?? null,
    jobId: c.jobId,
    reason: c.reason,
    comparison: c.comparison,
  };
  const alertId = await ports.alert({
    key: `candidate:${c.jobId}`,
    model: c.model,
    severity: 'medium',
    title: `${c.model} ${c.candidate}: a retrained candidate is ready for approval`,
    recommendation: `Review the validation report and the comparison with production on the held-out rows, then approve (POST /v1/models/${c.model}/versions/${c.candidate}/approval) and promote, or reject it.`,
    details: data,
  });
  // The event id is the job's: a redelivered job announces the same candidate once per receiver.
  await ports.event('version.candidate_ready', `candidate_ready:${c.jobId}`, { ...data, alertId });
  await audit(ports, c, 'retrain.approval_requested', { alertId });
  return {
    mode,
    action: 'approval_requested',
    detail: `approval requested (alert ${alertId}, event version.candidate_ready)`,
    alertId,
  };
}

function audit(
  ports: PromotionPorts,
  c: CandidateFacts,
  action: string,
  after: Record<string, unknown>,
  comment?: string,
): Promise<void> {
  return ports.audit(
    auditEvent(ports, POLICY_PRINCIPAL, action, `model/${c.model}`, {
      model: c.model,
      version: c.candidate,
      after: { jobId: c.jobId, ...after },
      ...(comment ? { comment } : {}),
    }),
  );
}
