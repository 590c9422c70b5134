/**
 * What a registration is made of, before it is committed: the artifact (inline bytes decoded
 * exactly, or the digest an upload must match), what the ONNX graph says (schemas declared or
 * derived), and the new version record with the model's counters after it.
 */
import type { Principal } from '../auth/principal.js';
import { integrityFailed, validationFailed } from '../kernel/errors.js';
import type { InputSchema, OutputSchema } from '../kernel/model-io.js';
import { type GraphSummary, readGraph, resolveSchemas, summarize } from '../onnx/signature.js';
import type { Imported } from './imports.js';
import { sha256Hex } from './records.js';
import { compareSemver } from './semver.js';
import type {
  DatasetRef,
  Framework,
  ImportFormat,
  ImportSource,
  Model,
  ModelVersion,
  RuntimeTarget,
  Tags,
} from './types.js';

export type ArtifactInput =
  | { readonly base64: string }
  | { readonly upload: true }
  /** An object (or, for MLflow, a directory ending in /) to import: s3://bucket/key. */
  | { readonly uri: string };

export interface RegisterVersionInput {
  readonly version?: string;
  readonly artifact: ArtifactInput;
  /** What the artifact is: an ONNX file (default), a SageMaker model.tar.gz, an MLflow model. */
  readonly format?: ImportFormat;
  readonly sha256?: string;
  readonly framework: Framework;
  readonly runtime: RuntimeTarget;
  readonly inputSchema?: InputSchema;
  readonly outputSchema?: OutputSchema;
  readonly metrics?: Record<string, number>;
  readonly params?: Record<string, unknown>;
  readonly dataset?: DatasetRef;
  readonly parent?: string;
  readonly tags?: Tags;
  readonly description?: string;
}

/** The artifact of a registration: inline bytes with their digest, or the digest an upload must match. */
export interface ResolvedArtifact {
  readonly bytes?: Uint8Array;
  readonly sha256: string;
}

/** What registration learns from an ONNX artifact's graph, recorded on the version. */
export interface ArtifactReading {
  readonly inputSchema: InputSchema;
  readonly outputSchema: OutputSchema;
  readonly graph: GraphSummary;
  readonly derivedSchemas?: readonly ('inputSchema' | 'outputSchema')[];
}

/**
 * Reads the graph and settles the schemas: declared ones must fit it, missing ones are derived.
 * Throws invalid_model for bytes that are not ONNX and validation_failed for a schema mismatch.
 */
export function readArtifact(
  bytes: Uint8Array,
  declared: { readonly inputSchema?: InputSchema; readonly outputSchema?: OutputSchema },
): ArtifactReading {
  const info = readGraph(bytes);
  const { inputSchema, outputSchema, derived } = resolveSchemas(bytes, info, declared);
  return {
    inputSchema,
    outputSchema,
    graph: summarize(info),
    ...(derived.length > 0 ? { derivedSchemas: derived } : {}),
  };
}

export async function resolveArtifact(input: RegisterVersionInput): Promise<ResolvedArtifact> {
  if ('uri' in input.artifact) throw new Error('an import is resolved by Artifacts.imported');
  if ('base64' in input.artifact) {
    const bytes = decodeBase64Strict(input.artifact.base64);
    const sha256 = await sha256Hex(bytes);
    if (input.sha256 !== undefined && input.sha256 !== sha256) {
      throw integrityFailed('the artifact does not match the declared sha256', {
        expected: input.sha256,
        actual: sha256,
      });
    }
    return { bytes, sha256 };
  }
  if (input.sha256 === undefined) {
    throw validationFailed('sha256 is required with artifact.upload, so the upload can be verified', {
      field: 'sha256',
    });
  }
  return { sha256: input.sha256 };
}

export function newVersion(
  principal: Principal,
  input: RegisterVersionInput & Partial<ArtifactReading> & { readonly source?: ImportSource },
  at: Pick<ModelVersion, 'model' | 'version' | 'status' | 'artifact'> & { readonly now: string },
): ModelVersion {
  const { now, ...identity } = at;
  return {
    ...identity,
    stage: 'draft',
    framework: input.framework,
    runtime: input.runtime,
    inputSchema: input.inputSchema,
    outputSchema: input.outputSchema,
    ...(input.graph ? { graph: input.graph } : {}),
    ...(input.derivedSchemas ? { derivedSchemas: input.derivedSchemas } : {}),
    ...(input.source ? { source: input.source } : {}),
    metrics: input.metrics ?? {},
    params: input.params ?? {},
    dataset: input.dataset,
    parent: input.parent,
    tags: input.tags ?? {},
    description: input.description ?? '',
    createdAt: now,
    createdBy: principal.id,
    updatedAt: now,
    revision: 1,
  };
}

/** The model after a version is added: one more version, and the highest numbers updated. */
export function withVersionAdded(current: Model, version: string, now: string): Model {
  const higher = (a: string | undefined) => (a && compareSemver(a, version) > 0 ? a : version);
  return {
    ...current,
    latestVersion: higher(current.latestVersion),
    highestVersion: higher(current.highestVersion ?? current.latestVersion),
    versionCount: current.versionCount + 1,
    updatedAt: now,
    revision: current.revision + 1,
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Node's decoder silently skips invalid characters; an artifact must decode exactly or not at all. */
export function decodeBase64Strict(text: string): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || !BASE64.test(compact)) {
    throw validationFailed('artifact.base64 is not valid base64', { field: 'artifact.base64' });
  }
  return Uint8Array.from(Buffer.from(compact, 'base64'));
}

/**
 * A registration with what an imported model declares: the caller's schemas win over the
 * signature's, and the caller's metrics and params over the run's, key by key.
 */
export function mergeImported(input: RegisterVersionInput, unpacked: Imported): RegisterVersionInput {
  const inputSchema = input.inputSchema ?? unpacked.inputSchema;
  const outputSchema = input.outputSchema ?? unpacked.outputSchema;
  return {
    ...input,
    ...(inputSchema ? { inputSchema } : {}),
    ...(outputSchema ? { outputSchema } : {}),
    metrics: { ...unpacked.metrics, ...input.metrics },
    params: { ...unpacked.params, ...input.params },
  };
}
