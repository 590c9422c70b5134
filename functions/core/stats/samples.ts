/**
 * Turning raw columns into what the metrics read: nulls and NaN dropped first, numbers copied
 * into one ascending Float64Array (sorted once, then shared by every metric of a feature),
 * categories counted once.
 */

import { validationFailed } from '../kernel/errors.js';
import { sortFloat64 } from './sort.js';

export type NumericValue = number | null | undefined;
export type CategoricalValue = string | number | boolean | null | undefined;

/** A numeric sample ready for the metrics: ascending, no NaN, at least one value. */
export interface SortedSample {
  readonly sorted: Float64Array;
  /** How many null/NaN entries were dropped. */
  readonly dropped: number;
}

/** Category → count over the non-null values of a column. */
export interface CategoryCounts {
  readonly counts: ReadonlyMap<string, number>;
  readonly total: number;
  readonly dropped: number;
}

export function isSortedSample(x: unknown): x is SortedSample {
  return typeof x === 'object' && x !== null && (x as SortedSample).sorted instanceof Float64Array;
}

/**
 * Drop null/undefined/NaN and reject anything else that is not a finite number, keeping the
 * input order. `label` names the column in error messages ("reference", a feature name…).
 */
export function collectNumeric(
  values: ArrayLike<NumericValue> | Float64Array,
  label: string,
): { values: Float64Array; dropped: number } {
  const n = values.length;
  if (values instanceof Float64Array) return collectFloat64(values, label);
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    if (typeof v !== 'number') {
      throw validationFailed(`${label}: value at index ${i} is not a number or null`, { label, index: i });
    }
    if (Number.isNaN(v)) continue;
    if (!Number.isFinite(v)) {
      throw validationFailed(`${label}: value at index ${i} is infinite`, { label, index: i });
    }
    out[k++] = v;
  }
  if (k === 0) {
    throw validationFailed(`${label}: no values left after dropping nulls (${n} rows, all missing)`, {
      label,
      rows: n,
    });
  }
  return { values: k === n ? out : out.slice(0, k), dropped: n - k };
}

/** Typed input: only NaN to drop and infinities to reject, and usually a plain copy. */
function collectFloat64(values: Float64Array, label: string): { values: Float64Array; dropped: number } {
  const n = values.length;
  let nan = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    // v − v is 0 for finite v, NaN for NaN and ±Infinity.
    if (v - v !== 0) {
      if (Number.isNaN(v)) nan++;
      else throw validationFailed(`${label}: value at index ${i} is infinite`, { label, index: i });
    }
  }
  if (nan === n) {
    throw validationFailed(`${label}: no values left after dropping nulls (${n} rows, all missing)`, {
      label,
      rows: n,
    });
  }
  if (nan === 0) return { values: values.slice(), dropped: 0 };
  const out = new Float64Array(n - nan);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isNaN(v)) out[k++] = v;
  }
  return { values: out, dropped: nan };
}

/** collectNumeric, then sort ascending. */
export function prepareNumeric(values: ArrayLike<NumericValue> | Float64Array, label: string): SortedSample {
  const { values: collected, dropped } = collectNumeric(values, label);
  return { sorted: sortFloat64(collected), dropped };
}

/** Accept either raw values or an already prepared sample (e.g. a baseline reused across windows). */
export function asSortedSample(values: ArrayLike<NumericValue> | SortedSample, label: string): SortedSample {
  return isSortedSample(values) ? values : prepareNumeric(values, label);
}

export function countCategories(values: ArrayLike<CategoricalValue>, label: string): CategoryCounts {
  const counts = new Map<string, number>();
  let dropped = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) {
      dropped++;
      continue;
    }
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw validationFailed(`${label}: value at index ${i} is not a string, number, boolean or null`, {
        label,
        index: i,
      });
    }
    const key = String(v);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = values.length - dropped;
  if (total === 0) {
    throw validationFailed(
      `${label}: no values left after dropping nulls (${values.length} rows, all missing)`,
      { label, rows: values.length },
    );
  }
  return { counts, total, dropped };
}

export function isCategoryCounts(x: unknown): x is CategoryCounts {
  return typeof x === 'object' && x !== null && (x as CategoryCounts).counts instanceof Map;
}
