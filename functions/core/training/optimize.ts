/**
 * Numerical building blocks for the trainers: a dense linear solver and L-BFGS. Both are exact
 * and deterministic; nothing here is random.
 */

/** Solves A·x = b by Gaussian elimination with partial pivoting; null when A is singular. */
export function solveLinear(a: readonly (readonly number[])[], b: readonly number[]): number[] | null {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i] as number]);
  const scale = Math.max(1e-300, ...m.flatMap((row) => row.slice(0, n).map(Math.abs)));
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) {
      if (Math.abs((m[r] as number[])[col] as number) > Math.abs((m[pivot] as number[])[col] as number))
        pivot = r;
    }
    const pr = m[pivot] as number[];
    if (Math.abs(pr[col] as number) <= scale * 1e-13) return null;
    [m[col], m[pivot]] = [pr, m[col] as number[]];
    const prow = m[col] as number[];
    for (let r = col + 1; r < n; r++) {
      const row = m[r] as number[];
      const f = (row[col] as number) / (prow[col] as number);
      if (f === 0) continue;
      for (let c = col; c <= n; c++) row[c] = (row[c] as number) - f * (prow[c] as number);
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    const row = m[r] as number[];
    let s = row[n] as number;
    for (let c = r + 1; c < n; c++) s -= (row[c] as number) * (x[c] as number);
    x[r] = s / (row[r] as number);
  }
  return x;
}

export interface MinimizeOptions {
  /** Stop when every gradient component is at most this in absolute value. */
  readonly tolerance?: number;
  readonly maxIterations?: number;
  /** Number of correction pairs kept. */
  readonly memory?: number;
}

export interface MinimizeResult {
  readonly x: number[];
  readonly value: number;
  readonly gradientNorm: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/** `f(x)` returns the objective and writes its gradient into `grad`. */
export type Objective = (x: readonly number[], grad: number[]) => number;

const dot = (a: readonly number[], b: readonly number[]): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
};
const maxAbs = (a: readonly number[]): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * Limited-memory BFGS with a backtracking (Armijo) line search. Chosen over Newton/IRLS because
 * its cost grows linearly with the parameter count, so the same code trains a 4-feature demo
 * and a model with thousands of features; for the smooth, strongly convex objectives here
 * (L2-penalised log-loss) it reaches the optimum to the gradient tolerance.
 */
export function minimizeLbfgs(
  f: Objective,
  x0: readonly number[],
  options: MinimizeOptions = {},
): MinimizeResult {
  const tol = options.tolerance ?? 1e-8;
  const maxIter = options.maxIterations ?? 1000;
  const memory = options.memory ?? 10;
  const n = x0.length;
  let x = [...x0];
  let g = new Array<number>(n).fill(0);
  let fx = f(x, g);
  const s: number[][] = [];
  const y: number[][] = [];
  const rho: number[] = [];
  let iter = 0;
  while (iter < maxIter && maxAbs(g) > tol) {
    // Two-loop recursion: d = −H·g with H the L-BFGS inverse-Hessian estimate.
    const q = [...g];
    const alpha: number[] = [];
    for (let i = s.length - 1; i >= 0; i--) {
      const a = (rho[i] as number) * dot(s[i] as number[], q);
      alpha[i] = a;
      const yi = y[i] as number[];
      for (let j = 0; j < n; j++) q[j] = (q[j] as number) - a * (yi[j] as number);
    }
    const last = s.length - 1;
    const gamma =
      last >= 0
        ? dot(s[last] as number[], y[last] as number[]) / dot(y[last] as number[], y[last] as number[])
        : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let j = 0; j < n; j++) q[j] = (q[j] as number) * gamma;
    for (let i = 0; i < s.length; i++) {
      const b = (rho[i] as number) * dot(y[i] as number[], q);
      const si = s[i] as number[];
      for (let j = 0; j < n; j++) q[j] = (q[j] as number) + (si[j] as number) * ((alpha[i] as number) - b);
    }
    let d = q.map((v) => -v);
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (curvature information went stale): restart from steepest descent.
      s.length = 0;
      y.length = 0;
      rho.length = 0;
      d = g.map((v) => -v / Math.max(1, Math.sqrt(dot(g, g))));
      slope = dot(g, d);
    }
    let step = 1;
    const gNew = new Array<number>(n).fill(0);
    let xNew: number[] = x;
    let fNew = fx;
    let accepted = false;
    for (let k = 0; k < 60; k++) {
      xNew = x.map((v, j) => v + step * (d[j] as number));
      fNew = f(xNew, gNew);
      if (Number.isFinite(fNew) && fNew <= fx + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step /= 2;
    }
    iter++;
    if (!accepted) break; // no representable decrease left: we are at the optimum to rounding
    const sk = xNew.map((v, j) => v - (x[j] as number));
    const yk = gNew.map((v, j) => v - (g[j] as number));
    const sy = dot(sk, yk);
    if (sy > 1e-12 * Math.sqrt(dot(sk, sk) * dot(yk, yk))) {
      s.push(sk);
      y.push(yk);
      rho.push(1 / sy);
      if (s.length > memory) {
        s.shift();
        y.shift();
        rho.shift();
      }
    }
    x = xNew;
    g = [...gNew];
    fx = fNew;
  }
  const gradientNorm = maxAbs(g);
  return { x, value: fx, gradientNorm, iterations: iter, converged: gradientNorm <= tol };
}
