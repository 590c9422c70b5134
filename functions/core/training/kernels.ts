/**
 * The inner loops every trainer spends its time in, over Float64Array slices. Unrolled by four
 * with independent accumulators: V8 emits no SIMD, and a single running sum serialises every
 * add behind the previous one; four sums let the CPU overlap them (≈2× on 20-wide rows).
 */

/** Σ a[ao + j] · b[bo + j] for j < len. */
export function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  const l4 = len - (len & 3);
  for (; j < l4; j += 4) {
    s0 += (a[ao + j] as number) * (b[bo + j] as number);
    s1 += (a[ao + j + 1] as number) * (b[bo + j + 1] as number);
    s2 += (a[ao + j + 2] as number) * (b[bo + j + 2] as number);
    s3 += (a[ao + j + 3] as number) * (b[bo + j + 3] as number);
  }
  for (; j < len; j++) s0 += (a[ao + j] as number) * (b[bo + j] as number);
  return s0 + s1 + (s2 + s3);
}

/** y[yo + j] += alpha · x[xo + j] for j < len. */
export function axpy(
  alpha: number,
  x: Float64Array,
  xo: number,
  y: Float64Array,
  yo: number,
  len: number,
): void {
  let j = 0;
  const l4 = len - (len & 3);
  for (; j < l4; j += 4) {
    y[yo + j] = (y[yo + j] as number) + alpha * (x[xo + j] as number);
    y[yo + j + 1] = (y[yo + j + 1] as number) + alpha * (x[xo + j + 1] as number);
    y[yo + j + 2] = (y[yo + j + 2] as number) + alpha * (x[xo + j + 2] as number);
    y[yo + j + 3] = (y[yo + j + 3] as number) + alpha * (x[xo + j + 3] as number);
  }
  for (; j < len; j++) y[yo + j] = (y[yo + j] as number) + alpha * (x[xo + j] as number);
}

/**
 * out[r][j] = bias[j] + Σ_k a[r][k] · w[j][k] for `rows` rows (a: rows × nin, w: nout × nin from
 * offset wo, bias from bo, out: rows × nout). Computed in 4-row × 2-unit blocks: each loaded
 * input and weight feeds several products, which halves the loads per multiply-add against a
 * dot product per output (≈1.6× on a 200 × 20 → 100 layer).
 */
export function denseForward(
  a: Float64Array,
  rows: number,
  nin: number,
  w: Float64Array,
  wo: number,
  bo: number,
  out: Float64Array,
  nout: number,
  relu: boolean,
): void {
  // Zero: Math.max(z, 0) compiles without a branch; relu is fused into the stores so the layer's
  // outputs are not read and written a second time.
  const floor = relu ? 0 : -Infinity;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const a0 = r * nin;
    const a1 = a0 + nin;
    const a2 = a1 + nin;
    const a3 = a2 + nin;
    let j = 0;
    for (; j + 2 <= nout; j += 2) {
      const w0 = wo + j * nin;
      const w1 = w0 + nin;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let s20 = 0;
      let s21 = 0;
      let s30 = 0;
      let s31 = 0;
      for (let k = 0; k < nin; k++) {
        const x0 = a[a0 + k] as number;
        const x1 = a[a1 + k] as number;
        const x2 = a[a2 + k] as number;
        const x3 = a[a3 + k] as number;
        const v0 = w[w0 + k] as number;
        const v1 = w[w1 + k] as number;
        s00 += x0 * v0;
        s01 += x0 * v1;
        s10 += x1 * v0;
        s11 += x1 * v1;
        s20 += x2 * v0;
        s21 += x2 * v1;
        s30 += x3 * v0;
        s31 += x3 * v1;
      }
      const b0 = w[bo + j] as number;
      const b1 = w[bo + j + 1] as number;
      const o = r * nout + j;
      out[o] = Math.max(s00 + b0, floor);
      out[o + 1] = Math.max(s01 + b1, floor);
      out[o + nout] = Math.max(s10 + b0, floor);
      out[o + nout + 1] = Math.max(s11 + b1, floor);
      out[o + 2 * nout] = Math.max(s20 + b0, floor);
      out[o + 2 * nout + 1] = Math.max(s21 + b1, floor);
      out[o + 3 * nout] = Math.max(s30 + b0, floor);
      out[o + 3 * nout + 1] = Math.max(s31 + b1, floor);
    }
    for (; j < nout; j++) {
      const b0 = w[bo + j] as number;
      const o = r * nout + j;
      out[o] = Math.max(b0 + dot(w, wo + j * nin, a, a0, nin), floor);
      out[o + nout] = Math.max(b0 + dot(w, wo + j * nin, a, a1, nin), floor);
      out[o + 2 * nout] = Math.max(b0 + dot(w, wo + j * nin, a, a2, nin), floor);
      out[o + 3 * nout] = Math.max(b0 + dot(w, wo + j * nin, a, a3, nin), floor);
    }
  }
  for (; r < rows; r++) {
    for (let j = 0; j < nout; j++)
      out[r * nout + j] = Math.max((w[bo + j] as number) + dot(w, wo + j * nin, a, r * nin, nin), floor);
  }
}

/**
 * grad[wo + j·nin + k] += Σ_r d[r][j] · a[r][k] and grad[bo + j] += Σ_r d[r][j]: the weight and
 * bias gradients of a dense layer (d: rows × nout, a: rows × nin). Blocked 2 units × 4 inputs,
 * summing over the rows in registers, so each gradient entry is written once per batch.
 */
export function denseWeightGrad(
  d: Float64Array,
  a: Float64Array,
  rows: number,
  nin: number,
  nout: number,
  grad: Float64Array,
  wo: number,
  bo: number,
): void {
  const k4 = nin - (nin & 3);
  let j = 0;
  for (; j + 2 <= nout; j += 2) {
    let k = 0;
    for (; k < k4; k += 4) {
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s03 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s13 = 0;
      for (let r = 0, ro = k, dox = j; r < rows; r++, ro += nin, dox += nout) {
        const p = d[dox] as number;
        const q = d[dox + 1] as number;
        const x0 = a[ro] as number;
        const x1 = a[ro + 1] as number;
        const x2 = a[ro + 2] as number;
        const x3 = a[ro + 3] as number;
        s00 += p * x0;
        s01 += p * x1;
        s02 += p * x2;
        s03 += p * x3;
        s10 += q * x0;
        s11 += q * x1;
        s12 += q * x2;
        s13 += q * x3;
      }
      const o = wo + j * nin + k;
      grad[o] = (grad[o] as number) + s00;
      grad[o + 1] = (grad[o + 1] as number) + s01;
      grad[o + 2] = (grad[o + 2] as number) + s02;
      grad[o + 3] = (grad[o + 3] as number) + s03;
      grad[o + nin] = (grad[o + nin] as number) + s10;
      grad[o + nin + 1] = (grad[o + nin + 1] as number) + s11;
      grad[o + nin + 2] = (grad[o + nin + 2] as number) + s12;
      grad[o + nin + 3] = (grad[o + nin + 3] as number) + s13;
    }
    for (; k < nin; k++) {
      let s0 = 0;
      let s1 = 0;
      for (let r = 0; r < rows; r++) {
        const x = a[r * nin + k] as number;
        s0 += (d[r * nout + j] as number) * x;
        s1 += (d[r * nout + j + 1] as number) * x;
      }
      grad[wo + j * nin + k] = (grad[wo + j * nin + k] as number) + s0;
      grad[wo + (j + 1) * nin + k] = (grad[wo + (j + 1) * nin + k] as number) + s1;
    }
  }
  // A last odd unit (a one-unit head, typically) goes row by row: contiguous reads of each row
  // rather than a column walk across rows.
  for (; j < nout; j++) {
    for (let r = 0; r < rows; r++) {
      const dj = d[r * nout + j] as number;
      if (dj !== 0) axpy(dj, a, r * nin, grad, wo + j * nin, nin);
    }
  }
  for (let r = 0; r < rows; r++) {
    for (let jj = 0; jj < nout; jj++)
      grad[bo + jj] = (grad[bo + jj] as number) + (d[r * nout + jj] as number);
  }
}

/**
 * prev[r][k] = Σ_j d[r][j] · w[j][k]: the gradient reaching a dense layer's inputs (d: rows ×
 * nout, prev: rows × nin, overwritten).
 */
export function denseInputGrad(
  d: Float64Array,
  w: Float64Array,
  wo: number,
  rows: number,
  nin: number,
  nout: number,
  prev: Float64Array,
): void {
  prev.fill(0, 0, rows * nin);
  for (let r = 0; r < rows; r++) {
    const dOff = r * nout;
    const pOff = r * nin;
    for (let j = 0; j < nout; j++) {
      const dj = d[dOff + j] as number;
      // Units that were off (relu) pass nothing back: skipping them is exact.
      if (dj !== 0) axpy(dj, w, wo + j * nin, prev, pOff, nin);
    }
  }
}
