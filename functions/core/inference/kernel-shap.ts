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
 * values are the exact Shapley values of v. Beyond, coalitions are chosen as shap's
 * KernelExplainer chooses them: coalition sizes are taken in pairs (s, M − s) from the outside in,
 * each pair enumerated whole while the budget covers its share of the Shapley kernel's weight
 * (w(s) ∝ (M − 1) / (s (M − s)) per size), and the rest of the budget is sampled from the remaining
 * sizes by that weight, each coalition with its complement; a coalition drawn again adds to its
 * weight. φ solves the kernel-weighted least squares problem under the constraint
 * Σ φ_i = f(x) − base, which keeps efficiency exact. The budget defaults to shap's 2M + 2048.
 *
 * All coalitions × background rows of every instance of a request go to the model as ONE batch:
 * the cost is one `session.run`, not one per coalition or per instance.
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
  return (await kernelShapMany(model, [x], background, options))[0]!;
}

/**
 * Explains several instances with ONE model call: every instance's rows (x, then B rows per
 * coalition) form a block of `blockRows` rows, the blocks one after another; the model is told the
 * block size, so it can read another output per instance (its predicted class). The same
 * coalitions serve every instance.
 */
export async function kernelShapMany(
  model: (inputs: Float32Array, rows: number, blockRows: number) => Promise<Float64Array | number[]>,
  xs: readonly Float32Array[],
  background: Float32Array,
  options: { readonly nsamples?: number; readonly seed?: number } = {},
): Promise<ShapResult[]> {
  if (xs.length === 0) return [];
  const m = xs[0]!.length;
  const b = background.length / m;
  if (!Number.isInteger(b) || b < 1) throw new RangeError('background must hold whole rows of the features');
  const budget = options.nsamples ?? defaultSamples(m);
  const exact = m <= 30 && 2 ** m - 2 <= budget;
  const chosen = exact ? { masks: allMasks(m), weights: null } : shapMasks(m, budget, options.seed ?? 0);
  const masks = chosen.masks;
  const all: Uint8Array[] = [new Uint8Array(m), ...masks];
  const blockRows = 1 + all.length * b;
  const inputs = new Float32Array(xs.length * blockRows * m);
  // Per instance: x itself, then per coalition (the empty one first) the background rows with
  // the coalition's features overwritten by x's, copied block by block.
  xs.forEach((x, n) => {
    let row = n * blockRows;
    inputs.set(x, row * m);
    row++;
    for (const mask of all) {
      const start = row * m;
      inputs.set(background, start);
      for (let i = 0; i < m; i++) {
        if (!mask[i]) continue;
        const xi = x[i]!;
        for (let j = 0, at = start + i; j < b; j++, at += m) inputs[at] = xi;
      }
      row += b;
    }
  });
  const out = await model(inputs, xs.length * blockRows, blockRows);
  return xs.map((_, n) => {
    const first = n * blockRows;
    const prediction = Number(out[first]);
    const v = new Float64Array(all.length);
    for (let k = 0, at = first + 1; k < all.length; k++) {
      let sum = 0;
      for (let j = 0; j < b; j++, at++) sum += Number(out[at]);
      v[k] = sum / b;
    }
    const baseValue = v[0]!;
    const values = exact
      ? exactShapley(m, masks, v.subarray(1), baseValue, prediction)
      : weightedSolve(m, masks, chosen.weights!, v.subarray(1), baseValue, prediction);
    return { baseValue, values, prediction, exact, coalitions: masks.length };
  });
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
  v: ArrayLike<number>,
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

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/** Every subset of {0..m−1} of size s, as masks, in lexicographic order. */
function* subsetsOfSize(m: number, s: number): Generator<Uint8Array> {
  const idx = Array.from({ length: s }, (_, k) => k);
  for (;;) {
    const mask = new Uint8Array(m);
    for (const k of idx) mask[k] = 1;
    yield mask;
    let k = s - 1;
    while (k >= 0 && idx[k] === m - s + k) k--;
    if (k < 0) return;
    idx[k]!++;
    for (let l = k + 1; l < s; l++) idx[l] = idx[l - 1]! + 1;
  }
}

/**
 * shap's coalition choice (KernelExplainer): sizes in pairs (s, M − s) from the outside in,
 * enumerated while the budget covers their kernel weight, then sampling by weight for the rest;
 * returns the coalitions and their kernel weights (summing to 1).
 */
function shapMasks(m: number, budget: number, seed: number): { masks: Uint8Array[]; weights: number[] } {
  const rng = createRng(seed);
  const sizes = Math.ceil((m - 1) / 2);
  const paired = Math.floor((m - 1) / 2);
  const weight = Array.from(
    { length: sizes },
    (_, k) => ((m - 1) / ((k + 1) * (m - k - 1))) * (k < paired ? 2 : 1),
  );
  const total = weight.reduce((a, c) => a + c, 0);
  for (let k = 0; k < sizes; k++) weight[k]! /= total;

  const masks: Uint8Array[] = [];
  const weights: number[] = [];
  let left = budget;
  let full = 0;
  const remaining = [...weight];
  for (let size = 1; size <= sizes; size++) {
    const isPaired = size <= paired;
    const count = binomial(m, size) * (isPaired ? 2 : 1);
    if ((left * remaining[size - 1]!) / count < 1 - 1e-8) break;
    full++;
    left -= count;
    if (remaining[size - 1]! < 1) {
      const scale = 1 - remaining[size - 1]!;
      for (let k = 0; k < sizes; k++) remaining[k]! /= scale;
    }
    const w = weight[size - 1]! / binomial(m, size) / (isPaired ? 2 : 1);
    for (const mask of subsetsOfSize(m, size)) {
      masks.push(mask);
      weights.push(w);
      if (isPaired) {
        masks.push(mask.map((z) => 1 - z));
        weights.push(w);
      }
    }
  }
  if (full === sizes || left <= 0) return { masks, weights };

  // Sampling the sizes not enumerated, by their kernel weight; a pair counts two samples.
  const fixed = masks.length;
  const draw = weight.slice(full).map((w, k) => (full + k < paired ? w / 2 : w));
  const drawTotal = draw.reduce((a, c) => a + c, 0);
  const seen = new Map<string, number>();
  for (let attempts = 0; left > 0 && attempts < 4 * budget; attempts++) {
    let u = rng.next() * drawTotal;
    let k = 0;
    while (k < draw.length - 1 && u >= draw[k]!) u -= draw[k++]!;
    const size = full + k + 1;
    const order = rng.permutation(m);
    const mask = new Uint8Array(m);
    for (let q = 0; q < size; q++) mask[order[q]!] = 1;
    const key = mask.join('');
    const at = seen.get(key);
    const isPaired = size <= paired;
    if (at === undefined) {
      seen.set(key, masks.length);
      masks.push(mask);
      weights.push(1);
      left--;
      if (left > 0 && isPaired) {
        masks.push(mask.map((z) => 1 - z));
        weights.push(1);
        left--;
      }
    } else {
      weights[at]!++;
      if (isPaired && at + 1 < masks.length) weights[at + 1]!++;
    }
  }
  // The sampled coalitions share the kernel weight the enumerated sizes left.
  const leftWeight = weight.slice(full).reduce((a, c) => a + c, 0);
  const sampled = weights.slice(fixed).reduce((a, c) => a + c, 0);
  for (let q = fixed; q < weights.length; q++) weights[q] = (weights[q]! * leftWeight) / sampled;
  return { masks, weights };
}

/**
 * min Σ_k w_k (v_k − base − z_k·φ)² over φ with Σφ = full − base, by eliminating the last
 * feature: φ_M = Δ − Σ_{i<M} φ_i.
 */
function weightedSolve(
  m: number,
  masks: readonly Uint8Array[],
  weights: readonly number[],
  v: ArrayLike<number>,
  base: number,
  full: number,
): number[] {
  const delta = full - base;
  const n = m - 1;
  const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const rhs = new Array<number>(n).fill(0);
  masks.forEach((z, k) => {
    const w = weights[k]!;
    const last = z[m - 1]!;
    // y − last·Δ = Σ_{i<M} (z_i − last) φ_i
    const y = v[k]! - base - last * delta;
    for (let i = 0; i < n; i++) {
      const xi = z[i]! - last;
      if (xi === 0) continue;
      rhs[i]! += w * xi * y;
      for (let j = 0; j < n; j++) {
        const xj = z[j]! - last;
        if (xj !== 0) a[i]![j]! += w * xi * xj;
      }
    }
  });
  const phi = solve(a, rhs);
  const lastPhi = delta - phi.reduce((acc, p) => acc + p, 0);
  return [...phi, lastPhi];
}

/** Gaussian elimination with partial pivoting; a tiny ridge keeps unidentified features at 0. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const ridge = 1e-12 * Math.max(1e-300, a.reduce((t, row, i) => t + row[i]!, 0) / Math.max(1, n));
  const mat = a.map((row, i) => [...row.map((x, j) => (i === j ? x + ridge : x)), b[i]!]);
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
