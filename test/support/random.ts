/** Seeded random numbers for tests and benchmarks: the same data, and so the same answers, every run. */

/** xorshift32 uniforms in (0, 1) and Box–Muller normals. */
export function seededRandom(seed: number) {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

export function normals(n: number, mean: number, sd: number, seed: number): number[] {
  const g = seededRandom(seed);
  return Array.from({ length: n }, () => mean + sd * g.normal());
}
