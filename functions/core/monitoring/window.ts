/**
 * A window of captured rows on its way to a drift check. Small windows keep their raw columns,
 * so the check can run the exact tests; past `exactRowLimit` rows the accumulator folds what it
 * holds into sketches on the baseline's layouts and keeps only those (plus a small buffer), so
 * memory is O(features × bins) however long the window is. Sketches of earlier partitions (e.g.
 * hourly, stored next to the captured data) merge in with addSketch.
 */
import * as z from 'zod';
import { validationFailed } from '../kernel/errors.js';
import {
  type CategoricalSketch,
  categoricalSketch,
  mergeCategoricalSketches,
  mergeNumericSketches,
  type NumericSketch,
  NumericSketcher,
  parseSketch,
} from '../stats/sketch.js';
import { type BaselineProfile, featureDefs } from './baseline.js';
import { categoricalValue, type FeatureDef, numericValue, type Row, rawValue } from './row-values.js';
import { parseStoredJson } from './stored-json.js';

export const WINDOW_SKETCH_VERSION = 1;
/**
 * Rows buffered in sketch mode before they are folded in: sketching a chunk costs a layout
 * lookup table, so one row at a time would be ~1000× slower; 8192 rows × 8 bytes is 64 KB per
 * numerical feature.
 */
export const SKETCH_CHUNK_ROWS = 8192;

export type WindowMode = 'exact' | 'sketch';

/** Sketches of a window (or a partition of one) on a baseline's layouts. */
export interface WindowSketch {
  readonly version: number;
  /** The baseline layout the sketches are on (BaselineProfile.layoutId). */
  readonly layoutId: string;
  readonly rows: number;
  /** Per tested feature (features whose reference is all null have no layout and are absent). */
  readonly features: Record<string, NumericSketch | CategoricalSketch>;
}

/** A raw column held in exact mode: numbers with NaN for null, or category names. */
export type WindowColumn = Float64Array | readonly (string | null)[];

interface Slot {
  readonly def: FeatureDef;
  /** Position in the baseline's feature order (for array rows). */
  readonly index: number;
  readonly edges: readonly number[] | null;
  /** The layout's sketcher, built at the first sketch (so a layout is checked when it is used, as before). */
  sketcher: NumericSketcher | null;
  num: Float64Array;
  cat: (string | null)[];
  sketch: NumericSketch | CategoricalSketch | null;
}

export interface WindowAccumulatorOptions {
  readonly exactRowLimit: number;
}

export class WindowAccumulator {
  readonly layoutId: string;
  private readonly slots: Slot[];
  private readonly featureCount: number;
  private readonly positional: boolean;
  private readonly exactRowLimit: number;
  private count = 0;
  /** Rows held raw: every row in exact mode, the unflushed chunk in sketch mode. */
  private buffered = 0;
  private current: WindowMode = 'exact';
  /** One row's values between reading and storing (see add). */
  private readonly scratch: (number | string | null)[];

  constructor(baseline: BaselineProfile, exactRowLimit: number | WindowAccumulatorOptions) {
    const limit = typeof exactRowLimit === 'number' ? exactRowLimit : exactRowLimit.exactRowLimit;
    if (!Number.isInteger(limit) || limit < 0) {
      throw validationFailed(`exactRowLimit must be a non-negative integer, got ${limit}`);
    }
    this.exactRowLimit = limit;
    this.layoutId = baseline.layoutId;
    this.positional = baseline.featureOrder === 'schema';
    this.featureCount = baseline.features.length;
    const defs = featureDefs(baseline);
    this.slots = baseline.features.flatMap((f, index) =>
      f.summary.count === 0
        ? []
        : [
            {
              def: defs[index]!,
              index,
              edges: f.kind === 'numerical' ? f.sketch!.edges : null,
              sketcher: null,
              num: new Float64Array(f.kind === 'numerical' ? 1024 : 0),
              cat: [],
              sketch: null,
            },
          ],
    );
    this.scratch = this.slots.map(() => null);
  }

  get rows(): number {
    return this.count;
  }

  get mode(): WindowMode {
    return this.current;
  }

  /** Raw rows held in memory: bounded by SKETCH_CHUNK_ROWS once in sketch mode. */
  get bufferedRows(): number {
    return this.buffered;
  }

  /** Features the window tracks (those with a reference layout), in baseline order. */
  get features(): string[] {
    return this.slots.map((s) => s.def.name);
  }

  add(row: Row): void {
    if (this.current === 'exact' && this.count >= this.exactRowLimit) this.toSketchMode();
    const r = this.count;
    const slots = this.slots;
    // Plain loops over a reused scratch row: a closure and a values array per row were a
    // visible share of a long window's first check (and of its garbage).
    const values = this.scratch;
    // Read the whole row before storing any of it, so a bad value leaves the window unchanged.
    for (let j = 0; j < slots.length; j++) {
      const s = slots[j]!;
      const raw = rawValue(row, s.def.name, s.index, this.featureCount, this.positional, r);
      values[j] =
        s.def.kind === 'numerical'
          ? numericValue(raw, s.def.name, r)
          : categoricalValue(raw, s.def.name, r, s.def.categories);
    }
    const k = this.buffered;
    for (let j = 0; j < slots.length; j++) {
      const s = slots[j]!;
      const v = values[j]!;
      if (s.def.kind === 'numerical') {
        if (k === s.num.length) {
          const grown = new Float64Array(Math.max(1024, s.num.length * 2));
          grown.set(s.num);
          s.num = grown;
        }
        s.num[k] = v === null ? Number.NaN : (v as number);
      } else s.cat.push(v as string | null);
    }
    this.buffered++;
    this.count++;
    if (this.current === 'sketch' && this.buffered >= SKETCH_CHUNK_ROWS) this.flush();
  }

  /** Merge a partition's sketch; from then on the window is tested from sketches. */
  addSketch(partial: WindowSketch): void {
    if (partial.layoutId !== this.layoutId) {
      throw validationFailed(
        'the partition sketch was built on another baseline layout; sketch its rows again for this baseline',
        { expected: this.layoutId, got: partial.layoutId },
      );
    }
    for (const s of this.slots) {
      const p = partial.features[s.def.name];
      if (!p || p.kind !== (s.def.kind === 'numerical' ? 'numeric' : 'categorical')) {
        throw validationFailed(`the partition sketch lacks a ${s.def.kind} sketch of "${s.def.name}"`, {
          feature: s.def.name,
        });
      }
    }
    this.toSketchMode();
    for (const s of this.slots) s.sketch = merge(s.sketch, partial.features[s.def.name]!);
    this.count += partial.rows;
  }

  /** Sketches of everything added so far (the window stays in its mode). */
  toSketch(): WindowSketch {
    const features: Record<string, NumericSketch | CategoricalSketch> = {};
    for (const s of this.slots) {
      const pending = sketchBuffer(s, this.buffered);
      features[s.def.name] = s.sketch ? merge(s.sketch, pending) : pending;
    }
    return { version: WINDOW_SKETCH_VERSION, layoutId: this.layoutId, rows: this.count, features };
  }

  /** The raw columns, exact mode only (the check's exact tests read them). */
  columns(): Map<string, WindowColumn> {
    if (this.current !== 'exact')
      throw validationFailed('the window is in sketch mode: it has no raw columns');
    return new Map(
      this.slots.map((s) => [
        s.def.name,
        s.def.kind === 'numerical' ? s.num.subarray(0, this.buffered) : s.cat,
      ]),
    );
  }

  private toSketchMode(): void {
    if (this.current === 'sketch') return;
    this.current = 'sketch';
    this.flush();
    // Drop the exact-mode columns' capacity, which may be exactRowLimit rows long.
    for (const s of this.slots) if (s.def.kind === 'numerical') s.num = new Float64Array(SKETCH_CHUNK_ROWS);
  }

  private flush(): void {
    for (const s of this.slots) {
      const pending = sketchBuffer(s, this.buffered);
      s.sketch = s.sketch ? merge(s.sketch, pending) : pending;
      s.cat = [];
    }
    this.buffered = 0;
  }
}

function sketchBuffer(s: Slot, n: number): NumericSketch | CategoricalSketch {
  if (!s.edges) return categoricalSketch(s.cat);
  s.sketcher ??= new NumericSketcher(s.edges);
  return s.sketcher.sketch(s.num.subarray(0, n));
}

function merge(
  a: NumericSketch | CategoricalSketch | null,
  b: NumericSketch | CategoricalSketch,
): NumericSketch | CategoricalSketch {
  if (a === null) return b;
  if (a.kind === 'numeric' && b.kind === 'numeric') return mergeNumericSketches(a, b);
  if (a.kind === 'categorical' && b.kind === 'categorical') return mergeCategoricalSketches(a, b);
  throw validationFailed('cannot merge a numeric sketch with a categorical one');
}

// -------------------------------------------------------------------------- serialisation

const WindowSketchSchema = z
  .strictObject({
    version: z.literal(WINDOW_SKETCH_VERSION),
    layoutId: z.string().regex(/^[0-9a-f]{32}$/),
    rows: z.number().int().min(0),
    features: z.record(
      z.string().min(1),
      z.unknown().transform((v, ctx) => {
        try {
          return parseSketch(v);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
          return z.NEVER;
        }
      }),
    ),
  })
  .superRefine((w, ctx) => {
    // Every row gives every feature a value or a null.
    for (const [name, s] of Object.entries(w.features)) {
      if (s.n + s.nulls !== w.rows) {
        ctx.addIssue({
          code: 'custom',
          message: `${name}: ${s.n} values + ${s.nulls} nulls ≠ ${w.rows} rows`,
        });
      }
    }
  });

/** Validates a partition sketch read back from storage (a string or parsed JSON). */
export function parseWindowSketch(json: unknown): WindowSketch {
  return parseStoredJson(json, WindowSketchSchema, 'window sketch');
}
