/**
 * Shapley values of any model's output by Kernel SHAP (Lundberg & Lee, 2017), with features
 * missing from a coalition filled in from background rows (interventional, as shap's
 * KernelExplainer does):
 *
 *   v(S) = mean over background rows b of f(x_S, b_{N∖S})
 *   φ_i  = Σ_{S ⊆ N∖{i}} |S|! (M − |S| − 1)! / M! · (v(S ∪ {i}) − v(S))
 *
 * so that v(∅) = E_b f(b) is the base value and base + Σ φ_i = v(N) = f(x) (efficiency).
 *
 * With 2^M − 2 coalitions no more than the sample budget, every coalition is evaluated and the
 * values are the exact Shapley values of v. Beyond, coalitions are sampled from the Shapley
 * kernel's distribution over sizes (p(s) ∝ (M − 1) / (s (M − s))), each with its complement
 * (paired sampling), and φ solves the kernel-weighted least squares problem under the constraint
 * Σ φ_i = f(x) − base, which keeps efficiency exact. The budget defaults to shap's 2M + 2048.
 *
 * All coalitions × background rows of one instance go to the model as ONE batch: the cost is one
 * `session.run`, not one per coalition.
 */
import { createRng } from '../training/random.js';

/** The model on a batch: `rows` rows of `features` float32 inputs → one output per row. */
export type BatchModel = (inputs: Float32Array, rows: number) => Promise<Float64Array | number[]>;

export interface ShapResult {
  readonly baseValue: number;
  readonly values: number[];
  /** f(x): baseValue + Σ values equals it up to rounding. */
  readonly prediction: number;
  /** Every coalition evaluated: the values are exact Shapley values. */
  readonly exact: boolean;
  /** Coalitions evaluated (besides the empty and the full one). */
  readonly coalitions: number;
}

export function defaultSamples(features: number): number {
  return 2 * features + 2048;
}

/**
 * Explains f at x (length M) against background rows (B × M, row-major).
 * `nsamples`: the coalition budget (default 2M + 2048); `seed` fixes the sampling.
 */
export async function kernelShap(
  model: BatchModel,
  x: Float32Array,
  background: Float32Array,
  options: { readonly nsamples?: number; readonly seed?: number } = {},
): Promise<ShapResult> {
  const m = x.length;
  const b = background.length / m;
  if (!Number.isInteger(b) || b < 1) throw new RangeError('background must hold whole rows of the features');
  const budget = options.nsamples ?? defaultSamples(m);
  const exact = m <= 30 && 2 ** m - 2 <= budget;
  const masks = exact ? allMasks(m) : sampledMasks(m, budget, options.seed ?? 0);
  // Rows: the full coalition (x itself, once), then for each mask (the empty one first) B rows.
  const count = masks.length + 1;
  const inputs = new Float32Array((1 + count * b) * m);
  inputs.set(x, 0);
  let row = 1;
  const all: Uint8Array[] = [new Uint8Array(m), ...masks];
  for (const mask of all) {
    for (let j = 0; j < b; j++, row++) {
      const base = row * m;
      const bg = j * m;
      for (let i = 0; i < m; i++) inputs[base + i] = mask[i] ? x[i]! : background[bg + i]!;
    }
  }
  const out = await model(inputs, row);
  const prediction = Number(out[0]);
  const v = all.map((_, k) => {
    let s = 0;
    for (let j = 0; j < b; j++) s += Number(out[1 + k * b + j]);
    return s / b;
  });
  const baseValue = v[0]!;
  const values = exact
    ? exactShapley(m, masks, v.slice(1), baseValue, prediction)
    : weightedSolve(m, masks, v.slice(1), baseValue, prediction);
  return { baseValue, values, prediction, exact, coalitions: masks.length };
}

/** Every coalition except the empty and the full one, as 0/1 masks. */
function allMasks(m: number): Uint8Array[] {
  const masks: Uint8Array[] = [];
  for (let code = 1; code < 2 ** m - 1; code++) {
    const mask = new Uint8Array(m);
    for (let i = 0; i < m; i++) mask[i] = (code >>> i) & 1;
    masks.push(mask);
  }
  return masks;
}

function logFactorial(n: number): number {
  let s = 0;
  for (let k = 2; k <= n; k++) s += Math.log(k);
  return s;
}

function exactShapley(
  m: number,
  masks: readonly Uint8Array[],
  v: readonly number[],
  empty: number,
  full: number,
): number[] {
  const value = new Map<number, number>();
  masks.forEach((mask, k) => {
    value.set(codeOf(mask), v[k]!);
  });
  value.set(0, empty);
  value.set(2 ** m - 1, full);
  const weight = Array.from({ length: m }, (_, s) =>
    Math.exp(logFactorial(s) + logFactorial(m - s - 1) - logFactorial(m)),
  );
  const phi = new Array<number>(m).fill(0);
  for (let code = 0; code < 2 ** m; code++) {
    const size = popcount(code);
    for (let i = 0; i < m; i++) {
      if ((code >>> i) & 1) continue;
      phi[i]! += weight[size]! * (value.get(code | (1 << i))! - value.get(code)!);
    }
  }
  return phi;
}

function codeOf(mask: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) c |= 1 << i;
  return c;
}

function popcount(c: number): number {
  let n = 0;
  for (let x = c; x; x &= x - 1) n++;
  return n;
}

/** Coalitions drawn by the kernel's size distribution, each followed by its complement. */
function sampledMasks(m: number, budget: number, seed: number): Uint8Array[] {
  const rng = createRng(seed);
  const sizes = Array.from({ length: m - 1 }, (_, k) => k + 1);
  const w = sizes.map((s) => (m - 1) / (s * (m - s)));
  const total = w.reduce((a, c) => a + c, 0);
  const masks: Uint8Array[] = [];
  const pairs = Math.max(1, Math.floor(budget / 2));
  for (let p = 0; p < pairs; p++) {
    let u = rng.next() * total;
    let s = sizes[sizes.length - 1]!;
    for (let k = 0; k < sizes.length; k++) {
      u -= w[k]!;
      if (u <= 0) {
        s = sizes[k]!;
        break;
      }
    }
    const order = rng.permutation(m);
    const mask = new Uint8Array(m);
    for (let k = 0; k < s; k++) mask[order[k]!] = 1;
    masks.push(
      mask,
      mask.map((z) => 1 - z),
    );
  }
  return masks;
}

/**
 * min Σ_k (v_k − base − z_k·φ)² over φ with Σφ = full − base (coalitions sampled with the kernel's
 * probabilities, so equal weights), by eliminating the last feature: φ_M = Δ − Σ_{i<M} φ_i.
 */
function weightedSolve(
  m: number,
  masks: readonly Uint8Array[],
  v: readonly number[],
  base: number,
  full: number,
): number[] {
  const delta = full - base;
  const n = m - 1;
  const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const rhs = new Array<number>(n).fill(0);
  masks.forEach((z, k) => {
    const last = z[m - 1]!;
    // y − last·Δ = Σ_{i<M} (z_i − last) φ_i
    const y = v[k]! - base - last * delta;
    for (let i = 0; i < n; i++) {
      const xi = z[i]! - last;
      if (xi === 0) continue;
      rhs[i]! += xi * y;
      for (let j = 0; j < n; j++) {
        const xj = z[j]! - last;
        if (xj !== 0) a[i]![j]! += xi * xj;
      }
    }
  });
  const phi = solve(a, rhs);
  const lastPhi = delta - phi.reduce((s, p) => s + p, 0);
  return [...phi, lastPhi];
}

/** Gaussian elimination with partial pivoting; a tiny ridge keeps unidentified features at 0. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const mat = a.map((row, i) => [...row.map((x, j) => (i === j ? x + 1e-10 : x)), b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(mat[r]![c]!) > Math.abs(mat[p]![c]!)) p = r;
    [mat[c], mat[p]] = [mat[p]!, mat[c]!];
    const pivot = mat[c]![c]!;
    if (pivot === 0) continue;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = mat[r]![c]! / pivot;
      if (f === 0) continue;
      for (let k = c; k <= n; k++) mat[r]![k]! -= f * mat[c]![k]!;
    }
  }
  return mat.map((row, i) => (row[i] === 0 ? 0 : row[n]! / row[i]!));
}
