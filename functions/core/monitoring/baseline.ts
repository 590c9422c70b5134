/**
 * The reference profile a model's captured traffic is compared against: per-feature summaries
 * for people, a sketch on a layout fixed here (every window is sketched on the same edges, so the
 * two sides are comparable and window sketches merge), and a sample of raw reference values for
 * the exact tests. Built once per baseline, stored as JSON, read back with parseBaselineProfile
 * (profile-schema.ts).
 */
import { createHash } from 'node:crypto';
import { validationFailed } from '../kernel/errors.js';
import type { InputSchema } from '../kernel/model-io.js';
import { prepareNumeric } from '../stats/samples.js';
import {
  type CategoricalSketch,
  categoricalSketch,
  DEFAULT_SKETCH_BINS,
  type NumericSketch,
  numericSketch,
  sketchLayout,
} from '../stats/sketch.js';
import { categoricalValue, type FeatureDef, numericValue, type Row, rawValue } from './row-values.js';
import { decodeFloat64, encodeFloat64, Reservoir } from './sampling.js';

export const BASELINE_PROFILE_VERSION = 1;
export const DEFAULT_MAX_SAMPLE = 50_000;
/** Fixed so that rebuilding a baseline from the same rows gives the same sample. */
export const DEFAULT_SAMPLE_SEED = 0x5e7a1;
/** Categories listed in a categorical summary (the sketch keeps all of them). */
export const TOP_CATEGORIES = 20;

export interface Quantiles {
  readonly p01: number;
  readonly p05: number;
  readonly p25: number;
  readonly p50: number;
  readonly p75: number;
  readonly p95: number;
  readonly p99: number;
}

export interface NumericalSummary {
  /** Non-null values. */
  readonly count: number;
  readonly nulls: number;
  readonly distinct: number;
  /** null when every reference value is null. */
  readonly mean: number | null;
  /** Population standard deviation (ddof 0), as the normalised Wasserstein uses. */
  readonly std: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** numpy's default (linear) rule. */
  readonly quantiles: Quantiles | null;
}

export interface CategoricalSummary {
  readonly count: number;
  readonly nulls: number;
  readonly distinct: number;
  /** Most frequent first (ties by category), at most TOP_CATEGORIES. */
  readonly top: { readonly value: string; readonly count: number }[];
}

export interface NumericalFeatureProfile {
  readonly name: string;
  readonly kind: 'numerical';
  readonly summary: NumericalSummary;
  /**
   * The whole reference on its own layout (`sketch.edges` is the layout every window of this
   * feature is sketched on). null when the reference has no value to lay bins out from.
   */
  readonly sketch: NumericSketch | null;
  /** The sampled non-null values, float64 little-endian, base64: exact and ~11 chars a value. */
  readonly sample: string;
}

export interface CategoricalFeatureProfile {
  readonly name: string;
  readonly kind: 'categorical';
  readonly summary: CategoricalSummary;
  /** Exact counts per category over the whole reference. */
  readonly sketch: CategoricalSketch;
  /** Declared categories (input schema), so a category sent as its index reads as its name. */
  readonly categories?: string[];
  /** The sampled non-null values as indices into `values`. */
  readonly sample: { readonly values: string[]; readonly codes: number[] };
}

export type FeatureProfile = NumericalFeatureProfile | CategoricalFeatureProfile;

export interface BaselineProfile {
  readonly profileVersion: number;
  readonly version: string;
  readonly createdAt: string;
  readonly rows: number;
  /** 'schema': features in the input schema's order, so rows may be arrays; 'inferred': objects only. */
  readonly featureOrder: 'schema' | 'inferred';
  /** Fingerprint of the features and their layouts: window sketches carry it, so stale ones are refused. */
  readonly layoutId: string;
  readonly sample: { readonly rows: number; readonly maxSample: number; readonly seed: number };
  readonly features: FeatureProfile[];
}

export interface BuildBaselineInput {
  readonly rows: Iterable<Row>;
  readonly inputSchema?: InputSchema;
  readonly version: string;
  readonly createdAt: string;
  /** Reference rows kept for the exact tests (default 50,000). */
  readonly maxSample?: number;
  readonly seed?: number;
  /** Numeric sketch resolution (default 1024 edges). */
  readonly bins?: number;
}

/** The reference sample of a feature as a column for the exact tests. */
export function referenceSample(f: FeatureProfile): Float64Array | string[] {
  if (f.kind === 'numerical') return decodeFloat64(f.sample);
  const { values, codes } = f.sample;
  return codes.map((c) => values[c]!);
}

// ------------------------------------------------------------------------------ profiling

/** numpy's default quantile: v = (n−1)·p, linear between the neighbouring order statistics. */
function quantile(sorted: Float64Array, p: number): number {
  const v = (sorted.length - 1) * p;
  const lo = Math.floor(v);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const g = v - lo;
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  // numpy interpolates from the nearer end, which keeps the result exact at g = 1.
  return g >= 0.5 ? b - (b - a) * (1 - g) : a + (b - a) * g;
}

function profileNumerical(
  name: string,
  column: Float64Array,
  sampleRows: readonly number[],
  bins: number,
): NumericalFeatureProfile {
  const nulls = column.reduce((k, v) => (Number.isNaN(v) ? k + 1 : k), 0);
  const count = column.length - nulls;
  const sample: number[] = [];
  for (const i of sampleRows) if (!Number.isNaN(column[i]!)) sample.push(column[i]!);
  if (count === 0) {
    const empty = { mean: null, std: null, min: null, max: null, quantiles: null };
    return {
      name,
      kind: 'numerical',
      summary: { count, nulls, distinct: 0, ...empty },
      sketch: null,
      sample: encodeFloat64(sample),
    };
  }
  const prepared = prepareNumeric(column, name);
  const sorted = prepared.sorted;
  let distinct = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  const sketch = numericSketch(column, sketchLayout(prepared, bins));
  return {
    name,
    kind: 'numerical',
    summary: {
      count,
      nulls,
      distinct,
      mean: sketch.mean,
      std: Math.sqrt(Math.max(sketch.m2, 0) / sketch.n),
      min: sorted[0]!,
      max: sorted[sorted.length - 1]!,
      quantiles: {
        p01: quantile(sorted, 0.01),
        p05: quantile(sorted, 0.05),
        p25: quantile(sorted, 0.25),
        p50: quantile(sorted, 0.5),
        p75: quantile(sorted, 0.75),
        p95: quantile(sorted, 0.95),
        p99: quantile(sorted, 0.99),
      },
    },
    sketch,
    sample: encodeFloat64(sample),
  };
}

function profileCategorical(
  name: string,
  column: readonly (string | null)[],
  sampleRows: readonly number[],
  categories: readonly string[] | undefined,
): CategoricalFeatureProfile {
  const sketch = categoricalSketch(column);
  const entries = Object.entries(sketch.counts).sort((a, b) =>
    b[1] !== a[1] ? b[1] - a[1] : a[0] < b[0] ? -1 : 1,
  );
  const values: string[] = [];
  const codeOf = new Map<string, number>();
  const codes: number[] = [];
  for (const i of sampleRows) {
    const v = column[i];
    if (v === null || v === undefined) continue;
    let c = codeOf.get(v);
    if (c === undefined) {
      c = values.length;
      values.push(v);
      codeOf.set(v, c);
    }
    codes.push(c);
  }
  return {
    name,
    kind: 'categorical',
    summary: {
      count: sketch.n,
      nulls: sketch.nulls,
      distinct: entries.length,
      top: entries.slice(0, TOP_CATEGORIES).map(([value, count]) => ({ value, count })),
    },
    sketch,
    ...(categories ? { categories: [...categories] } : {}),
    sample: { values, codes },
  };
}

export function layoutFingerprint(features: readonly FeatureProfile[]): string {
  const h = createHash('sha256');
  for (const f of features) {
    h.update(JSON.stringify([f.name, f.kind, f.kind === 'numerical' ? (f.sketch?.edges ?? null) : null]));
    h.update('\n');
  }
  return h.digest('hex').slice(0, 32);
}

/** Collected columns: numbers (NaN for null) for numerical features, names for categorical ones. */
type Column = { kind: 'numerical'; values: number[] } | { kind: 'categorical'; values: (string | null)[] };

function collectWithSchema(
  rows: Iterable<Row>,
  schema: InputSchema,
  reservoir: Reservoir,
): { defs: FeatureDef[]; columns: Column[]; n: number } {
  const defs: FeatureDef[] = schema.features.map((f) =>
    f.type === 'category'
      ? { name: f.name, kind: 'categorical' as const, ...(f.categories ? { categories: f.categories } : {}) }
      : { name: f.name, kind: 'numerical' as const },
  );
  const columns: Column[] = defs.map((d) => ({ kind: d.kind, values: [] }) as Column);
  const m = defs.length;
  let n = 0;
  for (const row of rows) {
    for (let j = 0; j < m; j++) {
      const d = defs[j]!;
      const col = columns[j]!;
      const raw = rawValue(row, d.name, j, m, true, n);
      if (col.kind === 'numerical') col.values.push(numericValue(raw, d.name, n) ?? Number.NaN);
      else col.values.push(categoricalValue(raw, d.name, n, d.categories));
    }
    reservoir.offer();
    n++;
  }
  return { defs, columns, n };
}

/**
 * Features a baseline may infer from rows without an input schema. Each one costs a profile, a
 * sketch and a column per window, and a body of one-key rows with a new key each would otherwise
 * make thousands of them out of a few hundred kilobytes.
 */
export const MAX_INFERRED_FEATURES = 1_000;

/**
 * Without a schema the features are the union of the rows' keys (in order of first appearance,
 * missing → null), and a feature is numerical when every non-null value is a number — the rule
 * the drift report infers kinds by.
 */
function collectInferred(
  rows: Iterable<Row>,
  reservoir: Reservoir,
): { defs: FeatureDef[]; columns: Column[]; n: number } {
  // Sparse while reading: each feature keeps the rows that have it, and the gaps become nulls at
  // the end. Padding every column on every row would cost rows × features.
  const seen = new Map<string, { rows: number[]; values: unknown[] }>();
  let n = 0;
  for (const row of rows) {
    // Arrays cannot be read without a feature order: rawValue says so.
    if (Array.isArray(row) || typeof row !== 'object' || row === null) rawValue(row, '', 0, 0, false, n);
    for (const [k, v] of Object.entries(row as Record<string, unknown>)) {
      let col = seen.get(k);
      if (!col) {
        if (seen.size >= MAX_INFERRED_FEATURES) {
          throw validationFailed(
            `row ${n} brings feature ${seen.size + 1}: a baseline without an input schema infers at most ${MAX_INFERRED_FEATURES} features; declare an input schema or send fewer distinct keys`,
            { row: n, limit: MAX_INFERRED_FEATURES },
          );
        }
        col = { rows: [], values: [] };
        seen.set(k, col);
      }
      col.rows.push(n);
      col.values.push(v);
    }
    n++;
    reservoir.offer();
  }
  const defs: FeatureDef[] = [];
  const columns: Column[] = [];
  for (const [name, col] of seen) {
    const numeric = col.values.every((v) => v === null || v === undefined || typeof v === 'number');
    if (numeric) {
      const values = new Array<number>(n).fill(Number.NaN);
      col.rows.forEach((r, j) => {
        values[r] = numericValue(col.values[j], name, r) ?? Number.NaN;
      });
      defs.push({ name, kind: 'numerical' });
      columns.push({ kind: 'numerical', values });
    } else {
      const values = new Array<string | null>(n).fill(null);
      col.rows.forEach((r, j) => {
        values[r] = categoricalValue(col.values[j], name, r);
      });
      defs.push({ name, kind: 'categorical' });
      columns.push({ kind: 'categorical', values });
    }
    seen.delete(name);
  }
  return { defs, columns, n };
}

export function buildBaseline(input: BuildBaselineInput): BaselineProfile {
  const maxSample = input.maxSample ?? DEFAULT_MAX_SAMPLE;
  const seed = input.seed ?? DEFAULT_SAMPLE_SEED;
  const bins = input.bins ?? DEFAULT_SKETCH_BINS;
  const reservoir = new Reservoir(maxSample, seed);
  const { defs, columns, n } = input.inputSchema
    ? collectWithSchema(input.rows, input.inputSchema, reservoir)
    : collectInferred(input.rows, reservoir);
  if (n === 0) throw validationFailed('a baseline needs at least one row');
  if (defs.length === 0) throw validationFailed('the rows have no features');
  const sampleRows = reservoir.indices();
  const features: FeatureProfile[] = defs.map((d, j) => {
    const col = columns[j]!;
    return col.kind === 'numerical'
      ? profileNumerical(d.name, Float64Array.from(col.values), sampleRows, bins)
      : profileCategorical(d.name, col.values, sampleRows, d.categories);
  });
  return {
    profileVersion: BASELINE_PROFILE_VERSION,
    version: input.version,
    createdAt: input.createdAt,
    rows: n,
    featureOrder: input.inputSchema ? 'schema' : 'inferred',
    layoutId: layoutFingerprint(features),
    sample: { rows: sampleRows.length, maxSample, seed },
    features,
  };
}

/** The reader definitions of a profile's features, in its order. */
export function featureDefs(profile: BaselineProfile): FeatureDef[] {
  return profile.features.map((f) =>
    f.kind === 'categorical' && f.categories
      ? { name: f.name, kind: f.kind, categories: f.categories }
      : { name: f.name, kind: f.kind },
  );
}

/**
 * Background rows for explanations from a baseline's reference sample: up to `limit` rows, row j
 * taking each feature's sampled value at the same relative position j/limit. The samples are
 * taken from the same reference rows, so a row keeps the features' joint values where no value is
 * missing (a feature with missing values drops them and shifts by a few rows).
 */
export function backgroundRows(profile: BaselineProfile, limit: number): Record<string, number | string>[] {
  const columns = profile.features.map((f) => ({ name: f.name, values: referenceSample(f) }));
  const n = Math.min(limit, ...columns.map((c) => c.values.length));
  if (!(n > 0)) return [];
  return Array.from({ length: n }, (_, j) =>
    Object.fromEntries(columns.map((c) => [c.name, c.values[Math.floor((j * c.values.length) / n)]!])),
  );
}
