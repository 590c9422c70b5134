import type { InputSchema, OutputSchema } from '../kernel/model-io.js';

export const STAGES = ['draft', 'testing', 'staging', 'production', 'archived'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * pending: waiting for a presigned upload to be completed; ready: artifact verified;
 * unusable: the artifact failed a checksum check and may never serve or be promoted.
 */
export type VersionStatus = 'pending' | 'ready' | 'unusable';

export type Tags = Record<string, string>;

export interface Model {
  readonly name: string;
  readonly description: string;
  readonly tags: Tags;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
  /** The one production version, if any. Changed only together with the versions' stages. */
  readonly productionVersion?: string;
  /** Highest registered version; the base for auto-increment. */
  readonly latestVersion?: string;
  /** Named pointers set by people (core/registry/aliases.ts); production and latest are above. */
  readonly aliases?: Readonly<Record<string, string>>;
  readonly versionCount: number;
  /** When true, production needs a passing validation report. */
  readonly requireValidation: boolean;
  /**
   * When production's artifact fails its checksum or cannot be loaded, serve the previous
   * production version instead (default true; absent on models stored before it existed).
   */
  readonly fallback?: boolean;
  /** Optimistic-concurrency counter: every write of the model or its stages increments it. */
  readonly revision: number;
}

export interface ArtifactRef {
  readonly key: string;
  /** Lower-case hex SHA-256: declared (pending) or verified (ready). */
  readonly sha256: string;
  readonly size?: number;
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

export interface ModelVersion {
  readonly model: string;
  readonly version: string;
  readonly status: VersionStatus;
  readonly stage: Stage;
  readonly framework: Framework;
  readonly runtime: RuntimeTarget;
  readonly inputSchema?: InputSchema;
  readonly outputSchema?: OutputSchema;
  readonly metrics: Record<string, number>;
  readonly params: Record<string, unknown>;
  readonly dataset?: DatasetRef;
  readonly parent?: string;
  readonly tags: Tags;
  readonly description: string;
  readonly artifact: ArtifactRef;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
  readonly approval?: Approval;
  readonly validation?: ValidationSummary;
  /** Why the version became unusable. */
  readonly unusableReason?: string;
  readonly lastVerifiedAt?: string;
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
