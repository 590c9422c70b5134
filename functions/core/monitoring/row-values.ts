/**
 * Reading feature values out of rows, by the rules predict encodes instances with, so a baseline
 * and a window read the same row as the same values.
 */
import { validationFailed } from '../kernel/errors.js';
import type { FeatureKind } from '../stats/drift-report.js';

/** An object keyed by feature name, or an array in the input schema's feature order. */
export type Row = Readonly<Record<string, unknown>> | readonly unknown[];

/** What the row readers need to know about a feature. */
export interface FeatureDef {
  readonly name: string;
  readonly kind: FeatureKind;
  readonly categories?: readonly string[];
}

function describe(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/**
 * One value of a numerical feature: null for missing or NaN, booleans as 0/1 (as predict encodes
 * them), anything else that is not a finite number rejected — an infinite value would make
 * Wasserstein infinite and hide every other change.
 */
export function numericValue(v: unknown, feature: string, row: number): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return null;
    if (Number.isFinite(v)) return v;
  } else if (typeof v === 'boolean') return v ? 1 : 0;
  throw validationFailed(
    `row ${row}: feature "${feature}" must be a finite number or null, got ${describe(v)}`,
    {
      row,
      feature,
    },
  );
}

/**
 * One value of a categorical feature, as its category name: predict accepts a declared category
 * either by name or by index, and both must count as the same category.
 */
export function categoricalValue(
  v: unknown,
  feature: string,
  row: number,
  categories?: readonly string[],
): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return null;
    if (categories && Number.isInteger(v) && v >= 0 && v < categories.length) return categories[v]!;
    return String(v);
  }
  if (typeof v === 'boolean') return String(v);
  throw validationFailed(
    `row ${row}: feature "${feature}" must be a string, number, boolean or null, got ${describe(v)}`,
    { row, feature },
  );
}

/**
 * The raw value of feature `index` (named `name`) in a row. Arrays are positional and need the
 * schema's order; a length mismatch means a row of another model version, not missing values.
 */
export function rawValue(
  row: Row,
  name: string,
  index: number,
  featureCount: number,
  positional: boolean,
  rowIndex: number,
): unknown {
  if (Array.isArray(row)) {
    if (!positional) {
      throw validationFailed(
        `row ${rowIndex} is an array: array rows need an input schema for the feature order; send objects keyed by feature name`,
        { row: rowIndex },
      );
    }
    if (row.length !== featureCount) {
      throw validationFailed(
        `row ${rowIndex} has ${row.length} values, the input schema has ${featureCount} features`,
        { row: rowIndex },
      );
    }
    return row[index];
  }
  if (typeof row !== 'object' || row === null) {
    throw validationFailed(`row ${rowIndex} must be an object or an array`, { row: rowIndex });
  }
  return Object.hasOwn(row, name) ? (row as Record<string, unknown>)[name] : undefined;
}
