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

/**
 * Box–Muller normals from a 31-bit LCG: a different stream from `normals`, the one the monitoring
 * service tests' windows and baselines were drawn from (their drift verdicts depend on it).
 */
export function lcgNormals(n: number, mean: number, seed: number): number[] {
  let s = seed;
  const u = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s + 0.5) / 2147483648;
  };
  return Array.from({ length: n }, () => mean + Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}
