/**
 * DynamoPredictionStore through the real SDK against DynamoDB Local: a capture message is counted
 * once however often it is delivered and wherever the worker dies, feedback never disappears under
 * a redelivery, each prediction takes feedback once under concurrency, and concurrent requests add
 * up exactly in their hour.
 */

import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/adapters/aws-clients.js';
import { CaptureInProgress, DynamoPredictionStore } from '../../functions/adapters/dynamo-predictions.js';
import {
  confusionKey,
  emptyTotals,
  feedbackTotals,
  mergeAggregates,
  requestTotals,
} from '../../functions/core/inference/aggregates.js';
import { classificationMetrics } from '../../functions/core/inference/feedback-metrics.js';
import type {
  CaptureBatch,
  CapturedPrediction,
  HourAggregate,
} from '../../functions/core/inference/ports.js';
import type { Clock } from '../../functions/core/kernel/clock.js';
import { latencyBucket } from '../../functions/core/kernel/latency-histogram.js';
import { standinsForFile } from '../support/lifecycle.js';
import { MemoryPredictionStore } from '../support/memory-predictions.js';
import type { Standins } from '../support/standins.js';

let aws: Standins;
let db: DynamoDBDocumentClient;
let table: string;

const H = (h: number) => new Date(Date.UTC(2026, 2, 1, h)).toISOString();
// The clock stays near real time: DynamoDB Local deletes items whose expiresAt has passed.
const T0 = new Date(Math.floor(Date.now() / 1000) * 1000);

class TestClock implements Clock {
  constructor(public t: Date = T0) {}
  now(): Date {
    return this.t;
  }
  advance(ms: number): void {
    this.t = new Date(this.t.getTime() + ms);
  }
}

function store(clock: Clock = new TestClock(), client: DynamoDBDocumentClient = db) {
  return new DynamoPredictionStore(client, table, { clock });
}

/** A client whose send fails (before reaching DynamoDB) for the commands `crash` picks. */
function crashing(
  client: DynamoDBDocumentClient,
  crash: (commandName: string) => boolean,
): DynamoDBDocumentClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return (command: { constructor: { name: string } }, ...rest: unknown[]) => {
        if (crash(command.constructor.name)) return Promise.reject(new Error('worker died'));
        return (target.send as (...a: unknown[]) => Promise<unknown>)(command, ...rest);
      };
    },
  });
}

/** A worker that dies at its first `command` while recording `batch`. */
async function dieDuring(command: string, clock: Clock, b: CaptureBatch): Promise<void> {
  const dying = store(
    clock,
    crashing(db, (name) => name === command),
  );
  await expect(dying.record(b)).rejects.toThrow('worker died');
}

/**
 * A client whose first `n` TransactWriteItems are cancelled as DynamoDB cancels a transaction that
 * collides with another on the same item (DynamoDB Local serialises transactions instead).
 */
function conflicting(
  client: DynamoDBDocumentClient,
  n: number,
): DynamoDBDocumentClient & { conflicts: number } {
  let left = n;
  const counter = { conflicts: 0 };
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'conflicts') return counter.conflicts;
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return (
        command: { constructor: { name: string }; input: { TransactItems?: unknown[] } },
        ...rest: unknown[]
      ) => {
        if (command.constructor.name === 'TransactWriteCommand' && left > 0) {
          left--;
          counter.conflicts++;
          return Promise.reject(
            new TransactionCanceledException({
              message: 'Transaction cancelled, please refer cancellation reasons for specific reasons',
              $metadata: {},
              CancellationReasons: (command.input.TransactItems ?? []).map((_, i) =>
                i === 1 ? { Code: 'TransactionConflict' } : { Code: 'None' },
              ),
            }),
          );
        }
        return (target.send as (...a: unknown[]) => Promise<unknown>)(command, ...rest);
      };
    },
  }) as DynamoDBDocumentClient & { conflicts: number };
}

let seq = 0;
function batch(
  model: string,
  opts: {
    rows?: number;
    version?: string;
    hour?: number;
    latencyMs?: number;
    outcome?: 'ok' | 'error';
    kind?: CapturedPrediction['kind'];
    predicted?: (i: number) => string | number;
    messageId?: string;
  } = {},
): CaptureBatch {
  const id = opts.messageId ?? `msg-${++seq}`;
  const version = opts.version ?? '1.0.0';
  const hourStart = H(opts.hour ?? 10);
  const kind = opts.kind ?? 'binary';
  const outcome = opts.outcome ?? 'ok';
  const rows = outcome === 'error' ? 0 : (opts.rows ?? 1);
  return {
    messageId: id,
    model,
    version,
    hourStart,
    outcome,
    ...(outcome === 'error' ? { errorCode: 'model_error' } : {}),
    latencyMs: opts.latencyMs ?? 12.5,
    predictions: Array.from({ length: rows }, (_, i) => ({
      predictionId: `${id}-p${i}`,
      model,
      version,
      variant: 'a',
      at: new Date(Date.parse(hourStart) + 60_000).toISOString(),
      kind,
      predicted: opts.predicted ? opts.predicted(i) : i % 2,
      ...(kind === 'regression' ? {} : { confidence: 0.5 + (i % 5) / 10 }),
    })),
  };
}

/** The aggregate the batches should produce in one hour, through the pure counting functions. */
function expected(batches: readonly CaptureBatch[]) {
  const t = mergeAggregates(batches.map(requestTotals));
  return { requests: t.requests, errors: t.errors, predictions: t.predictions, latency: t.latency };
}

async function predItem(id: string) {
  const res = await db.send(new GetCommand({ TableName: table, Key: { pk: `PRED#${id}`, sk: 'P' } }));
  return res.Item;
}

async function only(s: DynamoPredictionStore, model: string, hour = 10): Promise<HourAggregate[]> {
  return s.aggregates(model, new Date(H(hour)), new Date(H(hour + 1)));
}

standinsForFile({
  setup: (started) => {
    aws = started;
    db = documentClient();
    table = aws.resources.tables.predictions;
  },
  teardown: () => db?.destroy(),
});

describe('record and aggregates', () => {
  it('counts requests, rows, errors, latency and confidence per hour and version', async () => {
    const s = store();
    const b = [
      batch('rec', { rows: 1, latencyMs: 3 }), // one transaction
      batch('rec', { rows: 30, latencyMs: 40 }), // claim, batch write, commit
      batch('rec', { outcome: 'error', latencyMs: 900 }),
      batch('rec', { rows: 2, latencyMs: 3 }),
    ];
    const other = [batch('rec', { rows: 3, version: '1.1.0' }), batch('rec', { rows: 1, hour: 11 })];
    for (const x of [...b, ...other]) await s.record(x);

    const aggs = await s.aggregates('rec', new Date(H(10)), new Date(H(12)));
    expect(aggs.map((a) => [a.hourStart, a.version])).toEqual([
      [H(10), '1.0.0'],
      [H(10), '1.1.0'],
      [H(11), '1.0.0'],
    ]);
    const [h10] = aggs as [HourAggregate];
    expect(h10).toMatchObject({ model: 'rec', ...expected(b) });
    expect(h10.requests).toBe(4);
    expect(h10.errors).toBe(1);
    expect(h10.predictions).toBe(33);
    expect(h10.latency).toEqual({ [latencyBucket(3)]: 2, [latencyBucket(40)]: 1, [latencyBucket(900)]: 1 });
    const conf = b.flatMap((x) => x.predictions.map((p) => p.confidence ?? 0));
    expect(h10.confidenceCount).toBe(33);
    expect(h10.confidenceSum).toBeCloseTo(
      conf.reduce((x, y) => x + y, 0),
      9,
    );
    expect(h10.feedback).toEqual(emptyTotals().feedback);

    // PRED and CAP items expire after ttlDays (90 by default), counted from the clock.
    const p = await predItem(`${b[1]!.messageId}-p29`);
    expect(p).toMatchObject({ model: 'rec', version: '1.0.0', variant: 'a', kind: 'binary', predicted: 1 });
    expect(p!.expiresAt).toBe(T0.getTime() / 1000 + 90 * 86_400);
    const cap = await db.send(
      new GetCommand({ TableName: table, Key: { pk: `CAP#${b[1]!.messageId}`, sk: 'C' } }),
    );
    expect(cap.Item).toMatchObject({ state: 'done', expiresAt: T0.getTime() / 1000 + 90 * 86_400 });
    const short = new DynamoPredictionStore(db, table, { ttlDays: 1, clock: new TestClock() });
    const one = batch('rec-ttl');
    await short.record(one);
    expect((await predItem(one.predictions[0]!.predictionId))!.expiresAt).toBe(T0.getTime() / 1000 + 86_400);
  });

  it('counts a redelivered message once, on both write paths', async () => {
    const s = store();
    const small = batch('redeliver', { rows: 1 });
    const large = batch('redeliver', { rows: 40 });
    const failed = batch('redeliver', { outcome: 'error' });
    for (let i = 0; i < 3; i++) for (const x of [small, large, failed]) await s.record(x);
    const [a] = await only(s, 'redeliver');
    expect(a).toMatchObject(expected([small, large, failed]));
  });

  it('counts the later parts of a split request as predictions, not as more requests', async () => {
    const s = store();
    const first = batch('split', { rows: 30, latencyMs: 40 });
    const rest = [batch('split', { rows: 30 }), batch('split', { rows: 1 })].map((b) => ({
      ...b,
      countsRequest: false,
    }));
    for (const b of [first, ...rest]) await s.record(b);
    const [a] = await only(s, 'split');
    expect(a).toMatchObject({ requests: 1, errors: 0, predictions: 61 });
    expect(Object.values(a?.latency ?? {}).reduce((x, y) => x + y, 0)).toBe(1);
  });

  it('a redelivery after feedback was joined keeps the feedback and counts nothing twice', async () => {
    const clock = new TestClock();
    const s = store(clock);
    const small = batch('clobber', { rows: 1 });
    const large = batch('clobber', { rows: 30 });
    await s.record(small);
    await s.record(large);
    const ids = [small.predictions[0]!.predictionId, large.predictions[7]!.predictionId];
    const joined = await s.feedback(ids.map((predictionId) => ({ predictionId, actual: 1 })));
    expect(joined.map((r) => r.status)).toEqual(['joined', 'joined']);

    clock.advance(10 * 60_000);
    await s.record(small);
    await s.record(large);
    for (const id of ids) expect((await predItem(id))!.actual).toBe(1);
    const again = await s.feedback(ids.map((predictionId) => ({ predictionId, actual: 0 })));
    expect(again.map((r) => r.status)).toEqual(['duplicate', 'duplicate']);
    const [a] = await only(s, 'clobber');
    expect(a).toMatchObject(expected([small, large]));
    expect(a!.feedback.count).toBe(2);
    // small predicted 0 (row 0), large row 7 predicted 1; both actuals 1.
    expect(a!.feedback.confusion).toEqual({ [confusionKey(1, 0)]: 1, [confusionKey(1, 1)]: 1 });
  });

  it('a worker that died after claiming: the message waits out the lease, then is written and counted once', async () => {
    const clock = new TestClock();
    const b = batch('crash-claim', { rows: 60 });
    await dieDuring('BatchWriteCommand', clock, b);
    expect(
      (await s0().feedback([{ predictionId: b.predictions[59]!.predictionId, actual: 1 }]))[0]!.status,
    ).toBe('unknown');
    expect(await only(s0(), 'crash-claim')).toEqual([]);

    // A duplicate delivery within the lease may not take over: the claimer could still be writing.
    const soon = await store(clock)
      .record(b)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(soon).toBeInstanceOf(CaptureInProgress);
    expect((soon as CaptureInProgress).retryAfterSeconds).toBeGreaterThan(0);

    clock.advance(3 * 60_000);
    await store(clock).record(b);
    const [a] = await only(s0(), 'crash-claim');
    expect(a).toMatchObject(expected([b]));
    const fb = await s0().feedback(b.predictions.map((p) => ({ predictionId: p.predictionId, actual: 0 })));
    expect(fb.every((r) => r.status === 'joined')).toBe(true);
  });

  it('a worker that died before committing: feedback joined meanwhile survives the takeover', async () => {
    const clock = new TestClock();
    const b = batch('crash-commit', { rows: 30 });
    await dieDuring('TransactWriteCommand', clock, b);
    // The predictions were written, so feedback can join (and is counted) before the request is.
    const early = b.predictions.slice(0, 3).map((p) => ({ predictionId: p.predictionId, actual: 'late' }));
    expect((await s0().feedback(early)).map((r) => r.status)).toEqual(['joined', 'joined', 'joined']);
    let [a] = await only(s0(), 'crash-commit');
    expect(a).toMatchObject({ requests: 0, predictions: 0 });
    expect(a!.feedback.count).toBe(3);

    clock.advance(3 * 60_000);
    await store(clock).record(b);
    await store(clock).record(b);
    for (const f of early) expect((await predItem(f.predictionId))!.actual).toBe('late');
    [a] = await only(s0(), 'crash-commit');
    expect(a).toMatchObject(expected([b]));
    expect(a!.feedback.count).toBe(3);
    expect((await s0().feedback(early)).map((r) => r.status)).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
    ]);
  });

  it('a duplicate delivery arriving while the first is still writing is counted once', async () => {
    const clock = new TestClock();
    const b = batch('dup-live', { rows: 200 });
    const results = await Promise.allSettled([store(clock).record(b), store(clock).record(b)]);
    const rejected = results.filter((r) => r.status === 'rejected');
    for (const r of rejected) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(CaptureInProgress);
    await store(clock).record(b); // the retry of whichever was turned away
    const [a] = await only(s0(), 'dup-live');
    expect(a).toMatchObject(expected([b]));
  });

  it('sums 20 concurrent messages into the same hour exactly', async () => {
    const s = store();
    const many = Array.from({ length: 20 }, (_, i) =>
      batch('concurrent', {
        rows: i % 3 === 0 ? 1 : 26 + i,
        latencyMs: 1 + i * 7,
        ...(i % 7 === 6 ? { outcome: 'error' as const } : {}),
      }),
    );
    await Promise.all(many.map((b) => s.record(b)));
    const [a] = await only(s, 'concurrent');
    expect(a).toMatchObject(expected(many));
    expect(a!.confidenceCount).toBe(many.reduce((n, b) => n + b.predictions.length, 0));
  });
});

describe('transaction conflicts', () => {
  it('retries transactions cancelled by a conflict, and gives up after a bounded number of attempts', async () => {
    const flaky = conflicting(db, 3);
    const s = store(new TestClock(), flaky);
    const small = batch('conflict', { rows: 1 });
    const large = batch('conflict', { rows: 30 });
    await s.record(small);
    await s.record(large);
    const fb = await s.feedback([{ predictionId: small.predictions[0]!.predictionId, actual: 0 }]);
    expect(fb[0]!.status).toBe('joined');
    expect(flaky.conflicts).toBe(3);
    const [a] = await only(s0(), 'conflict');
    expect(a).toMatchObject(expected([small, large]));
    expect(a!.feedback.count).toBe(1);

    const hopeless = store(new TestClock(), conflicting(db, 1_000));
    const lost = batch('conflict', { rows: 1 });
    await expect(hopeless.record(lost)).rejects.toBeInstanceOf(TransactionCanceledException);
    await s0().record(lost); // the redelivery
    const [b] = await only(s0(), 'conflict');
    expect(b).toMatchObject(expected([small, large, lost]));
  });
});

describe('MemoryPredictionStore', () => {
  it('answers the same as the DynamoDB store for the same calls', async () => {
    const clock = new TestClock();
    const dynamo = store(clock);
    const memory = new MemoryPredictionStore(clock);
    const calls: (() => [Promise<unknown>, Promise<unknown>])[] = [];
    const both = (f: (s: DynamoPredictionStore | MemoryPredictionStore) => Promise<unknown>) =>
      calls.push(() => [f(dynamo), f(memory)]);
    const b1 = batch('parity', { rows: 3, predicted: (i) => ['a', 'b', 'c'][i]!, kind: 'multiclass' });
    const b2 = batch('parity', { rows: 30, hour: 11, version: '1.1.0' });
    const b3 = batch('parity', { outcome: 'error', hour: 12 });
    const b4 = batch('parity', { rows: 2, kind: 'regression', predicted: (i) => i + 0.5, hour: 12 });
    for (const b of [b1, b2, b3, b4, b1, b2]) both((s) => s.record(b));
    const ids = [...b1.predictions, ...b2.predictions.slice(0, 5), ...b4.predictions].map(
      (p) => p.predictionId,
    );
    both((s) => s.feedback(ids.map((predictionId, i) => ({ predictionId, actual: i % 3 === 0 ? 'a' : i }))));
    both((s) =>
      s.feedback([
        { predictionId: 'missing', actual: 1 },
        { predictionId: ids[0]!, actual: 'b' },
      ]),
    );
    both((s) => s.record(b4));
    both((s) => s.feedback(ids.slice(-2).map((predictionId) => ({ predictionId, actual: 9 }))));
    for (const [from, to] of [
      [9, 13],
      [11, 12],
      [12, 13],
      [13, 14],
    ] as const) {
      both((s) => s.aggregates('parity', new Date(H(from)), new Date(H(to))));
    }
    for (const call of calls) {
      const [d, m] = await Promise.all(call());
      // DynamoDB adds decimals exactly, JavaScript in doubles: sums agree to ~15 digits.
      expect(roundNumbers(d)).toEqual(roundNumbers(m));
    }
    expect(memory.predictions.get(ids[0]!)).toMatchObject({
      actual: 'a',
      feedbackAt: clock.now().toISOString(),
    });
  });
});

function roundNumbers(v: unknown): unknown {
  if (typeof v === 'number') return Number(v.toPrecision(12));
  if (Array.isArray(v)) return v.map(roundNumbers);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, roundNumbers(x)]));
  return v;
}

function s0() {
  return store();
}

describe('feedback', () => {
  it('answers joined, duplicate and unknown, and counts into the prediction’s own hour and version', async () => {
    const s = store();
    const b10 = batch('fb', {
      rows: 3,
      hour: 10,
      version: '2.0.0',
      predicted: (i) => ['cat', 'dog', 'cat'][i]!,
    });
    const b11 = batch('fb', { rows: 1, hour: 11, version: '2.1.0', predicted: () => 'dog' });
    await s.record(b10);
    await s.record(b11);
    const [p0, p1, p2] = b10.predictions.map((p) => p.predictionId) as [string, string, string];
    const q0 = b11.predictions[0]!.predictionId;
    const res = await s.feedback([
      { predictionId: p0, actual: 'cat' },
      { predictionId: p1, actual: 'cat' },
      { predictionId: 'nope', actual: 'cat' },
      { predictionId: q0, actual: 'dog' },
      { predictionId: p0, actual: 'dog' },
    ]);
    expect(res.slice(1, 4)).toEqual([
      { predictionId: p1, status: 'joined', model: 'fb', version: '2.0.0' },
      { predictionId: 'nope', status: 'unknown' },
      { predictionId: q0, status: 'joined', model: 'fb', version: '2.1.0' },
    ]);
    // The same id twice in one call runs concurrently (concurrency 8): exactly one joins, either.
    const pair = [res[0], res[4]];
    expect(pair.map((r) => r?.status).sort()).toEqual(['duplicate', 'joined']);
    for (const r of pair) expect(r).toMatchObject({ predictionId: p0, model: 'fb', version: '2.0.0' });
    const p0Actual = res[0]?.status === 'joined' ? 'cat' : 'dog';
    const after = await s.feedback([{ predictionId: p2, actual: 'dog' }]);
    expect(after[0]!.status).toBe('joined');
    expect(await predItem('nope')).toBeUndefined();
    expect(await predItem(p0)).toMatchObject({ actual: p0Actual, feedbackAt: T0.toISOString() });

    const aggs = await s.aggregates('fb', new Date(H(0)), new Date(H(23)));
    const [v2, v21] = aggs as [HourAggregate, HourAggregate];
    expect([v2.hourStart, v2.version, v21.hourStart, v21.version]).toEqual([H(10), '2.0.0', H(11), '2.1.0']);
    expect(v2.feedback).toEqual({
      count: 3,
      absErrorSum: 0,
      squaredErrorSum: 0,
      errorSum: 0,
      // p0 predicted cat (actual: whichever feedback won), p1 dog (actual cat), p2 cat (actual dog).
      confusion:
        p0Actual === 'cat'
          ? {
              [confusionKey('cat', 'cat')]: 1,
              [confusionKey('cat', 'dog')]: 1,
              [confusionKey('dog', 'cat')]: 1,
            }
          : { [confusionKey('cat', 'dog')]: 1, [confusionKey('dog', 'cat')]: 2 },
    });
    expect(v21.feedback.confusion).toEqual({ [confusionKey('dog', 'dog')]: 1 });
  });

  it('regression feedback adds |e|, e² and e with e = predicted − actual', async () => {
    const s = store();
    const values = [3, -1, 10.5, 0.25];
    const actuals: (number | string)[] = [2.5, 1, 10.5, '1.75'];
    const b = batch('reg', { rows: 4, kind: 'regression', predicted: (i) => values[i]! });
    await s.record(b);
    const res = await s.feedback(
      b.predictions.map((p, i) => ({ predictionId: p.predictionId, actual: actuals[i]! })),
    );
    expect(res.every((r) => r.status === 'joined')).toBe(true);
    const [a] = await only(s, 'reg');
    const want = mergeAggregates(
      values.map((v, i) => ({
        ...emptyTotals(),
        feedback: feedbackTotals({ kind: 'regression', predicted: v }, actuals[i]!),
      })),
    ).feedback;
    expect(a!.feedback.count).toBe(4);
    expect(a!.feedback.confusion).toEqual({});
    expect(a!.feedback.absErrorSum).toBeCloseTo(want.absErrorSum, 12); // 0.5 + 2 + 0 + 1.5
    expect(a!.feedback.absErrorSum).toBeCloseTo(4, 12);
    expect(a!.feedback.squaredErrorSum).toBeCloseTo(0.25 + 4 + 0 + 2.25, 12);
    expect(a!.feedback.errorSum).toBeCloseTo(0.5 - 2 + 0 - 1.5, 12);
    expect(a!.confidenceCount).toBe(0);
  });

  it('10 parallel feedback calls for one prediction: exactly one joins', async () => {
    const s = store();
    const b = batch('race', { rows: 1 });
    await s.record(b);
    const id = b.predictions[0]!.predictionId;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => s.feedback([{ predictionId: id, actual: i % 2 }])),
    );
    const statuses = results.map((r) => r[0]!.status);
    expect(statuses.filter((x) => x === 'joined')).toHaveLength(1);
    expect(statuses.filter((x) => x === 'duplicate')).toHaveLength(9);
    const [a] = await only(s, 'race');
    expect(a!.feedback.count).toBe(1);
    expect(Object.values(a!.feedback.confusion)).toEqual([1]);
    const winner = (await predItem(id))!.actual;
    expect(a!.feedback.confusion).toEqual({ [confusionKey(winner as number, 0)]: 1 });
  });

  it('keeps confusion labels with |, quotes, unicode and 300 characters apart and intact', async () => {
    const s = store();
    const labels = ['a|b', '"|"', 'ünï©ødé 🐈', 'x'.repeat(300), 'x'.repeat(299) + 'y', 7, '7', ''];
    const b = batch('labels', {
      rows: labels.length * 2,
      kind: 'multiclass',
      predicted: (i) => labels[i % labels.length]!,
    });
    await s.record(b);
    const actualOf = (i: number) => labels[(i + (i >= labels.length ? 1 : 0)) % labels.length]!;
    const res = await s.feedback(
      b.predictions.map((p, i) => ({ predictionId: p.predictionId, actual: actualOf(i) })),
    );
    expect(res.every((r) => r.status === 'joined')).toBe(true);
    const want: Record<string, number> = {};
    b.predictions.forEach((p, i) => {
      const k = confusionKey(actualOf(i), p.predicted);
      want[k] = (want[k] ?? 0) + 1;
    });
    const [a] = await only(s, 'labels');
    expect(a!.feedback.confusion).toEqual(want);
    const m = classificationMetrics(a!.feedback.confusion)!;
    expect(m.averaging).toBe('macro');
    expect(m.accuracy).toBe(0.5);
  });
});

describe('aggregates window', () => {
  it('returns hours in [from, to), oldest first, versions within an hour', async () => {
    const s = store();
    for (const hour of [0, 1, 2, 3, 23]) {
      for (const version of ['1.0.0', '0.9.0']) await s.record(batch('window', { hour, version }));
    }
    const hours = async (from: Date, to: Date) =>
      (await s.aggregates('window', from, to)).map((a) => `${a.hourStart.slice(11, 13)}@${a.version}`);
    const at = (h: number, ms = 0) => new Date(Date.parse(H(h)) + ms);
    expect(await hours(at(1), at(3))).toEqual(['01@0.9.0', '01@1.0.0', '02@0.9.0', '02@1.0.0']);
    expect(await hours(at(1, 1), at(3))).toEqual(['02@0.9.0', '02@1.0.0']);
    expect(await hours(at(1, -1), at(3, 1))).toEqual([
      '01@0.9.0',
      '01@1.0.0',
      '02@0.9.0',
      '02@1.0.0',
      '03@0.9.0',
      '03@1.0.0',
    ]);
    expect(await hours(at(3, -1), at(3))).toEqual([]);
    expect(await hours(at(2), at(2))).toEqual([]);
    expect(await hours(at(3), at(1))).toEqual([]);
    expect(await hours(at(0), at(24))).toHaveLength(10);
    expect(await s.aggregates('window-none', at(0), at(24))).toEqual([]);
    // Another model's hours never leak in, even one whose name extends this one.
    await s.record(batch('window2', { hour: 1 }));
    expect(await hours(at(0), at(24))).toHaveLength(10);
    await expect(s.aggregates('window', new Date('nope'), at(1))).rejects.toThrow(RangeError);
  });
});
