/**
 * The wasm SIMD dense-layer kernels (simd.ts) against the plain loops of kernels.ts, on shapes
 * with every ragged edge (rows not a multiple of 4, odd inputs and units, a one-unit head), and
 * their speed against those loops on the benchmark's 200 × 20 → 100 layer.
 */
import { describe, expect, it } from 'vitest';
import { denseForward, denseInputGrad, denseWeightGrad } from '../../../functions/core/training/kernels.js';
import { createArena, type DenseKernels, simdAvailable } from '../../../functions/core/training/simd.js';

const plain: DenseKernels = {
  forward: denseForward,
  weightGrad: denseWeightGrad,
  inputGrad(d, w, wo, rows, nin, nout, prev, a, relu) {
    denseInputGrad(d, w, wo, rows, nin, nout, prev);
    if (relu) for (let i = 0; i < rows * nin; i++) if ((a[i] as number) <= 0) prev[i] = 0;
  },
};

function fill(x: Float64Array, seed: number): Float64Array {
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(seed + 1.7 * i);
  return x;
}

function maxDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

const SHAPES = [
  [200, 20, 100],
  [7, 5, 3],
  [13, 21, 101],
  [4, 1, 2],
  [3, 4, 4],
  [200, 100, 1],
  [9, 6, 5],
] as const;

describe('wasm SIMD dense kernels', () => {
  it('are available on this Node', () => {
    expect(simdAvailable()).toBe(true);
    expect(createArena(16, plain).simd).toBe(true);
  });

  it.each(SHAPES)('agree with the plain loops on %i rows × %i inputs → %i units', (rows, nin, nout) => {
    const arena = createArena(4 * (rows * nin + rows * nout + nin * nout + nout + 8), plain);
    const wo = 3; // weights not at the buffer's start, bias after them
    const bo = wo + nin * nout;
    const a = fill(arena.alloc(rows * nin), 1);
    // relu outputs: some inputs exactly zero, so the mask matters.
    for (let i = 0; i < a.length; i += 3) a[i] = 0;
    const w = fill(arena.alloc(bo + nout), 2);
    const d = fill(arena.alloc(rows * nout), 3);
    const out = arena.alloc(rows * nout);
    const grad = fill(arena.alloc(bo + nout), 4);
    const prev = arena.alloc(rows * nin).fill(7);

    for (const relu of [true, false]) {
      arena.kernels.forward(a, rows, nin, w, wo, bo, out, nout, relu);
      const want = new Float64Array(rows * nout);
      plain.forward(a, rows, nin, w, wo, bo, want, nout, relu);
      expect(maxDiff(out, want)).toBeLessThan(1e-12);

      arena.kernels.inputGrad(d, w, wo, rows, nin, nout, prev, a, relu);
      const wantPrev = new Float64Array(rows * nin);
      plain.inputGrad(d, w, wo, rows, nin, nout, wantPrev, a, relu);
      expect(maxDiff(prev, wantPrev)).toBeLessThan(1e-12);
    }
    const wantGrad = Float64Array.from(grad);
    arena.kernels.weightGrad(d, a, rows, nin, nout, grad, wo, bo);
    plain.weightGrad(d, a, rows, nin, nout, wantGrad, wo, bo);
    expect(maxDiff(grad, wantGrad)).toBeLessThan(1e-12);
    // Adds to what was there (the first entries, before wo, untouched).
    expect(Array.from(grad.subarray(0, wo))).toEqual(Array.from(fill(new Float64Array(wo), 4)));
  });

  it('fall back to the plain loops for arrays outside the arena', () => {
    const arena = createArena(64, plain);
    const a = fill(new Float64Array(8 * 4), 1);
    const w = fill(new Float64Array(4 * 3 + 3), 2);
    const out = new Float64Array(8 * 3);
    arena.kernels.forward(a, 8, 4, w, 0, 12, out, 3, false);
    const want = new Float64Array(8 * 3);
    denseForward(a, 8, 4, w, 0, 12, want, 3, false);
    expect(Array.from(out)).toEqual(Array.from(want));
  });
});
