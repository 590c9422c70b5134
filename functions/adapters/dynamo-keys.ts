/** KeyStore on DynamoDB: one item per key id; creation and revocation commit their audit event. */
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { ApiKeyRecord, KeyStore } from '../core/auth/api-keys.js';
import type { AuditEvent } from '../core/kernel/audit.js';
import { conflict } from '../core/kernel/errors.js';
import type { Page, PageRequest } from '../core/kernel/paging.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { auditPut, auditTableOf, getItem, primeGetItem, putIfAbsent, transactIf } from './dynamo-common.js';

export class DynamoKeyStore implements KeyStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    /** `audit` is needed only to create and revoke (the authorizer only reads keys). */
    private readonly tables: { keys: string; audit?: string },
  ) {}

  async create(record: ApiKeyRecord, audit: AuditEvent): Promise<void> {
    const written = await transactIf(this.db, [
      putIfAbsent(this.tables.keys, { ...record }, 'keyId'),
      auditPut(auditTableOf(this.tables), audit),
    ]);
    if (!written) throw conflict('key id collision; retry');
  }

  /**
   * The SDK work of this store's first read, done with no request made (sdk-priming.ts): the read
   * of a key's record, which the authorizer makes for every credential it has not cached.
   */
  prime(keyId: string): Promise<boolean> {
    return primeGetItem(this.db, this.tables.keys, { keyId });
  }

  async get(keyId: string): Promise<ApiKeyRecord | undefined> {
    return getItem<ApiKeyRecord>(this.db, this.tables.keys, { keyId });
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
    return transactIf(this.db, [
      {
        Update: {
          TableName: this.tables.keys,
          Key: { keyId },
          UpdateExpression: 'SET revokedAt = :at, revokedBy = :by',
          ConditionExpression: 'attribute_exists(keyId) AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: { ':at': revokedAt, ':by': revokedBy },
        },
      },
      auditPut(auditTableOf(this.tables), audit),
    ]);
  }
}
