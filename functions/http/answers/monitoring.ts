/**
 * Answers of the monitoring routes: baselines, drift, quality, performance, fairness, policy,
 * online learning, alerts, webhooks.
 */
import * as z from 'zod';
import { OutputSchema } from '../../core/kernel/model-io.js';
import {
  DRIFT_TESTS,
  MonitoringPolicy,
  OnlineLearningPolicy,
  QualityPolicy,
} from '../../core/monitoring/policy.js';
import { BaselineProfileSchema } from '../../core/monitoring/profile-schema.js';
import { EVENT_FILTERS } from '../../core/webhooks/types.js';
import { type AnswerTable, Instant, page, sentAs } from './common.js';

/**
 * A request schema as the value it parses to reads: every defaulted field present. The request
 * schema itself would let an answer leave them out (safeParse fills them in).
 */
function asParsed<T extends z.ZodType>(schema: T): z.ZodType<z.output<T>, z.output<T>> {
  return withoutDefaults(schema) as unknown as z.ZodType<z.output<T>, z.output<T>>;
}

function withoutDefaults(s: z.ZodType): z.ZodType {
  if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault)
    return withoutDefaults(s.unwrap() as z.ZodType);
  if (s instanceof z.ZodOptional) return withoutDefaults(s.unwrap() as z.ZodType).optional();
  if (s instanceof z.ZodNullable) return withoutDefaults(s.unwrap() as z.ZodType).nullable();
  if (s instanceof z.ZodObject) {
    const shape = Object.fromEntries(
      Object.entries(s.shape as Record<string, z.ZodType>).map(([k, v]) => [k, withoutDefaults(v)]),
    );
    return s.clone({ ...s._zod.def, shape });
  }
  if (s instanceof z.ZodRecord) {
    return s.clone({ ...s._zod.def, valueType: withoutDefaults(s.valueType as z.ZodType) });
  }
  if (s instanceof z.ZodArray)
    return s.clone({ ...s._zod.def, element: withoutDefaults(s.element as z.ZodType) });
  return s;
}

/** A span of time, [from, to). */
export const TimeWindow = z.strictObject({ from: Instant, to: Instant });

export const Severity = z.enum(['low', 'medium', 'high', 'critical']);
export const FeatureKind = z.enum(['numerical', 'categorical']);

// ---- baselines -----------------------------------------------------------------------------------

const [NumericalProfile, CategoricalProfile] = BaselineProfileSchema.shape.features.element.options;

export const BaselineAnswer = z
  .strictObject({
    id: z.string(),
    model: z.string(),
    version: z.string().describe('The version whose reference data the profile describes'),
    createdAt: Instant,
    createdBy: z.string().describe('Principal id of the creator'),
    rows: z.number().int().describe('Reference rows profiled'),
    features: z.array(z.strictObject({ name: z.string(), kind: FeatureKind })).readonly(),
    profileKey: z.string().describe('Object key of the stored profile in the artifacts bucket'),
    source: z.string().describe("'request' (rows in the request), else the dataset's s3:// URI"),
  })
  .describe("A model version's reference profile");

export const BaselineProfileAnswer = BaselineAnswer.extend({
  features: z.array(
    z.strictObject({
      name: z.string(),
      kind: FeatureKind,
      summary: z.union([NumericalProfile.shape.summary, CategoricalProfile.shape.summary]),
    }),
  ),
}).describe('A reference profile with per-feature summaries (the reference sample stays inside)');

// ---- drift ---------------------------------------------------------------------------------------

export const FeatureHistogram = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('numerical'),
      edges: z.array(z.number()).describe('Inner edges: the first bin is below edges[0], the last above'),
      baseline: z.array(z.number()),
      current: z.array(z.number()),
    }),
    z.strictObject({
      kind: z.literal('categorical'),
      categories: z.array(z.string()),
      baseline: z.array(z.number()),
      current: z.array(z.number()),
    }),
  ])
  .describe("Baseline and window shares of the feature's non-null values, to draw");

export const FeatureDriftAnswer = z.strictObject({
  name: z.string(),
  kind: FeatureKind,
  test: z.enum(DRIFT_TESTS),
  statistic: z.number().describe('KS D, chi-square statistic, z, or the distance itself'),
  pValue: z.number().optional().describe('p-value tests only'),
  adjustedPValue: z.number().optional().describe('With a correction: the p-value compared to the threshold'),
  score: z.number().optional().describe('Distance tests only: the distance compared to the threshold'),
  threshold: z.number(),
  drifted: z.boolean(),
  severity: Severity,
  nReference: z.number().int(),
  nCurrent: z.number().int(),
  note: z.string().optional().describe("Why the test differs from the policy's or Evidently's default"),
  histogram: FeatureHistogram.optional(),
});

export const DriftCheckResultAnswer = z
  .strictObject({
    status: z.enum(['ok', 'skipped']),
    reason: z.string().optional().describe('Why the window was skipped'),
    mode: z.enum(['exact', 'sketch']),
    rows: z.number().int(),
    window: TimeWindow,
    checkedAt: Instant,
    baselineVersion: z.string(),
    report: z
      .strictObject({
        features: z.array(FeatureDriftAnswer),
        driftedCount: z.number().int(),
        driftedShare: z.number(),
        driftShare: z.number().describe("The policy's dataset drift share"),
        datasetDrift: z.boolean(),
        correction: MonitoringPolicy.shape.correction.unwrap(),
        severity: Severity,
        recommendation: z.string(),
      })
      .optional()
      .describe('Absent when the window was skipped'),
    untested: z
      .array(z.strictObject({ name: z.string(), reason: z.string() }))
      .describe('Features left out of the tests for lack of data'),
  })
  .describe('The full result of a drift check');

/** Stored records only (listings; an alert once stored). */
const clampedNumbers = z
  .array(z.string())
  .readonly()
  .optional()
  .describe('Paths of numbers stored as the nearest the table can hold (a p-value below 1e-130 as 0)');

/** What a drift report and a quality report both record: which check, of which window, against what. */
const checkedWindow = {
  id: z.string(),
  model: z.string(),
  createdAt: Instant,
  trigger: z.enum(['schedule', 'manual']),
  window: TimeWindow,
  baselineId: z.string(),
  baselineVersion: z.string(),
};

export const DriftReportAnswer = z
  .strictObject({
    ...checkedWindow,
    status: z.enum(['ok', 'skipped']),
    mode: z.enum(['exact', 'sketch']),
    rows: z.number().int(),
    datasetDrift: z.boolean(),
    severity: Severity,
    alertId: z.string().optional().describe('The alert the check raised'),
    qualityReportId: z.string().optional().describe('The data-quality report of the same window'),
    result: sentAs(z.record(z.string(), z.unknown()), DriftCheckResultAnswer),
    clampedNumbers,
  })
  .describe('A drift check of a window of captured predictions against the baseline');

// ---- data quality --------------------------------------------------------------------------------

export const QUALITY_CHECKS = [
  'missing',
  'type_mismatch',
  'out_of_range',
  'unseen_category',
  'missing_column',
  'extra_column',
  'malformed_row',
] as const;

export const FeatureQualityAnswer = z.strictObject({
  name: z.string(),
  kind: FeatureKind,
  rows: z.number().int().describe('Rows the feature could be read from'),
  missingRate: z.number(),
  baselineMissingRate: z.number(),
  typeMismatchRate: z.number(),
  outOfRangeRate: z.number().optional().describe('Numerical features only'),
  range: z
    .strictObject({ min: z.number().nullable(), max: z.number().nullable() })
    .optional()
    .describe("Numerical features only: the baseline's range"),
  unseenCategoryRate: z.number().optional().describe('Categorical features only'),
  unseenCategories: z
    .array(z.string())
    .optional()
    .describe('Categorical features only: up to 10 unseen categories, most frequent first'),
});

export const WindowQualityAnswer = z.strictObject({
  rows: z.number().int(),
  malformedRows: z.number().int().describe('Rows no feature could be read from'),
  features: z.array(FeatureQualityAnswer),
  missingColumns: z.array(z.string()),
  extraColumns: z.array(z.string()),
  extraColumnsTruncated: z.literal(true).optional().describe('More extra columns than are named'),
  violations: z.array(
    z.strictObject({
      check: z.enum(QUALITY_CHECKS),
      feature: z.string().describe("The feature or column; '*' for malformed rows"),
      observed: z.number(),
      threshold: z.number(),
      message: z.string(),
    }),
  ),
  thresholds: asParsed(QualityPolicy),
});

export const VolumeCheckAnswer = z.strictObject({
  count: z.number().int(),
  median: z.number().nullable(),
  mad: z.number().nullable(),
  robustZ: z.number().nullable().describe('Null when too little history, or infinite'),
  tailP: z.number().nullable().describe('Poisson tail probability of the count at the median'),
  anomaly: z.enum(['drop', 'spike']).nullable(),
  reason: z.string(),
});

export const VolumeAnswer = z
  .strictObject({
    status: z.enum(['ok', 'disabled', 'unavailable']),
    reason: z.string().optional(),
    hourStart: Instant.optional().describe('The hour judged: the last complete one before the check'),
    history: z
      .array(z.number().int())
      .optional()
      .describe('Predictions in the same hour on earlier days, oldest first'),
    check: VolumeCheckAnswer.optional(),
    alertId: z.string().optional(),
  })
  .describe('Prediction volume of one hour against the same hour on earlier days (scheduled checks only)');

export const QualityReportAnswer = z
  .strictObject({
    ...checkedWindow,
    status: z.enum(['ok', 'skipped']).describe("'skipped': fewer rows than the policy's minRows, not judged"),
    reason: z.string().optional(),
    rows: z.number().int(),
    violationCount: z.number().int(),
    severity: z.enum(['none', 'medium', 'high']),
    alertId: z.string().optional(),
    driftReportId: z.string().describe('The drift report of the same check'),
    report: WindowQualityAnswer,
    volume: VolumeAnswer,
    clampedNumbers,
  })
  .describe("A window's data-quality report, with the hour's prediction volume");

// ---- performance ---------------------------------------------------------------------------------

const Averages = z.strictObject({ precision: z.number(), recall: z.number(), f1: z.number() });

export const ClassificationMetricsAnswer = z.strictObject({
  n: z.number().int(),
  accuracy: z.number(),
  perClass: z.array(
    z.strictObject({
      label: z.string(),
      precision: z.number(),
      recall: z.number(),
      f1: z.number(),
      support: z.number().int().describe('Rows whose actual label is this one'),
    }),
  ),
  macro: Averages,
  weighted: Averages,
  rocAuc: z.number().nullable(),
  logLoss: z.number().nullable(),
  confusion: z
    .strictObject({ labels: z.array(z.string()), matrix: z.array(z.array(z.number().int())) })
    .describe('matrix[i][j]: rows with actual labels[i] predicted as labels[j]'),
});

export const RegressionMetricsAnswer = z.strictObject({
  n: z.number().int(),
  mae: z.number(),
  rmse: z.number(),
  r2: z.number(),
  mape: z.number().describe('A fraction, not a percentage'),
});

export const PerformanceReportAnswer = z
  .strictObject({
    model: z.string(),
    version: z.string(),
    kind: OutputSchema.shape.kind,
    window: TimeWindow,
    rows: z.number().int().describe('Labelled rows the metrics are computed on'),
    truncated: z.boolean().describe('More labelled rows than maxRows: the metrics cover the oldest'),
    maxRows: z.number().int(),
    unreadableLabels: z.number().int().describe("Labels that could not be read as the model's kind"),
    labelCoverage: z
      .strictObject({
        labelled: z.number().int(),
        predictions: z.number().int(),
        share: z.number().nullable(),
        hours: TimeWindow.describe("The whole hours the counts cover (the window's, widened)"),
      })
      .nullable(),
    classification: ClassificationMetricsAnswer.nullable(),
    regression: RegressionMetricsAnswer.nullable(),
    registered: z
      .record(z.string(), z.number())
      .describe('The metrics the version was registered with, which degradation compares against'),
  })
  .describe("Metrics of a version's served predictions from ground truth over a window");

// ---- fairness (the version-level report of the registry shares FairnessReportAnswer) ----------

/** A summary of the groups' rates with its bootstrap interval. */
export const FairnessEstimate = z.strictObject({
  value: z.number().nullable().describe('Null when fewer than two groups have the rate'),
  ci: z
    .tuple([z.number(), z.number()])
    .readonly()
    .nullable()
    .describe('Percentile bootstrap 95% interval; null when the value is'),
});

export const FairnessGroupRates = z.strictObject({
  group: z.string(),
  n: z.number().int(),
  positives: z.number().int().describe('Labelled rows whose truth is the positive class'),
  negatives: z.number().int().describe('Labelled rows whose truth is another class'),
  selectionRate: z.number().nullable(),
  tpr: z.number().nullable().describe('True positive rate; null without labelled positives'),
  fpr: z.number().nullable().describe('False positive rate; null without labelled negatives'),
  unreliable: z
    .array(z.enum(['selectionRate', 'tpr', 'fpr']))
    .readonly()
    .describe('Rates of this group resting on fewer than 30 rows'),
});

export const FairnessReportAnswer = z
  .strictObject({
    groups: z.array(FairnessGroupRates),
    demographicParityDifference: FairnessEstimate,
    demographicParityRatio: FairnessEstimate,
    disparateImpact: z
      .record(z.string(), z.number().nullable())
      .describe("Each group's selection rate over the most selected group's, by group"),
    fourFifthsRule: z.strictObject({
      passed: z.boolean().nullable(),
      failing: z.array(z.string()).describe('Groups whose disparate impact is below 0.8'),
    }),
    equalOpportunityDifference: FairnessEstimate,
    equalizedOddsDifference: FairnessEstimate,
    bootstrap: z.strictObject({ resamples: z.number().int(), seed: z.number() }),
    unreliableGroups: z.array(z.string()).describe('Groups with a rate resting on fewer than 30 rows'),
  })
  .describe('Group fairness of decisions (Fairlearn definitions)');

export const TrafficFairnessAnswer = z
  .strictObject({
    model: z.string(),
    version: z.string(),
    attribute: z.string().describe('The context attribute the groups are values of'),
    positive: z.string().describe('The class a decision is positive for'),
    window: TimeWindow,
    rows: z.number().int().describe('Captured predictions with the attribute in their context'),
    labelled: z.number().int().describe('Of the rows, those with ground truth'),
    withoutAttribute: z.number().int().describe('Captured predictions without the attribute (left out)'),
    truncated: z.boolean().describe('More rows than maxRows: the report covers the first maxRows read'),
    maxRows: z.number().int(),
    report: FairnessReportAnswer,
  })
  .describe("Group fairness of a version's served decisions over a window");

export const DatasetFairnessAnswer = z
  .strictObject({
    model: z.string(),
    version: z.string(),
    attribute: z.string(),
    positive: z.string().describe('The class a decision is positive for'),
    rows: z.number().int(),
    report: FairnessReportAnswer,
    ranAt: Instant,
  })
  .describe("Group fairness of a version's decisions on a dataset, stored on the version");

// ---- policy --------------------------------------------------------------------------------------

export const MonitoringPolicyAnswer = asParsed(MonitoringPolicy).describe(
  "A model's monitoring policy, defaults filled in",
);

// ---- online learning -----------------------------------------------------------------------------

export const OnlineLearnerAnswer = z.strictObject({
  model: z.string(),
  parentVersion: z.string().describe('The production version the learner started from'),
  strategy: OnlineLearningPolicy.shape.strategy.unwrap(),
  samplesSeen: z.number().int(),
  trainedSamples: z.number().int(),
  heldOutRows: z.number().int(),
  pendingSamples: z.number().int(),
  skipped: z.number().int(),
  skippedReasons: z.record(z.string(), z.number().int()).describe('Skipped samples by reason'),
  updates: z.number().int(),
  triggers: z.number().int().optional().describe('Adaptive only: adaptations started'),
  adaptingUntil: z
    .number()
    .int()
    .optional()
    .describe('Adaptive only: trained-sample count up to which every sample is learned'),
  lastUpdateAt: Instant.nullable(),
  rollingAccuracy: z.strictObject({ learner: z.number().nullable(), production: z.number().nullable() }),
  rollingWindow: z.number().int(),
  detector: z.strictObject({
    kind: z.literal('adwin'),
    delta: z.number(),
    window: z.number().int(),
    errorRate: z.number(),
    detections: z.number().int(),
  }),
  nextSnapshotAt: z.number().int().describe('Samples seen at which the next snapshot is checked'),
  lastSnapshot: z
    .strictObject({
      at: Instant,
      samplesSeen: z.number().int(),
      holdoutRows: z.number().int(),
      learner: z.number().nullable().describe('Null when too few held-out rows'),
      production: z.number().nullable().describe('Null when too few held-out rows'),
      metric: z.enum(['accuracy', 'rmse']),
      outcome: z.enum(['candidate', 'not-better', 'too-few-rows']),
      version: z.string().optional().describe('The registered candidate'),
    })
    .nullable(),
  snapshotPending: z.boolean(),
  createdAt: Instant,
  updatedAt: Instant,
});

export const OnlineAnswer = z
  .strictObject({
    model: z.string(),
    enabled: z.boolean(),
    learner: OnlineLearnerAnswer.nullable().describe('Null until a labelled sample starts one'),
  })
  .describe("The model's online learner");

// ---- alerts --------------------------------------------------------------------------------------

export const ALERT_KINDS = [
  'drift',
  'quality',
  'volume',
  'integrity',
  'fallback',
  'experiment',
  'performance',
  'retraining',
] as const;

export const AlertAnswer = z
  .strictObject({
    id: z.string(),
    kind: z.enum(ALERT_KINDS).optional().describe('Absent on drift alerts stored before kinds existed'),
    model: z.string(),
    createdAt: Instant,
    status: z.enum(['open', 'acknowledged']),
    severity: Severity,
    title: z.string(),
    recommendation: z.string(),
    reportId: z.string().describe("The drift or quality report behind the alert, or the event's id"),
    window: TimeWindow.describe('The checked window, the hour judged, or the instant of a failure'),
    details: z.record(z.string(), z.unknown()).describe('Facts of the alert, by kind'),
    acknowledgedBy: z.string().optional(),
    acknowledgedAt: Instant.optional(),
    ackComment: z
      .string()
      .min(1)
      .optional()
      .describe('The comment given with the acknowledgement, if one was'),
    clampedNumbers,
  })
  .describe('An alert');

// ---- webhooks ------------------------------------------------------------------------------------

export const WebhookAnswer = z
  .strictObject({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(EVENT_FILTERS)).readonly(),
    description: z.string(),
    createdAt: Instant,
    createdBy: z.string().describe('Principal id of the creator'),
    status: z.enum(['active', 'disabled']),
  })
  .describe('A webhook (its signing secret is shown once, when created)');

export const CreatedWebhookAnswer = WebhookAnswer.extend({
  secret: z.string().describe('The HMAC signing key (UTF-8 of this string): shown only now'),
  notice: z.string(),
}).describe('The webhook created, with its signing secret');

export const MONITORING_ANSWERS = {
  putBaseline: BaselineAnswer,
  getBaseline: BaselineProfileAnswer,
  checkDrift: DriftReportAnswer,
  listDriftReports: page(DriftReportAnswer).describe('Drift reports, the latest window first'),
  listQualityReports: page(QualityReportAnswer).describe('Data-quality reports, the latest window first'),
  getPerformance: PerformanceReportAnswer,
  getFairness: TrafficFairnessAnswer,
  putPolicy: MonitoringPolicyAnswer,
  getPolicy: MonitoringPolicyAnswer,
  getOnline: OnlineAnswer,
  resetOnline: OnlineAnswer,
  listAlerts: page(AlertAnswer).describe('Alerts, newest first'),
  ackAlert: AlertAnswer,
  createWebhook: CreatedWebhookAnswer,
  listWebhooks: page(WebhookAnswer).describe('Webhooks'),
  deleteWebhook: WebhookAnswer.describe('The webhook removed'),
} as const satisfies AnswerTable;
