/**
 * RegistryStore and AuditReader on DynamoDB. One table holds a model's item, its versions and its
 * production history under the partition `MODEL#<name>`; audit events live in their own table.
 * commit() is a TransactWriteItems whose conditions implement the core's optimistic concurrency.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  type QueryCommandInput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../core/kernel/audit.js';
import { concurrentModification } from '../core/kernel/errors.js';
import type { Page, PageRequest } from '../core/kernel/paging.js';
import type {
  AuditQuery,
  AuditReader,
  ExpiredUpload,
  ModelQuery,
  ReadOptions,
  RegistryStore,
  VersionQuery,
  WriteOp,
} from '../core/registry/ports.js';
import { semverSortKey } from '../core/registry/semver.js';
import { matchesModelQuery, notDeleted } from '../core/registry/store-reads.js';
import type { Model, ModelVersion, ProductionChange } from '../core/registry/types.js';
import {
  AUDIT_FEED,
  auditPartition,
  auditPut,
  auditTableOf,
  getWithoutKeys,
  gsi1Listing,
  type Listing,
  prefixListing,
  primeGetItem,
  putIfAbsent,
  queryFilteredPage,
  queryWithoutKeys,
  type TransactItem,
} from './dynamo-common.js';

export interface DynamoRegistryTables {
  readonly registry: string;
  /** Needed to commit audited changes and to list audit events; read-only users may omit it. */
  readonly audit?: string;
}

const MODEL_SK = '#MODEL';
const modelPk = (name: string) => `MODEL#${name}`;
const versionSk = (version: string) => `VERSION#${semverSortKey(version)}`;
const auditPk = auditPartition;
/**
 * Pending uploads in gsi1, ordered by deadline: a sparse index (only pending, undeleted versions
 * carry the attributes), so the integrity sweep finds the expired ones without reading the rest.
 */
const PENDING_LISTING = 'PENDING_UPLOADS';

function pendingIndex(v: ModelVersion): Record<string, string> {
  if (v.status !== 'pending' || v.deleted || v.uploadExpiresAt === undefined) return {};
  return { gsi1pk: PENDING_LISTING, gsi1sk: `${v.uploadExpiresAt}#${v.model}#${v.version}` };
}
/** Audit sort keys: `<ISO time>#<ULID>`. */
const AUDIT_SK = /^\d{4}-\d{2}-\d{2}T[\d:.]+Z#[0-9A-HJKMNP-TV-Z]{26}$/;

const KEY_ATTRS = new Set(['pk', 'sk', 'type', 'gsi1pk', 'gsi1sk', 'feed']);

export class DynamoRegistryStore implements RegistryStore, AuditReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: DynamoRegistryTables,
  ) {}

  private get auditTable(): string {
    return auditTableOf(this.tables, 'registry store');
  }

  async commit(ops: readonly WriteOp[]): Promise<void> {
    const items = ops.map((op) => this.toTransactItem(op));
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (err) {
      if (err instanceof TransactionCanceledException) {
        const reasons = err.CancellationReasons ?? [];
        const failed = reasons.flatMap((r, i) => (r.Code === 'ConditionalCheckFailed' ? [i] : []));
        const raced = reasons.some((r) => r.Code === 'TransactionConflict');
        if (failed.length > 0 || raced) {
          throw concurrentModification(undefined, { failedOps: failed.map((i) => ops[i]?.kind) });
        }
      }
      throw err;
    }
  }

  private toTransactItem(op: WriteOp): TransactItem {
    const condition = (extra: Record<string, unknown>) => {
      if ('ifAbsent' in op && op.ifAbsent) return { ConditionExpression: 'attribute_not_exists(pk)' };
      if ('expectRevision' in op && op.expectRevision !== undefined) {
        return {
          ConditionExpression: '#revision = :revision',
          ExpressionAttributeNames: { '#revision': 'revision' },
          ExpressionAttributeValues: { ':revision': op.expectRevision },
        };
      }
      return extra;
    };
    switch (op.kind) {
      case 'model':
        return {
          Put: {
            TableName: this.tables.registry,
            Item: {
              ...op.item,
              pk: modelPk(op.item.name),
              sk: MODEL_SK,
              type: 'model',
              gsi1pk: 'MODELS',
              gsi1sk: op.item.name,
            },
            ...condition({}),
          },
        };
      case 'version':
        return {
          Put: {
            TableName: this.tables.registry,
            Item: {
              ...op.item,
              pk: modelPk(op.item.model),
              sk: versionSk(op.item.version),
              type: 'version',
              ...pendingIndex(op.item),
            },
            ...condition({}),
          },
        };
      case 'productionChange':
        return putIfAbsent(this.tables.registry, {
          ...op.item,
          pk: modelPk(op.item.model),
          sk: `PROD#${op.item.at}#${op.item.id}`,
          type: 'production',
        });
      case 'audit':
        return auditPut(this.auditTable, op.item);
    }
  }

  /**
   * The SDK work of this store's first read, done with no request made (sdk-priming.ts): the read
   * of a model's item, which every prediction's route starts with.
   */
  prime(name: string): Promise<boolean> {
    return primeGetItem(this.db, this.tables.registry, { pk: modelPk(name), sk: MODEL_SK });
  }

  async getModel(name: string, options: ReadOptions = {}): Promise<Model | undefined> {
    const model = await getWithoutKeys<Model>(
      this.db,
      this.tables.registry,
      { pk: modelPk(name), sk: MODEL_SK },
      KEY_ATTRS,
    );
    return options.includeDeleted ? model : notDeleted(model);
  }

  async listModels(query: ModelQuery): Promise<Page<Model>> {
    return queryFilteredPage<Model>(
      this.db,
      KEY_ATTRS,
      gsi1Listing(this.tables.registry, 'MODELS'),
      query,
      (m) => matchesModelQuery(m, query),
    );
  }

  async getVersion(
    model: string,
    version: string,
    options: ReadOptions = {},
  ): Promise<ModelVersion | undefined> {
    const item = await getWithoutKeys<ModelVersion>(
      this.db,
      this.tables.registry,
      { pk: modelPk(model), sk: versionSk(version) },
      KEY_ATTRS,
    );
    return options.includeDeleted ? item : notDeleted(item);
  }

  async listVersions(model: string, query: VersionQuery): Promise<Page<ModelVersion>> {
    return queryFilteredPage<ModelVersion>(
      this.db,
      KEY_ATTRS,
      prefixListing(this.tables.registry, modelPk(model), 'VERSION#'),
      query,
      (v) => !v.deleted && (!query.stage || v.stage === query.stage),
    );
  }

  async listExpiredUploads(before: string, page: PageRequest): Promise<Page<ExpiredUpload>> {
    const listing: Listing = {
      input: {
        TableName: this.tables.registry,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p AND gsi1sk < :before',
        ExpressionAttributeValues: { ':p': PENDING_LISTING, ':before': before },
      },
      cursor: {
        cursorAttrs: ['pk', 'sk', 'gsi1pk', 'gsi1sk'],
        expect: { gsi1pk: PENDING_LISTING },
        sortKeyPattern: /^VERSION#/,
      },
    };
    const found = await this.query<ModelVersion>(listing, page);
    return {
      items: found.items.map((v) => ({
        model: v.model,
        version: v.version,
        uploadExpiresAt: v.uploadExpiresAt ?? '',
      })),
      nextCursor: found.nextCursor,
    };
  }

  async listProductionChanges(model: string, page: PageRequest): Promise<Page<ProductionChange>> {
    return this.query<ProductionChange>(
      prefixListing(this.tables.registry, modelPk(model), 'PROD#', true),
      page,
    );
  }

  async list(query: AuditQuery): Promise<Page<AuditEvent>> {
    // DynamoDB refuses an empty string in a key condition, so the time bound is added only when given.
    const since = query.since;
    const range = since === undefined ? '' : ' AND sk >= :since';
    const sinceValue = since === undefined ? {} : { ':since': since };
    const base: QueryCommandInput = { TableName: this.auditTable, ScanIndexForward: false };
    let input: QueryCommandInput;
    let cursorAttrs: string[];
    let expect: Record<string, string>;
    if (query.model !== undefined) {
      input = {
        ...base,
        KeyConditionExpression: `pk = :p${range}`,
        ExpressionAttributeValues: { ':p': auditPk(query.model), ...sinceValue },
      };
      cursorAttrs = ['pk', 'sk'];
      expect = { pk: auditPk(query.model) };
    } else if (query.actor !== undefined) {
      input = {
        ...base,
        IndexName: 'byActor',
        KeyConditionExpression: `actor = :a${range}`,
        ExpressionAttributeValues: { ':a': query.actor, ...sinceValue },
      };
      cursorAttrs = ['pk', 'sk', 'actor'];
      expect = { actor: query.actor };
    } else {
      input = {
        ...base,
        IndexName: 'byTime',
        KeyConditionExpression: `feed = :f${range}`,
        ExpressionAttributeValues: { ':f': AUDIT_FEED, ...sinceValue },
      };
      cursorAttrs = ['pk', 'sk', 'feed'];
      expect = { feed: AUDIT_FEED };
    }
    if (query.model !== undefined && query.actor !== undefined) {
      input.FilterExpression = 'actor = :a';
      input.ExpressionAttributeValues = { ...input.ExpressionAttributeValues, ':a': query.actor };
    }
    return this.query<AuditEvent>(
      { input, cursor: { cursorAttrs, expect, sortKeyPattern: AUDIT_SK } },
      query,
    );
  }

  private query<T>(listing: Listing, page: PageRequest): Promise<Page<T>> {
    return queryWithoutKeys<T>(this.db, KEY_ATTRS, listing, page);
  }
}
