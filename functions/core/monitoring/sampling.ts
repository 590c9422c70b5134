/**
 * The reference sample a baseline keeps for the exact tests: which rows it holds (a seeded
 * reservoir, so a rebuilt baseline holds the same ones) and how its numbers are stored.
 */
import { Buffer } from 'node:buffer';
import { integrityFailed, validationFailed } from '../kernel/errors.js';

/** mulberry32: small, fast, and plenty for choosing rows. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  const next32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  // 53 random bits, so ⌊u·(i+1)⌋ stays unbiased for reservoirs over billions of rows.
  return () => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;
}

/**
 * Algorithm R over row indices: after the stream, every k-subset of the rows is equally likely.
 *
 * Why exact tests on a sample are sound: the rows of a uniform sample are (close to) i.i.d. draws
 * from the reference distribution, which is all KS, chi-square and the z-test assume of either
 * side, so their p-values keep their meaning; distances estimated from it are consistent, with a
 * sampling error of order 1/√k. What it costs: power. With a reference of n₁ rows sampled to k
 * and a window of n₂, the effective size n·m/(n+m) falls from n₁n₂/(n₁+n₂) to kn₂/(k+n₂) — at
 * most halved while the window is no larger than the sample (the default 50,000 is also the
 * default exact-row limit), so shifts about √2 larger are needed for the same p-value.
 */
export class Reservoir {
  private readonly picked: number[] = [];
  private seen = 0;
  private readonly random: () => number;

  constructor(
    readonly size: number,
    seed: number,
  ) {
    if (!Number.isInteger(size) || size < 1) throw validationFailed(`maxSample must be a positive integer`);
    this.random = rng(seed);
  }

  offer(): void {
    const i = this.seen++;
    if (i < this.size) this.picked.push(i);
    else {
      const j = Math.floor(this.random() * (i + 1));
      if (j < this.size) this.picked[j] = i;
    }
  }

  /** Chosen row indices, ascending. */
  indices(): number[] {
    return [...this.picked].sort((a, b) => a - b);
  }
}

export function encodeFloat64(values: ArrayLike<number>): string {
  const buf = Buffer.alloc(values.length * 8);
  for (let i = 0; i < values.length; i++) buf.writeDoubleLE(values[i]!, i * 8);
  return buf.toString('base64');
}

export function decodeFloat64(base64: string): Float64Array {
  const buf = Buffer.from(base64, 'base64');
  if (buf.length % 8 !== 0) throw integrityFailed('sample is not a whole number of float64 values');
  const out = new Float64Array(buf.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = buf.readDoubleLE(i * 8);
  return out;
}
