/**
 * DynamoExperimentStore through the real SDK against DynamoDB Local, and the same scenarios
 * against MemoryExperimentStore so the in-memory store the unit tests use keeps the adapter's
 * semantics: one running experiment per model however starts race, revisions refuse stale
 * writes (and their audit events with them), a replayed observation key adds nothing, and
 * concurrent writers to one aggregate lose nothing.
 */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/adapters/aws-clients.js';
import { DynamoExperimentStore } from '../../functions/adapters/dynamo-experiments.js';
import { initialAllocation } from '../../functions/core/experiments/assignment.js';
import type { Experiment } from '../../functions/core/experiments/definition.js';
import type { ExperimentStore, ObservationGroup } from '../../functions/core/experiments/ports.js';
import type { AuditEvent } from '../../functions/core/kernel/audit.js';
import { isConcurrentModification, isDomainError } from '../../functions/core/kernel/errors.js';
import { allItems } from '../../functions/core/kernel/paging.js';
import { standinsForFile } from '../support/lifecycle.js';
import { MemoryExperimentStore } from '../support/memory-experiments.js';

let db: DynamoDBDocumentClient;
let table: string;
let auditTable: string;

standinsForFile({
  setup: (aws) => {
    db = documentClient();
    table = aws.resources.tables.experiments;
    auditTable = aws.resources.tables.audit;
  },
});

let seq = 0;
/** ULID-shaped ids that sort by creation, unique across the scenarios sharing one table. */
function newId(): string {
  seq++;
  return `01J${String(Date.now()).padStart(13, '0')}${String(seq).padStart(10, '0')}`.slice(0, 26);
}

function experiment(model: string, extra: Partial<Experiment> = {}): Experiment {
  const id = extra.id ?? newId();
  const now = new Date().toISOString();
  return {
    id,
    name: `exp ${id}`,
    description: '',
    model,
    kind: 'ab',
    state: 'draft',
    variants: [
      { name: 'a', version: '1.0.0', control: true },
      { name: 'b', version: '1.1.0', control: false },
    ],
    metric: { name: 'converted', kind: 'binary', goal: 'maximize' },
    guardrails: [],
    minSamples: 100,
    maxSamples: 1000,
    alpha: 0.05,
    adjustment: 'holm',
    seed: id,
    allocation: initialAllocation([
      { name: 'a', weight: 50 },
      { name: 'b', weight: 50 },
    ]),
    epoch: 0,
    sequential: {},
    createdAt: now,
    createdBy: 'alice',
    updatedAt: now,
    revision: 1,
    ...extra,
  };
}

function audit(e: Experiment, action: string): AuditEvent {
  return {
    id: newId(),
    at: new Date().toISOString(),
    actor: 'alice',
    actorName: 'Alice',
    action,
    target: `experiment/${e.id}`,
    model: e.model,
  };
}

const bump = (e: Experiment, change: Partial<Experiment>): Experiment => ({
  ...e,
  ...change,
  revision: e.revision + 1,
});

async function settle<T>(ps: Promise<T>[]): Promise<{ ok: T[]; errors: unknown[] }> {
  const rs = await Promise.allSettled(ps);
  return {
    ok: rs.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    errors: rs.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : [])),
  };
}

interface Subject {
  readonly store: () => ExperimentStore;
  /** Audit events recorded for this model (to see they commit with their change). */
  readonly audits: (store: ExperimentStore, model: string) => Promise<string[]>;
}

const dynamo: Subject = {
  store: () => new DynamoExperimentStore(db, table, { auditTable }),
  audits: async (_store, model) => {
    const res = await db.send(
      new QueryCommand({
        TableName: auditTable,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': `MODEL#${model}` },
        ConsistentRead: true,
      }),
    );
    return (res.Items ?? []).map((i) => String(i.action));
  },
};

const memory: Subject = {
  store: () => new MemoryExperimentStore(),
  audits: async (store, model) =>
    (store as MemoryExperimentStore).audits.filter((a) => a.model === model).map((a) => a.action),
};

let modelSeq = 0;
const newModel = () => `m${process.pid}-${++modelSeq}`;

describe.each([
  ['DynamoExperimentStore', dynamo],
  ['MemoryExperimentStore', memory],
])('%s', (_name, subject) => {
  it('creates once, reads back, lists newest first with a cursor and filters', async () => {
    const store = subject.store();
    const model = newModel();
    const e1 = experiment(model);
    const e2 = experiment(model);
    const e3 = experiment(newModel());
    for (const e of [e1, e2, e3]) await store.create(e, audit(e, 'experiment.created'));
    await expect(store.create(e1, audit(e1, 'experiment.created'))).rejects.toSatisfy((err) =>
      isDomainError(err, 'conflict'),
    );
    expect(await store.get(e1.id)).toEqual(e1);
    expect(await store.get(newId())).toBeUndefined();

    const first = await store.list({ model, limit: 1 });
    expect(first.items.map((e) => e.id)).toEqual([e2.id]);
    expect(first.nextCursor).toBeDefined();
    const second = await store.list({ model, limit: 1, cursor: first.nextCursor });
    expect(second.items.map((e) => e.id)).toEqual([e1.id]);
    const all = await allItems((page) => store.list({ model, ...page }));
    expect(all.map((e) => e.id)).toEqual([e2.id, e1.id]);
    expect((await store.list({ model, state: 'running', limit: 10 })).items).toEqual([]);
    expect(await subject.audits(store, model)).toEqual(['experiment.created', 'experiment.created']);
  });

  it('refuses a stale revision, and its audit event with it', async () => {
    const store = subject.store();
    const model = newModel();
    const e = experiment(model);
    await store.create(e, audit(e, 'experiment.created'));
    const v2 = bump(e, { name: 'renamed' });
    await store.update(v2, 1, { audit: audit(e, 'experiment.renamed') });
    const stale = bump(e, { name: 'lost update' });
    await expect(store.update(stale, 1, { audit: audit(e, 'experiment.lost') })).rejects.toSatisfy(
      isConcurrentModification,
    );
    expect((await store.get(e.id))?.name).toBe('renamed');
    expect((await subject.audits(store, model)).sort()).toEqual(['experiment.created', 'experiment.renamed']);
  });

  it('lets exactly one of two concurrent starts on a model take the running slot', async () => {
    const store = subject.store();
    const model = newModel();
    const a = experiment(model);
    const b = experiment(model);
    for (const e of [a, b]) await store.create(e, audit(e, 'experiment.created'));
    const start = (e: Experiment) =>
      store.update(bump(e, { state: 'running' }), e.revision, {
        audit: audit(e, 'experiment.started'),
        lock: 'acquire',
      });
    const { ok, errors } = await settle([start(a), start(b)]);
    expect(ok).toHaveLength(1);
    expect(errors).toHaveLength(1);
    const winner = (await store.running(model))!;
    const loser = winner.id === a.id ? b : a;
    expect(errors[0]).toSatisfy((err) => isDomainError(err, 'conflict') && !isConcurrentModification(err));
    expect((errors[0] as { details?: unknown }).details).toEqual({ model, runningExperiment: winner.id });
    expect((errors[0] as Error).message).toBe(
      `model ${model} already has a running experiment (${winner.id})`,
    );
    // The loser's definition did not change: the lock and the state are one transaction.
    expect((await store.get(loser.id))?.state).toBe('draft');
    expect((await store.listRunning()).map((e) => e.id)).toContain(winner.id);
    expect((await store.listRunning()).map((e) => e.id)).not.toContain(loser.id);
    expect(await subject.audits(store, model)).toEqual([
      'experiment.created',
      'experiment.created',
      'experiment.started',
    ]);

    // Restarting the holder keeps its slot; releasing it lets the other start.
    const held = (await store.get(winner.id))!;
    await store.update(bump(held, {}), held.revision, { lock: 'acquire' });
    const paused = (await store.get(winner.id))!;
    await store.update(bump(paused, { state: 'paused' }), paused.revision, { lock: 'release' });
    expect(await store.running(model)).toBeUndefined();
    const fresh = (await store.get(loser.id))!;
    await store.update(bump(fresh, { state: 'running' }), fresh.revision, { lock: 'acquire' });
    expect((await store.running(model))?.id).toBe(loser.id);

    // Releasing a slot another experiment holds leaves it with that one.
    const old = (await store.get(winner.id))!;
    await store.update(bump(old, { state: 'concluded' }), old.revision, { lock: 'release' });
    expect((await store.get(winner.id))?.state).toBe('concluded');
    expect((await store.running(model))?.id).toBe(loser.id);
  });

  it('counts a replayed observation key once', async () => {
    const store = subject.store();
    const e = experiment(newModel());
    await store.create(e, audit(e, 'experiment.created'));
    const g = (key: string, value: number): ObservationGroup => ({
      key,
      contributions: [{ variant: 'b', metric: 'converted', value }],
    });
    expect(await store.observe(e.id, [g('evt:1', 1), g('evt:2', 0)])).toEqual({ accepted: 2, duplicates: 0 });
    expect(await store.observe(e.id, [g('evt:1', 1), g('evt:3', 1)])).toEqual({ accepted: 1, duplicates: 1 });
    // Contributions of one group to the same aggregate are merged into one ADD.
    await store.observe(e.id, [
      {
        key: 'cap:m1',
        contributions: [
          { variant: 'a', metric: 'latency_ms', value: 3, bucket: 7 },
          { variant: 'a', metric: 'latency_ms', value: 5, bucket: 9 },
          { variant: 'a', metric: 'latency_ms', value: 4, bucket: 7 },
          { variant: 'a', metric: 'error_rate', value: 0 },
        ],
      },
    ]);
    const aggs = await store.aggregates(e.id);
    const find = (variant: string, metric: string) =>
      aggs.find((x) => x.variant === variant && x.metric === metric);
    expect(find('b', 'converted')).toEqual({ variant: 'b', metric: 'converted', n: 3, sum: 2, sumSq: 2 });
    expect(find('a', 'latency_ms')).toEqual({
      variant: 'a',
      metric: 'latency_ms',
      n: 3,
      sum: 12,
      sumSq: 50,
      histogram: { 7: 2, 9: 1 },
    });
    expect(find('a', 'error_rate')).toMatchObject({ n: 1, sum: 0, sumSq: 0 });
    expect(aggs).toHaveLength(3);
    // Another experiment's aggregates are its own.
    expect(await store.aggregates(newId())).toEqual([]);
  });

  it('loses nothing when 50 writers add to the same variant and metric at once', async () => {
    const store = subject.store();
    const e = experiment(newModel());
    await store.create(e, audit(e, 'experiment.created'));
    const WRITERS = 50;
    const GROUPS = 4;
    let n = 0;
    let sum = 0;
    let sumSq = 0;
    const batches: ObservationGroup[][] = [];
    for (let w = 0; w < WRITERS; w++) {
      const groups: ObservationGroup[] = [];
      for (let g = 0; g < GROUPS; g++) {
        const values = [w + g, (w * g) % 7, 3];
        for (const v of values) {
          n++;
          sum += v;
          sumSq += v * v;
        }
        groups.push({
          key: `evt:${w}-${g}`,
          contributions: values.map((value) => ({ variant: 'b', metric: 'revenue', value })),
        });
      }
      batches.push(groups);
    }
    // Every writer also replays one of another writer's keys: counted by exactly one of them.
    for (let w = 0; w < WRITERS; w++) batches[w]!.push(batches[(w + 1) % WRITERS]![0]!);
    const results = await Promise.all(batches.map((groups) => store.observe(e.id, groups)));
    expect(results.reduce((s, r) => s + r.accepted, 0)).toBe(WRITERS * GROUPS);
    expect(results.reduce((s, r) => s + r.duplicates, 0)).toBe(WRITERS);
    const [agg] = await store.aggregates(e.id);
    expect(agg).toEqual({ variant: 'b', metric: 'revenue', n, sum, sumSq });
  }, 120_000);

  it('keeps snapshots oldest first, a page at a time', async () => {
    const store = subject.store();
    const e = experiment(newModel());
    await store.create(e, audit(e, 'experiment.created'));
    const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 0, m)).toISOString();
    for (const m of [2, 0, 1]) {
      await store.putSnapshot({ experimentId: e.id, at: at(m), results: { decision: 'continue', m } });
    }
    const first = await store.listSnapshots(e.id, { limit: 2 });
    expect(first.items.map((s) => s.at)).toEqual([at(0), at(1)]);
    expect(first.items[0]).toEqual({
      experimentId: e.id,
      at: at(0),
      results: { decision: 'continue', m: 0 },
    });
    const rest = await store.listSnapshots(e.id, { limit: 2, cursor: first.nextCursor });
    expect(rest.items.map((s) => s.at)).toEqual([at(2)]);
  });
});

describe('DynamoExperimentStore specifics', () => {
  it('refuses a cursor from another listing with a validation error', async () => {
    const store = dynamo.store();
    const e = experiment(newModel());
    await store.create(e, audit(e, 'experiment.created'));
    await store.putSnapshot({ experimentId: e.id, at: new Date().toISOString(), results: {} });
    await store.putSnapshot({ experimentId: e.id, at: new Date(Date.now() + 1).toISOString(), results: {} });
    const page = await store.listSnapshots(e.id, { limit: 1 });
    await expect(store.list({ limit: 1, cursor: page.nextCursor })).rejects.toSatisfy((err) =>
      isDomainError(err, 'validation_failed'),
    );
  });

  it('stores tiny p-values as the nearest number DynamoDB holds', async () => {
    const store = dynamo.store();
    const e = experiment(newModel(), { sequential: { 'b/converted': 1e-200 } });
    await store.create(e, audit(e, 'experiment.created'));
    expect((await store.get(e.id))?.sequential).toEqual({ 'b/converted': 0 });
  });

  it('cannot change an experiment without the audit table', async () => {
    const store = new DynamoExperimentStore(db, table);
    const e = experiment(newModel());
    await expect(store.create(e, audit(e, 'experiment.created'))).rejects.toThrow(/audit table/);
  });
});
