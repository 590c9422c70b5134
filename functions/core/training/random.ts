/**
 * A seeded pseudo-random generator, so demo models and test datasets come out bit-identical on
 * every machine. Not for anything security-related.
 */

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal. */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Fisher–Yates permutation of 0..n-1. */
  permutation(n: number): number[];
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Chaotic generator), seeded through splitmix32 so that
 * nearby seeds give unrelated streams. It passes PractRand and needs only 32-bit integer maths.
 */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new RangeError('seed must be a safe integer');
  let s = (seed ^ Math.floor(seed / 2 ** 32)) >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const u32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) u32();

  // Box–Muller yields two normals per pair of uniforms; keep the second for the next call.
  let spare: number | null = null;
  const rng: Rng = {
    next: () => u32() / 2 ** 32,
    normal: () => {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      let u = 0;
      while (u === 0) u = rng.next();
      const v = rng.next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int: (n) => {
      if (!Number.isInteger(n) || n <= 0) throw new RangeError('n must be a positive integer');
      return Math.floor(rng.next() * n);
    },
    permutation: (n) => {
      const p = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [p[i], p[j]] = [p[j] as number, p[i] as number];
      }
      return p;
    },
  };
  return rng;
}
