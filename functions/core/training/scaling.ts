/**
 * Standardisation of features (scikit-learn's StandardScaler): each column centred on its mean and
 * divided by its population standard deviation; a constant column is only centred (scale 1), as
 * sklearn does. Gradient-trained models (the MLP) need it: on features of different scales most of
 * Adam's first steps go to the largest, and a small dataset stops before the rest are learnt.
 */
import type { Matrix } from './data.js';

export interface Standardizer {
  readonly mean: readonly number[];
  readonly scale: readonly number[];
}

/** A regression target's mean and standard deviation (scale 1 when it is constant). */
export interface TargetScaling {
  readonly mean: number;
  readonly scale: number;
}

export function fitTargetScaling(y: readonly number[]): TargetScaling {
  const s = fitStandardizer(y.map((v) => [v]));
  return { mean: s.mean[0]!, scale: s.scale[0]! };
}

export function fitStandardizer(x: Matrix): Standardizer {
  const n = x.length;
  const cols = x[0]?.length ?? 0;
  const mean = new Array<number>(cols).fill(0);
  for (const row of x) for (let j = 0; j < cols; j++) mean[j]! += row[j]! / n;
  const variance = new Array<number>(cols).fill(0);
  for (const row of x) for (let j = 0; j < cols; j++) variance[j]! += (row[j]! - mean[j]!) ** 2 / n;
  // A column whose spread is only rounding error of its mean is constant: scale 1.
  const scale = variance.map((v, j) => {
    const sd = Math.sqrt(v);
    return sd > 1e-12 * Math.max(1, Math.abs(mean[j]!)) ? sd : 1;
  });
  return { mean, scale };
}

export function standardize(s: Standardizer, x: Matrix): number[][] {
  return x.map((row) => row.map((v, j) => (v - s.mean[j]!) / s.scale[j]!));
}
