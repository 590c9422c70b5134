/** KeyStore on DynamoDB: one item per key id; creation and revocation commit their audit event. */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  ScanCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ApiKeyRecord, KeyStore } from '../core/auth/api-keys.js';
import type { AuditEvent } from '../core/kernel/audit.js';
import { conflict } from '../core/kernel/errors.js';
import type { Page, PageRequest } from '../core/kernel/paging.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { auditPut } from './dynamo-common.js';

export class DynamoKeyStore implements KeyStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    /** `audit` is needed only to create and revoke (the authorizer only reads keys). */
    private readonly tables: { keys: string; audit?: string },
  ) {}

  private auditTable(): string {
    if (!this.tables.audit) throw new Error('this store was built without the audit table; it can only read');
    return this.tables.audit;
  }

  async create(record: ApiKeyRecord, audit: AuditEvent): Promise<void> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tables.keys,
                Item: record,
                ConditionExpression: 'attribute_not_exists(keyId)',
              },
            },
            auditPut(this.auditTable(), audit),
          ],
        }),
      );
    } catch (err) {
      if (err instanceof TransactionCanceledException) throw conflict('key id collision; retry');
      throw err;
    }
  }

  async get(keyId: string): Promise<ApiKeyRecord | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.tables.keys, Key: { keyId }, ConsistentRead: true }),
    );
    return res.Item as ApiKeyRecord | undefined;
  }

  async list(page: PageRequest): Promise<Page<ApiKeyRecord>> {
    // Keys are few (people and services of one team); a paginated scan is the simple, honest read.
    const res = await this.db.send(
      new ScanCommand({
        TableName: this.tables.keys,
        Limit: page.limit,
        ExclusiveStartKey: decodeCursor(page.cursor, ['keyId']),
        ConsistentRead: true,
      }),
    );
    return { items: (res.Items ?? []) as ApiKeyRecord[], nextCursor: encodeCursor(res.LastEvaluatedKey) };
  }

  async revoke(keyId: string, revokedAt: string, revokedBy: string, audit: AuditEvent): Promise<boolean> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tables.keys,
                Key: { keyId },
                UpdateExpression: 'SET revokedAt = :at, revokedBy = :by',
                ConditionExpression: 'attribute_exists(keyId) AND attribute_not_exists(revokedAt)',
                ExpressionAttributeValues: { ':at': revokedAt, ':by': revokedBy },
              },
            },
            auditPut(this.auditTable(), audit),
          ],
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof TransactionCanceledException) return false;
      throw err;
    }
  }
}
