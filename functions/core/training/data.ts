/** Input checks shared by the trainers: a rectangular, finite design matrix and matching targets. */
import { validationFailed } from '../kernel/errors.js';

export type Matrix = readonly (readonly number[])[];

export function checkDesign(x: Matrix, y: readonly number[]): number {
  if (!Array.isArray(x) || x.length === 0)
    throw validationFailed('training needs at least one row', { field: 'x' });
  if (y.length !== x.length) {
    throw validationFailed(`${x.length} rows but ${y.length} targets`, { field: 'y' });
  }
  const f = (x[0] as readonly number[]).length;
  if (f === 0) throw validationFailed('rows need at least one feature', { field: 'x' });
  x.forEach((row, i) => {
    if (row.length !== f)
      throw validationFailed(`row ${i} has ${row.length} features, expected ${f}`, {
        field: 'x',
        row: i,
      });
    for (const v of row) {
      if (!Number.isFinite(v))
        throw validationFailed(`row ${i} has a non-finite value`, { field: 'x', row: i });
    }
  });
  y.forEach((v, i) => {
    if (!Number.isFinite(v))
      throw validationFailed(`target ${i} is not a finite number`, { field: 'y', row: i });
  });
  return f;
}

export function checkPenalty(l2: number): void {
  if (!(l2 >= 0) || !Number.isFinite(l2))
    throw validationFailed('l2 must be a finite number ≥ 0', { field: 'l2' });
}

export function dotRow(w: readonly number[], row: readonly number[]): number {
  let s = 0;
  for (let j = 0; j < row.length; j++) s += (w[j] as number) * (row[j] as number);
  return s;
}

/** log(1 + e^z) without overflow. */
export function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** Softmax of one row of logits, shifted by the max so large logits do not overflow. */
export function softmax(logits: readonly number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * Rows packed into one row-major Float64Array. The trainers' hot loops run over this form:
 * nested JS arrays cost a pointer chase and a bounds check per row, and keep V8 from treating
 * the inner loop as straight arithmetic.
 */
export interface DenseMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export function isDense(x: Matrix | DenseMatrix): x is DenseMatrix {
  return !Array.isArray(x) && (x as DenseMatrix).data instanceof Float64Array;
}

/** Checks a design (rectangular, finite, one target per row) and returns it packed. */
export function checkDense(x: Matrix | DenseMatrix, y: ArrayLike<number>): DenseMatrix {
  if (!isDense(x)) {
    const f = checkDesign(x, Array.from(y));
    const data = new Float64Array(x.length * f);
    x.forEach((row, i) => {
      data.set(row, i * f);
    });
    return { rows: x.length, cols: f, data };
  }
  const { rows, cols, data } = x;
  if (!(Number.isInteger(rows) && rows > 0))
    throw validationFailed('training needs at least one row', { field: 'x' });
  if (!(Number.isInteger(cols) && cols > 0))
    throw validationFailed('rows need at least one feature', { field: 'x' });
  if (data.length !== rows * cols)
    throw validationFailed(`${data.length} values do not make ${rows} rows of ${cols}`, { field: 'x' });
  if (y.length !== rows) throw validationFailed(`${rows} rows but ${y.length} targets`, { field: 'y' });
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i] as number)) {
      const row = Math.floor(i / cols);
      throw validationFailed(`row ${row} has a non-finite value`, { field: 'x', row });
    }
  }
  for (let i = 0; i < rows; i++) {
    if (!Number.isFinite(y[i] as number))
      throw validationFailed(`target ${i} is not a finite number`, { field: 'y', row: i });
  }
  return x;
}

/** Packs rows without checks, for prediction on rows the caller vouches for. */
export function toDense(x: Matrix | DenseMatrix): DenseMatrix {
  if (isDense(x)) return x;
  const cols = (x[0] as readonly number[] | undefined)?.length ?? 0;
  const data = new Float64Array(x.length * cols);
  x.forEach((row, i) => {
    data.set(row, i * cols);
  });
  return { rows: x.length, cols, data };
}

/** The given rows of a design, packed (for folds and splits). */
export function selectRows(x: DenseMatrix, rows: ArrayLike<number>): DenseMatrix {
  const { cols, data } = x;
  const out = new Float64Array(rows.length * cols);
  for (let i = 0; i < rows.length; i++) {
    const src = (rows[i] as number) * cols;
    out.set(data.subarray(src, src + cols), i * cols);
  }
  return { rows: rows.length, cols, data: out };
}
