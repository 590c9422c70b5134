/**
 * A model's monitoring policy: when drift is checked, over which window, with which test per
 * feature, and what counts as dataset drift. Defaults follow Evidently's (see
 * functions/core/stats/drift-report.ts); every field can be set per model.
 */
import * as z from 'zod';
import { CanaryInput } from '../experiments/definition.js';
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

/** SageMaker's TrainingJob instance types look like ml.m5.xlarge, ml.g5.2xlarge. */
const INSTANCE_TYPE = /^ml\.[a-z0-9]+\.[a-z0-9]+$/;

/**
 * Training on SageMaker instead of in the retrain worker (docs/retraining.md "SageMaker
 * training"): the user's algorithm image, its instance and hyperparameters. The limits are
 * SageMaker's own (CreateTrainingJob), so a policy SageMaker would refuse is refused when set.
 */
export const SageMakerTrainingPolicy = z.strictObject({
  /** The algorithm's ECR image URI. */
  image: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^\s]+$/, 'an image URI has no spaces'),
  instanceType: z.string().regex(INSTANCE_TYPE, 'an instance type looks like ml.m5.xlarge'),
  instanceCount: z.number().int().min(1).max(100).default(1),
  volumeSizeGb: z.number().int().min(1).max(16_384).default(30),
  /** StoppingCondition.MaxRuntimeInSeconds: SageMaker stops the job after this long. */
  maxRuntimeSeconds: z
    .number()
    .int()
    .min(60)
    .max(28 * 24 * 3600)
    .default(24 * 3600),
  /** Passed to the algorithm as they are (SageMaker's HyperParameters: strings, at most 100). */
  hyperparameters: z
    .record(z.string().min(1).max(256), z.string().max(2500))
    .refine((h) => Object.keys(h).length <= 100, 'at most 100 hyperparameters')
    .default({}),
  /** The execution role SageMaker assumes; default the deployment's training role. */
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'an IAM role ARN')
    .optional(),
});
export type SageMakerTrainingPolicy = z.infer<typeof SageMakerTrainingPolicy>;

const SEVERITIES = ['medium', 'high', 'critical'] as const;
export const PROMOTION_MODES = ['none', 'approval', 'canary', 'auto'] as const;

/**
 * When retraining starts by itself and what happens to its candidate (docs/retraining.md). Every
 * trigger is off until set; a person can always POST /retrain.
 */
export const RetrainingPolicy = z.strictObject({
  /** Drift at or above minSeverity in this many consecutive checked windows (one noisy window is not enough). */
  onDrift: z
    .strictObject({
      minSeverity: z.enum(SEVERITIES).default('high'),
      consecutiveWindows: z.number().int().min(1).max(100).default(3),
    })
    .optional(),
  /** An open performance degradation alert of the model (docs/performance.md). */
  onDegradation: z.boolean().default(false),
  /** A job at least this often, whatever the monitoring says. */
  schedule: z
    .strictObject({
      everyHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 366),
    })
    .optional(),
  /** At least this many labelled predictions served since the last job was created. */
  minNewLabels: z.number().int().min(1).max(10_000_000).optional(),
  /** No automatic job until this long after the last one ended (a person's request has its own 10 min). */
  cooldownMinutes: z
    .number()
    .int()
    .min(0)
    .max(31 * 24 * 60)
    .default(60),
  /** The training rows: the parent's dataset and/or captured predictions labelled in the last windowDays. */
  dataset: z
    .strictObject({
      windowDays: z.number().int().min(0).max(366).default(30),
      includeBaseline: z.boolean().default(true),
    })
    .prefault({}),
  /** What happens to a candidate that beats production by the margin. */
  promotion: z.enum(PROMOTION_MODES).default('none'),
  /**
   * How much better than production the candidate must be (a request's params.margin wins): held-out
   * accuracy points for a classifier, the fraction by which its RMSE is lower for a regressor.
   */
  margin: z.number().min(0).max(1).default(0.01),
  /** 'auto' promotes without an approval only when this is set (audited). */
  waiveApproval: z.boolean().default(false),
  /**
   * Jobs may be requested in `serving` mode (core/system/modes.ts); false: only in `training`
   * mode, for a model whose retraining load or new versions must wait for an operator's say.
   */
  allowInServing: z.boolean().default(true),
  /** The canary experiment 'canary' starts, as POST /v1/experiments takes it (docs/experiments.md). */
  canary: CanaryInput.optional(),
  /** Where the candidate trains: absent, in the retrain worker (search and CV); `sagemaker`, a SageMaker training job. */
  training: z.strictObject({ sagemaker: SageMakerTrainingPolicy.optional() }).optional(),
});

/**
 * Online learning (docs/online-learning.md): labelled feedback updates an SGD learner started
 * from the production version's weights; snapshots go to staging, never to production. Off
 * until `enabled`; only for linear, logistic and softmax regression versions (checked where the
 * policy is saved, against the production version).
 */
export const OnlineLearningPolicy = z.strictObject({
  enabled: z.boolean().default(false),
  strategy: z.enum(['incremental', 'minibatch', 'periodic', 'adaptive']).default('incremental'),
  /** minibatch: samples per update. */
  batchSize: z.number().int().min(1).max(500).default(32),
  /** periodic: minutes between updates (buffered samples are applied then). */
  periodMinutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(60),
  learningRate: z.number().gt(0).max(10).default(0.05),
  l2: z.number().min(0).max(10).default(0),
  adaptive: z
    .strictObject({
      /** Samples in the rolling accuracy window. */
      window: z.number().int().min(10).max(5000).default(200),
      /** Update when rolling accuracy falls this far below its best since the last update. */
      accuracyDrop: z.number().gt(0).max(1).default(0.05),
      detector: z.literal('adwin').default('adwin'),
      /** ADWIN's confidence δ: smaller means fewer false alarms and later detection. */
      delta: z.number().gt(0).max(0.5).default(0.002),
    })
    .prefault({}),
  snapshot: z
    .strictObject({
      /** Samples learned between snapshot checks. */
      everySamples: z.number().int().min(10).max(1_000_000).default(500),
      /** Reserved held-out rows needed before a snapshot is judged. */
      minHoldoutRows: z.number().int().min(10).max(500).default(50),
      /** Accuracy (classifiers) or -RMSE (regression) above production's by at least this. */
      margin: z.number().min(0).max(1e6).default(0),
    })
    .prefault({}),
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
  retraining: RetrainingPolicy.prefault({}),
  onlineLearning: OnlineLearningPolicy.prefault({}),
});

export type FeaturePolicy = z.infer<typeof FeaturePolicy>;
export type MonitoringPolicy = z.infer<typeof MonitoringPolicy>;
export type QualityPolicy = z.infer<typeof QualityPolicy>;
export type VolumePolicy = z.infer<typeof VolumePolicy>;
export type PerformancePolicy = z.infer<typeof PerformancePolicy>;
export type RetrainingPolicy = z.infer<typeof RetrainingPolicy>;
export type OnlineLearningPolicy = z.infer<typeof OnlineLearningPolicy>;

export const DEFAULT_POLICY: MonitoringPolicy = MonitoringPolicy.parse({});
