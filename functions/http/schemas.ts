/**
 * Request schemas at the edge. Types used by handlers flow from these; the OpenAPI document is
 * generated from them (functions/http/openapi.ts).
 */
import * as z from 'zod';
import { ROLES } from '../core/auth/roles.js';
import { InputSchema, OutputSchema } from '../core/kernel/model-io.js';
import { PromotionGate } from '../core/registry/promotion-gate.js';
import { IMPORT_FORMATS, STAGES } from '../core/registry/types.js';
import { MAX_VALIDATION_ROWS, Thresholds } from '../core/registry/validation-report.js';
import { MODES } from '../core/system/modes.js';
import { AliasName, IsoTime, ModelName, Version } from './inference-schemas.js';

export {
  AliasName,
  ExplainBody,
  FeedbackBody,
  IsoTime,
  MODEL_NAME,
  ModelName,
  NameParams,
  PredictBody,
  StatsQuery,
  Version,
} from './inference-schemas.js';

export const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 is 64 lower-case hex characters');
/** The ids Serval generates (ulids, functions/adapters/system.ts). */
export const Ulid = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'not a valid id');

const Tags = z
  .record(z.string().min(1).max(128), z.string().max(256))
  .refine((t) => Object.keys(t).length <= 50, 'at most 50 tags');
const Description = z.string().max(4096);
const Comment = z.string().max(4096);

export const Metrics = z
  .record(z.string().min(1).max(128), z.number())
  .refine((m) => Object.keys(m).length <= 200, 'at most 200 metrics');
export const Params = z
  .record(z.string().min(1).max(128), z.unknown())
  .refine((p) => Object.keys(p).length <= 500, 'at most 500 params')
  .refine((p) => JSON.stringify(p).length <= 64 * 1024, 'params are at most 64 KiB of JSON');

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().min(1).max(2048).optional(),
});

export const VersionParams = z.object({ name: ModelName, version: Version });
export const KeyParams = z.object({ keyId: Ulid });

const MinValidationRows = z
  .number()
  .int()
  .min(1)
  .max(MAX_VALIDATION_ROWS)
  .describe('the fewest rows a validation report needs to count for promotion (admin to change)');
const RequiredThresholds = Thresholds.describe(
  'bounds on metrics a validation report must meet to count for promotion (admin to change)',
);
const Gate = PromotionGate.describe(
  'fairness bounds on the reports stored on the version, and no open high-severity quality alert (admin to change)',
);
const RequireValidation = z
  .boolean()
  .describe('production needs a passing validation report (admin to change after creation)');

export const CreateModelBody = z.strictObject({
  name: ModelName,
  description: Description.optional(),
  tags: Tags.optional(),
  requireValidation: RequireValidation.optional(),
  minValidationRows: MinValidationRows.optional(),
  requiredThresholds: RequiredThresholds.optional(),
  promotionGate: Gate.optional(),
  fallback: z
    .boolean()
    .optional()
    .describe('serve the previous production version when production fails its checksum (default true)'),
  allowUnservableProduction: z
    .boolean()
    .optional()
    .describe(
      'let a version without a usable schema or loadable artifact reach production (default false; admin only)',
    ),
});

export const UpdateModelBody = z
  .strictObject({
    description: Description.optional(),
    tags: Tags.optional(),
    requireValidation: RequireValidation.optional(),
    fallback: z.boolean().optional(),
    allowUnservableProduction: z.boolean().optional().describe('admin only'),
    minValidationRows: MinValidationRows.nullable().optional(),
    requiredThresholds: RequiredThresholds.nullable().optional(),
    promotionGate: Gate.nullable().optional(),
  })
  .refine(
    (b) => Object.keys(b).length > 0,
    'nothing to update: give description, tags, requireValidation, fallback, allowUnservableProduction, minValidationRows, requiredThresholds or promotionGate',
  );

const Runtime = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('lambda') }),
  z.strictObject({
    type: z.literal('sagemaker'),
    endpointName: z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, 'not a SageMaker endpoint name'),
  }),
]);

export const RegisterVersionBody = z
  .strictObject({
    version: z.optional(Version),
    artifact: z.union([
      z.strictObject({ base64: z.string().min(1) }),
      z.strictObject({ upload: z.literal(true) }),
      z.strictObject({
        uri: z
          .string()
          .max(2048)
          .regex(
            /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+/,
            'an S3 URI: s3://bucket/key (or a directory ending in /)',
          )
          .describe('import from S3: an object, or (format mlflow) a directory ending in /'),
      }),
    ]),
    format: z
      .enum(IMPORT_FORMATS)
      .optional()
      .describe(
        'onnx (default), sagemaker-tar (model.tar.gz holding model.onnx) or mlflow (an MLflow model)',
      ),
    sha256: Sha256.optional(),
    framework: z.enum(['onnx', 'sagemaker']).default('onnx'),
    runtime: Runtime.default({ type: 'lambda' }),
    inputSchema: InputSchema.optional(),
    outputSchema: OutputSchema.optional(),
    metrics: Metrics.optional(),
    params: Params.optional(),
    dataset: z
      .strictObject({
        uri: z.string().min(1).max(2048),
        sha256: Sha256.optional(),
        rows: z.number().int().min(0).optional(),
      })
      .optional(),
    parent: z.optional(Version),
    tags: Tags.optional(),
    description: Description.optional(),
  })
  .refine((b) => b.runtime.type === 'sagemaker' || b.framework === 'onnx', {
    message: 'a Lambda runtime serves ONNX models: set framework "onnx" or runtime {type: "sagemaker"}',
    path: ['framework'],
  });

export const ListVersionsQuery = PageQuery.extend({ stage: z.enum(STAGES).optional() });

const TagFilter = z
  .string()
  .max(400)
  .regex(/^[^:]{1,128}:[\s\S]{0,256}$/, 'a tag filter is key:value (the first ":" separates them)')
  .transform((t) => {
    const at = t.indexOf(':');
    return { key: t.slice(0, at), value: t.slice(at + 1) };
  });

export const ListModelsQuery = PageQuery.extend({
  q: z.string().min(1).max(256).optional().describe('case-insensitive substring of the name or description'),
  tag: z
    .union([TagFilter.transform((t) => [t]), z.array(TagFilter).min(1).max(10)])
    .optional()
    .describe('key:value; repeat it for several tags, all of which must match'),
});

export const UpdateVersionBody = z
  .strictObject({ description: Description.optional(), tags: Tags.optional() })
  .refine((b) => Object.keys(b).length > 0, 'nothing to update: give description or tags');

export const TransitionBody = z.strictObject({ stage: z.enum(STAGES), comment: Comment.optional() });

export const ApprovalBody = z.strictObject({
  decision: z.enum(['approved', 'rejected']),
  comment: Comment.default(''),
});

export const AliasParams = z.object({ name: ModelName, alias: AliasName });
export const AliasBody = z.strictObject({ version: Version });

export const RollbackBody = z.strictObject({ toVersion: z.optional(Version), comment: Comment.optional() });

export const CompareQuery = z.object({ a: Version, b: Version });

export const HealthDetailedQuery = z.strictObject({
  /** Admins only: recompute every production artifact's checksum instead of the sweep's results. */
  recheck: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
});

export const AuditQuery = PageQuery.extend({
  model: z.optional(ModelName),
  actor: z.string().min(1).max(128).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
});

export const CreateKeyBody = z.strictObject({
  name: z.string().min(1).max(128),
  role: z.enum(ROLES),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

export const TokenBody = z.strictObject({
  /** Lifetime in seconds (60–3600, default 900). */
  ttlSeconds: z.number().int().min(60).max(3600).optional(),
});

export const ModeBody = z.strictObject({ mode: z.enum(MODES), comment: Comment.optional() });

export const AlertParams = z.object({ alertId: z.string().regex(/^[0-9a-f]{32}$/, 'not a valid alert id') });
export const WebhookParams = z.object({ webhookId: Ulid });

export const BaselineBody = z
  .strictObject({
    /** The version the profile belongs to (default: production, else latest). */
    version: z.optional(Version),
    /** Rows as objects keyed by feature name, or arrays in the version's feature order. */
    rows: z
      .array(
        z.union([
          z.array(z.union([z.number(), z.string(), z.boolean(), z.null()])).max(10_000),
          z.record(z.string().max(128), z.union([z.number(), z.string(), z.boolean(), z.null()])),
        ]),
      )
      .min(1)
      .max(100_000)
      .optional(),
    /** A CSV (with header) or JSON-lines file in S3. */
    datasetUri: z.string().min(1).max(2048).optional(),
  })
  .refine(
    (b) => (b.rows === undefined) !== (b.datasetUri === undefined),
    'give exactly one of rows or datasetUri',
  );

// A check reads the window's captures of every version (as the scheduled checks do): there is no
// version to choose, and a field that would be accepted and ignored is refused instead.
export const DriftCheckBody = z
  .strictObject({ from: IsoTime, to: IsoTime })
  .refine((b) => Date.parse(b.to) > Date.parse(b.from), { message: 'to must be after from', path: ['to'] })
  .refine((b) => Date.parse(b.to) - Date.parse(b.from) <= 31 * 24 * 3600 * 1000, {
    message: 'a window is at most 31 days',
    path: ['to'],
  });

export const PerformanceQuery = z
  .object({
    version: z.optional(Version).describe('default: the production version, else the latest'),
    from: z.optional(IsoTime).describe('window start, by prediction time (default: 24 hours before `to`)'),
    to: z.optional(IsoTime).describe('window end (default: now)'),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), 'from must be before to');

export const FairnessQuery = z
  .object({
    attribute: z.string().min(1).max(64).describe('the context key whose values are the groups'),
    version: z.optional(Version).describe('default: the production version, else the latest'),
    from: z.optional(IsoTime).describe('window start, by prediction time (default: 24 hours before `to`)'),
    to: z.optional(IsoTime).describe('window end (default: now)'),
    positive: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe("the favourable decision's class (default: a binary model's second class)"),
    seed: z.coerce
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional()
      .describe('bootstrap seed (default 0)'),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), 'from must be before to');

const GroupValue = z.union([z.string().max(256), z.number().finite(), z.boolean()]);

export const VersionFairnessBody = z.strictObject({
  attribute: z.string().min(1).max(64).describe('the name the groups are stored and gated under'),
  positive: z.union([z.string().min(1).max(256), z.number()]).optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional(),
  dataset: z.strictObject({
    instances: z
      .array(z.unknown())
      .min(1)
      .max(MAX_VALIDATION_ROWS)
      .describe('rows in the input schema (arrays or objects)'),
    labels: z
      .array(z.union([z.string().min(1).max(256), z.number().finite()]))
      .min(1)
      .max(MAX_VALIDATION_ROWS),
    groups: z.array(GroupValue).min(1).max(MAX_VALIDATION_ROWS).describe('the attribute value of each row'),
  }),
});

export const AlertsQuery = PageQuery.extend({
  model: z.optional(ModelName),
  status: z.enum(['open', 'acknowledged']).optional(),
});

export const AckBody = z.strictObject({ comment: Comment.optional() });

export const WebhookBody = z.strictObject({
  url: z.string().min(1).max(2048),
  /** Event types to deliver: alert.*, version.* lifecycle events, or everything. */
  events: z
    .array(z.enum(['alert', 'lifecycle', '*']))
    .min(1)
    .max(3)
    .default(['*']),
  description: Description.optional(),
});

// ---- Experiments ---------------------------------------------------------------------------

export const ExperimentParams = z.object({ experimentId: Ulid });

export const ExperimentsQuery = PageQuery.extend({
  model: z.optional(ModelName),
  state: z.enum(['draft', 'running', 'paused', 'concluded']).optional(),
});

export const ExperimentStateBody = z.strictObject({ comment: Comment.optional() });

export const ConcludeBody = z.strictObject({
  promote: z
    .boolean()
    .optional()
    .describe('promote the winner (or `variant`) to production under the registry rules'),
  variant: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('conclude with this variant chosen, whatever the results say'),
  comment: Comment.optional(),
});

export const WeightsBody = z.strictObject({
  weights: z
    .array(z.strictObject({ name: z.string().min(1).max(64), weight: z.number().int().min(0).max(100) }))
    .min(1)
    .max(10),
  comment: Comment.optional(),
});

export const OutcomeEventsBody = z
  .array(
    z.strictObject({
      eventId: z.string().min(1).max(128).describe('replaying an eventId counts it once'),
      subject: z.string().min(1).max(256),
      metric: z.string().min(1).max(64),
      value: z.number().finite(),
    }),
  )
  .min(1, 'give at least one {eventId, subject, metric, value}')
  .max(500, 'at most 500 events per request');

export const AssignmentQuery = z.object({ subject: z.string().min(1).max(256) });

// ---- Retraining ----------------------------------------------------------------------------

export const JobParams = z.object({ jobId: Ulid });

export const JobsQuery = PageQuery.extend({
  model: z.optional(ModelName),
  state: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
});

const SearchParamValue = z.union([z.number(), z.string().max(64), z.boolean()]);
const SearchParamSpec = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('float'),
    low: z.number(),
    high: z.number(),
    log: z.boolean().optional(),
    step: z.number().positive().optional(),
    num: z.number().int().min(1).max(50).optional(),
  }),
  z.strictObject({
    type: z.literal('int'),
    low: z.number().int(),
    high: z.number().int(),
    log: z.boolean().optional(),
    step: z.number().int().positive().optional(),
  }),
  z.strictObject({ type: z.literal('choice'), values: z.array(SearchParamValue).min(1).max(50) }),
]);
export const OnlineResetBody = z.strictObject({
  reason: z.string().min(1).max(1024).describe('why: recorded in the audit trail'),
});

export const RetrainBody = z.strictObject({
  reason: z.string().min(1).max(1024).describe('why: recorded on the job and in the audit trail'),
  trainer: z
    .enum(['logistic', 'softmax', 'mlp', 'linear'])
    .optional()
    .describe(
      'default: logistic for two classes, softmax for more, linear (ridge) for a regression model; mlp for either',
    ),
  params: z
    .strictObject({
      seed: z
        .number()
        .int()
        .min(0)
        .max(2 ** 31 - 1)
        .optional(),
      holdoutFraction: z.number().min(0.05).max(0.5).optional(),
      folds: z.number().int().min(2).max(10).optional(),
      margin: z
        .number()
        .min(0)
        .max(1)
        .optional()
        .describe(
          'how much better than production the candidate must be: accuracy points for a classifier, the fraction by which its RMSE is lower for a regressor (0.01: 1 %)',
        ),
    })
    .optional(),
  search: z
    .strictObject({
      strategy: z.enum(['grid', 'random', 'halving']).optional(),
      maxTrials: z.number().int().min(1).max(200).optional(),
      trials: z.number().int().min(1).max(200).optional(),
      timeBudgetMs: z.number().int().min(1000).max(86_400_000).optional(),
      factor: z.number().min(1.5).max(10).optional(),
      l2: z.array(z.number().min(0).max(1e6)).min(1).max(50).optional(),
      space: z
        .record(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,31}$/), SearchParamSpec)
        .refine((s) => Object.keys(s).length >= 1 && Object.keys(s).length <= 10, {
          message: 'a space declares 1 to 10 parameters',
        })
        .optional()
        .describe(
          'parameter name → {type: float|int, low, high, log?, step?, num?} or {type: choice, values}; names depend on the trainer',
        ),
    })
    .optional(),
});
