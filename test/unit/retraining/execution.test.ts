/**
 * How a job runs across invocations (functions/core/retraining/execution.ts): MLP trials and
 * successive halving, continuation from a checkpoint when the invocation's time runs out, trial
 * fan-out with results counted once, and the sweep that resumes a job whose worker went silent.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { IdGenerator } from '../../../functions/core/kernel/clock.js';
import type { RegisterVersionInput } from '../../../functions/core/registry/registration.js';
import type { TrialMessage } from '../../../functions/core/retraining/execution.js';
import { RetrainService } from '../../../functions/core/retraining/service.js';
import { expectCode } from '../../support/expect-code.js';
import { MemoryJobStore } from '../../support/memory-jobs.js';
import { alice } from '../../support/principals.js';
import {
  irisParent,
  irisRows,
  jobIds,
  type RecordingRetrainRegistry,
  recordingRetrainRegistry,
  rowSource,
} from '../../support/retrain-registry.js';

const URI = 's3://bucket/datasets/iris-demo/train.csv';
const ROWS = irisRows();

let now: number;
let store: MemoryJobStore;
let sent: { jobId: string; attempt?: number }[];
let trialMessages: TrialMessage[];
let registry: RecordingRetrainRegistry;
let registered: RecordingRetrainRegistry['registered'];
let ids: IdGenerator;

/** One service per "invocation"; they share the stores, as Lambda containers share DynamoDB and S3. */
function service(
  options: {
    fanOut?: boolean;
    staleAfterMs?: number;
    results?: import('../../../functions/core/retraining/execution.js').TrialResultStore;
  } = {},
) {
  return new RetrainService({
    store,
    queue: { send: async (m) => void sent.push(m) },
    registry,
    rows: rowSource(ROWS),
    clock: { now: () => new Date(now) },
    ids,
    ...(options.staleAfterMs ? { policy: { staleAfterMs: options.staleAfterMs } } : {}),
    execution: {
      checkpoints: checkpoints,
      results: options.results ?? results,
      reserveMs: 10,
      ...(options.fanOut ? { trials: { send: async (m) => void trialMessages.push(...m) } } : {}),
    },
  });
}

// Shared across the services of one test, reset before each.
let checkpoints: import('../../../functions/core/retraining/execution.js').CheckpointStore;
let results: import('../../../functions/core/retraining/execution.js').TrialResultStore;

beforeEach(() => {
  now = Date.parse('2026-12-01T10:00:00Z');
  store = new MemoryJobStore();
  sent = [];
  trialMessages = [];
  registry = recordingRetrainRegistry({ parent: () => irisParent(URI), answer: () => 'versicolor' });
  registered = registry.registered;
  ids = jobIds();
  const cps = new Map<string, unknown>();
  checkpoints = {
    read: async (id) => structuredClone(cps.get(id)) as never,
    write: async (c) => void cps.set(c.jobId, structuredClone(c)),
  };
  const rs = new Map<string, unknown>();
  results = {
    put: async (jobId, r) => {
      const key = `${jobId}#${r.id}`;
      if (rs.has(key)) return false;
      rs.set(key, structuredClone(r));
      return true;
    },
    list: async (jobId) =>
      [...rs.entries()]
        .filter(([k]) => k.startsWith(`${jobId}#`))
        .map(([, r]) => structuredClone(r)) as never,
  };
});

type Lineage = {
  search: {
    strategy: string;
    trials: { id: number; rung?: number; resource?: number; status: string }[];
    best: { params: Record<string, unknown> };
  };
};
const lineageOf = (i: number) =>
  ((registered[i] as { input: RegisterVersionInput }).input.params as { lineage: Lineage }).lineage;

describe('trainers and strategies in a job', () => {
  it('trains an MLP with a successive-halving search: rungs on growing rows, the best of the last rung', async () => {
    const s = service();
    const job = await s.request(alice, 'iris-demo', {
      reason: 'mlp',
      trainer: 'mlp',
      params: { folds: 3 },
      search: {
        strategy: 'halving',
        space: {
          hidden: { type: 'choice', values: [4, 8, 16] },
          alpha: { type: 'choice', values: [1e-4, 1e-2] },
        },
      },
    });
    const done = await s.run(job.id);
    expect(done?.error).toBeUndefined();
    expect(done?.state).toBe('succeeded');
    const { search } = lineageOf(0);
    expect(search.strategy).toBe('halving');
    const rungs = [...new Set(search.trials.map((t) => t.rung))];
    expect(rungs.length).toBeGreaterThan(1);
    const resources = rungs.map((r) => search.trials.find((t) => t.rung === r)?.resource as number);
    expect(resources).toEqual([...resources].sort((a, b) => a - b));
    expect(search.trials.filter((t) => t.rung === 1).length).toBeLessThan(
      search.trials.filter((t) => t.rung === 0).length,
    );
    expect(registered[0]?.input.params).toMatchObject({ trainer: 'mlp', hidden: expect.any(Number) });
    expect(done?.progress.trials).toBe(search.trials.length);
  });

  it('refuses a space the trainer cannot search when the job is requested', async () => {
    const s = service();
    await expectCode(
      s.request(alice, 'iris-demo', {
        reason: 'x',
        trainer: 'mlp',
        search: { space: { l2: { type: 'choice', values: [1] } } },
      }),
      'validation_failed',
    );
    expect(sent).toHaveLength(0);
  });

  it('stops at the trial budget', async () => {
    const s = service();
    const job = await s.request(alice, 'iris-demo', {
      reason: 'x',
      search: { l2: [1e-4, 1e-3, 1e-2, 1e-1], trials: 2 },
    });
    expect((await s.run(job.id))?.state).toBe('succeeded');
    expect(lineageOf(0).search.trials).toHaveLength(2);
  });

  it('starts no trial once the time budget is spent, counting from the search’s start across invocations', async () => {
    const s = service();
    const job = await s.request(alice, 'iris-demo', {
      reason: 'x',
      search: { l2: [1e-4, 1e-3, 1e-2, 1e-1, 1], timeBudgetMs: 60_000 },
    });
    const save = store.save.bind(store);
    // Each trial "takes" 25 s of the clock.
    store.save = async (j, rev, audit) => {
      if (/^trial \d/.test(j.log.at(-1)?.message ?? '')) now += 25_000;
      await save(j, rev, audit);
    };
    const done = await s.run(job.id);
    expect(done?.state).toBe('succeeded');
    expect(lineageOf(0).search.trials).toHaveLength(3);
    expect((lineageOf(0) as unknown as { search: { stoppedBy: string } }).search.stoppedBy).toBe('maxTime');
  });
});

describe('continuation from a checkpoint', () => {
  it('re-enqueues itself before the time runs out and continues without redoing finished trials', async () => {
    const job = await service().request(alice, 'iris-demo', {
      reason: 'x',
      search: { l2: [1e-4, 1e-3, 1e-2, 1e-1] },
    });
    sent = [];
    // An invocation with time for two trials only (the first runs unasked: one per invocation at least).
    let left = 1;
    const first = await service().run(job.id, { budget: { remainingMs: () => (left-- > 0 ? 1e9 : 0) } });
    expect(first?.state).toBe('running');
    expect(sent).toEqual([{ jobId: job.id, attempt: 2 }]);
    expect(registered).toHaveLength(0);
    expect((await results.list(job.id)).map((t) => t.id)).toEqual([0, 1]);

    // A redelivery of the first message, and a stale continuation, start nothing.
    expect((await service().run(job.id))?.attempt).toBe(1);
    const done = await service().run(job.id, { attempt: 2 });
    expect(done?.state).toBe('succeeded');
    expect(done?.attempt).toBe(2);
    expect(lineageOf(0).search.trials.map((t) => t.id)).toEqual([0, 1, 2, 3]);
    expect(done?.log.filter((l) => /^trial \d\/4/.test(l.message)).map((l) => l.message.slice(0, 9))).toEqual(
      ['trial 1/4', 'trial 2/4', 'trial 3/4', 'trial 4/4'],
    );
    expect(done?.log.some((l) => l.message.includes('continuing from the checkpoint (2 of 4'))).toBe(true);
    expect((await service().run(job.id, { attempt: 2 }))?.state).toBe('succeeded');
    expect(registered).toHaveLength(1);
  });
});

describe('trial fan-out', () => {
  it('sends one message per trial, counts a redelivered trial once, and gathers when the last is in', async () => {
    const s = service({ fanOut: true });
    const job = await s.request(alice, 'iris-demo', { reason: 'x', search: { l2: [1e-3, 1e-2, 1e-1] } });
    sent = [];
    expect((await s.run(job.id))?.state).toBe('running');
    expect(trialMessages.map((m) => m.index)).toEqual([0, 1, 2]);
    await service({ fanOut: true }).runTrial(trialMessages[0]!);
    await service({ fanOut: true }).runTrial(trialMessages[0]!);
    await service({ fanOut: true }).runTrial(trialMessages[2]!);
    expect(sent).toEqual([]);
    expect((await s.get(job.id)).progress).toMatchObject({ trial: 2, trials: 3, message: 'trial 2 of 3' });
    await service({ fanOut: true }).runTrial(trialMessages[1]!);
    expect(sent).toEqual([{ jobId: job.id, attempt: 2 }]);
    const done = await service({ fanOut: true }).run(job.id, { attempt: 2 });
    expect(done?.state).toBe('succeeded');
    expect(lineageOf(0).search.trials.map((t) => t.id)).toEqual([0, 1, 2]);
    // The gather says what it found: the trials' results, stored apart from the checkpoint. Its
    // claim changed no state, so it adds no "state running → running" line.
    const log = done!.log.map((l) => l.message);
    expect(log).toContain('attempt 2: continuing from the checkpoint (3 of 3 trials done)');
    expect(log.filter((m) => m.startsWith('state '))).toEqual(['state queued → running']);
    // Every trial message again (SQS may redeliver): nothing changes.
    for (const m of trialMessages) await service({ fanOut: true }).runTrial(m);
    expect(registered).toHaveLength(1);
  });

  it('a redelivered last trial sends the gather its first delivery could not', async () => {
    const job = await service({ fanOut: true }).request(alice, 'iris-demo', {
      reason: 'x',
      search: { l2: [1e-3, 1e-2] },
    });
    sent = [];
    await service({ fanOut: true }).run(job.id);
    await service({ fanOut: true }).runTrial(trialMessages[0]!);
    const failing = service({ fanOut: true });
    const queue = (failing as unknown as { deps: { queue: { send: unknown } } }).deps.queue;
    queue.send = async () => {
      throw new Error('SQS unavailable');
    };
    await expect(failing.runTrial(trialMessages[1]!)).rejects.toThrow(/SQS unavailable/);
    expect(sent).toEqual([]);
    await service({ fanOut: true }).runTrial(trialMessages[1]!);
    expect(sent).toEqual([{ jobId: job.id, attempt: 2 }]);
    expect((await results.list(job.id)).length).toBe(2);
  });

  /** A softmax halving search whose first rung (four trials) was just fanned out as attempt 1. */
  async function halvingFannedOut() {
    const s = service({ fanOut: true });
    const job = await s.request(alice, 'iris-demo', {
      reason: 'x',
      trainer: 'softmax',
      search: { strategy: 'halving', l2: [1e-4, 1e-3, 1e-2, 1e-1], factor: 2 },
    });
    sent = [];
    await s.run(job.id);
    return { s, job };
  }

  it('two trials that both find the rung complete name the same gather, even when the first is claimed before the second looks', async () => {
    const { s, job } = await halvingFannedOut();
    const [first, second, ...rest] = trialMessages.splice(0);
    for (const m of rest) await service({ fanOut: true }).runTrial(m);
    // The second stores its result, then waits before it looks whether the rung is complete...
    let looked = 0;
    let goOn!: () => void;
    const later = new Promise<void>((ok) => (goOn = ok));
    const slow = service({
      fanOut: true,
      results: {
        put: results.put,
        list: async (id) => {
          if (looked++ === 1) await later;
          return results.list(id);
        },
      },
    }).runTrial(second!);
    while (looked < 2) await new Promise((ok) => setTimeout(ok, 1));
    // ...while the first finishes, finds the rung complete, and its gather is claimed and runs.
    await service({ fanOut: true }).runTrial(first!);
    expect(sent).toEqual([{ jobId: job.id, attempt: 2 }]);
    await service({ fanOut: true }).run(job.id, { attempt: 2 });
    const nextRung = trialMessages.length;
    expect(nextRung).toBeGreaterThan(0);
    goOn();
    await slow;
    // Its gather names the same attempt, which is claimed already: nothing is sent twice.
    expect(sent.map((m) => m.attempt)).toEqual([2, 2]);
    await service({ fanOut: true }).run(job.id, sent[1]!);
    expect(trialMessages).toHaveLength(nextRung);
    expect((await s.get(job.id)).attempt).toBe(2);
  });

  it('after a resume, the resent trial gathers the rung even when the old delivery stored the result first', async () => {
    const { job } = await halvingFannedOut();
    const [old, ...rest] = trialMessages.splice(0);
    for (const m of rest) await service({ fanOut: true }).runTrial(m);
    // The first trial's worker went silent: the sweep resumes the job, which sends that trial again.
    now += 16 * 60_000;
    expect(await service({ fanOut: true }).sweep()).toEqual({ resumed: [job.id], failed: [] });
    await service({ fanOut: true }).run(job.id, sent.at(-1)!);
    const [resent] = trialMessages.splice(0);
    expect(resent).toMatchObject({ index: old!.index, attempt: 2 });
    // The resent trial evaluates and waits before it stores its result...
    let goOn!: () => void;
    const later = new Promise<void>((ok) => (goOn = ok));
    let reached!: () => void;
    const atPut = new Promise<void>((ok) => (reached = ok));
    const slow = service({
      fanOut: true,
      results: {
        put: async (id, r) => {
          reached();
          await later;
          return results.put(id, r);
        },
        list: results.list,
      },
    }).runTrial(resent!);
    await atPut;
    // ...while the old delivery finishes after all: it stores first and finds the rung complete,
    // but its gather names attempt 2, which the resume claimed.
    sent = [];
    await service({ fanOut: true }).runTrial(old!);
    expect(sent).toEqual([{ jobId: job.id, attempt: 2 }]);
    expect((await service({ fanOut: true }).run(job.id, sent[0]!))?.attempt).toBe(2);
    expect(trialMessages).toHaveLength(0);
    goOn();
    await slow;
    // The resent trial's gather names the attempt after the resume's: the next rung goes out now,
    // not after the next sweep.
    expect(sent.map((m) => m.attempt)).toEqual([2, 3]);
    await service({ fanOut: true }).run(job.id, sent[1]!);
    expect(trialMessages.length).toBeGreaterThan(0);
    expect(trialMessages.every((m) => m.rung === 1 && m.attempt === 3)).toBe(true);
  });

  it('fans out each halving rung in turn', async () => {
    const s = service({ fanOut: true });
    const job = await s.request(alice, 'iris-demo', {
      reason: 'x',
      trainer: 'softmax',
      search: { strategy: 'halving', l2: [1e-4, 1e-3, 1e-2, 1e-1, 1], factor: 2 },
    });
    sent = [];
    await s.run(job.id);
    for (let round = 0; round < 10; round++) {
      const batch = trialMessages.splice(0);
      for (const m of batch) await service({ fanOut: true }).runTrial(m);
      const next = sent.splice(0);
      if (next.length === 0) break;
      await service({ fanOut: true }).run(job.id, { attempt: next.at(-1)?.attempt as number });
    }
    const done = await s.get(job.id);
    expect(done.state).toBe('succeeded');
    expect(new Set(lineageOf(0).search.trials.map((t) => t.rung)).size).toBeGreaterThan(1);
  });
});

describe('recovery of a silent worker', () => {
  it('resumes a stale running job from its checkpoint; fails one that has none', async () => {
    const job = await service().request(alice, 'iris-demo', {
      reason: 'x',
      search: { l2: [1e-4, 1e-3, 1e-2] },
    });
    sent = [];
    let left = 1;
    await service().run(job.id, { budget: { remainingMs: () => (left-- > 0 ? 1e9 : 0) } });
    // The continuation was lost (the worker died right after): only the sweep can help.
    sent = [];
    expect(await service().sweep()).toEqual({ resumed: [], failed: [] });
    now += 16 * 60_000;
    expect(await service().sweep()).toEqual({ resumed: [job.id], failed: [] });
    expect(await service().sweep()).toEqual({ resumed: [], failed: [] });
    expect(sent).toEqual([{ jobId: job.id, attempt: 2 }]);
    const done = await service().run(job.id, { attempt: 2 });
    expect(done?.state).toBe('succeeded');
    expect(lineageOf(0).search.trials).toHaveLength(3);

    now += 60 * 60_000;
    const other = await service().request(alice, 'iris-demo', { reason: 'y' });
    const cur = (await store.get(other.id))!;
    await store.save(
      { ...cur, state: 'running', attempt: 1, heartbeatAt: new Date(now).toISOString(), revision: 2 },
      1,
    );
    now += 16 * 60_000;
    expect(await service().sweep()).toEqual({ resumed: [], failed: [other.id] });
    expect((await store.get(other.id))?.error).toMatch(/before its first checkpoint/);
  });

  it('a superseded worker stops without registering once a resumed attempt owns the job', async () => {
    const job = await service().request(alice, 'iris-demo', {
      reason: 'x',
      search: { l2: [1e-4, 1e-3, 1e-2] },
    });
    const save = store.save.bind(store);
    let bumped = false;
    // While attempt 1 runs its second trial, a sweep presumes it dead and attempt 2 claims the job.
    store.save = async (j, rev, audit) => {
      await save(j, rev, audit);
      if (!bumped && j.progress.trial === 2) {
        bumped = true;
        await save({ ...j, attempt: 2, revision: j.revision + 1 }, j.revision);
      }
    };
    const zombie = await service().run(job.id);
    expect(zombie).toMatchObject({ state: 'running', attempt: 2 });
    expect(registered).toHaveLength(0);
    store.save = save;
    expect((await service().run(job.id, { attempt: 3 }))?.state).toBe('succeeded');
  });
});

describe('claims', () => {
  it('runs a job whose record changed between its read and its claim (a repeat request recorded on it)', async () => {
    const job = await service().request(alice, 'iris-demo', {
      reason: 'weekly',
      search: { l2: [1e-3, 1e-2] },
    });
    // The worker reads the job; before its claim lands, a person asks again and the API records
    // the repeat on the job (a new revision). Found in the local runtime once the API and the
    // workers ran on separate threads, as they run in separate Lambdas on AWS.
    const read = store.get.bind(store);
    let interposed = false;
    store.get = async (id: string) => {
      const found = await read(id);
      if (!interposed) {
        interposed = true;
        await expectCode(service().request(alice, 'iris-demo', { reason: 'again' }), 'conflict');
      }
      return found;
    };
    const done = await service().run(job.id);
    expect(done?.state).toBe('succeeded');
    expect(done?.attempt).toBe(1);
    expect(done?.duplicates.map((d) => d.reason)).toEqual(['again']);
    expect(registered).toHaveLength(1);
  });

  it('still leaves a job another delivery claimed first', async () => {
    const job = await service().request(alice, 'iris-demo', { reason: 'weekly', search: { l2: [1e-3] } });
    const read = store.get.bind(store);
    let interposed = false;
    store.get = async (id: string) => {
      const found = await read(id);
      if (!interposed && found) {
        interposed = true;
        // The other delivery's claim: attempt 1, running.
        await store.save(
          { ...found, state: 'running', attempt: 1, revision: found.revision + 1 },
          found.revision,
        );
      }
      return found;
    };
    const left = await service().run(job.id);
    expect(left?.state).toBe('running');
    expect(left?.attempt).toBe(1);
    expect(registered).toHaveLength(0);
  });
});
