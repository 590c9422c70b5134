/**
 * Data quality of a window of captured inputs against the baseline, after SageMaker Model
 * Monitor's constraint checks, and prediction volume against its own history.
 *
 * Per feature (rates are shares of the window's rows):
 * - missing: null, undefined or NaN; a violation when the rate exceeds the baseline's missing
 *   rate by more than `maxMissingIncrease` (absolute);
 * - type mismatch: a numerical feature given something that is not a finite number or boolean,
 *   a categorical one given an object or array; a violation above `maxTypeMismatchRate`;
 * - out of range (numerical): below the baseline's minimum or above its maximum; above
 *   `maxOutOfRangeRate`;
 * - unseen category (categorical): a value the baseline never saw; above `maxUnseenCategoryRate`.
 * Per window: missing columns (a baseline feature absent from every row, object rows only) and
 * extra columns (a key of some row that is not a baseline feature), each a violation when
 * `failOnColumns` is on; malformed rows (not an object, nor an array of the schema's length) are
 * always a violation, since no feature of theirs can be read.
 * The checks count (QualityAccumulator), then judge (qualityReport): counts of hours add up to the
 * counts of a window, so a window can be checked from the stored counts of its hours.
 *
 * Volume: the count of one hour against the counts of the same hour of day on earlier days. The
 * robust z-score (x − median) / (1.4826 · MAD) and a Poisson tail at the median both have to agree
 * for an anomaly, so neither a flat history (MAD = 0) nor a tiny count raises one alone.
 */
import * as z from 'zod';
import { validationFailed } from '../kernel/errors.js';
import { gammaQ } from '../stats/special.js';
import type { BaselineProfile, FeatureProfile } from './baseline.js';
import { parseStoredJson } from './stored-json.js';

export interface QualityThresholds {
  readonly maxMissingIncrease: number;
  readonly maxTypeMismatchRate: number;
  readonly maxOutOfRangeRate: number;
  readonly maxUnseenCategoryRate: number;
  readonly failOnColumns: boolean;
}

export const DEFAULT_QUALITY_THRESHOLDS: QualityThresholds = {
  maxMissingIncrease: 0.05,
  maxTypeMismatchRate: 0,
  maxOutOfRangeRate: 0.01,
  maxUnseenCategoryRate: 0.01,
  failOnColumns: true,
};

export type QualityCheck =
  | 'missing'
  | 'type_mismatch'
  | 'out_of_range'
  | 'unseen_category'
  | 'missing_column'
  | 'extra_column'
  | 'malformed_row';

export interface FeatureQuality {
  readonly name: string;
  readonly kind: FeatureProfile['kind'];
  readonly rows: number;
  readonly missingRate: number;
  readonly baselineMissingRate: number;
  readonly typeMismatchRate: number;
  /** Numerical only. */
  readonly outOfRangeRate?: number;
  readonly range?: { readonly min: number | null; readonly max: number | null };
  /** Categorical only. */
  readonly unseenCategoryRate?: number;
  /** Up to 10 unseen categories, most frequent first. */
  readonly unseenCategories?: string[];
}

export interface QualityViolation {
  readonly check: QualityCheck;
  readonly feature: string;
  readonly observed: number;
  readonly threshold: number;
  readonly message: string;
}

export interface QualityReport {
  readonly rows: number;
  /** Rows no feature could be read from (counted in `rows`, not in the features' rates). */
  readonly malformedRows: number;
  readonly features: FeatureQuality[];
  readonly missingColumns: string[];
  readonly extraColumns: string[];
  /** More extra columns than MAX_EXTRA_COLUMNS appeared; only the first are named. */
  readonly extraColumnsTruncated?: true;
  readonly violations: QualityViolation[];
  readonly thresholds: QualityThresholds;
}

type Row = Record<string, unknown> | readonly unknown[];

const isMissing = (v: unknown): boolean =>
  v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));

function fmt(x: number): string {
  return `${Number((x * 100).toPrecision(3))} %`;
}

export const QUALITY_COUNTS_VERSION = 1;
/**
 * Distinct unseen categories kept by name per feature, and extra column names per window: past
 * these the rows are still counted (the rates stay exact), only the names are not kept, so a
 * feature flooded with garbage ids cannot grow a window's counts without bound.
 */
export const MAX_UNSEEN_NAMES = 1000;
export const MAX_EXTRA_COLUMNS = 100;

export interface FeatureQualityCounts {
  readonly missing: number;
  readonly mismatch: number;
  readonly outOfRange: number;
  /** Unseen category → rows, for up to MAX_UNSEEN_NAMES names. */
  readonly unseen: Readonly<Record<string, number>>;
  /** Rows with an unseen category whose name was not kept. */
  readonly unseenUnnamed: number;
}

/**
 * What a window's quality report is computed from: counts only, so the counts of two parts of a
 * window (hours) add up to the counts of the whole, and thresholds are applied at report time.
 */
export interface QualityCounts {
  readonly version: number;
  /** The baseline the counts were taken against (BaselineProfile.layoutId). */
  readonly layoutId: string;
  readonly rows: number;
  /** Rows given as objects (only those can miss or add a column). */
  readonly objectRows: number;
  /** Rows no feature could be read from: not an object or array, or an array of the wrong length. */
  readonly malformedRows: number;
  /** Baseline features present as a key in at least one object row. */
  readonly present: readonly string[];
  /** Extra column → object rows that have it, for up to MAX_EXTRA_COLUMNS columns. */
  readonly extra: Readonly<Record<string, number>>;
  readonly extraTruncated: boolean;
  readonly features: Readonly<Record<string, FeatureQualityCounts>>;
}

interface MutableFeatureCounts {
  missing: number;
  mismatch: number;
  outOfRange: number;
  unseen: Map<string, number>;
  unseenUnnamed: number;
}

/** Names are kept for people to read: a 10 kB garbage value is kept by its first 100 characters. */
export const MAX_NAME_LENGTH = 100;
const clip = (name: string) => (name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH)}…` : name);

function addTo(map: Map<string, number>, key: string, k: number, cap: number): boolean {
  const had = map.get(key);
  if (had === undefined && map.size >= cap) return false;
  map.set(key, (had ?? 0) + k);
  return true;
}

/**
 * Counts a window's rows one at a time (a window is streamed, never held). `add` also returns the
 * row as the drift check should read it: a value of the wrong type is counted here and passed on
 * as missing, so one bad value does not stop the drift check of the whole window.
 */
export class QualityAccumulator {
  private readonly profile: BaselineProfile;
  private readonly known: Map<string, number>;
  private readonly present = new Set<string>();
  private readonly extra = new Map<string, number>();
  private extraTruncated = false;
  private readonly counters: MutableFeatureCounts[];
  private count = 0;
  private objectRows = 0;
  private malformed = 0;

  constructor(profile: BaselineProfile) {
    this.profile = profile;
    this.known = new Map(profile.features.map((f, i) => [f.name, i]));
    this.counters = profile.features.map(() => ({
      missing: 0,
      mismatch: 0,
      outOfRange: 0,
      unseen: new Map<string, number>(),
      unseenUnnamed: 0,
    }));
  }

  get rows(): number {
    return this.count;
  }

  /** Counts one row; returns it as drift should read it, or null when no feature can be read. */
  add(row: unknown): Row | null {
    this.count++;
    const features = this.profile.features;
    const positional = Array.isArray(row);
    if (
      positional
        ? this.profile.featureOrder !== 'schema' || row.length !== features.length
        : typeof row !== 'object' || row === null
    ) {
      this.malformed++;
      return null;
    }
    const record = row as Record<string, unknown>;
    if (!positional) {
      this.objectRows++;
      for (const key of Object.keys(record)) {
        if (this.known.has(key)) this.present.add(key);
        else if (!addTo(this.extra, clip(key), 1, MAX_EXTRA_COLUMNS)) this.extraTruncated = true;
      }
    }
    // A plain loop, and the mismatch list only for rows that have one: a closure and an array per
    // row were garbage on every row of a long window.
    let mismatched: number[] | undefined;
    for (let i = 0; i < features.length; i++) {
      const f = features[i]!;
      const v = positional
        ? (row as readonly unknown[])[i]
        : Object.hasOwn(record, f.name)
          ? record[f.name]
          : undefined;
      const c = this.counters[i]!;
      if (isMissing(v)) {
        c.missing++;
        continue;
      }
      if (f.kind === 'numerical') {
        const x = typeof v === 'boolean' ? (v ? 1 : 0) : v;
        if (typeof x !== 'number' || !Number.isFinite(x)) {
          c.mismatch++;
          mismatched = mismatched ? [...mismatched, i] : [i];
          continue;
        }
        const { min, max } = f.summary;
        if ((min !== null && x < min) || (max !== null && x > max)) c.outOfRange++;
        continue;
      }
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        c.mismatch++;
        mismatched = mismatched ? [...mismatched, i] : [i];
        continue;
      }
      let name = String(v);
      if (typeof v === 'number' && f.categories && Number.isInteger(v) && v >= 0 && v < f.categories.length) {
        name = f.categories[v]!;
      }
      // hasOwn: a category called "constructor" is not in every object's prototype chain.
      if (!Object.hasOwn(f.sketch.counts, name) && !addTo(c.unseen, clip(name), 1, MAX_UNSEEN_NAMES)) {
        c.unseenUnnamed++;
      }
    }
    if (mismatched === undefined) return row as Row;
    if (positional) {
      const copy = [...(row as readonly unknown[])];
      for (const i of mismatched) copy[i] = null;
      return copy;
    }
    const copy = { ...record };
    for (const i of mismatched) copy[features[i]!.name] = null;
    return copy;
  }

  /** Adds the counts of another part of the window (an hour counted earlier). */
  addCounts(counts: QualityCounts): void {
    if (counts.layoutId !== this.profile.layoutId) {
      throw validationFailed('the quality counts were taken against another baseline', {
        expected: this.profile.layoutId,
        got: counts.layoutId,
      });
    }
    this.count += counts.rows;
    this.objectRows += counts.objectRows;
    this.malformed += counts.malformedRows;
    for (const name of counts.present) if (this.known.has(name)) this.present.add(name);
    for (const [k, n] of Object.entries(counts.extra)) {
      if (!addTo(this.extra, k, n, MAX_EXTRA_COLUMNS)) this.extraTruncated = true;
    }
    if (counts.extraTruncated) this.extraTruncated = true;
    this.profile.features.forEach((f, i) => {
      const p = counts.features[f.name];
      if (!p) return;
      const c = this.counters[i]!;
      c.missing += p.missing;
      c.mismatch += p.mismatch;
      c.outOfRange += p.outOfRange;
      c.unseenUnnamed += p.unseenUnnamed;
      for (const [k, n] of Object.entries(p.unseen)) {
        if (!addTo(c.unseen, k, n, MAX_UNSEEN_NAMES)) c.unseenUnnamed += n;
      }
    });
  }

  counts(): QualityCounts {
    const features: Record<string, FeatureQualityCounts> = {};
    this.profile.features.forEach((f, i) => {
      const c = this.counters[i]!;
      features[f.name] = {
        missing: c.missing,
        mismatch: c.mismatch,
        outOfRange: c.outOfRange,
        unseen: Object.fromEntries(c.unseen),
        unseenUnnamed: c.unseenUnnamed,
      };
    });
    return {
      version: QUALITY_COUNTS_VERSION,
      layoutId: this.profile.layoutId,
      rows: this.count,
      objectRows: this.objectRows,
      malformedRows: this.malformed,
      present: [...this.present].sort(),
      extra: Object.fromEntries(this.extra),
      extraTruncated: this.extraTruncated,
      features,
    };
  }

  report(thresholds: QualityThresholds = DEFAULT_QUALITY_THRESHOLDS): QualityReport {
    return qualityReport(this.profile, this.counts(), thresholds);
  }
}

/** Checks a window of input rows (objects keyed by feature, or arrays in schema order). */
export function dataQuality(
  profile: BaselineProfile,
  rows: readonly Row[],
  thresholds: QualityThresholds = DEFAULT_QUALITY_THRESHOLDS,
): QualityReport {
  const acc = new QualityAccumulator(profile);
  for (const row of rows) acc.add(row);
  return acc.report(thresholds);
}

/** The report of a window's counts under thresholds. */
export function qualityReport(
  profile: BaselineProfile,
  counts: QualityCounts,
  thresholds: QualityThresholds = DEFAULT_QUALITY_THRESHOLDS,
): QualityReport {
  const names = profile.features.map((f) => f.name);
  // Feature rates are over the rows features could be read from.
  const n = counts.rows - counts.malformedRows;
  const share = (k: number) => (n > 0 ? k / n : 0);
  const violations: QualityViolation[] = [];
  if (counts.malformedRows > 0) {
    const rate = counts.rows > 0 ? counts.malformedRows / counts.rows : 0;
    violations.push({
      check: 'malformed_row',
      feature: '*',
      observed: rate,
      threshold: 0,
      message: `${counts.malformedRows} rows (${fmt(rate)}) are neither an object nor an array of ${names.length} values`,
    });
  }
  const features: FeatureQuality[] = profile.features.map((f) => {
    const c = counts.features[f.name] ?? {
      missing: 0,
      mismatch: 0,
      outOfRange: 0,
      unseen: {},
      unseenUnnamed: 0,
    };
    // The summary's count is of non-null values.
    const total = f.summary.count + f.summary.nulls;
    const baselineMissingRate = total > 0 ? f.summary.nulls / total : 0;
    const missingRate = share(c.missing);
    const typeMismatchRate = share(c.mismatch);
    if (missingRate - baselineMissingRate > thresholds.maxMissingIncrease) {
      violations.push({
        check: 'missing',
        feature: f.name,
        observed: missingRate,
        threshold: baselineMissingRate + thresholds.maxMissingIncrease,
        message: `${f.name} is missing in ${fmt(missingRate)} of rows (baseline ${fmt(baselineMissingRate)})`,
      });
    }
    if (typeMismatchRate > thresholds.maxTypeMismatchRate) {
      violations.push({
        check: 'type_mismatch',
        feature: f.name,
        observed: typeMismatchRate,
        threshold: thresholds.maxTypeMismatchRate,
        message: `${f.name} has a value of the wrong type in ${fmt(typeMismatchRate)} of rows (expected ${f.kind === 'numerical' ? 'a number' : 'a category'})`,
      });
    }
    if (f.kind === 'numerical') {
      const outOfRangeRate = share(c.outOfRange);
      if (outOfRangeRate > thresholds.maxOutOfRangeRate) {
        violations.push({
          check: 'out_of_range',
          feature: f.name,
          observed: outOfRangeRate,
          threshold: thresholds.maxOutOfRangeRate,
          message: `${f.name} is outside the baseline's range [${f.summary.min}, ${f.summary.max}] in ${fmt(outOfRangeRate)} of rows`,
        });
      }
      return {
        name: f.name,
        kind: f.kind,
        rows: n,
        missingRate,
        baselineMissingRate,
        typeMismatchRate,
        outOfRangeRate,
        range: { min: f.summary.min, max: f.summary.max },
      };
    }
    const named = Object.entries(c.unseen);
    const unseenCount = named.reduce((s, [, k]) => s + k, c.unseenUnnamed);
    const unseenCategoryRate = share(unseenCount);
    const unseenCategories = named
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 10)
      .map(([k]) => k);
    if (unseenCategoryRate > thresholds.maxUnseenCategoryRate) {
      violations.push({
        check: 'unseen_category',
        feature: f.name,
        observed: unseenCategoryRate,
        threshold: thresholds.maxUnseenCategoryRate,
        message: `${f.name} has categories the baseline never saw (${unseenCategories.join(', ')}${c.unseenUnnamed > 0 ? ', …' : ''}) in ${fmt(unseenCategoryRate)} of rows`,
      });
    }
    return {
      name: f.name,
      kind: f.kind,
      rows: n,
      missingRate,
      baselineMissingRate,
      typeMismatchRate,
      unseenCategoryRate,
      unseenCategories,
    };
  });
  const present = new Set(counts.present);
  const missingColumns = counts.objectRows > 0 ? names.filter((x) => !present.has(x)) : [];
  const extraColumns = Object.keys(counts.extra).sort();
  if (thresholds.failOnColumns) {
    for (const col of missingColumns) {
      violations.push({
        check: 'missing_column',
        feature: col,
        observed: 1,
        threshold: 0,
        message: `column ${col} is absent from every row`,
      });
    }
    for (const col of extraColumns) {
      const rate = counts.objectRows > 0 ? counts.extra[col]! / counts.objectRows : 0;
      violations.push({
        check: 'extra_column',
        feature: col,
        observed: rate,
        threshold: 0,
        message: `column ${col} is not a feature of the baseline (in ${fmt(rate)} of object rows)`,
      });
    }
  }
  return {
    rows: counts.rows,
    malformedRows: counts.malformedRows,
    features,
    missingColumns,
    extraColumns,
    ...(counts.extraTruncated ? { extraColumnsTruncated: true } : {}),
    violations,
    thresholds,
  };
}

const FeatureCountsSchema = z.strictObject({
  missing: z.number().int().min(0),
  mismatch: z.number().int().min(0),
  outOfRange: z.number().int().min(0),
  unseen: z.record(z.string(), z.number().int().min(1)),
  unseenUnnamed: z.number().int().min(0),
});

const QualityCountsSchema = z.strictObject({
  version: z.literal(QUALITY_COUNTS_VERSION),
  layoutId: z.string().min(1),
  rows: z.number().int().min(0),
  objectRows: z.number().int().min(0),
  malformedRows: z.number().int().min(0),
  present: z.array(z.string()),
  extra: z.record(z.string(), z.number().int().min(1)),
  extraTruncated: z.boolean(),
  features: z.record(z.string(), FeatureCountsSchema),
});

/** Validates quality counts read back from storage (a string or parsed JSON). */
export function parseQualityCounts(json: unknown): QualityCounts {
  return parseStoredJson(json, QualityCountsSchema, 'quality counts');
}

export interface VolumeThresholds {
  /** |robust z| at or beyond which a count is anomalous. */
  readonly z: number;
  /** Poisson tail probability at the median below which a count is anomalous. */
  readonly p: number;
  /** Earlier same-hour counts needed before anything is judged. */
  readonly minHistory: number;
}

export const DEFAULT_VOLUME_THRESHOLDS: VolumeThresholds = { z: 3.5, p: 0.001, minHistory: 7 };

export interface VolumeCheck {
  readonly count: number;
  readonly median: number | null;
  readonly mad: number | null;
  readonly robustZ: number | null;
  /** P(X ≤ count) for a drop, P(X ≥ count) for a spike, X ~ Poisson(median). */
  readonly tailP: number | null;
  readonly anomaly: 'drop' | 'spike' | null;
  readonly reason: string;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** P(X ≤ k) for X ~ Poisson(λ): Q(k + 1, λ), the regularized upper incomplete gamma. */
export function poissonCdf(k: number, lambda: number): number {
  if (k < 0) return 0;
  if (lambda <= 0) return 1;
  return gammaQ(Math.floor(k) + 1, lambda);
}

/** One hour's prediction count against the same hour on earlier days. */
export function volumeAnomaly(
  count: number,
  history: readonly number[],
  thresholds: VolumeThresholds = DEFAULT_VOLUME_THRESHOLDS,
): VolumeCheck {
  if (history.length < thresholds.minHistory) {
    return {
      count,
      median: null,
      mad: null,
      robustZ: null,
      tailP: null,
      anomaly: null,
      reason: `${history.length} earlier counts of this hour; ${thresholds.minHistory} are needed before volume is judged`,
    };
  }
  const med = median(history);
  const mad = median(history.map((x) => Math.abs(x - med)));
  const scale = 1.4826 * mad;
  // A flat history has MAD 0: any change is infinitely many MADs away, so the Poisson tail decides.
  const robustZ = scale > 0 ? (count - med) / scale : count === med ? 0 : count > med ? Infinity : -Infinity;
  const lambda = Math.max(med, 1e-9);
  const below = poissonCdf(count, lambda);
  const above = 1 - poissonCdf(count - 1, lambda);
  let anomaly: VolumeCheck['anomaly'] = null;
  let tailP = Math.min(below, above);
  if (robustZ <= -thresholds.z && below < thresholds.p) {
    anomaly = 'drop';
    tailP = below;
  } else if (robustZ >= thresholds.z && above < thresholds.p) {
    anomaly = 'spike';
    tailP = above;
  }
  const reason =
    anomaly === 'drop'
      ? count === 0
        ? `no predictions this hour, where the same hour usually has ${med}`
        : `${count} predictions this hour, far below the usual ${med} (robust z ${robustZ.toFixed(1)}, Poisson p ${tailP.toExponential(1)})`
      : anomaly === 'spike'
        ? `${count} predictions this hour, far above the usual ${med} (robust z ${robustZ.toFixed(1)}, Poisson p ${tailP.toExponential(1)})`
        : `${count} predictions this hour, within the usual range (median ${med})`;
  return {
    count,
    median: med,
    mad,
    robustZ: Number.isFinite(robustZ) ? robustZ : null,
    tailP,
    anomaly,
    reason,
  };
}
