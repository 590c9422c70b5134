/**
 * DynamoJobStore through the real SDK against DynamoDB Local, and the same scenarios against
 * MemoryJobStore so the unit tests' store keeps the adapter's semantics: one active job per model
 * however requests race, stale revisions refused, and the slot given back (with releasedAt, the
 * cooldown's start) exactly when the job that holds it ends.
 */
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/adapters/aws-clients.js';
import { DynamoJobStore } from '../../functions/adapters/dynamo-jobs.js';
import type { AuditEvent } from '../../functions/core/kernel/audit.js';
import { isConcurrentModification, isDomainError } from '../../functions/core/kernel/errors.js';
import type { JobStore, RetrainJob } from '../../functions/core/retraining/jobs.js';
import { standinsForFile } from '../support/lifecycle.js';
import { MemoryJobStore } from '../support/memory-jobs.js';

let table: string;
let auditTable: string;

standinsForFile({
  setup: (aws) => {
    table = aws.resources.tables.jobs;
    auditTable = aws.resources.tables.audit;
  },
});

let seq = 0;
function newId(): string {
  seq++;
  return `01J${String(Date.now()).padStart(13, '0')}${String(seq).padStart(10, '0')}`.slice(0, 26);
}

function job(model: string): RetrainJob {
  const now = new Date().toISOString();
  return {
    id: newId(),
    model,
    state: 'queued',
    reason: 'test',
    trigger: 'manual',
    requestedBy: { id: 'alice', name: 'Alice' },
    params: {},
    search: { l2: [0.01] },
    progress: { fraction: 0, message: 'queued', trial: 0, trials: 0 },
    duplicates: [],
    log: [],
    createdAt: now,
    updatedAt: now,
    revision: 1,
  };
}

const audit = (j: RetrainJob): AuditEvent => ({
  id: newId(),
  at: new Date().toISOString(),
  actor: 'alice',
  actorName: 'Alice',
  action: 'retrain.requested',
  target: `model/${j.model}`,
  model: j.model,
});

describe.each([
  ['DynamoJobStore', () => new DynamoJobStore(documentClient(), table, auditTable) as JobStore],
  ['MemoryJobStore', () => new MemoryJobStore() as JobStore],
])('%s', (_name, make) => {
  it('lets exactly one of many concurrent requests take a model’s slot', async () => {
    const store = make();
    const model = `m-${newId().toLowerCase()}`;
    const jobs = Array.from({ length: 6 }, () => job(model));
    const results = await Promise.allSettled(jobs.map((j) => store.create(j, audit(j))));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [jobs[i] as RetrainJob] : []));
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(isDomainError(r.reason, 'conflict')).toBe(true);
    }
    expect(await store.slot(model)).toEqual({ activeJobId: won[0]?.id });
    // The losers left no job behind.
    const listed = await store.list({ model, limit: 10 });
    expect(listed.items.map((j) => j.id)).toEqual([won[0]?.id]);
  });

  it('refuses a stale revision and gives the slot back when the job ends', async () => {
    const store = make();
    const model = `m-${newId().toLowerCase()}`;
    const j = job(model);
    await store.create(j, audit(j));
    const running = { ...j, state: 'running' as const, revision: 2 };
    await store.save(running, 1);
    const stale = await store.save({ ...j, state: 'cancelled', revision: 2 }, 1).catch((e: unknown) => e);
    expect(isConcurrentModification(stale)).toBe(true);
    expect((await store.slot(model)).activeJobId).toBe(j.id);
    const endedAt = new Date().toISOString();
    await store.save({ ...running, state: 'succeeded', updatedAt: endedAt, revision: 3 }, 2);
    expect(await store.slot(model)).toEqual({ releasedAt: endedAt });
    expect((await store.get(j.id))?.state).toBe('succeeded');
    expect((await store.list({ model, state: 'succeeded', limit: 5 })).items).toHaveLength(1);
    // Free again: the next job takes the slot.
    const next = job(model);
    await store.create(next, audit(next));
    expect((await store.slot(model)).activeJobId).toBe(next.id);
  });
});
