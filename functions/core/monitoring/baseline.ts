/**
 * The reference profile a model's captured traffic is compared against: per-feature summaries
 * for people, a sketch on a layout fixed here (every window is sketched on the same edges, so the
 * two sides are comparable and window sketches merge), and a sample of raw reference values for
 * the exact tests. Built once per baseline, stored as JSON, read back with parseBaselineProfile.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { integrityFailed, validationFailed } from '../kernel/errors.js';
import type { InputSchema } from '../kernel/model-io.js';
import type { FeatureKind } from '../stats/drift-report.js';
import { prepareNumeric } from '../stats/samples.js';
import {
  type CategoricalSketch,
  categoricalSketch,
  DEFAULT_SKETCH_BINS,
  type NumericSketch,
  numericSketch,
  parseSketch,
  sketchLayout,
} from '../stats/sketch.js';

export const BASELINE_PROFILE_VERSION = 1;
export const DEFAULT_MAX_SAMPLE = 50_000;
/** Fixed so that rebuilding a baseline from the same rows gives the same sample. */
export const DEFAULT_SAMPLE_SEED = 0x5e7a1;
/** Categories listed in a categorical summary (the sketch keeps all of them). */
export const TOP_CATEGORIES = 20;

/** An object keyed by feature name, or an array in the input schema's feature order. */
export type Row = Readonly<Record<string, unknown>> | readonly unknown[];

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

// -------------------------------------------------------------------------- reading rows

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

// ------------------------------------------------------------------------------ sampling

/** mulberry32: small, fast, and plenty for choosing rows. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  const next32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  // 53 random bits, so ⌊u·(i+1)⌋ stays unbiased for reservoirs over billions of rows.
  return () => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;
}

/**
 * Algorithm R over row indices: after the stream, every k-subset of the rows is equally likely.
 *
 * Why exact tests on a sample are sound: the rows of a uniform sample are (close to) i.i.d. draws
 * from the reference distribution, which is all KS, chi-square and the z-test assume of either
 * side, so their p-values keep their meaning; distances estimated from it are consistent, with a
 * sampling error of order 1/√k. What it costs: power. With a reference of n₁ rows sampled to k
 * and a window of n₂, the effective size n·m/(n+m) falls from n₁n₂/(n₁+n₂) to kn₂/(k+n₂) — at
 * most halved while the window is no larger than the sample (the default 50,000 is also the
 * default exact-row limit), so shifts about √2 larger are needed for the same p-value.
 */
export class Reservoir {
  private readonly picked: number[] = [];
  private seen = 0;
  private readonly random: () => number;

  constructor(
    readonly size: number,
    seed: number,
  ) {
    if (!Number.isInteger(size) || size < 1) throw validationFailed(`maxSample must be a positive integer`);
    this.random = rng(seed);
  }

  offer(): void {
    const i = this.seen++;
    if (i < this.size) this.picked.push(i);
    else {
      const j = Math.floor(this.random() * (i + 1));
      if (j < this.size) this.picked[j] = i;
    }
  }

  /** Chosen row indices, ascending. */
  indices(): number[] {
    return [...this.picked].sort((a, b) => a - b);
  }
}

export function encodeFloat64(values: ArrayLike<number>): string {
  const buf = Buffer.alloc(values.length * 8);
  for (let i = 0; i < values.length; i++) buf.writeDoubleLE(values[i]!, i * 8);
  return buf.toString('base64');
}

export function decodeFloat64(base64: string): Float64Array {
  const buf = Buffer.from(base64, 'base64');
  if (buf.length % 8 !== 0) throw integrityFailed('sample is not a whole number of float64 values');
  const out = new Float64Array(buf.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = buf.readDoubleLE(i * 8);
  return out;
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
 * Without a schema the features are the union of the rows' keys (in order of first appearance,
 * missing → null), and a feature is numerical when every non-null value is a number — the rule
 * the drift report infers kinds by.
 */
function collectInferred(
  rows: Iterable<Row>,
  reservoir: Reservoir,
): { defs: FeatureDef[]; columns: Column[]; n: number } {
  const names: string[] = [];
  const raw = new Map<string, unknown[]>();
  let n = 0;
  for (const row of rows) {
    // Arrays cannot be read without a feature order: rawValue says so.
    if (Array.isArray(row) || typeof row !== 'object' || row === null) rawValue(row, '', 0, 0, false, n);
    for (const [k, v] of Object.entries(row as Record<string, unknown>)) {
      let col = raw.get(k);
      if (!col) {
        col = new Array<unknown>(n).fill(null);
        raw.set(k, col);
        names.push(k);
      }
      col.push(v);
    }
    n++;
    for (const col of raw.values()) if (col.length < n) col.push(null);
    reservoir.offer();
  }
  const defs: FeatureDef[] = [];
  const columns: Column[] = [];
  for (const name of names) {
    const col = raw.get(name)!;
    const numeric = col.every((v) => v === null || v === undefined || typeof v === 'number');
    if (numeric) {
      defs.push({ name, kind: 'numerical' });
      columns.push({ kind: 'numerical', values: col.map((v, i) => numericValue(v, name, i) ?? Number.NaN) });
    } else {
      defs.push({ name, kind: 'categorical' });
      columns.push({ kind: 'categorical', values: col.map((v, i) => categoricalValue(v, name, i)) });
    }
    raw.delete(name);
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

// -------------------------------------------------------------------------- serialisation

const count = z.number().int().min(0);
// zod 4 numbers are finite already.
const finite = z.number();

/** Accepts what parseSketch accepts, of the given kind. */
function sketchOf<K extends 'numeric' | 'categorical'>(kind: K) {
  return z.unknown().transform((v, ctx) => {
    try {
      const s = parseSketch(v);
      if (s.kind !== kind) {
        ctx.addIssue({ code: 'custom', message: `expected a ${kind} sketch, got ${s.kind}` });
        return z.NEVER;
      }
      return s as K extends 'numeric' ? NumericSketch : CategoricalSketch;
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });
}

const Quantiles = z.strictObject({
  p01: finite,
  p05: finite,
  p25: finite,
  p50: finite,
  p75: finite,
  p95: finite,
  p99: finite,
});

const NumericalProfileSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.literal('numerical'),
  summary: z.strictObject({
    count,
    nulls: count,
    distinct: count,
    mean: finite.nullable(),
    std: finite.min(0).nullable(),
    min: finite.nullable(),
    max: finite.nullable(),
    quantiles: Quantiles.nullable(),
  }),
  sketch: sketchOf('numeric').nullable(),
  sample: z
    .string()
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'sample must be base64')
    .refine((s) => Buffer.from(s, 'base64').length % 8 === 0, 'sample must hold whole float64 values'),
});

const CategoricalProfileSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.literal('categorical'),
  summary: z.strictObject({
    count,
    nulls: count,
    distinct: count,
    top: z.array(z.strictObject({ value: z.string(), count })),
  }),
  sketch: sketchOf('categorical'),
  categories: z.array(z.string()).optional(),
  sample: z
    .strictObject({ values: z.array(z.string()), codes: z.array(count) })
    .refine((s) => s.codes.every((c) => c < s.values.length), 'sample codes must index sample values'),
});

export const BaselineProfileSchema = z
  .strictObject({
    profileVersion: z.literal(BASELINE_PROFILE_VERSION),
    version: z.string().min(1),
    createdAt: z.string().min(1),
    rows: z.number().int().min(1),
    featureOrder: z.enum(['schema', 'inferred']),
    layoutId: z.string().regex(/^[0-9a-f]{32}$/),
    sample: z.strictObject({ rows: count, maxSample: z.number().int().min(1), seed: z.number().int() }),
    features: z
      .array(z.discriminatedUnion('kind', [NumericalProfileSchema, CategoricalProfileSchema]))
      .min(1),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    for (const f of p.features) {
      if (seen.has(f.name)) ctx.addIssue({ code: 'custom', message: `duplicate feature ${f.name}` });
      seen.add(f.name);
      if (f.kind === 'numerical' && (f.sketch === null) !== (f.summary.count === 0)) {
        ctx.addIssue({
          code: 'custom',
          message: `${f.name}: a sketch is needed exactly when there are values`,
        });
      }
    }
    if (layoutFingerprint(p.features as FeatureProfile[]) !== p.layoutId) {
      ctx.addIssue({ code: 'custom', message: 'layoutId does not match the features and their layouts' });
    }
  });

/** Validates a profile read back from storage (a string or parsed JSON). */
export function parseBaselineProfile(json: unknown): BaselineProfile {
  let data = json;
  if (typeof json === 'string') {
    try {
      data = JSON.parse(json);
    } catch {
      throw integrityFailed('baseline profile is not valid JSON');
    }
  }
  const parsed = BaselineProfileSchema.safeParse(data);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw integrityFailed(
      `invalid baseline profile: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'unknown'}`,
      {
        issues: parsed.error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message })),
      },
    );
  }
  return parsed.data as BaselineProfile;
}
