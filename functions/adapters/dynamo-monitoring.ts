/**
 * Monitoring state on the monitoring table. Per model (`MODEL#<name>`): the policy, baseline
 * pointers (the profiles themselves are JSON objects in S3), drift and quality reports and the
 * time of the last scheduled check. Alerts live under `ALERT#<id>` and are listed through gsi1; their id is
 * derived from the model, window and baseline, so the conditional put is what deduplicates them.
 */
import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../core/kernel/audit.js';
import { concurrentModification } from '../core/kernel/errors.js';
import type { Page, PageRequest } from '../core/kernel/paging.js';
import type { MonitoringPolicy } from '../core/monitoring/policy.js';
import type {
  AlertRecord,
  BaselineRef,
  MonitoringStore,
  QualityRecord,
  ReportRecord,
} from '../core/monitoring/ports.js';
import { semverSortKey } from '../core/registry/semver.js';
import {
  auditPut,
  auditTableOf,
  getItem,
  getWithoutKeys,
  gsi1Listing,
  prefixListing,
  queryWithoutKeys,
  sendIf,
  storableNumbers,
  transactIf,
  withoutKeys,
} from './dynamo-common.js';

const modelPk = (name: string) => `MODEL#${name}`;
const alertKey = (id: string) => ({ pk: `ALERT#${id}`, sk: 'ALERT' });
const KEY_ATTRS = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk', 'type']);

/** Reports and alerts carry statistics: stored as DynamoDB can hold them, flagged where changed. */
function storable<T extends object>(record: T): T & { clampedNumbers?: string[] } {
  const { value, clamped } = storableNumbers(record);
  return clamped.length ? { ...value, clampedNumbers: clamped } : value;
}

export class DynamoMonitoringStore implements MonitoringStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { monitoring: string; audit?: string },
  ) {}

  async getPolicy(model: string): Promise<MonitoringPolicy | undefined> {
    const item = await getItem<{ policy: MonitoringPolicy }>(this.db, this.tables.monitoring, {
      pk: modelPk(model),
      sk: 'POLICY',
    });
    return item?.policy;
  }

  async putPolicy(model: string, policy: MonitoringPolicy, audit: AuditEvent): Promise<void> {
    const auditTable = auditTableOf(this.tables, 'monitoring store');
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
          auditPut(auditTable, audit),
        ],
      }),
    );
  }

  async listPolicies(page: PageRequest): Promise<Page<{ model: string; policy: MonitoringPolicy }>> {
    return queryWithoutKeys(this.db, KEY_ATTRS, gsi1Listing(this.tables.monitoring, 'POLICIES'), page);
  }

  async putBaseline(ref: BaselineRef): Promise<void> {
    const sk = `BASELINE#${semverSortKey(ref.version)}#${ref.createdAt}#${ref.id}`;
    await this.put({ ...ref, pk: modelPk(ref.model), sk, type: 'baseline' });
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
    return item ? withoutKeys<BaselineRef>(item, KEY_ATTRS) : undefined;
  }

  async putReport(report: ReportRecord): Promise<void> {
    await this.put({
      ...storable(report),
      pk: modelPk(report.model),
      sk: `REPORT#${report.window.to}#${report.id}`,
      type: 'report',
    });
  }

  async listReports(model: string, page: PageRequest): Promise<Page<ReportRecord>> {
    const listing = prefixListing(this.tables.monitoring, modelPk(model), 'REPORT#', true);
    return queryWithoutKeys(this.db, KEY_ATTRS, listing, page);
  }

  async putQualityReport(report: QualityRecord): Promise<void> {
    // Keyed like drift reports: by window end, so the listing is a time series of windows.
    await this.put({
      ...storable(report),
      pk: modelPk(report.model),
      sk: `QUALITY#${report.window.to}#${report.id}`,
      type: 'quality',
    });
  }

  async listQualityReports(model: string, page: PageRequest): Promise<Page<QualityRecord>> {
    const listing = prefixListing(this.tables.monitoring, modelPk(model), 'QUALITY#', true);
    return queryWithoutKeys(this.db, KEY_ATTRS, listing, page);
  }

  async lastScheduledCheck(model: string): Promise<string | undefined> {
    const item = await getItem<{ at?: string }>(this.db, this.tables.monitoring, {
      pk: modelPk(model),
      sk: 'LASTCHECK',
    });
    return item?.at;
  }

  /** Claims a scheduled slot: only one scheduler run can move the time forward past `notAfter`. */
  async claimScheduledCheck(model: string, at: string, notAfter: string): Promise<boolean> {
    return sendIf(
      this.db,
      new UpdateCommand({
        TableName: this.tables.monitoring,
        Key: { pk: modelPk(model), sk: 'LASTCHECK' },
        UpdateExpression: 'SET #at = :at',
        ConditionExpression: 'attribute_not_exists(#at) OR #at <= :notAfter',
        ExpressionAttributeNames: { '#at': 'at' },
        ExpressionAttributeValues: { ':at': at, ':notAfter': notAfter },
      }),
    );
  }

  async putAlertOnce(alert: AlertRecord): Promise<boolean> {
    return sendIf(
      this.db,
      new PutCommand({
        TableName: this.tables.monitoring,
        Item: {
          ...storable(alert),
          ...alertKey(alert.id),
          gsi1pk: 'ALERTS',
          gsi1sk: `${alert.createdAt}#${alert.id}`,
          type: 'alert',
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getAlert(id: string): Promise<AlertRecord | undefined> {
    return getWithoutKeys<AlertRecord>(this.db, this.tables.monitoring, alertKey(id), KEY_ATTRS);
  }

  async markAlertPublished(id: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tables.monitoring,
        Key: alertKey(id),
        UpdateExpression: 'SET published = :t',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':t': true },
      }),
    );
  }

  async listAlerts(
    query: PageRequest & { model?: string; status?: 'open' | 'acknowledged' },
  ): Promise<Page<AlertRecord>> {
    const listing = gsi1Listing(this.tables.monitoring, 'ALERTS', true);
    const input = listing.input;
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
    return queryWithoutKeys(this.db, KEY_ATTRS, listing, query);
  }

  async ackAlert(
    id: string,
    by: string,
    at: string,
    comment: string | undefined,
    audit: AuditEvent,
  ): Promise<void> {
    const acked = await transactIf(this.db, [
      {
        Update: {
          TableName: this.tables.monitoring,
          Key: alertKey(id),
          UpdateExpression: `SET #status = :ack, acknowledgedBy = :by, acknowledgedAt = :at${comment ? ', ackComment = :c' : ''}`,
          ConditionExpression: 'attribute_exists(pk) AND #status = :open',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':ack': 'acknowledged',
            ':open': 'open',
            ':by': by,
            ':at': at,
            ...(comment ? { ':c': comment } : {}),
          },
        },
      },
      auditPut(auditTableOf(this.tables, 'monitoring store'), audit),
    ]);
    if (!acked) throw concurrentModification('the alert is not open');
  }

  private async put(item: Record<string, unknown>): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tables.monitoring, Item: item }));
  }
}
