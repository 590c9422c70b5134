/**
 * RegistryStore and AuditReader on DynamoDB. One table holds a model's item, its versions and its
 * production history under the partition `MODEL#<name>`; audit events live in their own table.
 * commit() is a TransactWriteItems whose conditions implement the core's optimistic concurrency.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  type QueryCommandInput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../core/kernel/audit.js';
import { concurrentModification } from '../core/kernel/errors.js';
import type { Page, PageRequest } from '../core/kernel/paging.js';
import type {
  AuditQuery,
  AuditReader,
  RegistryStore,
  VersionQuery,
  WriteOp,
} from '../core/registry/ports.js';
import { semverSortKey } from '../core/registry/semver.js';
import type { Model, ModelVersion, ProductionChange } from '../core/registry/types.js';
import { AUDIT_FEED, auditPartition, auditPut, queryPage, type TransactItem } from './dynamo-common.js';

export interface DynamoRegistryTables {
  readonly registry: string;
  /** Needed to commit audited changes and to list audit events; read-only users may omit it. */
  readonly audit?: string;
}

const MODEL_SK = '#MODEL';
const modelPk = (name: string) => `MODEL#${name}`;
const versionSk = (version: string) => `VERSION#${semverSortKey(version)}`;
const auditPk = auditPartition;
/** Audit sort keys: `<ISO time>#<ULID>`. */
const AUDIT_SK = /^\d{4}-\d{2}-\d{2}T[\d:.]+Z#[0-9A-HJKMNP-TV-Z]{26}$/;

const KEY_ATTRS = ['pk', 'sk', 'type', 'gsi1pk', 'gsi1sk', 'feed'];

function strip<T>(item: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!KEY_ATTRS.includes(k)) out[k] = v;
  return out as T;
}

export class DynamoRegistryStore implements RegistryStore, AuditReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: DynamoRegistryTables,
  ) {}

  private get auditTable(): string {
    if (!this.tables.audit) throw new Error('this registry store was built without the audit table');
    return this.tables.audit;
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
            Item: { ...op.item, pk: modelPk(op.item.model), sk: versionSk(op.item.version), type: 'version' },
            ...condition({}),
          },
        };
      case 'productionChange':
        return {
          Put: {
            TableName: this.tables.registry,
            Item: {
              ...op.item,
              pk: modelPk(op.item.model),
              sk: `PROD#${op.item.at}#${op.item.id}`,
              type: 'production',
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        };
      case 'audit':
        return auditPut(this.auditTable, op.item);
    }
  }

  async getModel(name: string): Promise<Model | undefined> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.tables.registry,
        Key: { pk: modelPk(name), sk: MODEL_SK },
        ConsistentRead: true,
      }),
    );
    return res.Item ? strip<Model>(res.Item) : undefined;
  }

  async listModels(page: PageRequest): Promise<Page<Model>> {
    return this.query<Model>(
      {
        TableName: this.tables.registry,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': 'MODELS' },
      },
      page,
      ['pk', 'sk', 'gsi1pk', 'gsi1sk'],
      { gsi1pk: 'MODELS' },
    );
  }

  async getVersion(model: string, version: string): Promise<ModelVersion | undefined> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.tables.registry,
        Key: { pk: modelPk(model), sk: versionSk(version) },
        ConsistentRead: true,
      }),
    );
    return res.Item ? strip<ModelVersion>(res.Item) : undefined;
  }

  async listVersions(model: string, query: VersionQuery): Promise<Page<ModelVersion>> {
    const input: QueryCommandInput = {
      TableName: this.tables.registry,
      KeyConditionExpression: 'pk = :p AND begins_with(sk, :v)',
      ExpressionAttributeValues: { ':p': modelPk(model), ':v': 'VERSION#' },
      ConsistentRead: true,
    };
    if (query.stage) {
      input.FilterExpression = '#stage = :stage';
      input.ExpressionAttributeNames = { '#stage': 'stage' };
      input.ExpressionAttributeValues = { ...input.ExpressionAttributeValues, ':stage': query.stage };
    }
    return this.query<ModelVersion>(input, query, ['pk', 'sk'], { pk: modelPk(model) }, /^VERSION#/);
  }

  async listProductionChanges(model: string, page: PageRequest): Promise<Page<ProductionChange>> {
    return this.query<ProductionChange>(
      {
        TableName: this.tables.registry,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
        ExpressionAttributeValues: { ':p': modelPk(model), ':s': 'PROD#' },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      page,
      ['pk', 'sk'],
      { pk: modelPk(model) },
      /^PROD#/,
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
    return this.query<AuditEvent>(input, query, cursorAttrs, expect, AUDIT_SK);
  }

  private query<T>(
    input: QueryCommandInput,
    page: PageRequest,
    cursorAttrs: readonly string[],
    expect: Record<string, string>,
    sortKeyPattern?: RegExp,
  ): Promise<Page<T>> {
    return queryPage(this.db, input, page, { cursorAttrs, expect, sortKeyPattern, map: (i) => strip<T>(i) });
  }
}
