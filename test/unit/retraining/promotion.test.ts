import { beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../functions/core/kernel/audit.js';
import { forbidden } from '../../../functions/core/kernel/errors.js';
import { MonitoringPolicy } from '../../../functions/core/monitoring/policy.js';
import { type PromotionPorts, promoteCandidate } from '../../../functions/core/retraining/promotion.js';

const policy = (retraining: Record<string, unknown>) => MonitoringPolicy.parse({ retraining }).retraining;
const facts = {
  model: 'iris',
  jobId: 'J1',
  candidate: '1.0.1',
  production: '1.0.0',
  better: true,
  comparison: { candidate: 0.95, champion: 0.9 },
  reason: 'drift',
};

let calls: string[];
let audits: AuditEvent[];
let events: { type: string; id: string; data: Record<string, unknown> }[];
let ports: PromotionPorts;

beforeEach(() => {
  calls = [];
  audits = [];
  events = [];
  let n = 0;
  ports = {
    alert: async (a) => {
      calls.push(`alert ${a.key}`);
      return 'A1';
    },
    event: async (type, id, data) => void events.push({ type, id, data }),
    startCanary: async (p, i) => {
      calls.push(`canary ${i.candidate} vs ${i.production} by ${p.id}`);
      return 'E1';
    },
    approve: async (p, _m, v, comment) => void calls.push(`approve ${v} by ${p.id}: ${comment}`),
    promote: async (p, _m, v) => void calls.push(`promote ${v} by ${p.id}`),
    audit: async (e) => void audits.push(e),
    clock: { now: () => new Date('2026-12-01T10:00:00Z') },
    ids: { next: () => `ID${++n}` },
  };
});

describe('promotion under the retraining policy', () => {
  it('none (the default) does nothing: a person promotes', async () => {
    const o = await promoteCandidate(ports, policy({}), facts);
    expect(o).toMatchObject({ mode: 'none', action: 'none' });
    expect(calls).toEqual([]);
  });

  it('approval raises an alert and a version.candidate_ready event, audited', async () => {
    const o = await promoteCandidate(ports, policy({ promotion: 'approval' }), facts);
    expect(o).toMatchObject({ action: 'approval_requested', alertId: 'A1' });
    expect(calls).toEqual(['alert candidate:J1']);
    expect(events).toEqual([
      {
        type: 'version.candidate_ready',
        id: 'candidate_ready:J1',
        data: expect.objectContaining({ version: '1.0.1', production: '1.0.0', alertId: 'A1' }),
      },
    ]);
    expect(audits.map((a) => a.action)).toEqual(['retrain.approval_requested']);
  });

  it('keeps a candidate that is not better by the margin in staging, whatever the policy', async () => {
    const o = await promoteCandidate(ports, policy({ promotion: 'auto', waiveApproval: true }), {
      ...facts,
      better: false,
    });
    expect(o).toMatchObject({ action: 'kept_in_staging' });
    expect(calls).toEqual([]);
  });

  it('canary starts an experiment of the candidate against production', async () => {
    const o = await promoteCandidate(ports, policy({ promotion: 'canary' }), facts);
    expect(o).toMatchObject({ action: 'canary_started', experimentId: 'E1' });
    expect(calls).toEqual(['canary 1.0.1 vs 1.0.0 by policy:retraining']);
    expect(audits.map((a) => a.action)).toEqual(['retrain.canary_started']);
  });

  it('auto promotes only when the policy waives the approval, and the waiver is recorded', async () => {
    const asked = await promoteCandidate(ports, policy({ promotion: 'auto' }), facts);
    expect(asked).toMatchObject({ action: 'approval_requested' });
    expect(asked.detail).toMatch(/waiveApproval/);
    calls = [];
    audits = [];
    const o = await promoteCandidate(ports, policy({ promotion: 'auto', waiveApproval: true }), facts);
    expect(o).toMatchObject({ action: 'promoted' });
    expect(calls).toEqual([
      'approve 1.0.1 by policy:retraining: approval waived by the retraining policy (job J1)',
      'promote 1.0.1 by policy:retraining',
    ]);
    expect(audits).toEqual([expect.objectContaining({ action: 'retrain.auto_promoted' })]);
  });

  it('a refusal by the registry keeps the candidate in staging and says why', async () => {
    ports.promote = async () => {
      throw forbidden('the promotion gate refused');
    };
    const o = await promoteCandidate(ports, policy({ promotion: 'auto', waiveApproval: true }), facts);
    expect(o).toMatchObject({ action: 'failed', detail: expect.stringMatching(/gate refused/) });
  });
});
