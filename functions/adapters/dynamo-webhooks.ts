/**
 * WebhookStore and DeliveryLog on the monitoring table.
 *
 *   webhook   pk WEBHOOK#<id>  sk WEBHOOK                        gsi1pk WEBHOOKS  gsi1sk <createdAt>#<id>
 *   delivery  pk WEBHOOK#<id>  sk DELIVERY#<eventAt>#<deliveryId>
 *
 * A delivery record lives in its webhook's partition, is written only while the webhook exists
 * (a transaction's condition check) and is removed with it. The item holds the signing secret:
 * on AWS the table is encrypted at rest with KMS, and only the functions bound to it (BINDINGS)
 * can read it.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../core/kernel/audit.js';
import { conflict } from '../core/kernel/errors.js';
import type { Page, PageRequest } from '../core/kernel/paging.js';
import type { DeliveryLog, WebhookStore } from '../core/webhooks/ports.js';
import type { DeliveryRecord, Webhook } from '../core/webhooks/types.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { auditPut } from './dynamo-common.js';

export interface DynamoWebhookTables {
  readonly monitoring: string;
  /** Needed to create and delete (audited); the worker, which only reads and records, omits it. */
  readonly audit?: string;
}

const WEBHOOK_SK = 'WEBHOOK';
const LISTING = 'WEBHOOKS';
const DELIVERY_PREFIX = 'DELIVERY#';
const webhookPk = (id: string) => `WEBHOOK#${id}`;
const deliverySk = (d: Pick<DeliveryRecord, 'eventAt' | 'deliveryId'>) =>
  `${DELIVERY_PREFIX}${d.eventAt}#${d.deliveryId}`;

const KEY_ATTRS = new Set(['pk', 'sk', 'type', 'gsi1pk', 'gsi1sk']);

function strip<T>(item: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!KEY_ATTRS.has(k)) out[k] = v;
  return out as T;
}

export class DynamoWebhookStore implements WebhookStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: DynamoWebhookTables,
  ) {}

  private auditTable(): string {
    if (!this.tables.audit) throw new Error('this store was built without the audit table; it can only read');
    return this.tables.audit;
  }

  async create(webhook: Webhook, audit: AuditEvent): Promise<void> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tables.monitoring,
                Item: {
                  ...webhook,
                  pk: webhookPk(webhook.id),
                  sk: WEBHOOK_SK,
                  type: 'webhook',
                  gsi1pk: LISTING,
                  gsi1sk: `${webhook.createdAt}#${webhook.id}`,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            auditPut(this.auditTable(), audit),
          ],
        }),
      );
    } catch (err) {
      if (err instanceof TransactionCanceledException) throw conflict('webhook id collision; retry');
      throw err;
    }
  }

  async get(id: string): Promise<Webhook | undefined> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.tables.monitoring,
        Key: { pk: webhookPk(id), sk: WEBHOOK_SK },
        ConsistentRead: true,
      }),
    );
    return res.Item ? strip<Webhook>(res.Item) : undefined;
  }

  async list(page: PageRequest): Promise<Page<Webhook>> {
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.tables.monitoring,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': LISTING },
        Limit: page.limit,
        ExclusiveStartKey: decodeCursor(page.cursor, ['pk', 'sk', 'gsi1pk', 'gsi1sk'], { gsi1pk: LISTING }),
      }),
    );
    return {
      items: (res.Items ?? []).map((i) => strip<Webhook>(i)),
      nextCursor: encodeCursor(res.LastEvaluatedKey),
    };
  }

  async delete(id: string, audit: AuditEvent): Promise<boolean> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.tables.monitoring,
                Key: { pk: webhookPk(id), sk: WEBHOOK_SK },
                ConditionExpression: 'attribute_exists(pk)',
              },
            },
            auditPut(this.auditTable(), audit),
          ],
        }),
      );
    } catch (err) {
      if (err instanceof TransactionCanceledException) {
        if (err.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return false;
      }
      throw err;
    }
    await this.purgeDeliveries(id);
    return true;
  }

  /** Removes a (deleted) webhook's delivery records; none can be added once the webhook item is gone. */
  private async purgeDeliveries(id: string): Promise<void> {
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.tables.monitoring,
          KeyConditionExpression: 'pk = :p AND begins_with(sk, :d)',
          ExpressionAttributeValues: { ':p': webhookPk(id), ':d': DELIVERY_PREFIX },
          ProjectionExpression: 'pk, sk',
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      const keys = (res.Items ?? []).map((i) => ({ pk: i.pk as string, sk: i.sk as string }));
      for (let i = 0; i < keys.length; i += 25) {
        let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
        for (let round = 0; requests.length > 0; round++) {
          if (round === 5) throw new Error(`could not remove the delivery records of webhook ${id}`);
          const out = await this.db.send(
            new BatchWriteCommand({ RequestItems: { [this.tables.monitoring]: requests } }),
          );
          requests = (out.UnprocessedItems?.[this.tables.monitoring] ?? []) as typeof requests;
          if (requests.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** round));
        }
      }
      start = res.LastEvaluatedKey;
    } while (start);
  }

  async record(delivery: DeliveryRecord): Promise<void> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.tables.monitoring,
                Key: { pk: webhookPk(delivery.webhookId), sk: WEBHOOK_SK },
                ConditionExpression: 'attribute_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.tables.monitoring,
                Item: {
                  ...delivery,
                  pk: webhookPk(delivery.webhookId),
                  sk: deliverySk(delivery),
                  type: 'delivery',
                },
                // An SQS duplicate of an earlier attempt must not overwrite a later outcome.
                ConditionExpression: 'attribute_not_exists(pk) OR attempts <= :n',
                ExpressionAttributeValues: { ':n': delivery.attempts },
              },
            },
          ],
        }),
      );
    } catch (err) {
      // The webhook is gone, or a later attempt was recorded already: nothing to record.
      if (err instanceof TransactionCanceledException) {
        const codes = (err.CancellationReasons ?? []).map((r) => r.Code);
        if (codes.includes('ConditionalCheckFailed')) return;
      }
      throw err;
    }
  }

  async listDeliveries(webhookId: string, page: PageRequest): Promise<Page<DeliveryRecord>> {
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.tables.monitoring,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :d)',
        ExpressionAttributeValues: { ':p': webhookPk(webhookId), ':d': DELIVERY_PREFIX },
        ScanIndexForward: false,
        Limit: page.limit,
        ExclusiveStartKey: decodeCursor(page.cursor, ['pk', 'sk'], { pk: webhookPk(webhookId) }),
        ConsistentRead: true,
      }),
    );
    return {
      items: (res.Items ?? []).map((i) => strip<DeliveryRecord>(i)),
      nextCursor: encodeCursor(res.LastEvaluatedKey),
    };
  }

  /** DeliveryLog's view of this store (its `list` is per webhook). */
  deliveryLog(): DeliveryLog {
    return { record: (d) => this.record(d), list: (id, page) => this.listDeliveries(id, page) };
  }
}
