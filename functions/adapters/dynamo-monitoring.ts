/**
 * Monitoring state on the monitoring table. Per model (`MODEL#<name>`): the policy, baseline
 * pointers (the profiles themselves are JSON objects in S3), drift reports and the time of the
 * last scheduled check. Alerts live under `ALERT#<id>` and are listed through gsi1; their id is
 * derived from the model, window and baseline, so the conditional put is what deduplicates them.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../core/kernel/audit.js';
import { concurrentModification } from '../core/kernel/errors.js';
import type { Page, PageRequest } from '../core/kernel/paging.js';
import type { MonitoringPolicy } from '../core/monitoring/policy.js';
import type { AlertRecord, BaselineRef, MonitoringStore, ReportRecord } from '../core/monitoring/ports.js';
import { semverSortKey } from '../core/registry/semver.js';
import { auditPut, queryPage } from './dynamo-common.js';

const modelPk = (name: string) => `MODEL#${name}`;
const KEY_ATTRS = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk', 'type']);

function strip<T>(item: Record<string, unknown>): T {
  return Object.fromEntries(Object.entries(item).filter(([k]) => !KEY_ATTRS.has(k))) as T;
}

export class DynamoMonitoringStore implements MonitoringStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { monitoring: string; audit?: string },
  ) {}

  async getPolicy(model: string): Promise<MonitoringPolicy | undefined> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.tables.monitoring,
        Key: { pk: modelPk(model), sk: 'POLICY' },
        ConsistentRead: true,
      }),
    );
    return res.Item ? (strip<{ policy: MonitoringPolicy }>(res.Item).policy as MonitoringPolicy) : undefined;
  }

  async putPolicy(model: string, policy: MonitoringPolicy, audit: AuditEvent): Promise<void> {
    if (!this.tables.audit) throw new Error('this monitoring store was built without the audit table');
    await this.db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.tables.monitoring,
              Item: {
                pk: modelPk(model),
                sk: 'POLICY',
                gsi1pk: 'POLICIES',
                gsi1sk: model,
                type: 'policy',
                model,
                policy,
              },
            },
          },
          auditPut(this.tables.audit, audit),
        ],
      }),
    );
  }

  async listPolicies(page: PageRequest): Promise<Page<{ model: string; policy: MonitoringPolicy }>> {
    return this.query(
      {
        TableName: this.tables.monitoring,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': 'POLICIES' },
      },
      page,
      ['pk', 'sk', 'gsi1pk', 'gsi1sk'],
      { gsi1pk: 'POLICIES' },
    );
  }

  async putBaseline(ref: BaselineRef): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tables.monitoring,
        Item: {
          ...ref,
          pk: modelPk(ref.model),
          sk: `BASELINE#${semverSortKey(ref.version)}#${ref.createdAt}#${ref.id}`,
          type: 'baseline',
        },
      }),
    );
  }

  async latestBaseline(model: string, version?: string): Promise<BaselineRef | undefined> {
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.tables.monitoring,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
        ExpressionAttributeValues: {
          ':p': modelPk(model),
          ':s': version ? `BASELINE#${semverSortKey(version)}#` : 'BASELINE#',
        },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = res.Items?.[0];
    return item ? strip<BaselineRef>(item) : undefined;
  }

  async putReport(report: ReportRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tables.monitoring,
        Item: {
          ...report,
          pk: modelPk(report.model),
          sk: `REPORT#${report.window.to}#${report.id}`,
          type: 'report',
        },
      }),
    );
  }

  async listReports(model: string, page: PageRequest): Promise<Page<ReportRecord>> {
    return this.query(
      {
        TableName: this.tables.monitoring,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
        ExpressionAttributeValues: { ':p': modelPk(model), ':s': 'REPORT#' },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      page,
      ['pk', 'sk'],
      { pk: modelPk(model) },
      /^REPORT#/,
    );
  }

  async lastScheduledCheck(model: string): Promise<string | undefined> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.tables.monitoring,
        Key: { pk: modelPk(model), sk: 'LASTCHECK' },
        ConsistentRead: true,
      }),
    );
    return res.Item?.at as string | undefined;
  }

  /** Claims a scheduled slot: only one scheduler run can move the time forward past `notAfter`. */
  async claimScheduledCheck(model: string, at: string, notAfter: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tables.monitoring,
          Key: { pk: modelPk(model), sk: 'LASTCHECK' },
          UpdateExpression: 'SET #at = :at',
          ConditionExpression: 'attribute_not_exists(#at) OR #at <= :notAfter',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':at': at, ':notAfter': notAfter },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async putAlertOnce(alert: AlertRecord): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tables.monitoring,
          Item: {
            ...alert,
            pk: `ALERT#${alert.id}`,
            sk: 'ALERT',
            gsi1pk: 'ALERTS',
            gsi1sk: `${alert.createdAt}#${alert.id}`,
            type: 'alert',
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async getAlert(id: string): Promise<AlertRecord | undefined> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.tables.monitoring,
        Key: { pk: `ALERT#${id}`, sk: 'ALERT' },
        ConsistentRead: true,
      }),
    );
    return res.Item ? strip<AlertRecord>(res.Item) : undefined;
  }

  async markAlertPublished(id: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tables.monitoring,
        Key: { pk: `ALERT#${id}`, sk: 'ALERT' },
        UpdateExpression: 'SET published = :t',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':t': true },
      }),
    );
  }

  async listAlerts(
    query: PageRequest & { model?: string; status?: 'open' | 'acknowledged' },
  ): Promise<Page<AlertRecord>> {
    const input: QueryCommandInput = {
      TableName: this.tables.monitoring,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': 'ALERTS' },
      ScanIndexForward: false,
    };
    const filters: string[] = [];
    if (query.model) {
      filters.push('model = :m');
      input.ExpressionAttributeValues![':m'] = query.model;
    }
    if (query.status) {
      filters.push('#status = :st');
      input.ExpressionAttributeNames = { '#status': 'status' };
      input.ExpressionAttributeValues![':st'] = query.status;
    }
    if (filters.length) input.FilterExpression = filters.join(' AND ');
    return this.query(input, query, ['pk', 'sk', 'gsi1pk', 'gsi1sk'], { gsi1pk: 'ALERTS' });
  }

  async ackAlert(
    id: string,
    by: string,
    at: string,
    comment: string | undefined,
    audit: AuditEvent,
  ): Promise<void> {
    if (!this.tables.audit) throw new Error('this monitoring store was built without the audit table');
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tables.monitoring,
                Key: { pk: `ALERT#${id}`, sk: 'ALERT' },
                UpdateExpression:
                  'SET #status = :ack, acknowledgedBy = :by, acknowledgedAt = :at, ackComment = :c',
                ConditionExpression: 'attribute_exists(pk) AND #status = :open',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: {
                  ':ack': 'acknowledged',
                  ':open': 'open',
                  ':by': by,
                  ':at': at,
                  ':c': comment ?? '',
                },
              },
            },
            auditPut(this.tables.audit, audit),
          ],
        }),
      );
    } catch (err) {
      if (err instanceof TransactionCanceledException) throw concurrentModification('the alert is not open');
      throw err;
    }
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
