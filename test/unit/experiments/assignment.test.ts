/**
 * Sticky assignment: MurmurHash3 x86_32 against published test vectors (SMHasher's
 * verification set as listed by several independent implementations, and mmh3's values for
 * strings), the documented bucket vectors (docs/experiments.md), the 1M-subject split and SRM,
 * and the reallocation guarantee by enumeration over all 10000 buckets.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Allocation,
  allocationWeights,
  assign,
  assigner,
  BUCKETS,
  bucketOf,
  initialAllocation,
  murmur3_32,
  murmur3String,
  reallocate,
  variantOfBucket,
} from '../../../functions/core/experiments/assignment.js';
import { sampleRatioMismatch } from '../../../functions/core/experiments/srm.js';
import { domainError } from '../../support/expect-code.js';

const bytes = (...xs: number[]) => new Uint8Array(xs);

describe('MurmurHash3 x86_32', () => {
  it('published vectors (bytes, seed)', () => {
    expect(murmur3_32(bytes(), 0, 0)).toBe(0);
    expect(murmur3_32(bytes(), 0, 1)).toBe(0x514e28b7);
    expect(murmur3_32(bytes(), 0, 0xffffffff)).toBe(0x81f16f39);
    expect(murmur3_32(bytes(0xff, 0xff, 0xff, 0xff))).toBe(0x76293b50);
    expect(murmur3_32(bytes(0x21, 0x43, 0x65, 0x87))).toBe(0xf55b516b);
    expect(murmur3_32(bytes(0x21, 0x43, 0x65, 0x87), 4, 0x5082edee)).toBe(0x2362f9de);
    expect(murmur3_32(bytes(0x21, 0x43, 0x65))).toBe(0x7e4a8634);
  });

  it('strings (UTF-8, seed 0) as Python mmh3.hash(s, signed=False) gives them', () => {
    expect(murmur3String('Hello world')).toBe(2911983372);
    expect(murmur3String('hello, world')).toBe(345750399);
    expect(murmur3String('Hello, world!')).toBe(3224780355);
    expect(murmur3String('hello, world123')).toBe(209220029);
  });

  it('non-ASCII subjects hash their UTF-8 bytes', () => {
    for (const s of ['ü', 'user-ø-7', '日本語', 'emoji-😀-x']) {
      const b = new TextEncoder().encode(s);
      expect(murmur3String(s)).toBe(murmur3_32(b));
    }
  });
});

describe('buckets and variants', () => {
  // The vectors written out in docs/experiments.md, computed there by the independent Python
  // implementation it lists (big-integer arithmetic, no shared code).
  it('documented test vectors', () => {
    const vectors: [string, string, number, number][] = [
      ['exp-1', 'user-1', 2364192560, 2560],
      ['exp-1', 'user-2', 2621751934, 1934],
      ['exp-1', 'ü', 1910743109, 3109],
      ['checkout-2024', 'c0ffee', 614151739, 1739],
      ['checkout-2024', '42', 2647390310, 310],
      ['homepage-hero', '😀', 1698504867, 4867],
    ];
    for (const [seed, subject, hash, bucket] of vectors) {
      expect(murmur3String(`${seed}:${subject}`)).toBe(hash);
      expect(bucketOf(seed, subject)).toBe(bucket);
    }
    const a = initialAllocation([
      { name: 'control', weight: 50 },
      { name: 'treatment', weight: 50 },
    ]);
    expect(assign(a, 'exp-1', 'user-1')).toBe('control');
  });

  it('1M synthetic subjects: every share within ±0.3 pp of its weight, SRM check passes', () => {
    const weights = [
      { name: 'control', weight: 50 },
      { name: 'b', weight: 30 },
      { name: 'c', weight: 20 },
    ];
    const a = initialAllocation(weights);
    const pick = assigner(a, 'srm-check');
    const counts = [0, 0, 0];
    const n = 1_000_000;
    for (let i = 0; i < n; i++) counts[pick(`user-${i}`)]!++;
    weights.forEach((w, v) => {
      expect(Math.abs((100 * counts[v]!) / n - w.weight), w.name).toBeLessThan(0.3);
    });
    const srm = sampleRatioMismatch(
      counts,
      weights.map((w) => w.weight),
    );
    expect(srm.ok, JSON.stringify(srm)).toBe(true);
  });

  it('the fast assigner and assign() agree, including non-ASCII subjects', () => {
    const a = initialAllocation([
      { name: 'a', weight: 33 },
      { name: 'b', weight: 33 },
      { name: 'c', weight: 34 },
    ]);
    const pick = assigner(a, 'ünï-seed');
    for (const s of ['x', 'user-42', 'ü', '😀'.repeat(200), '']) {
      expect(a.variants[pick(s)]).toBe(assign(a, 'ünï-seed', s));
    }
  });

  it('weights must be integers summing to 100', () => {
    expect(() => initialAllocation([{ name: 'a', weight: 99 }])).toThrow(domainError('validation_failed'));
    expect(() =>
      initialAllocation([
        { name: 'a', weight: 50.5 },
        { name: 'b', weight: 49.5 },
      ]),
    ).toThrow(domainError('validation_failed'));
  });
});

function variantsByBucket(a: Allocation): string[] {
  return Array.from({ length: BUCKETS }, (_, b) => a.variants[variantOfBucket(a, b)]!);
}

describe('reallocation keeps subjects where it can', () => {
  it('90/10 → 50/50, all 10000 buckets: control keeps [0, 5000), treatment keeps all, [5000, 9000) move', () => {
    const before = initialAllocation([
      { name: 'control', weight: 90 },
      { name: 'treatment', weight: 10 },
    ]);
    const after = reallocate(before, [
      { name: 'control', weight: 50 },
      { name: 'treatment', weight: 50 },
    ]);
    const b0 = variantsByBucket(before);
    const b1 = variantsByBucket(after);
    let moved = 0;
    for (let b = 0; b < BUCKETS; b++) {
      if (b0[b] === 'treatment') expect(b1[b]).toBe('treatment');
      if (b < 5000) expect(b1[b]).toBe('control');
      if (b >= 5000) expect(b1[b]).toBe('treatment');
      if (b0[b] !== b1[b]) moved++;
    }
    // 40 points of control traffic must move; exactly those and no more did.
    expect(moved).toBe(4000);
    expect(allocationWeights(after).map((w) => w.weight)).toEqual([50, 50]);
  });

  it('any sequence of weight changes: non-shrinking variants keep every bucket, shrinking ones keep their lowest, moves are minimal', () => {
    const weightsArb = (k: number) =>
      fc.array(fc.integer({ min: 0, max: 100 }), { minLength: k - 1, maxLength: k - 1 }).map((cuts) => {
        const s = [0, ...cuts.sort((x, y) => x - y), 100];
        return s.slice(1).map((c, i) => c - s[i]!);
      });
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 5 })
          .chain((k) => fc.tuple(fc.constant(k), fc.array(weightsArb(k), { minLength: 2, maxLength: 6 }))),
        ([k, history]) => {
          const names = Array.from({ length: k }, (_, i) => `v${i}`);
          const named = (ws: number[]) => ws.map((weight, i) => ({ name: names[i]!, weight }));
          let a = initialAllocation(named(history[0]!));
          for (const ws of history.slice(1)) {
            const next = reallocate(a, named(ws));
            const before = variantsByBucket(a);
            const after = variantsByBucket(next);
            const old = allocationWeights(a).map((w) => w.weight);
            let moved = 0;
            for (let b = 0; b < BUCKETS; b++) if (before[b] !== after[b]) moved++;
            const minimum = 100 * old.reduce((s, w, i) => s + Math.max(0, w - ws[i]!), 0);
            expect(moved).toBe(minimum);
            names.forEach((_name, v) => {
              const had = a.slots.flatMap((x, s) => (x === v ? [s] : []));
              const has = next.slots.flatMap((x, s) => (x === v ? [s] : []));
              if (ws[v]! >= old[v]!) expect(had.every((s) => next.slots[s] === v)).toBe(true);
              else expect(has).toEqual(had.slice(0, ws[v]!));
            });
            expect(allocationWeights(next).map((w) => w.weight)).toEqual(ws);
            a = next;
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('new variants are appended, missing ones drop to weight 0', () => {
    const a = initialAllocation([
      { name: 'control', weight: 50 },
      { name: 'b', weight: 50 },
    ]);
    const next = reallocate(a, [
      { name: 'control', weight: 50 },
      { name: 'c', weight: 50 },
    ]);
    expect(next.variants).toEqual(['control', 'b', 'c']);
    expect(allocationWeights(next).map((w) => w.weight)).toEqual([50, 0, 50]);
    expect(next.slots.slice(0, 50).every((v) => v === 0)).toBe(true);
  });
});
