import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  captureBodies,
  DEFLATE_PREFIX,
  decodeBody,
  encodeBody,
  MAX_MESSAGE_BYTES,
  pack,
  SqsCaptureQueue,
  serialise,
} from '../../../functions/adapters/sqs-capture-queue.js';
import { CaptureQueueBody } from '../../../functions/contract/messages.js';
import { CaptureBuffer, isSealed, predictionsIn } from '../../../functions/core/inference/capture.js';
import {
  captureRows,
  MAX_STORED_INSTANCE_BYTES,
  toCaptureBatch,
} from '../../../functions/core/inference/capture-records.js';
import { RandomIdBlocks } from '../../../functions/core/inference/ids.js';
import type {
  BufferedCapture,
  CaptureMessage,
  CaptureQueue,
} from '../../../functions/core/inference/ports.js';
import { collectGarbage } from '../../support/gc.js';

/**
 * What the capture worker takes from a (decoded) body: its JSON through the captures queue's
 * schema; a body that is not JSON at all is dropped whole by the queue entry, counted here as one.
 */
function parseCaptureBody(body: string): CaptureQueueBody {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { messages: [], malformed: 1 };
  }
  return CaptureQueueBody.parse(json);
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Decodes a ULID's 48-bit time part independently of the encoder. */
function ulidTime(id: string): number {
  let t = 0;
  for (const c of id.slice(0, 10)) t = t * 32 + CROCKFORD.indexOf(c);
  return t;
}

const message = (over: Partial<CaptureMessage> = {}): CaptureMessage => ({
  v: 1,
  id: '01JB0000000000000000000000',
  model: 'churn',
  version: '1.0.0',
  at: '2026-11-23T10:15:00.000Z',
  latencyMs: 1.5,
  outcome: 'ok',
  kind: 'binary',
  features: ['a', 'b'],
  predictionIds: ['01JB0000000000000000000000', '01JB0000000000000000000001'],
  instances: [[1, 2], { a: 3, b: 4 }],
  predictions: ['yes', 'no'],
  probabilities: [
    [0.1, 0.9],
    [0.7, 0.3],
  ],
  ...over,
});

describe('prediction ids', () => {
  it('are valid ULIDs carrying the request time, unique across and within requests, in row order', () => {
    const at = Date.parse('2026-11-23T10:15:00.123Z');
    const blocks = new RandomIdBlocks({ now: () => new Date(at) });
    const all = new Set<string>();
    for (let r = 0; r < 200; r++) {
      const ids = blocks.block().ids(300);
      expect([...ids].sort()).toEqual(ids);
      for (const id of ids) {
        expect(id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
        expect(ulidTime(id)).toBe(at);
        all.add(id);
      }
    }
    expect(all.size).toBe(200 * 300);
  });
});

describe('CaptureBuffer', () => {
  it('batches: sends at 10 messages, or after the delay, and never blocks add', async () => {
    const sent: number[] = [];
    const buffer = new CaptureBuffer({ send: async (m) => void sent.push(m.length) }, { maxDelayMs: 20 });
    for (let i = 0; i < 10; i++) buffer.add(message({ id: `m${i}` }));
    await buffer.flush();
    expect(sent).toEqual([10]);
    buffer.add(message());
    expect(buffer.size).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(sent).toEqual([10, 1]);
    expect(buffer.sent).toBe(11);
  });

  it('keeps messages the queue refused, retries them, and drops the oldest beyond its bound', async () => {
    let fail = true;
    const got: string[] = [];
    const errors: number[] = [];
    const buffer = new CaptureBuffer(
      {
        send: async (m) => {
          if (fail) throw new Error('queue down');
          got.push(...m.map((x) => x.id));
        },
      },
      { maxBacklog: 3, flushAt: 100, onError: (_e, n) => errors.push(n) },
    );
    buffer.add(message({ id: 'a' }));
    buffer.add(message({ id: 'b' }));
    await buffer.flush();
    expect(errors).toEqual([2]);
    expect(buffer.size).toBe(2);
    buffer.add(message({ id: 'c' }));
    buffer.add(message({ id: 'd' }));
    expect(buffer.dropped).toBe(1);
    fail = false;
    await buffer.flush();
    expect(got).toEqual(['b', 'c', 'd']);
  });
});

describe('CaptureBuffer when the queue fails', () => {
  it('spills a batch the queue refuses, and keeps spilling for a while before trying the queue again', async () => {
    let now = 0;
    const queued: string[] = [];
    const spilled: string[][] = [];
    let fail = true;
    const buffer = new CaptureBuffer(
      {
        send: async (m) => {
          if (fail) throw new Error('ECONNREFUSED');
          queued.push(...m.map((x) => x.id));
        },
      },
      {
        flushAt: 100,
        queueRetryMs: 1000,
        now: () => now,
        spill: async (m) => {
          spilled.push(m.map((x) => x.id));
        },
      },
    );
    buffer.add(message({ id: 'a' }));
    await buffer.flush();
    fail = false; // back, but not tried until queueRetryMs has passed
    buffer.add(message({ id: 'b' }));
    await buffer.flush();
    now = 1000;
    buffer.add(message({ id: 'c' }));
    await buffer.flush();
    expect(spilled).toEqual([['a'], ['b']]);
    expect(queued).toEqual(['c']);
    expect([buffer.spilled, buffer.sent, buffer.dropped, buffer.size]).toEqual([2, 1, 0, 0]);
  });

  it('spills a batch whose send does not answer in time (a stalled endpoint)', async () => {
    const spilled: string[] = [];
    const buffer = new CaptureBuffer(
      { send: () => new Promise(() => {}) },
      {
        flushAt: 100,
        sendTimeoutMs: 20,
        spill: async (m) => {
          spilled.push(...m.map((x) => x.id));
        },
      },
    );
    buffer.add(message({ id: 'a' }));
    buffer.add(message({ id: 'b' }));
    await buffer.flush();
    expect(spilled).toEqual(['a', 'b']);
    expect(buffer.size).toBe(0);
  });

  it('reports what neither path takes once the backlog is full, and retries the rest as it was', async () => {
    const lost: string[] = [];
    const spilled: string[][] = [];
    let spillFails = true;
    const buffer = new CaptureBuffer(
      {
        send: async () => {
          throw new Error('down');
        },
      },
      {
        flushAt: 100,
        maxBacklog: 3,
        onLost: (m) => lost.push(...m.map((x) => x.id)),
        spill: async (m) => {
          if (spillFails) throw new Error('s3 down');
          spilled.push(m.map((x) => x.id));
        },
      },
    );
    buffer.add(message({ id: 'a' }));
    buffer.add(message({ id: 'b' }));
    await buffer.flush();
    buffer.add(message({ id: 'c' }));
    buffer.add(message({ id: 'd' }));
    expect(lost).toEqual(['a']);
    expect(buffer.dropped).toBe(1);
    spillFails = false;
    await buffer.flush();
    expect(spilled).toEqual([['b'], ['c', 'd']]);
  });
});

describe('capture body encoding', () => {
  it('leaves short or incompressible bodies as JSON, which decode to themselves', async () => {
    const short = JSON.stringify([message()]);
    expect(await encodeBody(short)).toBe(short);
    // Random base64 text does not compress, and base64 adds a third: JSON is shorter.
    const noisy = JSON.stringify([{ ...message(), instances: [[randomBytes(6000).toString('base64')]] }]);
    expect(await encodeBody(noisy)).toBe(noisy);
    expect(decodeBody(noisy)).toBe(noisy);
  });

  it('refuses a compressed body that is corrupt, or that would inflate past its bound', () => {
    expect(() => decodeBody(`${DEFLATE_PREFIX}bm90IGRlZmxhdGU=`)).toThrow();
    const bomb = DEFLATE_PREFIX + deflateRawSync(Buffer.alloc(2 * 1024 * 1024, 32)).toString('base64');
    expect(bomb.length).toBeLessThan(10_000);
    expect(() => decodeBody(bomb)).toThrow(/buffer|length|size/i);
  });
});

/** A round of batch-1000 captures: each message about 100 kB of JSON. */
function large(i: number): CaptureMessage {
  const rows = 1000;
  return message({
    id: `01JB${String(i).padStart(22, '0')}`,
    predictionIds: Array.from({ length: rows }, (_, r) => `01JB${String(i * rows + r).padStart(22, '0')}`),
    instances: Array.from({ length: rows }, (_, r) => [r * 1.25, r / 3]),
    predictions: Array.from({ length: rows }, (_, r) => (r % 2 ? 'yes' : 'no')),
    probabilities: Array.from({ length: rows }, (_, r) => [r / 1001, 1 - r / 1001]),
  });
}

function fakeSqs() {
  const bodies: string[] = [];
  const client = {
    send: async (command: { input: { Entries: { MessageBody: string }[] } }) => {
      for (const e of command.input.Entries) bodies.push(e.MessageBody);
      return { Successful: command.input.Entries.map((_, i) => ({ Id: String(i) })), Failed: [] };
    },
  };
  return { bodies, client };
}

describe('SqsCaptureQueue.send', () => {
  it('lets the event loop turn while it serialises a large round, and sends the same bodies', async () => {
    const messages = Array.from({ length: 20 }, (_, i) => large(i));
    expect(messages.reduce((n, m) => n + JSON.stringify(m).length, 0)).toBeGreaterThan(1_000_000);
    const { bodies, client } = fakeSqs();
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    // Before any body reaches SQS, timers (other requests) had their turns in between: without
    // the slicing the whole round is one synchronous block and the first send finds turns = 0.
    let turnsBeforeFirstSend: number | undefined;
    const send = client.send;
    Object.assign(client, {
      send: (command: Parameters<typeof send>[0]) => {
        turnsBeforeFirstSend ??= turns;
        return send(command);
      },
    });
    try {
      await new SqsCaptureQueue(client as never, 'https://queue').send(messages);
    } finally {
      clearInterval(ticker);
    }
    expect(turnsBeforeFirstSend).toBeGreaterThanOrEqual(2);
    expect(bodies).toEqual(await Promise.all(captureBodies(messages).map(encodeBody)));
  });

  it('sends a small round without waiting for a turn', async () => {
    const { bodies, client } = fakeSqs();
    await new SqsCaptureQueue(client as never, 'https://queue').send([message()]);
    expect(bodies).toEqual([JSON.stringify([message()])]);
  });
});

describe('CaptureBuffer with a queue that seals', () => {
  /** A message of n rows, each array of it its own object. */
  const rows = (n: number, over: Partial<CaptureMessage> = {}) =>
    message({
      predictionIds: Array.from({ length: n }, (_, r) => `01JB${String(r).padStart(22, '0')}`),
      instances: Array.from({ length: n }, (_, r) => [r * 1.25, r / 3]),
      predictions: Array.from({ length: n }, (_, r) => (r % 2 ? 'yes' : 'no')),
      probabilities: Array.from({ length: n }, (_, r) => [r / (n + 1), 1 - r / (n + 1)]),
      ...over,
    });

  /** The queue, with what each send was handed. */
  function watched(queue: CaptureQueue) {
    const handed: BufferedCapture[] = [];
    const watching: CaptureQueue = {
      seal: (m) => queue.seal?.(m),
      send: (ms) => {
        handed.push(...ms);
        return queue.send(ms);
      },
    };
    return { handed, watching };
  }

  it('seals a waiting message of 16 rows or more when the next arrives, never the last, and sends the same bytes', async () => {
    const { bodies, client } = fakeSqs();
    const { handed, watching } = watched(new SqsCaptureQueue(client as never, 'https://queue'));
    const buffer = new CaptureBuffer(watching, { flushAt: 100 });
    const big = rows(16, { id: 'big', context: { region: 'eu' } });
    const failed = rows(20, { id: 'failed', outcome: 'error', errorCode: 'model_failed' });
    const small = rows(15, { id: 'small' });
    // Nothing arrives after it: as on Lambda, where each invocation flushes its own message.
    const last = rows(40, { id: 'last' });
    for (const m of [big, failed, small, last]) buffer.add(m);
    await buffer.flush();
    expect(handed.map((c) => [c.id, isSealed(c)])).toEqual([
      ['big', true],
      ['failed', true],
      ['small', false],
      ['last', false],
    ]);
    expect(handed.map(predictionsIn)).toEqual([16, 0, 15, 40]);
    expect(bodies).toEqual(await Promise.all(captureBodies([big, failed, small, last]).map(encodeBody)));
    expect(bodies.map(decodeBody)).toEqual([JSON.stringify([big, failed, small, last])]);
  });

  it('seals each waiting message once, across shed messages and flushes', async () => {
    const { client } = fakeSqs();
    const { handed, watching } = watched(new SqsCaptureQueue(client as never, 'https://queue'));
    const buffer = new CaptureBuffer(watching, { flushAt: 100, maxBacklog: 3 });
    // The fourth and fifth adds each shed the oldest; the ones behind them are still sealed.
    for (const id of ['a', 'b', 'c', 'd', 'e']) buffer.add(rows(20, { id }));
    expect(buffer.dropped).toBe(2);
    await buffer.flush();
    buffer.add(rows(20, { id: 'f' }));
    buffer.add(rows(1, { id: 'g' }));
    await buffer.flush();
    expect(handed.map((c) => [c.id, isSealed(c)])).toEqual([
      ['c', true],
      ['d', true],
      ['e', false],
      ['f', true],
      ['g', false],
    ]);
  });

  it("keeps none of a sealed message's arrays until the flush", async () => {
    const { bodies, client } = fakeSqs();
    const buffer = new CaptureBuffer(new SqsCaptureQueue(client as never, 'https://queue'), { flushAt: 100 });
    const held = (() => {
      const m = large(1);
      buffer.add(m);
      buffer.add(message({ id: 'next' }));
      return {
        json: JSON.stringify([m, message({ id: 'next' })]),
        refs: [m.instances, m.probabilities, m.predictionIds].map((a) => new WeakRef(a as object)),
      };
    })();
    await new Promise((r) => setImmediate(r));
    collectGarbage();
    expect(buffer.size).toBe(2);
    // Held as it was, the message would keep each of them (and every row in them) alive.
    expect(held.refs.map((r) => r.deref())).toEqual([undefined, undefined, undefined]);
    await buffer.flush();
    expect(bodies.map(decodeBody)).toEqual([held.json]);
  });

  it("keeps a small message as a copy, with copies of its arrays, not the caller's objects", async () => {
    const { bodies, client } = fakeSqs();
    const buffer = new CaptureBuffer(new SqsCaptureQueue(client as never, 'https://queue'), { flushAt: 100 });
    const held = (() => {
      const m = rows(15, { id: 'small', context: { region: 'eu' } });
      buffer.add(m);
      return {
        json: JSON.stringify([m]),
        refs: [m, m.instances, m.probabilities, m.predictionIds, m.predictions].map(
          (a) => new WeakRef(a as object),
        ),
      };
    })();
    await new Promise((r) => setImmediate(r));
    collectGarbage();
    expect(buffer.size).toBe(1);
    // Held until the flush, the originals would teach V8 to allocate their kind in the old
    // generation (see withOwnArrays in capture.ts).
    expect(held.refs.map((r) => r.deref())).toEqual([undefined, undefined, undefined, undefined, undefined]);
    await buffer.flush();
    expect(bodies.map(decodeBody)).toEqual([held.json]);
  });

  it('keeps a message as it was when the queue declines to seal it, or sealing throws', async () => {
    const { bodies, client } = fakeSqs();
    const queue = new SqsCaptureQueue(client as never, 'https://queue');
    // Over one queue message: split by rows when it is sent, not in a request.
    const oversized = rows(16, {
      id: 'oversized',
      instances: Array.from({ length: 16 }, () => ['x'.repeat(MAX_MESSAGE_BYTES / 8)]),
    });
    expect(queue.seal(oversized)).toBeUndefined();
    const { handed, watching } = watched(queue);
    const lost: number[] = [];
    const throwing: CaptureQueue = {
      ...watching,
      seal: () => {
        throw new Error('not serialisable');
      },
    };
    const buffer = new CaptureBuffer(watching, { flushAt: 100 });
    buffer.add(oversized);
    buffer.add(message({ id: 'next' }));
    await buffer.flush();
    expect(handed.map(isSealed)).toEqual([false, false]);
    expect(bodies.map(decodeBody)).toEqual(captureBodies([oversized, message({ id: 'next' })]));
    const refusing = new CaptureBuffer(throwing, {
      flushAt: 100,
      maxBacklog: 1,
      onLost: (ms) => lost.push(...ms.map(predictionsIn)),
    });
    refusing.add(rows(20, { id: 'a' }));
    refusing.add(rows(30, { id: 'b' }));
    expect(lost).toEqual([20]);
    await refusing.flush();
    expect(handed.slice(2).map((c) => [c.id, isSealed(c)])).toEqual([['b', false]]);
  });
});

describe('CaptureBuffer under load', () => {
  it('runs one send at a time: messages added during a send go out together in the next round', async () => {
    const sent: number[] = [];
    const buffer = new CaptureBuffer(
      {
        send: async (m) => {
          sent.push(m.length);
          await new Promise((r) => setTimeout(r, 20));
        },
      },
      { flushAt: 10, maxDelayMs: 1000 },
    );
    for (let i = 0; i < 10; i++) buffer.add(message({ id: `a${i}` }));
    // Full, but the send starts after the current callback: never inside the add that filled it.
    expect(sent).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([10]);
    // Each of these is past flushAt; none may start a send of its own.
    for (let i = 0; i < 25; i++) buffer.add(message({ id: `b${i}` }));
    expect(sent).toEqual([10]);
    await buffer.flush();
    expect(sent).toEqual([10, 25]);
    expect(buffer.sent).toBe(35);
    expect(buffer.size).toBe(0);
  });

  it('does not retry a failing queue on every add, and sends the backlog once it recovers', async () => {
    let calls = 0;
    let fail = true;
    const buffer = new CaptureBuffer(
      {
        send: async () => {
          calls++;
          if (fail) throw new Error('queue down');
        },
      },
      { flushAt: 2, maxDelayMs: 30, maxBacklog: 1000 },
    );
    buffer.add(message({ id: 'a' }));
    buffer.add(message({ id: 'b' }));
    await buffer.flush();
    expect(calls).toBe(1);
    for (let i = 0; i < 50; i++) buffer.add(message({ id: `c${i}` }));
    expect(calls).toBe(1);
    fail = false;
    await new Promise((r) => setTimeout(r, 80));
    // The failed batch first, as it was (its grouping is what the worker counts once), then the rest.
    expect(calls).toBe(3);
    expect(buffer.sent).toBe(52);
    expect(buffer.size).toBe(0);
  });
});

describe('capture records', () => {
  it('turns a message into S3 rows keyed by feature name, and a batch with confidences', () => {
    const m = message();
    const rows = captureRows(m);
    const row = (predictionId: string, instance: object, prediction: string, probabilities: number[]) => ({
      predictionId,
      at: m.at,
      version: '1.0.0',
      instance,
      prediction,
      probabilities,
      latencyMs: 1.5,
    });
    expect(rows).toEqual([
      row('01JB0000000000000000000000', { a: 1, b: 2 }, 'yes', [0.1, 0.9]),
      row('01JB0000000000000000000001', { a: 3, b: 4 }, 'no', [0.7, 0.3]),
    ]);
    const batch = toCaptureBatch(m);
    expect(batch.hourStart).toBe('2026-11-23T10:00:00.000Z');
    expect(batch.predictions.map((p) => p.confidence)).toEqual([0.9, 0.7]);
    expect(batch.countsRequest).toBeUndefined();
    expect(toCaptureBatch({ ...m, part: 3 }).countsRequest).toBe(false);
  });

  it('keeps no instance on prediction items of a model that does not learn online', () => {
    const batch = toCaptureBatch(
      message({
        instances: [
          [1, 2],
          [3, 4],
        ],
      }),
    );
    expect(batch.predictions).toHaveLength(2);
    for (const p of batch.predictions) expect(p).not.toHaveProperty('instance');
  });

  it('keeps each instance on its prediction as JSON when the model learns online, but none over 4 KB', () => {
    const small = [1e200, -0.5, 2];
    const big = { text: 'x'.repeat(MAX_STORED_INSTANCE_BYTES) };
    const batch = toCaptureBatch(message({ instances: [small, big] }), true);
    // A string: 1e200 is a JSON number DynamoDB could not store, and would fail the whole group.
    expect(batch.predictions[0]?.instance).toBe('[1e+200,-0.5,2]');
    expect(JSON.parse(batch.predictions[0]?.instance as string)).toEqual(small);
    expect(batch.predictions[1]).not.toHaveProperty('instance');
    expect(toCaptureBatch(message({ instances: undefined }), true).predictions[0]).not.toHaveProperty(
      'instance',
    );
  });

  it('carries the request context to each row and prediction, one for all or one per row, split with them', () => {
    const shared = message({ context: { region: 'north' } });
    expect(captureRows(shared).map((r) => r.context)).toEqual([{ region: 'north' }, { region: 'north' }]);
    const perRow = message({ context: [{ region: 'north' }, { region: 'south', vip: true }] });
    expect(captureRows(perRow).map((r) => r.context)).toEqual([
      { region: 'north' },
      { region: 'south', vip: true },
    ]);
    const batch = toCaptureBatch(perRow);
    expect(batch.predictions.map((p) => [p.context, p.probabilities])).toEqual([
      [{ region: 'north' }, [0.1, 0.9]],
      [{ region: 'south', vip: true }, [0.7, 0.3]],
    ]);
    // The worker's schema refuses a context array that does not match the rows.
    expect(parseCaptureBody(JSON.stringify(message({ context: [{ region: 'x' }] }))).messages).toEqual([]);
    expect(parseCaptureBody(JSON.stringify(perRow)).messages).toEqual([perRow]);
    // A message split for size keeps each row's own context.
    const n = 6000;
    const ids = Array.from({ length: n }, (_, i) => `01JB${String(i).padStart(22, '0')}`);
    const big = message({
      predictionIds: ids,
      instances: ids.map((_, i) => [i + 0.123456789, -i - 0.987654321]),
      predictions: ids.map(() => 'yes'),
      context: ids.map((_, i) => ({ i })),
    });
    const parts = serialise(big).map((b) => parseCaptureBody(b).messages[0] as CaptureMessage);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.flatMap((p) => captureRows(p)).map((r) => (r.context as { i: number }).i)).toEqual(
      ids.map((_, i) => i),
    );
  });

  it('rejects what Serval did not write', () => {
    const read = (body: string) => parseCaptureBody(body).messages;
    expect(read('nope')).toEqual([]);
    expect(read(JSON.stringify({ ...message(), v: 2 }))).toEqual([]);
    expect(read(JSON.stringify({ ...message(), predictions: ['yes'] }))).toEqual([]);
    expect(read(JSON.stringify(message()))).toEqual([message()]);
  });

  it('splits a message over the SQS limit into parts that fit, losing no row, counting one request', () => {
    const n = 6000;
    const ids = Array.from({ length: n }, (_, i) => `01JB${String(i).padStart(22, '0')}`);
    const big = message({
      predictionIds: ids,
      instances: ids.map((_, i) => [i + 0.123456789, -i - 0.987654321]),
      predictions: ids.map((_, i) => (i % 2 ? 'yes' : 'no')),
      probabilities: ids.map(() => [0.123456789, 0.876543211]),
    });
    const bodies = serialise(big);
    expect(bodies.length).toBeGreaterThan(1);
    for (const b of bodies) expect(Buffer.byteLength(b)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    const parts = bodies.map((b) => parseCaptureBody(b).messages[0] as CaptureMessage);
    expect(parts.flatMap((p) => p.predictionIds)).toEqual(ids);
    expect(parts.flatMap((p) => captureRows(p)).map((r) => r.instance)).toEqual(
      big.instances?.map((x) => ({ a: (x as number[])[0], b: (x as number[])[1] })),
    );
    expect(parts.map((p) => toCaptureBatch(p).countsRequest !== false).filter(Boolean)).toHaveLength(1);
    expect(new Set(parts.map((p) => p.id)).size).toBe(parts.length);
  });

  it('packs many capture messages into few SQS bodies, and the worker reads every one back', async () => {
    const many = Array.from({ length: 3000 }, (_, i) =>
      message({
        id: `m${i}`,
        predictionIds: [`01JB${String(i).padStart(22, '0')}`],
        instances: [[i, i]],
        predictions: ['yes'],
        probabilities: [[0.1, 0.9]],
      }),
    );
    const bodies = pack(many.flatMap((m) => serialise(m)));
    expect(bodies.length).toBeGreaterThan(1);
    expect(bodies.length).toBeLessThan(many.length / 100);
    for (const b of bodies) expect(Buffer.byteLength(b)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES + 2);
    const back = bodies.flatMap((b) => parseCaptureBody(b).messages);
    expect(back.map((m) => m.id)).toEqual(many.map((m) => m.id));
    // As sent: compressed, several times smaller, and read back to the same messages.
    const sent = await Promise.all(bodies.map(encodeBody));
    for (const [i, b] of sent.entries()) {
      expect(b.startsWith(DEFLATE_PREFIX)).toBe(true);
      expect(b.length * 3).toBeLessThan((bodies[i] as string).length);
      expect(decodeBody(b)).toBe(bodies[i]);
    }
    // A single (unpacked) message and a body with one foreign entry
    expect(parseCaptureBody(JSON.stringify(message())).messages).toHaveLength(1);
    const mixed = parseCaptureBody(`[${JSON.stringify(message())},{"v":9}]`);
    expect([mixed.messages.length, mixed.malformed]).toEqual([1, 1]);
    expect(parseCaptureBody('{').malformed).toBe(1);
  });
});
