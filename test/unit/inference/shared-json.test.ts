import { describe, expect, it } from 'vitest';
import {
  captureBodies,
  MAX_MESSAGE_BYTES,
  pack,
  SqsCaptureQueue,
  serialise,
} from '../../../functions/adapters/sqs-capture-queue.js';
import type { CaptureMessage } from '../../../functions/core/inference/ports.js';
import {
  canonicalMemberText,
  holdsSharedJson,
  shareJson,
  stringifyShared,
} from '../../../functions/core/kernel/shared-json.js';
import { createRng } from '../../../functions/core/training/random.js';
import { respond } from '../../../functions/http/api.js';

/** The capture queue's split by rows, as it was written with plain JSON.stringify. */
function plainSerialise(m: CaptureMessage): string[] {
  const body = JSON.stringify(m);
  if (Buffer.byteLength(body) <= MAX_MESSAGE_BYTES) return [body];
  const rows = m.predictionIds?.length ?? 0;
  if (rows <= 1) return [JSON.stringify({ ...m, instances: undefined, truncated: true })];
  const half = Math.ceil(rows / 2);
  const base = m.part ?? 0;
  const parts: string[] = [];
  for (const [i, [from, to]] of (
    [
      [0, half],
      [half, rows],
    ] as const
  ).entries()) {
    const slice = <T>(xs: readonly T[] | undefined) => xs?.slice(from, to);
    parts.push(
      ...plainSerialise({
        ...m,
        id: i === 0 ? m.id : `${m.id}.${from}`,
        predictionIds: slice(m.predictionIds),
        instances: slice(m.instances),
        predictions: slice(m.predictions),
        probabilities: slice(m.probabilities),
        agreement: slice(m.agreement),
        scoreDiff: slice(m.scoreDiff),
        context: Array.isArray(m.context)
          ? (slice(m.context as readonly unknown[]) as CaptureMessage['context'])
          : m.context,
        part: i === 0 ? base : base + from,
      }),
    );
  }
  return parts;
}

/** Numbers whose JSON is not their obvious text, or not a number at all. */
const AWKWARD = [-0, 0, 1e21, 1e-7, 123456789.12345679, -1.5e-300, Number.MAX_VALUE, Number.NaN, Infinity];
/** Strings JSON escapes, or writes as they are although they are not ASCII. */
const STRINGS = [
  'plain',
  'quote " back \\ slash',
  'tab\tnl\n\u0000\u001f',
  'é中文🙂',
  '\ud800 lone',
  '\u2028\u2029',
];

function rows(n: number, seed: number): { ids: string[]; probabilities: number[][]; predictions: string[] } {
  const ids: string[] = [];
  const probabilities: number[][] = [];
  const predictions: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(`01JB${String(seed * 100_000 + i).padStart(22, '0')}`);
    const p = Math.fround(((i * 7919 + seed) % 1000) / 999);
    probabilities.push(i < AWKWARD.length ? [AWKWARD[i] as number, 1 - p] : [p, 1 - p]);
    predictions.push(STRINGS[i % STRINGS.length] as string);
  }
  return { ids, probabilities, predictions };
}

/** A capture message as the service builds it: its arrays marked, as the answer marks them. */
function marked(n: number, seed: number, over: Partial<CaptureMessage> = {}): CaptureMessage {
  const { ids, probabilities, predictions } = rows(n, seed);
  const features = ['f0', 'f"1', 'ü'];
  const instances = ids.map((_, i) =>
    i % 3 === 0
      ? [i, -0, 1e21]
      : i % 3 === 1
        ? { f0: STRINGS[i % STRINGS.length], f1: null }
        : [i / 7, 1e-7, -i],
  );
  for (const x of [ids, probabilities, predictions, features, instances]) shareJson(x);
  return held({
    v: 1,
    id: ids[0] as string,
    model: 'churn',
    version: '1.0.0',
    at: '2026-11-23T10:15:00.000Z',
    latencyMs: 1.25,
    outcome: 'ok',
    kind: 'binary',
    features,
    predictionIds: ids,
    instances,
    predictions,
    probabilities,
    ...over,
  });
}

/** An object marked as holding shared values, as the service marks its answer and capture. */
function held<T extends object>(o: T): T {
  holdsSharedJson(o);
  return o;
}

describe('stringifyShared', () => {
  it('writes what JSON.stringify writes, marked values or not', () => {
    const arr = [1, -0, Number.NaN, 1e21, 'é🙂', null, undefined, { toJSON: () => 'x' }];
    shareJson(arr);
    const date = new Date(0);
    const objects: object[] = [
      { a: arr, b: arr },
      { '2': arr, b: 1, '1': 'one', 'k"ey\n': arr, u: undefined, f: () => 1, s: Symbol('s') },
      { first: undefined, a: arr },
      { a: arr, at: date, nested: { arr } },
      { a: arr, toJSON: () => ({ replaced: true }) },
      { a: { toJSON: (key: string) => key }, b: arr },
      { n: -0, big: 1e21, nan: Number.NaN, inf: -Infinity, t: true, z: null, s: STRINGS },
      {},
      [arr, arr],
      Object.assign(Object.create({ inherited: arr }) as object, { own: arr }),
    ];
    for (const o of objects) {
      // Not marked as a holder: JSON.stringify's work alone.
      expect(stringifyShared(o)).toBe(JSON.stringify(o));
      holdsSharedJson(o);
      expect(stringifyShared(o)).toBe(JSON.stringify(o));
      // The second time comes from the kept text.
      expect(stringifyShared(o)).toBe(JSON.stringify(o));
    }
  });

  it('serialises a marked value once however many objects carry it', () => {
    let calls = 0;
    const counted = [{ toJSON: () => ++calls }];
    shareJson(counted);
    const first = stringifyShared(held({ x: counted }));
    const second = stringifyShared(held({ y: 1, x: counted }));
    expect(calls).toBe(1);
    expect(first).toBe('{"x":[1]}');
    expect(second).toBe('{"y":1,"x":[1]}');
  });
});

describe('capture and answer JSON from shared fragments', () => {
  it('puts exactly the bytes of plain JSON.stringify on the queue, split or not', () => {
    const messages: CaptureMessage[] = [
      marked(3, 1),
      marked(40, 2, { context: { region: 'eu', vip: true, score: -0, note: 'é🙂' } }),
      marked(5, 3, {
        experimentId: 'exp-1',
        variant: 'shadow',
        epoch: 2,
        subject: 'user-"7"',
        shadow: true,
        agreement: [1, 0, 1, 1, 0],
        scoreDiff: [0, 1e-7, Number.NaN, 1e21, -0],
      }),
      marked(2, 4, { context: [{ a: 1 }, { a: null }], part: 3, probabilities: undefined }),
      // Over MAX_MESSAGE_BYTES: split by rows, the halves serialised from slices.
      marked(7000, 5, { context: { region: 'us' } }),
    ];
    const big = messages[4] as CaptureMessage;
    expect(Buffer.byteLength(JSON.stringify(big))).toBeGreaterThan(MAX_MESSAGE_BYTES);
    // One row alone over the limit: its instance is dropped.
    const huge = marked(1, 6, { instances: ['x'.repeat(MAX_MESSAGE_BYTES)] });
    messages.push(huge);
    for (const m of messages) expect(serialise(m)).toEqual(plainSerialise(m));
    // Sealed while it waits (CaptureBuffer), the same bytes; one that needs a split is not sealed.
    const queue = new SqsCaptureQueue({} as never, 'https://queue');
    for (const m of messages) {
      const sealed = queue.seal(m);
      if (m === big || m === huge) expect(sealed).toBeUndefined();
      else expect(sealed && [sealed.sealed]).toEqual(plainSerialise(m));
    }
    expect(serialise(big).length).toBeGreaterThan(1);
    expect(captureBodies(messages)).toEqual(pack(messages.flatMap(plainSerialise)));
    // The same message serialised again (a retried batch) gives the same bodies.
    expect(captureBodies(messages)).toEqual(captureBodies(messages));
  });

  it('answers with exactly the bytes of plain JSON.stringify, sharing the arrays with the capture', () => {
    const m = marked(50, 7);
    const output = held({
      model: 'churn',
      modelVersion: '1.0.0',
      runtime: 'lambda',
      predictions: m.predictions,
      probabilities: m.probabilities,
      predictionIds: m.predictionIds,
      experimentId: 'exp-1',
      variant: 'b',
      explanations: undefined,
    });
    const response = respond(200, output, 'req-1');
    expect(response.body).toBe(JSON.stringify(output));
    expect(serialise(m)).toEqual([JSON.stringify(m)]);
    // Bodies without marked values, and bodies that are not objects, as before.
    for (const body of [{ a: 1, b: [1, -0] }, [1, 2], 'text', 3, null, { error: { code: 'x' } }]) {
      expect(respond(200, body, 'req-2').body).toBe(JSON.stringify(body));
    }
    expect(respond(204, undefined, 'req-3').body).toBe('');
  });
});

describe('canonicalMemberText', () => {
  /** Number texts as a client may write them, canonical or not. */
  function numberText(rng: () => number): string {
    const pick = Math.floor(rng() * 14);
    const sign = rng() < 0.3 ? '-' : '';
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rng() * 10)).join('');
    switch (pick) {
      case 0:
        return `${sign}${Math.floor(rng() * 1e6)}`;
      case 1:
        return `${sign}${Math.floor(rng() * 100)}.${digits(1 + Math.floor(rng() * 4))}`;
      case 2:
        return `${sign}0.${'0'.repeat(Math.floor(rng() * 8))}${digits(1 + Math.floor(rng() * 6))}`;
      case 3:
        return `${sign}${1 + Math.floor(rng() * 9)}${digits(Math.floor(rng() * 20))}`;
      case 4:
        return `${sign}${digits(1 + Math.floor(rng() * 3)).replace(/^0+(?=\d)/, '')}.${digits(10 + Math.floor(rng() * 10))}`;
      case 5:
        return `${sign}${1 + Math.floor(rng() * 9)}e${Math.floor(rng() * 30) - 15}`;
      case 6:
        return `${sign}0`;
      case 7:
        return `${sign}0.0`;
      case 8:
        return `${sign}${Math.floor(rng() * 100)}.${digits(2)}0`;
      case 9:
        return String(Math.fround(rng() * 2 - 1));
      case 10:
        return String(rng() * 10 ** Math.floor(rng() * 30 - 10));
      case 11:
        return `${sign}${1 + Math.floor(rng() * 9)}E+${Math.floor(rng() * 5)}`;
      case 12:
        return `${sign}${digits(15).replace(/^0/, '1')}`;
      default:
        return `${sign}0.000001${digits(Math.floor(rng() * 3))}`;
    }
  }
  const STRING_TEXTS = [
    '"a"',
    '""',
    '"é中文"',
    '"\\u0041"',
    '"a\\/b"',
    '"\\n"',
    '"🙂"',
    '"\\ud800"',
    '"q\\"q"',
    // A lone surrogate as such (a string need not come from UTF-8): JSON.stringify escapes it.
    '"\ud800x"',
    '"x\udc00"',
  ];

  function valueText(rng: () => number, depth: number): string {
    const r = rng();
    if (depth < 3 && r < 0.35) {
      const n = Math.floor(rng() * 5);
      const sep = () => (rng() < 0.05 ? ', ' : ',');
      return `[${Array.from({ length: n }, () => valueText(rng, depth + 1)).join(sep())}]`;
    }
    if (r < 0.75) return numberText(rng);
    if (r < 0.85) return STRING_TEXTS[Math.floor(rng() * STRING_TEXTS.length)] as string;
    if (r < 0.9) return ['true', 'false', 'null'][Math.floor(rng() * 3)] as string;
    return rng() < 0.5 ? '{"a":1}' : '{}';
  }

  it('answers only text that is exactly JSON.stringify of the parsed member', () => {
    const rng = createRng(13);
    const r = () => rng.next();
    let found = 0;
    for (let k = 0; k < 20_000; k++) {
      const instances = `[${Array.from({ length: 1 + Math.floor(r() * 4) }, () => valueText(r, 1)).join(',')}]`;
      const members = [`"instances":${instances}`];
      if (r() < 0.3) members.push('"version":"1.0.0"');
      if (r() < 0.2) members.push(`"context":{"a":[1,2,{"instances":3}],"b":"x]}"}`);
      if (r() < 0.05) members.push(`"instances":${instances}`);
      if (r() < 0.05) members.push('"in\\u0073tances":[1]');
      if (r() < 0.3) members.reverse();
      const space = r() < 0.2 ? ' ' : '';
      const text = `{${space}${members.join(`,${space}`)}${space}}`;
      const parsed = JSON.parse(text) as { instances: unknown };
      const got = canonicalMemberText(text, 'instances');
      if (got !== undefined) {
        found++;
        expect(got).toBe(JSON.stringify(parsed.instances));
      }
    }
    // The test would prove nothing if it never answered.
    expect(found).toBeGreaterThan(1000);
  });

  it('finds the instances of a body JSON.stringify wrote, and nothing where there is none', () => {
    const instances = [
      [1.25, -3, 0.5, 12.34],
      [0, 100, -0.000001, 99999],
    ];
    const body = JSON.stringify({ version: '1.0.0', instances, context: { a: 'x' } });
    expect(canonicalMemberText(body, 'instances')).toBe(JSON.stringify(instances));
    expect(canonicalMemberText(JSON.stringify({ instances: [[1, 2]], subject: 'u' }), 'instances')).toBe(
      '[[1,2]]',
    );
    expect(canonicalMemberText('{"version":"1.0.0"}', 'instances')).toBeUndefined();
    expect(canonicalMemberText('{}', 'instances')).toBeUndefined();
    expect(canonicalMemberText('[1]', 'instances')).toBeUndefined();
    expect(canonicalMemberText('{"instances":[{"a":1}]}', 'instances')).toBeUndefined();
    expect(canonicalMemberText('{"instances":[1, 2]}', 'instances')).toBeUndefined();
    expect(canonicalMemberText('{"instances":[1e2]}', 'instances')).toBeUndefined();
    expect(canonicalMemberText('{"instances":[-0]}', 'instances')).toBeUndefined();
    expect(canonicalMemberText('{"instances":[1],"instances":[2]}', 'instances')).toBeUndefined();
  });

  it('gives the capture message the instances as sent, byte for byte what JSON.stringify writes', () => {
    const text = JSON.stringify({
      instances: [
        [1.5, -2, 0.001],
        [3, 4, 5],
      ],
      version: '1.0.0',
    });
    const parsed = JSON.parse(text) as { instances: unknown[] };
    // As zod hands them on: a copy of the array, the same rows.
    const instances = [...parsed.instances];
    let looked = 0;
    shareJson(instances, () => {
      looked++;
      return canonicalMemberText(text, 'instances');
    });
    const m = held({ ...marked(2, 8), instances });
    expect(serialise(m)).toEqual([JSON.stringify(m)]);
    const again = held({ ...m, id: 'again' });
    expect(serialise(again)).toEqual([JSON.stringify(again)]);
    expect(looked).toBe(1);
    // Text that is not as JSON.stringify writes it: the instances are serialised instead.
    const spaced = [...parsed.instances];
    shareJson(spaced, () => canonicalMemberText(text.replace(',', ', '), 'instances'));
    const n = held({ ...marked(2, 9), instances: spaced });
    expect(serialise(n)).toEqual([JSON.stringify(n)]);
  });
});
