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
import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../core/kernel/audit.js';
import { conflict } from '../core/kernel/errors.js';
import type { Page, PageRequest } from '../core/kernel/paging.js';
import type { DeliveryLog, WebhookStore } from '../core/webhooks/ports.js';
import type { DeliveryRecord, Webhook } from '../core/webhooks/types.js';
import {
  auditPut,
  auditTableOf,
  cancellationCodes,
  getWithoutKeys,
  gsi1Listing,
  prefixListing,
  putIfAbsent,
  queryWithoutKeys,
  transactIf,
} from './dynamo-common.js';

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
const webhookKey = (id: string) => ({ pk: webhookPk(id), sk: WEBHOOK_SK });

const KEY_ATTRS = new Set(['pk', 'sk', 'type', 'gsi1pk', 'gsi1sk']);

export class DynamoWebhookStore implements WebhookStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: DynamoWebhookTables,
  ) {}

  async create(webhook: Webhook, audit: AuditEvent): Promise<void> {
    const item = {
      ...webhook,
      ...webhookKey(webhook.id),
      type: 'webhook',
      gsi1pk: LISTING,
      gsi1sk: `${webhook.createdAt}#${webhook.id}`,
    };
    const written = await transactIf(this.db, [
      putIfAbsent(this.tables.monitoring, item),
      auditPut(auditTableOf(this.tables), audit),
    ]);
    if (!written) throw conflict('webhook id collision; retry');
  }

  async get(id: string): Promise<Webhook | undefined> {
    return getWithoutKeys<Webhook>(this.db, this.tables.monitoring, webhookKey(id), KEY_ATTRS);
  }

  async list(page: PageRequest): Promise<Page<Webhook>> {
    return queryWithoutKeys(this.db, KEY_ATTRS, gsi1Listing(this.tables.monitoring, LISTING), page);
  }

  async delete(id: string, audit: AuditEvent): Promise<boolean> {
    const deleted = await transactIf(
      this.db,
      [
        {
          Delete: {
            TableName: this.tables.monitoring,
            Key: webhookKey(id),
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
        auditPut(auditTableOf(this.tables), audit),
      ],
      (err) => cancellationCodes(err)[0] === 'ConditionalCheckFailed',
    );
    if (!deleted) return false;
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
    // The webhook is gone, or a later attempt was recorded already: nothing to record.
    await transactIf(
      this.db,
      [
        {
          ConditionCheck: {
            TableName: this.tables.monitoring,
            Key: webhookKey(delivery.webhookId),
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
      (err) => cancellationCodes(err).includes('ConditionalCheckFailed'),
    );
  }

  async listDeliveries(webhookId: string, page: PageRequest): Promise<Page<DeliveryRecord>> {
    const listing = prefixListing(this.tables.monitoring, webhookPk(webhookId), DELIVERY_PREFIX, true);
    return queryWithoutKeys(this.db, KEY_ATTRS, listing, page);
  }

  /** DeliveryLog's view of this store (its `list` is per webhook). */
  deliveryLog(): DeliveryLog {
    return { record: (d) => this.record(d), list: (id, page) => this.listDeliveries(id, page) };
  }
}
