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

export interface TagFilter {
  readonly key: string;
  readonly value: string;
}

/** Filters of the model listing; a page holds up to `limit` models that match (matchesModelQuery). */
export interface ModelQuery extends PageRequest {
  /** Case-insensitive substring of the name or the description. */
  readonly q?: string;
  /** Every pair must be among the model's tags. */
  readonly tags?: readonly TagFilter[];
}

export interface ReadOptions {
  /** Also return a soft-deleted item (deletion itself, and telling a deleted name apart). */
  readonly includeDeleted?: boolean;
}

/** A pending version whose upload deadline has passed. */
export interface ExpiredUpload {
  readonly model: string;
  readonly version: string;
  readonly uploadExpiresAt: string;
}

export interface AuditQuery extends PageRequest {
  readonly model?: string;
  readonly actor?: string;
  /** ISO time; events at or after it. */
  readonly since?: string;
}

/**
 * Soft-deleted models and versions are invisible to every read unless `includeDeleted` is asked
 * for, so the services built on this port (inference, monitoring…) never see them.
 */
export interface RegistryStore {
  /** Applies every op or none (a DynamoDB transaction on AWS). */
  commit(ops: readonly WriteOp[]): Promise<void>;
  getModel(name: string, options?: ReadOptions): Promise<Model | undefined>;
  /** Models by name; pages are full (up to `limit` matches) unless the listing ends. */
  listModels(query: ModelQuery): Promise<Page<Model>>;
  getVersion(model: string, version: string, options?: ReadOptions): Promise<ModelVersion | undefined>;
  /** Versions in ascending version order. */
  listVersions(model: string, query: VersionQuery): Promise<Page<ModelVersion>>;
  /** Pending versions (not deleted) whose upload deadline is before `before`, earliest first. */
  listExpiredUploads(before: string, page: PageRequest): Promise<Page<ExpiredUpload>>;
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

/** The object version a write created: S3's VersionId in a versioned bucket, absent elsewhere. */
export interface WrittenObject {
  readonly versionId?: string;
}

/**
 * `versionId`, where a method takes one, reads that version of the object rather than whatever
 * the key holds now: a version's artifact is pinned to the object version it was verified as.
 */
export interface ArtifactStore {
  /** Stores bytes with their SHA-256 in the object's metadata (S3 also checks them against it). */
  put(key: string, bytes: Uint8Array, sha256: string): Promise<WrittenObject>;
  /** Streams the stored object and computes its SHA-256; undefined when there is no object. */
  digest(key: string, versionId?: string): Promise<StoredObject | undefined>;
  /** Reads the whole object (for loading a model); undefined when there is no object. */
  get(key: string, versionId?: string): Promise<Uint8Array | undefined>;
  /** Copies the object at `from` to `to` inside the store; undefined when `from` has no object. */
  copy(from: string, to: string): Promise<WrittenObject | undefined>;
  /**
   * A URL that writes `key` once, with exactly the bytes whose SHA-256 is `sha256`, where the
   * store can enforce it (S3: a conditional write and a checksum, both signed into the URL).
   */
  presignPut(key: string, sha256: string, expiresInSeconds: number): Promise<PresignedRequest>;
  presignGet(key: string, expiresInSeconds: number, versionId?: string): Promise<string>;
  delete(key: string): Promise<void>;
  /**
   * Hands a deleted version's object to the bucket's lifecycle rule, which removes it after the
   * retention period (an object tag on S3). A missing object is not an error.
   */
  release(key: string): Promise<void>;

  /**
   * The key of an object this store holds named by `uri` (`s3://<its bucket>/<key>`), or
   * undefined when the URI points anywhere else.
   */
  keyOf(uri: string): string | undefined;
}

/** A source object of an import, with what S3 says about it. */
export interface ImportObject {
  readonly bytes: Uint8Array;
  readonly size: number;
  readonly etag?: string;
}

/**
 * Objects a version may be imported from, named by s3:// URIs: Serval's own bucket under
 * `imports/`, and the buckets the deployment lists (SERVAL_IMPORT_BUCKETS, docs/import.md).
 */
export interface ImportObjects {
  /** Why `uri` may not be read, or undefined when it may. */
  refusal(uri: string): string | undefined;
  /** The object, or undefined when there is none. */
  get(uri: string): Promise<ImportObject | undefined>;
  /** Every object under a prefix URI (an MLflow directory), by path relative to it. */
  readDirectory(uri: string, maxBytes: number): Promise<Map<string, Uint8Array>>;
}

export interface PresignedRequest {
  readonly url: string;
  readonly method: 'PUT';
  /** Headers the client must send with the upload. */
  readonly headers: Record<string, string>;
  readonly expiresAt: string;
}
