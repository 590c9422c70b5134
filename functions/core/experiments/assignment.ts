/**
 * Stateless sticky assignment: a subject's variant is a pure function of (experiment seed,
 * subject id, allocation), so every container and every client computes the same answer
 * without a lookup or a stored per-subject record.
 *
 *   bucket(seed, subject) = MurmurHash3_x86_32(UTF-8 bytes of `${seed}:${subject}`, seed 0) mod 10000
 *   slot                  = floor(bucket / 100)               (100 slots of 1 percentage point)
 *   variant               = allocation.slots[slot]            (an index into allocation.variants)
 *
 * The allocation is a 100-entry table slot → variant. A new experiment's table gives each variant
 * a contiguous range in list order (weights 90/10: slots 0–89 control, 90–99 treatment).
 * `reallocate` changes the weights of a running experiment with the fewest possible moves:
 *   1. every slot of a variant whose weight does not decrease keeps its variant;
 *   2. a variant whose weight decreases from w to w′ keeps its w′ lowest-numbered slots;
 *   3. the freed slots go, in ascending order, to the growing variants in list order.
 * So exactly Σ_v max(0, w_v − w′_v) slots (× 100 buckets) change variant, which is the minimum any
 * scheme can achieve: a variant going from w to w′ < w must lose w − w′ points of traffic. The
 * table depends on the history of weight changes, so it is part of the experiment's stored
 * configuration and is what clients are given (100 small integers), not just the weights.
 *
 * MurmurHash3 x86_32 rather than SHA-256: it is specified in a page of code, has implementations
 * in every language (Python mmh3, Go spaolacci/murmur3, Java Guava murmur3_32_fixed, …) and runs
 * ~16× faster here than node:crypto's SHA-256 (7 M vs 0.44 M per second, test/bench/experiments.bench.ts). It is not
 * cryptographic: someone who can choose subject ids can choose their variant, which an A/B
 * test does not defend against anyway. 2³² mod 10000 = 7296, so buckets 0–7295 are more likely
 * than the others by a factor 1 + 2.3e-6: negligible.
 */
import { check } from './errors.js';

export const BUCKETS = 10_000;
export const SLOTS = 100;
const BUCKETS_PER_SLOT = BUCKETS / SLOTS;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3 x86_32 of bytes[0, length), as an unsigned 32-bit integer. */
export function murmur3_32(bytes: Uint8Array, length: number = bytes.length, seed = 0): number {
  let h = seed | 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = length & 3;
  if (rest > 0) {
    let k = bytes[blocks]!;
    if (rest > 1) k ^= bytes[blocks + 1]! << 8;
    if (rest > 2) k ^= bytes[blocks + 2]! << 16;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const encoder = new TextEncoder();
let buffer = new Uint8Array(256);

/**
 * Writes the UTF-8 bytes of `text` into the shared buffer at `offset` (growing it as needed) and
 * returns the end offset. ASCII is copied byte by byte; anything else goes through TextEncoder.
 */
function writeUtf8(text: string, offset: number): number {
  if (buffer.length < offset + text.length * 3) {
    const bigger = new Uint8Array(Math.max(buffer.length * 2, offset + text.length * 3));
    bigger.set(buffer.subarray(0, offset));
    buffer = bigger;
  }
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch >= 0x80)
      return offset + i + encoder.encodeInto(text.slice(i), buffer.subarray(offset + i)).written;
    buffer[offset + i] = ch;
  }
  return offset + text.length;
}

/** MurmurHash3 x86_32 (seed 0) of the UTF-8 bytes of a string. */
export function murmur3String(text: string): number {
  return hashAt(writeUtf8(text, 0));
}

function hashAt(length: number): number {
  return murmur3_32(buffer, length, 0);
}

/** The subject's bucket in [0, 10000) for an experiment seed. */
export function bucketOf(seed: string, subject: string): number {
  const end = writeUtf8(subject, writeUtf8(':', writeUtf8(seed, 0)));
  return hashAt(end) % BUCKETS;
}

export interface VariantWeight {
  readonly name: string;
  /** Integer percentage points; the weights of an allocation sum to 100. */
  readonly weight: number;
}

export interface Allocation {
  /** Variant names; indices into this list are what `slots` holds. Never reordered. */
  readonly variants: readonly string[];
  /** 100 entries: slot i (buckets 100·i … 100·i + 99) → variant index. */
  readonly slots: readonly number[];
}

function checkWeights(weights: readonly VariantWeight[]): void {
  check(weights.length >= 1 && weights.length <= SLOTS, 'need between 1 and 100 variants');
  const names = new Set<string>();
  let total = 0;
  for (const w of weights) {
    check(typeof w.name === 'string' && w.name !== '', 'every variant needs a non-empty name');
    check(!names.has(w.name), `duplicate variant name "${w.name}"`);
    names.add(w.name);
    check(Number.isInteger(w.weight) && w.weight >= 0, `weight of "${w.name}" must be an integer >= 0`);
    total += w.weight;
  }
  check(total === SLOTS, `weights must sum to 100 (got ${total})`);
}

/** A new experiment's allocation: contiguous slot ranges in list order. */
export function initialAllocation(weights: readonly VariantWeight[]): Allocation {
  checkWeights(weights);
  const slots: number[] = [];
  weights.forEach((w, v) => {
    for (let i = 0; i < w.weight; i++) slots.push(v);
  });
  return { variants: weights.map((w) => w.name), slots };
}

/** Current weight (number of slots) of every variant of an allocation, in its variant order. */
export function allocationWeights(allocation: Allocation): VariantWeight[] {
  const counts = allocation.variants.map(() => 0);
  for (const v of allocation.slots) counts[v]!++;
  return allocation.variants.map((name, v) => ({ name, weight: counts[v]! }));
}

function checkAllocation(allocation: Allocation): void {
  check(
    Array.isArray(allocation.slots) && allocation.slots.length === SLOTS,
    'an allocation has exactly 100 slots',
  );
  check(
    allocation.slots.every((v) => Number.isInteger(v) && v >= 0 && v < allocation.variants.length),
    'every slot must name a variant',
  );
}

/**
 * New weights for a running experiment, moving as few slots as possible (see the module
 * comment for the exact guarantee). Variants missing from `weights` get weight 0; new names are
 * appended to the variant list.
 */
export function reallocate(allocation: Allocation, weights: readonly VariantWeight[]): Allocation {
  checkAllocation(allocation);
  const known = new Set(allocation.variants);
  const variants = [...allocation.variants, ...weights.map((w) => w.name).filter((n) => !known.has(n))];
  const target = new Map(weights.map((w) => [w.name, w.weight]));
  checkWeights(variants.map((name) => ({ name, weight: target.get(name) ?? 0 })));
  const slots = [...allocation.slots];
  const held: number[][] = variants.map(() => []);
  slots.forEach((v, s) => {
    held[v]!.push(s);
  });
  const freed: number[] = [];
  variants.forEach((name, v) => {
    const want = target.get(name) ?? 0;
    freed.push(...held[v]!.slice(want));
  });
  freed.sort((a, b) => a - b);
  let next = 0;
  variants.forEach((name, v) => {
    const want = target.get(name) ?? 0;
    for (let have = held[v]!.length; have < want; have++) slots[freed[next++]!] = v;
  });
  return { variants, slots };
}

/** The variant index of a bucket. */
export function variantOfBucket(allocation: Allocation, bucket: number): number {
  return allocation.slots[Math.floor(bucket / BUCKETS_PER_SLOT)]!;
}

/** The subject's variant name. */
export function assign(allocation: Allocation, seed: string, subject: string): string {
  return allocation.variants[variantOfBucket(allocation, bucketOf(seed, subject))]!;
}

/**
 * A fast assigner for one experiment: the seed prefix is encoded once and the slot table is a
 * typed array; returns the variant index of a subject.
 */
export function assigner(allocation: Allocation, seed: string): (subject: string) => number {
  checkAllocation(allocation);
  const table = Uint8Array.from(allocation.slots);
  const prefix = encoder.encode(`${seed}:`);
  return (subject) => {
    if (buffer.length < prefix.length) buffer = new Uint8Array(prefix.length * 2);
    buffer.set(prefix);
    const end = writeUtf8(subject, prefix.length);
    return table[Math.floor((hashAt(end) % BUCKETS) / BUCKETS_PER_SLOT)]!;
  };
}
