/**
 * A model's monitoring policy: when drift is checked, over which window, with which test per
 * feature, and what counts as dataset drift. Defaults follow Evidently's (see
 * functions/core/stats/drift-report.ts); every field can be set per model.
 */
import * as z from 'zod';
import { DEFAULT_QUALITY_THRESHOLDS, DEFAULT_VOLUME_THRESHOLDS } from './quality.js';

export const DRIFT_TESTS = ['ks', 'chisquare', 'z', 'wasserstein', 'jensenshannon', 'psi'] as const;

export const FeaturePolicy = z.strictObject({
  /** Replace the default test for this feature. */
  test: z.enum(DRIFT_TESTS).optional(),
  /** p-value below (p-value tests) or distance at/above (distance tests) which it drifted. */
  threshold: z.number().positive().max(100).optional(),
  /** Leave the feature out of drift checks. */
  ignore: z.boolean().optional(),
});

/** Data-quality thresholds (docs/quality.md): rates are shares of the window's rows. */
export const QualityPolicy = z.strictObject({
  /** Missing rate above the baseline's by more than this (absolute) is a violation. */
  maxMissingIncrease: z.number().min(0).max(1).default(DEFAULT_QUALITY_THRESHOLDS.maxMissingIncrease),
  maxTypeMismatchRate: z.number().min(0).max(1).default(DEFAULT_QUALITY_THRESHOLDS.maxTypeMismatchRate),
  maxOutOfRangeRate: z.number().min(0).max(1).default(DEFAULT_QUALITY_THRESHOLDS.maxOutOfRangeRate),
  maxUnseenCategoryRate: z.number().min(0).max(1).default(DEFAULT_QUALITY_THRESHOLDS.maxUnseenCategoryRate),
  /** Missing and extra columns are violations. */
  failOnColumns: z.boolean().default(DEFAULT_QUALITY_THRESHOLDS.failOnColumns),
});

/** Hourly prediction volume against the same hour on earlier days (docs/quality.md). */
export const VolumePolicy = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** |robust z| at or beyond which a count can be anomalous. */
    z: z.number().positive().max(100).default(DEFAULT_VOLUME_THRESHOLDS.z),
    /** Poisson tail probability below which a count can be anomalous. */
    p: z.number().gt(0).max(0.5).default(DEFAULT_VOLUME_THRESHOLDS.p),
    /** Earlier days with traffic at that hour needed before volume is judged. */
    minHistory: z.number().int().min(1).max(90).default(DEFAULT_VOLUME_THRESHOLDS.minHistory),
    /** Days looked back for the same hour. */
    historyDays: z.number().int().min(1).max(90).default(28),
  })
  .refine((v) => v.minHistory <= v.historyDays, {
    message: 'minHistory cannot exceed historyDays',
    path: ['minHistory'],
  });

const WATCHABLE = [
  'accuracy',
  'macroF1',
  'weightedF1',
  'macroPrecision',
  'macroRecall',
  'rocAuc',
  'logLoss',
  'mae',
  'rmse',
  'r2',
  'mape',
] as const;

/**
 * Degradation from ground truth (docs/performance.md): a watched metric over the last
 * windowMinutes of prediction time, once minLabels labels exist, against the version's
 * registered value (metrics[registeredAs ?? name]) minus (or, for losses and errors, plus) its
 * tolerance. Nothing is watched until a metric is named.
 */
export const PerformancePolicy = z.strictObject({
  metrics: z
    .partialRecord(
      z.enum(WATCHABLE),
      z.strictObject({
        tolerance: z.number().min(0).max(1e12),
        /** The key of the version's registered metrics to compare with (default: the same name). */
        registeredAs: z.string().min(1).max(128).optional(),
      }),
    )
    .default({}),
  minLabels: z.number().int().min(1).max(1_000_000).default(100),
  windowMinutes: z
    .number()
    .int()
    .min(5)
    .max(31 * 24 * 60)
    .default(24 * 60),
});

export const MonitoringPolicy = z.strictObject({
  /** Scheduled checks on (manual checks always work). */
  enabled: z.boolean().default(true),
  /** Minutes between scheduled checks (the scheduler runs every 15 minutes). */
  scheduleMinutes: z
    .number()
    .int()
    .min(15)
    .max(7 * 24 * 60)
    .default(60),
  /** Length of the window a scheduled check reads, ending at the check time. */
  windowMinutes: z
    .number()
    .int()
    .min(5)
    .max(31 * 24 * 60)
    .default(60),
  /** A window with fewer rows is reported as skipped rather than tested. */
  minRows: z.number().int().min(1).max(1_000_000).default(30),
  /** Windows up to this many rows are tested exactly on raw rows; larger ones through sketches. */
  exactRowLimit: z.number().int().min(100).max(1_000_000).default(50_000),
  /** Dataset drift when the share of drifted features reaches this. */
  datasetDriftShare: z.number().gt(0).max(1).default(0.5),
  correction: z.enum(['none', 'bonferroni', 'benjamini-hochberg']).default('none'),
  /**
   * A check raises an alert when its severity reaches this: 'medium' = any feature drifted
   * (investigate), 'high' = dataset drift or a critical feature (retrain), 'critical' = roll back.
   */
  alertMinSeverity: z.enum(['medium', 'high', 'critical']).default('medium'),
  features: z
    .record(z.string().min(1).max(128), FeaturePolicy)
    .refine((f) => Object.keys(f).length <= 1000, 'at most 1000 feature overrides')
    .default({}),
  // prefault: an absent object is parsed, so its own defaults are filled in.
  quality: QualityPolicy.prefault({}),
  volume: VolumePolicy.prefault({}),
  performance: PerformancePolicy.prefault({}),
});

export type FeaturePolicy = z.infer<typeof FeaturePolicy>;
export type MonitoringPolicy = z.infer<typeof MonitoringPolicy>;
export type QualityPolicy = z.infer<typeof QualityPolicy>;
export type VolumePolicy = z.infer<typeof VolumePolicy>;
export type PerformancePolicy = z.infer<typeof PerformancePolicy>;

export const DEFAULT_POLICY: MonitoringPolicy = MonitoringPolicy.parse({});
