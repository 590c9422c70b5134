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
