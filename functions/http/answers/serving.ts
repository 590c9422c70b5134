/** Answers of inference, experiments and retraining: predict, explain, feedback, stats, experiments, jobs. */
import * as z from 'zod';
import {
  CanaryInput,
  CreateExperimentBody,
  EXPERIMENT_STATES,
  MetricDef,
} from '../../core/experiments/definition.js';
import { DECISIONS } from '../../core/experiments/results.js';
import { SHAP_OUTPUTS } from '../../core/inference/shap-explain.js';
import { PROMOTION_MODES } from '../../core/monitoring/policy.js';
import { JOB_STATES } from '../../core/retraining/jobs.js';
import { RetrainBody } from '../schemas.js';
import { type AnswerTable, Instant, page, sentAs } from './common.js';

const count = z.number().int().min(0);

// ---- inference -------------------------------------------------------------------------------

/** A class label (from the output schema's classes, else the class index) or a regressor's value. */
export const PredictionAnswer = z.union([z.string(), z.number()]);

/** The closed form of a linear or logistic model (core/inference/explain.ts). */
export const LinearExplanationAnswer = z.strictObject({
  space: z.enum(['identity', 'logit']).describe('logit: f is the log-odds of the positive (second) class.'),
  base: z.number().describe('f at the training means, which every attribution is measured from.'),
  value: z.number().describe('f(x) = base + the sum of the attributions.'),
  attributions: z.record(z.string(), z.number()).describe('Feature name → its share of value − base.'),
  method: z.literal('linear'),
  output: z.enum(['logit', 'raw']),
  baseValue: z.number().describe('The same as base (the form every explanation has).'),
  values: z.record(z.string(), z.number()).describe('The same as attributions.'),
  prediction: z.number().describe('The same as value.'),
});

/** Shapley values computed by running the model (core/inference/shap-explain.ts). */
export const ShapExplanationAnswer = z.strictObject({
  method: z.enum(['exact', 'kernel']),
  output: z.enum(SHAP_OUTPUTS),
  class: PredictionAnswer.optional().describe('The class explained (classifiers): its label or index.'),
  baseValue: z.number().describe('The mean output over the background rows.'),
  values: z.record(z.string(), z.number()).describe('Feature name → Shapley value.'),
  prediction: z.number().describe('baseValue + the sum of the values.'),
  coalitions: count.describe('Coalitions evaluated; all of them when method is exact.'),
});

export const PredictAnswer = z
  .strictObject({
    model: z.string(),
    modelVersion: z.string().describe('The version that answered.'),
    runtime: z.enum(['lambda', 'sagemaker']),
    predictions: z.array(PredictionAnswer).describe('One per instance, in order.'),
    probabilities: z
      .array(z.array(z.number()))
      .optional()
      .describe("Classifiers: per instance, one probability per class in the schema's order."),
    predictionIds: z.array(z.string()).describe('One per instance: what feedback names.'),
    explanations: z
      .array(LinearExplanationAnswer)
      .optional()
      .describe('With explain: true, the closed form per instance.'),
    fallbackFrom: z
      .string()
      .optional()
      .describe('The routed version that failed its checks, when another one answered instead.'),
    experimentId: z.string().optional().describe('The running experiment that routed the request.'),
    variant: z.string().optional().describe('The experiment variant that answered.'),
  })
  .describe('One prediction per instance, with the ids feedback joins labels to.');

export const ExplainAnswer = z
  .strictObject({
    model: z.string(),
    modelVersion: z.string(),
    explanations: z
      .array(z.discriminatedUnion('method', [LinearExplanationAnswer, ShapExplanationAnswer]))
      .describe('One per instance, in order.'),
  })
  .describe('Feature attributions per instance.');

export const FeedbackResultAnswer = z.strictObject({
  predictionId: z.string(),
  status: z
    .enum(['joined', 'duplicate', 'unknown'])
    .describe(
      'joined: counted; duplicate: the prediction had feedback already (the first stands); ' +
        'unknown: no captured prediction has this id (yet).',
    ),
  model: z.string().optional().describe('Absent when unknown.'),
  version: z.string().optional().describe('Absent when unknown.'),
});

export const FeedbackAnswer = z
  .strictObject({
    joined: count,
    duplicate: count,
    unknown: count,
    results: z.array(FeedbackResultAnswer).describe('One per item, in order.'),
  })
  .describe('What became of each label.');

export const StatsClassMetricsAnswer = z.strictObject({
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: count.describe('Feedback whose actual is this label.'),
});

export const StatsClassificationMetricsAnswer = z.strictObject({
  accuracy: z.number(),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  perClass: z
    .record(z.string(), StatsClassMetricsAnswer)
    .describe('By label (numbers as their decimal text; as JSON text if that would collide).'),
  averaging: z
    .enum(['binary', 'macro'])
    .describe('binary: precision, recall and F1 of the positive label; macro: their means over labels.'),
  positiveLabel: PredictionAnswer.optional(),
});

export const StatsRegressionMetricsAnswer = z.strictObject({
  mae: z.number(),
  rmse: z.number(),
  meanError: z.number().describe('Mean of predicted − actual: positive when the model over-predicts.'),
});

/** Serving statistics of one version, or of all (core/inference/stats.ts VersionStats). */
export const VersionStatsAnswer = z.strictObject({
  version: z.string().nullable().describe('null in the total over all versions.'),
  from: Instant.nullable().describe('Start of the first hour with data; null without any.'),
  to: Instant.nullable().describe('End of the last hour with data; null without any.'),
  requests: count,
  errors: count,
  errorRate: z.number().nullable().describe('errors / requests; null without requests.'),
  predictions: count.describe('Rows predicted and captured.'),
  latencyMs: z.strictObject({ p50: z.number(), p95: z.number(), p99: z.number() }).nullable(),
  meanConfidence: z.number().nullable().describe("Mean probability of classifiers' predicted class."),
  feedback: z
    .strictObject({
      count: count.describe('Joined feedbacks.'),
      classification: StatsClassificationMetricsAnswer.optional(),
      regression: StatsRegressionMetricsAnswer.optional(),
    })
    .nullable()
    .describe('Metrics from joined feedback; null without any.'),
  capture: z
    .strictObject({
      answered: count,
      captured: count,
      lost: count,
      completeness: z.number().nullable().describe('captured / answered; null without answered predictions.'),
    })
    .describe('Predictions answered against those captured (still in flight: in neither).'),
});

export const StatsAnswer = z
  .strictObject({
    model: z.string(),
    from: Instant.nullable(),
    to: Instant.nullable(),
    total: VersionStatsAnswer,
    versions: z.array(VersionStatsAnswer).readonly().optional().describe('Per version, in version order.'),
  })
  .describe('Serving statistics over [from, to) from the hourly aggregates, in total and per version.');

// ---- experiments -----------------------------------------------------------------------------

/** What the definition's request schema sends; stored with its defaults applied. */
const defined = CreateExperimentBody.shape;

/** A canary's settings as stored: the request's, with every default applied. */
export const CanaryConfigAnswer = z.strictObject({
  steps: CanaryInput.shape.steps.unwrap(),
  bakeMinutes: CanaryInput.shape.bakeMinutes.unwrap(),
  latencyGuardrail: CanaryInput.shape.latencyGuardrail.unwrap(),
  promote: CanaryInput.shape.promote.unwrap(),
});

export const VariantAnswer = z.strictObject({
  name: z.string(),
  version: z.string(),
  control: z.boolean(),
});

export const ExperimentOutcomeAnswer = z.strictObject({
  result: z.enum(['winner', 'no_difference', 'rolled_back', 'promoted', 'stopped']),
  variant: z.string().optional().describe('The variant chosen, rolled back or promoted.'),
  promotedVersion: z.string().optional().describe('The version made production when concluding.'),
  reason: z.string(),
  by: z.string().describe('The principal that concluded it.'),
  at: Instant,
});

export const ExperimentAnswer = z.strictObject({
  id: z.string(),
  name: defined.name,
  description: defined.description.unwrap(),
  model: defined.model,
  kind: defined.kind.unwrap(),
  state: z.enum(EXPERIMENT_STATES),
  variants: z.array(VariantAnswer).readonly(),
  metric: MetricDef,
  guardrails: defined.guardrails.unwrap().readonly(),
  minSamples: defined.minSamples.unwrap(),
  maxSamples: defined.maxSamples.unwrap(),
  alpha: defined.alpha.unwrap(),
  adjustment: defined.adjustment.unwrap(),
  tau2: defined.tau2,
  canary: CanaryConfigAnswer.optional().describe('Canary experiments only.'),
  canaryProgress: z
    .strictObject({
      step: count.describe('Index into canary.steps of the step running now.'),
      stepStartedAt: Instant,
      waitingFor: z
        .string()
        .optional()
        .describe('Set when the last step has baked and promotion waits for the registry.'),
    })
    .optional()
    .describe('A canary that has started.'),
  seed: z.string().describe('The assignment hash seed.'),
  allocation: z
    .strictObject({
      variants: z.array(z.string()).readonly().describe('Variant names; slots hold indices into this list.'),
      slots: z
        .array(count)
        .length(100)
        .readonly()
        .describe('Slot i (buckets 100·i … 100·i + 99) → index of its variant.'),
    })
    .describe('The slot table of the current weights, from which clients reproduce assignment.'),
  epoch: count.describe('Bumped at every weight change: exposures are counted per epoch.'),
  outcome: ExperimentOutcomeAnswer.optional(),
  createdAt: Instant,
  createdBy: z.string(),
  updatedAt: Instant,
  startedAt: Instant.optional(),
  concludedAt: Instant.optional(),
  weights: z.record(z.string(), count).describe('Variant → its current weight in percent.'),
});

/** 95 % interval; null below two observations. */
const Interval = z.tuple([z.number(), z.number()]).readonly().nullable();

export const ArmSummaryAnswer = z.strictObject({
  n: count,
  mean: z.number().nullable(),
  variance: z.number().describe('Sample variance; 0 below two observations.'),
  ci: Interval,
});

export const ArmComparisonAnswer = z.strictObject({
  variant: z.string(),
  metric: z.string(),
  diff: z.number().nullable(),
  lift: z.number().nullable(),
  ci: Interval.describe('95 % interval of the difference.'),
  pValue: z.number().nullable().describe('Fixed-horizon p-value.'),
  alwaysValidPValue: z.number().describe('mSPRT p-value, the running minimum over every look.'),
  adjustedPValue: z.number().describe('alwaysValidPValue adjusted across the treatments.'),
  adjustment: defined.adjustment.unwrap(),
  significant: z.boolean(),
});

const ArmMean = z.strictObject({ n: count, mean: z.number().nullable() });

export const GuardrailResultAnswer = z.strictObject({
  variant: z.string(),
  metric: z.string(),
  goal: MetricDef.shape.goal,
  control: ArmMean,
  treatment: ArmMean,
  alwaysValidPValue: z.number(),
  decided: z.boolean().describe('Both arms have enough samples to decide.'),
  failed: z.boolean(),
  reason: z.string(),
});

export const VariantResultAnswer = z.strictObject({
  name: z.string(),
  version: z.string(),
  control: z.boolean(),
  weight: count,
  exposures: count.describe('Units assigned under the current weights (the SRM counts).'),
  metric: ArmSummaryAnswer,
  serving: z.strictObject({
    requests: count,
    errorRate: z.number().nullable(),
    latencyMeanMs: z.number().nullable(),
    latencyP99Ms: z.number().nullable(),
    accuracy: ArmSummaryAnswer,
  }),
});

const ControlAndShadow = z.strictObject({ control: z.number().nullable(), shadow: z.number().nullable() });

export const ShadowResultAnswer = z.strictObject({
  variant: z.string(),
  agreement: ArmSummaryAnswer.describe("Share of rows where the shadow's answer equals the control's."),
  scoreDiff: ArmSummaryAnswer.describe('Absolute difference of the scores.'),
  latencyMeanMs: ControlAndShadow,
  latencyP99Ms: ControlAndShadow,
});

export const ResultsAnswer = z
  .strictObject({
    experimentId: z.string(),
    model: z.string(),
    kind: defined.kind.unwrap(),
    state: z.enum(EXPERIMENT_STATES),
    computedAt: Instant,
    metric: MetricDef,
    variants: z.array(VariantResultAnswer),
    comparisons: z.array(ArmComparisonAnswer).describe('Every treatment against the control.'),
    guardrails: z.array(GuardrailResultAnswer),
    srm: z
      .strictObject({
        pValue: z.number().nullable(),
        ok: z.boolean(),
        counts: z.record(z.string(), count).describe('Variant → exposures.'),
        expected: z.record(z.string(), z.number()).describe('Variant → exposures its weight expects.'),
      })
      .describe('Sample-ratio mismatch test over the current epoch.'),
    shadow: ShadowResultAnswer.optional(),
    canary: z
      .strictObject({
        step: count,
        steps: z.array(count).readonly(),
        weight: count,
        stepStartedAt: Instant,
        waitingFor: z.string().optional(),
      })
      .optional(),
    decision: z.enum(DECISIONS),
    winner: z.string().optional(),
    reason: z.string(),
  })
  .describe('Per variant n, mean and CI; per comparison diff, lift and p-values; SRM; the decision.');

export const ResultsSnapshotAnswer = z.strictObject({
  experimentId: z.string(),
  at: Instant,
  results: sentAs(z.record(z.string(), z.unknown()), ResultsAnswer),
});

export const AssignmentAnswer = z
  .strictObject({
    experimentId: z.string(),
    subject: z.string(),
    state: z.enum(EXPERIMENT_STATES),
    bucket: count.max(9999).describe("The subject's bucket in [0, 10000)."),
    variant: z.string(),
    version: z.string(),
    servedBy: z
      .string()
      .nullable()
      .describe('The version serving the subject now; null unless running (production answers).'),
  })
  .describe('The variant of a subject, computed without enrolling it.');

// ---- retraining ------------------------------------------------------------------------------

/** What a request may set (RetrainBody), stored with the trainer among them. */
const requested = RetrainBody.shape;

type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/**
 * A request schema reused as is, typed to take the readonly arrays the code keeps deep inside it
 * (the JSON is the same): .readonly() cannot reach arrays nested in a schema that is not ours.
 */
function readonlyInput<T extends z.ZodType>(schema: T) {
  return schema as unknown as z.ZodType<z.output<T>, DeepReadonly<z.input<T>>>;
}

export const JobLogLineAnswer = z.strictObject({ at: Instant, message: z.string() });

export const TrainingRunAnswer = z.strictObject({
  backend: z.literal('sagemaker'),
  trainingJobName: z.string(),
  image: z.string(),
  instanceType: z.string(),
  instanceCount: count,
  hyperparameters: z.record(z.string(), z.string()),
  inputUri: z.string().describe('The S3 prefix of the train channel.'),
  outputUri: z.string(),
  parentVersion: z.string(),
  dataset: z.strictObject({ uri: z.string(), sha256: z.string(), rows: count }),
  status: z.enum(['Creating', 'InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped']),
  secondaryStatus: z.string().optional(),
  failureReason: z.string().optional(),
  modelArtifactUri: z.string().optional(),
  polls: count,
});

export const JobAnswer = z.strictObject({
  id: z.string(),
  model: z.string(),
  state: z.enum(JOB_STATES),
  reason: z.string(),
  trigger: z.string().describe('Who or what asked: manual for a person’s request.'),
  requestedBy: z.strictObject({ id: z.string(), name: z.string() }),
  params: requested.params.unwrap().extend({ trainer: requested.trainer }),
  search: readonlyInput(requested.search.unwrap()),
  progress: z.strictObject({
    fraction: z.number().min(0).max(1),
    message: z.string(),
    trial: count,
    trials: count,
  }),
  resultVersion: z.string().nullable().describe('The candidate version registered; null until then.'),
  error: z.string().nullable(),
  outcome: z.string().optional().describe('The outcome in one sentence.'),
  promotion: z
    .strictObject({
      mode: z.enum(PROMOTION_MODES),
      action: z.enum([
        'none',
        'approval_requested',
        'canary_started',
        'promoted',
        'kept_in_staging',
        'failed',
      ]),
      detail: z.string(),
      alertId: z.string().optional(),
      experimentId: z.string().optional(),
    })
    .optional()
    .describe('What the retraining policy did with the candidate.'),
  cancelRequested: z.boolean().optional(),
  duplicates: z
    .array(z.strictObject({ at: Instant, by: z.string(), trigger: z.string(), reason: z.string() }))
    .readonly()
    .describe('Requests made while the job was active, recorded on it.'),
  log: z.array(JobLogLineAnswer).readonly().optional().describe('Recent log lines; absent in listings.'),
  heartbeatAt: Instant.optional(),
  attempt: count.optional(),
  training: TrainingRunAnswer.optional().describe('The SageMaker training job, when it trains there.'),
  createdAt: Instant,
  updatedAt: Instant,
});

export const SERVING_ANSWERS = {
  predict: PredictAnswer,
  explain: ExplainAnswer,
  feedback: FeedbackAnswer,
  stats: StatsAnswer,
  createExperiment: ExperimentAnswer.describe('The experiment created, in state draft.'),
  listExperiments: page(ExperimentAnswer).describe('Experiments, newest first.'),
  getExperiment: ExperimentAnswer.describe('The experiment with its current weights.'),
  setExperimentWeights: ExperimentAnswer.describe('The experiment with its new weights.'),
  startExperiment: ExperimentAnswer.describe('The experiment, running.'),
  pauseExperiment: ExperimentAnswer.describe('The experiment, paused.'),
  concludeExperiment: z
    .strictObject({ experiment: ExperimentAnswer, results: ResultsAnswer })
    .describe('The concluded experiment and its final results.'),
  recordExperimentEvents: z
    .strictObject({
      accepted: count,
      duplicates: count.describe('Events whose eventId was counted before.'),
    })
    .describe('How many events were counted.'),
  getExperimentAssignment: AssignmentAnswer,
  getExperimentResults: ResultsAnswer,
  listExperimentSnapshots: page(ResultsSnapshotAnswer).describe(
    'Results kept by each analysis, oldest first.',
  ),
  retrainModel: JobAnswer.describe('The job queued.'),
  listJobs: page(JobAnswer).describe('Retraining jobs, newest first (without their logs).'),
  getJob: JobAnswer.describe('The job with its recent log lines.'),
  cancelJob: JobAnswer.describe('The job, cancelled or asked to stop at its next trial.'),
} as const satisfies AnswerTable;
