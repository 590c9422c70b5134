import type { InputSchema, OutputSchema } from '../kernel/model-io.js';
import type { GraphSummary } from '../onnx/signature.js';
import type { PromotionGate } from './promotion-gate.js';
import type { Thresholds } from './validation-report.js';

export const STAGES = ['draft', 'testing', 'staging', 'production', 'archived'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * pending: waiting for a presigned upload to be completed (a failed completion leaves it pending,
 * so the right bytes can be uploaded again until it expires); ready: artifact verified;
 * unusable: a verified artifact later failed a checksum check and may never serve or be promoted.
 */
export type VersionStatus = 'pending' | 'ready' | 'unusable';

export type Tags = Record<string, string>;

/**
 * A soft delete: the item stays (with its audit trail and its number, which is never reused) but
 * every read and listing treats it as gone; its artifact is tagged for the bucket's lifecycle rule.
 */
export interface Deletion {
  readonly at: string;
  readonly by: string;
  /** 'deleted' by a person, or 'upload expired' by the integrity sweep. */
  readonly reason: 'deleted' | 'upload expired';
}

export interface Model {
  readonly name: string;
  readonly description: string;
  readonly tags: Tags;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
  /** The one production version, if any. Changed only together with the versions' stages. */
  readonly productionVersion?: string;
  /** Highest version that is not deleted (what the alias `latest` names). */
  readonly latestVersion?: string;
  /**
   * Highest version ever registered, deleted ones included: the base for auto-increment, so a
   * deleted number is never handed out again. Absent on models stored before deletion existed
   * (latestVersion was the same then).
   */
  readonly highestVersion?: string;
  /** Named pointers set by people (core/registry/aliases.ts); production and latest are above. */
  readonly aliases?: Readonly<Record<string, string>>;
  /** Versions that are not deleted. */
  readonly versionCount: number;
  /**
   * When true, production needs a passing validation report that meets `minValidationRows` and
   * `requiredThresholds`. This and the other promotion gates change only with the admin role
   * (GATE_FIELDS in models.ts).
   */
  readonly requireValidation: boolean;
  /** The fewest validation rows a report needs to count for promotion (absent: any number). */
  readonly minValidationRows?: number;
  /** Bounds on the report's metrics that a report needs to count for promotion (absent: none). */
  readonly requiredThresholds?: Thresholds;
  /** Fairness bounds and the quality-alert rule of the promotion gate (promotion-gate.ts). */
  readonly promotionGate?: PromotionGate;
  /**
   * When production's artifact fails its checksum or cannot be loaded, serve the previous
   * production version instead (default true; absent on models stored before it existed).
   */
  readonly fallback?: boolean;
  readonly deleted?: Deletion;
  /**
   * When true, a version that cannot serve (no usable schema, or an artifact never read as a
   * model) may still be promoted to production. Default false (absent on older models).
   */
  readonly allowUnservableProduction?: boolean;
  /** Optimistic-concurrency counter: every write of the model or its stages increments it. */
  readonly revision: number;
}

export interface ArtifactRef {
  /**
   * Pending: the upload key its presigned URL writes (under `uploads/`). Ready: a key under
   * `models/` that Serval wrote itself (inline bytes, or the completed upload copied there) and
   * never issued a URL for.
   */
  readonly key: string;
  /** Lower-case hex SHA-256: declared (pending) or verified (ready). */
  readonly sha256: string;
  readonly size?: number;
  /**
   * The S3 object version the SHA-256 was verified on (versioned bucket); every read, download
   * and verification uses it, so later writes to the key change nothing Serval serves. Absent
   * where the store has no versions (s3rver) and on versions stored before pinning.
   */
  readonly versionId?: string;
}

export interface DatasetRef {
  readonly uri: string;
  readonly sha256?: string;
  readonly rows?: number;
  /**
   * True when Serval computed `sha256` from the stored dataset itself (a dataset in its own
   * artifacts bucket); false or absent when it is the registrant's claim.
   */
  readonly verified?: boolean;
}

export type Framework = 'onnx' | 'sagemaker';
export type RuntimeTarget =
  | { readonly type: 'lambda' }
  | { readonly type: 'sagemaker'; readonly endpointName: string };

export interface Approval {
  readonly decision: 'approved' | 'rejected';
  readonly by: string;
  readonly byName: string;
  readonly comment: string;
  readonly at: string;
}

export interface ValidationSummary {
  readonly passed: boolean;
  readonly ranAt: string;
  readonly by: string;
  readonly report: Record<string, unknown>;
}

/** A fairness run on a dataset (POST …/versions/{v}/fairness), one per attribute: the latest stands. */
export interface FairnessSummary {
  readonly ranAt: string;
  readonly by: string;
  readonly report: Record<string, unknown>;
}

export interface ModelVersion {
  readonly model: string;
  readonly version: string;
  readonly status: VersionStatus;
  readonly stage: Stage;
  readonly framework: Framework;
  readonly runtime: RuntimeTarget;
  readonly inputSchema?: InputSchema;
  readonly outputSchema?: OutputSchema;
  /**
   * The ONNX graph as read when the artifact was registered or its upload completed (inputs,
   * outputs, opsets, producer). Absent for SageMaker-framework versions, pending uploads, and
   * versions registered before Serval read graphs.
   */
  readonly graph?: GraphSummary;
  /** Which schemas Serval derived from the graph because none was declared. */
  readonly derivedSchemas?: readonly ('inputSchema' | 'outputSchema')[];
  readonly metrics: Record<string, number>;
  readonly params: Record<string, unknown>;
  readonly dataset?: DatasetRef;
  readonly parent?: string;
  readonly tags: Tags;
  readonly description: string;
  readonly artifact: ArtifactRef;
  /** Where an imported version came from (an S3 object, a SageMaker or MLflow archive). */
  readonly source?: ImportSource;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
  readonly approval?: Approval;
  readonly validation?: ValidationSummary;
  /** Fairness runs on datasets by attribute, which the promotion gate's fairness rules read. */
  readonly fairness?: Readonly<Record<string, FairnessSummary>>;
  /** Why the version became unusable. */
  readonly unusableReason?: string;
  readonly lastVerifiedAt?: string;
  /** A pending version's deadline: after it the upload can no longer be completed, and the sweep deletes it. */
  readonly uploadExpiresAt?: string;
  /** Completions of a pending upload whose bytes did not match the declared SHA-256. */
  readonly failedUploads?: number;
  readonly lastFailedUpload?: { readonly at: string; readonly sha256: string; readonly size: number };
  readonly deleted?: Deletion;
  readonly revision: number;
}

export interface ProductionChange {
  readonly model: string;
  readonly at: string;
  readonly id: string;
  readonly action: 'promote' | 'rollback' | 'archive';
  /** The production version after the change (absent when production was archived). */
  readonly version?: string;
  /** The production version before the change. */
  readonly previous?: string;
  readonly actor: string;
  readonly comment?: string;
}

export const IMPORT_FORMATS = ['onnx', 'sagemaker-tar', 'mlflow'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** What a version records about the file it was imported from. */
export interface ImportSource {
  readonly format: ImportFormat;
  /** s3:// URI of the object or MLflow directory; absent for inline bytes and uploads. */
  readonly uri?: string;
  /** SHA-256 of the source object (the archive, or the ONNX file); absent for an S3 directory. */
  readonly sha256?: string;
  readonly size?: number;
  /** The S3 ETag of the source object when it was read. */
  readonly etag?: string;
  /** Files of an archive or directory that Serval read. */
  readonly files?: readonly string[];
  /** MLflow's ids of the model, when the MLmodel file has them. */
  readonly mlflow?: { readonly runId?: string; readonly modelUuid?: string; readonly version?: string };
}
