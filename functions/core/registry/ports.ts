/**
 * What the registry needs from the outside world. functions/adapters implements these on
 * DynamoDB and S3; test/support has in-memory versions with the same semantics.
 */

import type { AuditEvent } from '../kernel/audit.js';
import type { Page, PageRequest } from '../kernel/paging.js';
import type { Model, ModelVersion, ProductionChange, Stage } from './types.js';

/**
 * One write in an atomic commit. `expectRevision` makes the write conditional on the stored
 * item's revision (optimistic concurrency); `ifAbsent` makes it conditional on the item not
 * existing. A failed condition aborts the whole commit with concurrentModification() (or, for
 * ifAbsent, AlreadyExists).
 */
export type WriteOp =
  | {
      readonly kind: 'model';
      readonly item: Model;
      readonly expectRevision?: number;
      readonly ifAbsent?: true;
    }
  | {
      readonly kind: 'version';
      readonly item: ModelVersion;
      readonly expectRevision?: number;
      readonly ifAbsent?: true;
    }
  | { readonly kind: 'productionChange'; readonly item: ProductionChange }
  | { readonly kind: 'audit'; readonly item: AuditEvent };

export interface VersionQuery extends PageRequest {
  readonly stage?: Stage;
}

export interface AuditQuery extends PageRequest {
  readonly model?: string;
  readonly actor?: string;
  /** ISO time; events at or after it. */
  readonly since?: string;
}

export interface RegistryStore {
  /** Applies every op or none (a DynamoDB transaction on AWS). */
  commit(ops: readonly WriteOp[]): Promise<void>;
  getModel(name: string): Promise<Model | undefined>;
  listModels(page: PageRequest): Promise<Page<Model>>;
  getVersion(model: string, version: string): Promise<ModelVersion | undefined>;
  /** Versions in ascending version order. */
  listVersions(model: string, query: VersionQuery): Promise<Page<ModelVersion>>;
  /** Newest first. */
  listProductionChanges(model: string, page: PageRequest): Promise<Page<ProductionChange>>;
}

export interface AuditReader {
  /** Newest first. */
  list(query: AuditQuery): Promise<Page<AuditEvent>>;
}

export interface StoredObject {
  readonly sha256: string;
  readonly size: number;
}

export interface ArtifactStore {
  /** Stores bytes with their SHA-256 in the object's metadata. */
  put(key: string, bytes: Uint8Array, sha256: string): Promise<void>;
  /** Streams the stored object and computes its SHA-256; undefined when there is no object. */
  digest(key: string): Promise<StoredObject | undefined>;
  /** Reads the whole object (for loading a model); undefined when there is no object. */
  get(key: string): Promise<Uint8Array | undefined>;
  presignPut(key: string, sha256: string, expiresInSeconds: number): Promise<PresignedRequest>;
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
  delete(key: string): Promise<void>;
  /**
   * The key of an object this store holds named by `uri` (`s3://<its bucket>/<key>`), or
   * undefined when the URI points anywhere else.
   */
  keyOf(uri: string): string | undefined;
}

export interface PresignedRequest {
  readonly url: string;
  readonly method: 'PUT';
  /** Headers the client must send with the upload. */
  readonly headers: Record<string, string>;
  readonly expiresAt: string;
}
