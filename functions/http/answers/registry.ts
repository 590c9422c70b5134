/** Answers of the registry routes: models, versions, artifacts, lifecycle, aliases, comparison. */
import * as z from 'zod';
import { FeatureSchema, OutputSchema } from '../../core/kernel/model-io.js';
import { PromotionGate } from '../../core/registry/promotion-gate.js';
import { IMPORT_FORMATS, STAGES } from '../../core/registry/types.js';
import { Thresholds } from '../../core/registry/validation-report.js';
import { Sha256 } from '../schemas.js';
import { type AnswerTable, Instant, page, sentAs } from './common.js';
import { DatasetFairnessAnswer, FairnessEstimate, FairnessReportAnswer } from './monitoring.js';

// ---- models ------------------------------------------------------------------------------------

export const AliasesAnswer = z
  .object({
    production: z.string().nullable().describe('The production version; null when there is none'),
    latest: z.string().nullable().describe('The highest version not deleted; null when there is none'),
  })
  // Aliases set by people are open names; the two above are the registry's own.
  .catchall(z.string().nullable())
  .describe('Every alias of the model and the version it names');

export const ModelAnswer = z
  .strictObject({
    name: z.string(),
    description: z.string(),
    tags: z.record(z.string(), z.string()),
    productionVersion: z.string().nullable(),
    latestVersion: z.string().nullable().describe('Highest version that is not deleted'),
    aliases: AliasesAnswer,
    versionCount: z.number().int().describe('Versions that are not deleted'),
    requireValidation: z.boolean().describe('Production needs a passing validation report'),
    fallback: z.boolean().describe("Serve the previous production version when production's artifact fails"),
    allowUnservableProduction: z
      .boolean()
      .describe('A version that cannot serve may still be promoted to production'),
    minValidationRows: z
      .number()
      .int()
      .nullable()
      .describe('The fewest rows a validation report needs to count for promotion; null: any'),
    requiredThresholds: Thresholds.nullable().describe(
      'Bounds a validation report must meet to count for promotion; null: none',
    ),
    promotionGate: PromotionGate.nullable().describe(
      'Fairness bounds and the quality-alert rule of the promotion gate; null: none',
    ),
    createdAt: Instant,
    createdBy: z.string(),
    updatedAt: Instant,
  })
  .describe('A registered model');

export const ModelDetailAnswer = ModelAnswer.extend({
  versionsByStage: z
    .record(z.enum(STAGES), z.array(z.string()))
    .describe('The versions (not deleted) in each stage'),
}).describe('A model with its versions grouped by stage');

// ---- versions ----------------------------------------------------------------------------------

// The types of the declared or derived schemas without the request's size limits: a derived
// schema (read from the graph) never went through them.
export const FeatureAnswer = z.strictObject({
  name: z.string(),
  type: FeatureSchema.shape.type,
  categories: z.array(z.string()).optional().describe('Allowed values, encoded positionally'),
  min: z.number().optional(),
  max: z.number().optional(),
  nullable: z.boolean().optional(),
});

export const InputSchemaAnswer = z.strictObject({
  features: z.array(FeatureAnswer),
  tensor: z.string().optional().describe('The ONNX graph input the features are fed to'),
});

export const OutputSchemaAnswer = z.strictObject({
  kind: OutputSchema.shape.kind,
  classes: z
    .array(z.union([z.string(), z.number()]))
    .optional()
    .describe("Class labels in the order of the model's probability columns"),
});

/** A graph input or output as read from the ONNX file or reported by the runtime. */
export const TensorInfoAnswer = z.strictObject({
  name: z.string(),
  type: z.string().describe("Element type ('float32', 'int64', …), or 'non-tensor' for sequences and maps"),
  dims: z
    .array(z.union([z.number(), z.string(), z.null()]))
    .readonly()
    .nullable()
    .describe('Fixed sizes as numbers, symbolic ones as names, unknown ones as null; null: no shape'),
});

export const GraphAnswer = z
  .strictObject({
    producer: z.string(),
    irVersion: z.number().int(),
    opsets: z.array(z.strictObject({ domain: z.string(), version: z.number().int() })).readonly(),
    inputs: z.array(TensorInfoAnswer).readonly(),
    outputs: z.array(TensorInfoAnswer).readonly(),
  })
  .describe('The ONNX graph as read when the artifact was registered or its upload completed');

export const RuntimeAnswer = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('lambda') }),
  z.strictObject({ type: z.literal('sagemaker'), endpointName: z.string() }),
]);

export const ImportSourceAnswer = z
  .strictObject({
    format: z.enum(IMPORT_FORMATS),
    uri: z.string().optional().describe('s3:// URI of the object or MLflow directory'),
    sha256: Sha256.optional().describe('SHA-256 of the source object'),
    size: z.number().int().optional(),
    etag: z.string().optional(),
    files: z
      .array(z.string())
      .readonly()
      .optional()
      .describe('Files of an archive or directory that Serval read'),
    mlflow: z
      .strictObject({
        runId: z.string().optional(),
        modelUuid: z.string().optional(),
        version: z.string().optional(),
      })
      .optional(),
  })
  .describe('Where an imported version came from');

export const VersionStatusAnswer = z
  .enum(['pending', 'ready', 'unusable'])
  .describe('pending: waiting for its upload; ready: artifact verified; unusable: failed a checksum');

export const ApprovalAnswer = z.strictObject({
  decision: z.enum(['approved', 'rejected']),
  by: z.string(),
  byName: z.string(),
  comment: z.string(),
  at: Instant,
});

// views.ts reads the stored fairness summary as unknown; compare.ts types the features as unknown.
const fromUnknown = <T extends z.ZodType>(schema: T) => sentAs(z.unknown(), schema);

export const FairnessSummaryAnswer = z
  .strictObject({
    ranAt: Instant,
    by: z.string(),
    rows: fromUnknown(z.number().int().nullable()),
    positive: fromUnknown(z.string().nullable()).describe('The class a decision is positive for'),
    demographicParityDifference: fromUnknown(FairnessEstimate.nullable()),
    demographicParityRatio: fromUnknown(FairnessEstimate.nullable()),
    equalOpportunityDifference: fromUnknown(FairnessEstimate.nullable()),
    equalizedOddsDifference: fromUnknown(FairnessEstimate.nullable()),
    fourFifthsRule: fromUnknown(FairnessReportAnswer.shape.fourFifthsRule.nullable()),
    unreliableGroups: fromUnknown(z.array(z.string())),
  })
  .describe('The summary of the latest fairness run on a dataset that the promotion gate compares');

export const VersionAnswer = z
  .strictObject({
    model: z.string(),
    version: z.string(),
    stage: z.enum(STAGES),
    status: VersionStatusAnswer,
    framework: z.enum(['onnx', 'sagemaker']),
    runtime: RuntimeAnswer,
    sha256: Sha256.describe("The artifact's SHA-256: declared while pending, verified once ready"),
    size: z.number().int().nullable().describe("The artifact's size in bytes; null while unknown"),
    inputSchema: InputSchemaAnswer.nullable(),
    outputSchema: OutputSchemaAnswer.nullable(),
    derivedSchemas: z
      .array(z.enum(['inputSchema', 'outputSchema']))
      .readonly()
      .describe('The schemas Serval derived from the graph because none was declared'),
    graph: GraphAnswer.nullable(),
    metrics: z.record(z.string(), z.number()),
    params: z.record(z.string(), z.unknown()),
    dataset: z
      .strictObject({
        uri: z.string(),
        sha256: Sha256.optional(),
        rows: z.number().int().optional(),
        verified: z.boolean().describe('True when Serval computed sha256 from the stored dataset itself'),
      })
      .nullable(),
    source: ImportSourceAnswer.nullable(),
    parent: z.string().nullable(),
    tags: z.record(z.string(), z.string()),
    description: z.string(),
    approval: ApprovalAnswer.nullable(),
    validation: z
      .strictObject({ passed: z.boolean(), ranAt: Instant, by: z.string() })
      .nullable()
      .describe('The latest validation report, in short'),
    fairness: z
      .record(z.string(), FairnessSummaryAnswer)
      .describe('The latest fairness run on a dataset, by attribute'),
    unusableReason: z.string().nullable(),
    lastVerifiedAt: Instant.nullable(),
    uploadExpiresAt: Instant.nullable().describe(
      "A pending version's deadline, after which its upload can no longer be completed",
    ),
    failedUploads: z.number().int().describe('Completions whose bytes did not match the declared SHA-256'),
    lastFailedUpload: z.strictObject({ at: Instant, sha256: Sha256, size: z.number().int() }).nullable(),
    createdAt: Instant,
    createdBy: z.string(),
    updatedAt: Instant,
  })
  .describe('A version of a model');

export const PresignedUploadAnswer = z
  .strictObject({
    url: z.url(),
    method: z.literal('PUT'),
    headers: z.record(z.string(), z.string()).describe('Headers the upload must send as given'),
    expiresAt: Instant,
  })
  .describe('A presigned PUT of the artifact');

export const RegisteredVersionAnswer = VersionAnswer.extend({
  upload: PresignedUploadAnswer.nullable().describe('Where to upload the artifact; null when it was given'),
}).describe('The registered version, and where to upload its artifact');

export const UploadUrlAnswer = VersionAnswer.extend({ upload: PresignedUploadAnswer }).describe(
  'The pending version and a fresh presigned upload',
);

// ---- deletions ---------------------------------------------------------------------------------

export const DeletionAnswer = z.strictObject({
  at: Instant,
  by: z.string(),
  reason: z.enum(['deleted', 'upload expired']),
});

const releasedArtifacts = z
  .strictObject({ released: z.number().int(), failed: z.number().int() })
  .describe('Artifacts handed to the lifecycle rule, and those whose tagging failed');

export const ModelDeletionAnswer = z
  .strictObject({ model: z.string(), deleted: DeletionAnswer, artifacts: releasedArtifacts })
  .describe('The model was deleted (its name stays taken)');

export const VersionDeletionAnswer = z
  .strictObject({
    model: z.string(),
    // Always present here; optional only because the service's type is shared with models.
    version: z.string().optional(),
    deleted: DeletionAnswer,
    artifacts: releasedArtifacts,
  })
  .describe('The version was deleted (its number is never reused)');

// ---- artifacts ---------------------------------------------------------------------------------

export const ArtifactUrlAnswer = z
  .strictObject({ url: z.url(), sha256: Sha256, expiresAt: Instant })
  .describe('A presigned download of the verified artifact');

export const VerifyAnswer = z
  .strictObject({ ok: z.literal(true), sha256: Sha256, size: z.number().int(), verifiedAt: Instant })
  .describe('The stored artifact matches its recorded SHA-256');

// ---- validation --------------------------------------------------------------------------------

export const ValidationCheckAnswer = z.strictObject({
  name: z.enum(['loads', 'schema', 'metrics', 'latency']),
  passed: z.boolean(),
  skipped: z.boolean().describe('An earlier check failed and this one could not run'),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).describe("The check's figures; their keys depend on the check"),
});

export const ThresholdResultAnswer = z.strictObject({
  metric: z.string(),
  bound: z.enum(['min', 'max']),
  threshold: z.number(),
  value: z.number().nullable().describe('Null when the model kind has no such metric'),
  passed: z.boolean(),
});

export const ValidationClassMetricsAnswer = z.strictObject({
  class: z.number().int().describe('Index into the classes'),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: z.number().int().describe('Rows whose true class is this one'),
});

export const ReportMetricsAnswer = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.enum(['binary', 'multiclass']),
    classes: z.array(z.union([z.string(), z.number()])).readonly(),
    rows: z.number().int(),
    accuracy: z.number(),
    precision: z.number(),
    recall: z.number(),
    f1: z.number(),
    average: z
      .enum(['binary', 'macro'])
      .describe('binary: of the positive class; macro: unweighted mean over classes'),
    positiveClass: z.number().int().nullable(),
    perClass: z.array(ValidationClassMetricsAnswer).readonly(),
    confusion: z
      .array(z.array(z.number().int()).readonly())
      .readonly()
      .describe('confusion[actual][predicted] = count'),
    logLoss: z.number().nullable(),
    auc: z
      .number()
      .nullable()
      .describe('ROC AUC of the positive class; null unless binary with both classes'),
  }),
  z.strictObject({
    kind: z.literal('regression'),
    rows: z.number().int(),
    rmse: z.number(),
    mae: z.number(),
    r2: z.number(),
  }),
]);

export const LatencyAnswer = z
  .strictObject({
    runs: z.number().int(),
    p50Ms: z.number(),
    p95Ms: z.number(),
    maxMs: z.number(),
    meanMs: z.number(),
    budgetMs: z.number().nullable(),
  })
  .describe('Timed single-row predictions');

export const ValidationReportAnswer = z
  .strictObject({
    passed: z.boolean(),
    checks: z.array(ValidationCheckAnswer).readonly(),
    metrics: ReportMetricsAnswer.nullable().describe('Null when the model did not score the dataset'),
    thresholds: z.array(ThresholdResultAnswer).readonly(),
    latency: LatencyAnswer.nullable(),
    model: z
      .strictObject({
        inputs: z.array(TensorInfoAnswer).readonly(),
        outputs: z.array(TensorInfoAnswer).readonly(),
      })
      .nullable()
      .describe("The graph's inputs and outputs, when it loaded"),
    rows: z.number().int(),
    ranAt: Instant,
  })
  .describe('The validation report, also stored on the version');

// ---- lifecycle and aliases ---------------------------------------------------------------------

export const AliasChangeAnswer = z
  .strictObject({ model: z.string(), aliases: AliasesAnswer })
  .describe("The model's aliases after the change");

export const ProductionChangeAnswer = z.strictObject({
  model: z.string(),
  at: Instant,
  id: z.string(),
  action: z.enum(['promote', 'rollback', 'archive']),
  version: z.string().optional().describe('Production after the change; absent when it was archived'),
  previous: z.string().optional().describe('Production before the change'),
  actor: z.string(),
  comment: z.string().optional(),
});

// ---- comparison --------------------------------------------------------------------------------

const comparedVersion = z.strictObject({
  version: z.string(),
  stage: z.enum(STAGES),
  status: VersionStatusAnswer,
  createdAt: Instant,
  sha256: Sha256,
});

export const VersionComparisonAnswer = z
  .strictObject({
    a: comparedVersion,
    b: comparedVersion,
    metrics: z
      .record(
        z.string(),
        z.strictObject({
          a: z.number().optional(),
          b: z.number().optional(),
          delta: z.number().optional().describe('b − a, when both have the metric'),
          relativeDelta: z.number().optional().describe('(b − a) / |a|, when both have it and a ≠ 0'),
        }),
      )
      .describe('Each metric of either version, by name'),
    params: z.strictObject({
      added: z.record(z.string(), z.unknown()),
      removed: z.record(z.string(), z.unknown()),
      changed: z.record(z.string(), z.strictObject({ a: z.unknown(), b: z.unknown() })),
      unchanged: z.array(z.string()),
    }),
    schema: z.strictObject({
      addedFeatures: z.array(z.string()),
      removedFeatures: z.array(z.string()),
      changedFeatures: z
        .record(z.string(), z.strictObject({ a: fromUnknown(FeatureAnswer), b: fromUnknown(FeatureAnswer) }))
        .describe('Features of both versions declared differently, by name'),
      outputChanged: z.boolean(),
    }),
    lineage: z.strictObject({
      a: z.array(z.string()).describe('The version and its ancestors, newest first'),
      b: z.array(z.string()),
      commonAncestor: z.string().optional(),
    }),
  })
  .describe('Two versions side by side: metrics, params, schemas and lineage');

export const REGISTRY_ANSWERS = {
  createModel: ModelAnswer,
  listModels: page(ModelAnswer).describe('One page of models, by name'),
  getModel: ModelDetailAnswer,
  updateModel: ModelAnswer,
  deleteModel: ModelDeletionAnswer,
  registerVersion: RegisteredVersionAnswer,
  listVersions: page(VersionAnswer).describe("One page of a model's versions"),
  getVersion: VersionAnswer,
  updateVersion: VersionAnswer,
  deleteVersion: VersionDeletionAnswer,
  newUploadUrl: UploadUrlAnswer,
  completeUpload: VersionAnswer,
  getArtifactUrl: ArtifactUrlAnswer,
  verifyArtifact: VerifyAnswer,
  validateVersion: ValidationReportAnswer,
  versionFairness: DatasetFairnessAnswer,
  transitionVersion: VersionAnswer,
  decideApproval: VersionAnswer,
  rollback: VersionAnswer,
  setAlias: AliasChangeAnswer,
  deleteAlias: AliasChangeAnswer,
  productionHistory: page(ProductionChangeAnswer).describe('Changes of production, newest first'),
  compareVersions: VersionComparisonAnswer,
} as const satisfies AnswerTable;
