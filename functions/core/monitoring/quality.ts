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
 * `failOnColumns` is on.
 *
 * Volume: the count of one hour against the counts of the same hour of day on earlier days. The
 * robust z-score (x − median) / (1.4826 · MAD) and a Poisson tail at the median both have to agree
 * for an anomaly, so neither a flat history (MAD = 0) nor a tiny count raises one alone.
 */
import { gammaQ } from '../stats/special.js';
import type { BaselineProfile, FeatureProfile } from './baseline.js';

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
  | 'extra_column';

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
  readonly features: FeatureQuality[];
  readonly missingColumns: string[];
  readonly extraColumns: string[];
  readonly violations: QualityViolation[];
  readonly thresholds: QualityThresholds;
}

type Row = Record<string, unknown> | readonly unknown[];

const isMissing = (v: unknown): boolean =>
  v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));

function fmt(x: number): string {
  return `${Number((x * 100).toPrecision(3))} %`;
}

/** Checks a window of input rows (objects keyed by feature, or arrays in schema order). */
export function dataQuality(
  profile: BaselineProfile,
  rows: readonly Row[],
  thresholds: QualityThresholds = DEFAULT_QUALITY_THRESHOLDS,
): QualityReport {
  const names = profile.features.map((f) => f.name);
  const known = new Set(names);
  const present = new Set<string>();
  const extra = new Set<string>();
  let objectRows = 0;
  const counters = profile.features.map(() => ({
    missing: 0,
    mismatch: 0,
    outOfRange: 0,
    unseen: new Map<string, number>(),
  }));
  for (const row of rows) {
    const positional = Array.isArray(row);
    if (!positional) {
      objectRows++;
      for (const key of Object.keys(row)) {
        if (known.has(key)) present.add(key);
        else extra.add(key);
      }
    }
    profile.features.forEach((f, i) => {
      const v = positional ? (row as readonly unknown[])[i] : (row as Record<string, unknown>)[f.name];
      const c = counters[i]!;
      if (isMissing(v)) {
        c.missing++;
        return;
      }
      if (f.kind === 'numerical') {
        const x = typeof v === 'boolean' ? (v ? 1 : 0) : v;
        if (typeof x !== 'number' || !Number.isFinite(x)) {
          c.mismatch++;
          return;
        }
        const { min, max } = f.summary;
        if ((min !== null && x < min) || (max !== null && x > max)) c.outOfRange++;
        return;
      }
      if (typeof v === 'object') {
        c.mismatch++;
        return;
      }
      let name = String(v);
      if (typeof v === 'number' && f.categories && Number.isInteger(v) && v >= 0 && v < f.categories.length) {
        name = f.categories[v]!;
      }
      if (!(name in f.sketch.counts)) c.unseen.set(name, (c.unseen.get(name) ?? 0) + 1);
    });
  }
  const n = rows.length;
  const share = (k: number) => (n > 0 ? k / n : 0);
  const violations: QualityViolation[] = [];
  const features: FeatureQuality[] = profile.features.map((f, i) => {
    const c = counters[i]!;
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
    const unseenCount = [...c.unseen.values()].reduce((s, k) => s + k, 0);
    const unseenCategoryRate = share(unseenCount);
    const unseenCategories = [...c.unseen.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 10)
      .map(([k]) => k);
    if (unseenCategoryRate > thresholds.maxUnseenCategoryRate) {
      violations.push({
        check: 'unseen_category',
        feature: f.name,
        observed: unseenCategoryRate,
        threshold: thresholds.maxUnseenCategoryRate,
        message: `${f.name} has categories the baseline never saw (${unseenCategories.join(', ')}) in ${fmt(unseenCategoryRate)} of rows`,
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
  const missingColumns = objectRows > 0 ? names.filter((x) => !present.has(x)) : [];
  const extraColumns = [...extra].sort();
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
      violations.push({
        check: 'extra_column',
        feature: col,
        observed: 1,
        threshold: 0,
        message: `column ${col} is not a feature of the baseline`,
      });
    }
  }
  return { rows: n, features, missingColumns, extraColumns, violations, thresholds };
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
