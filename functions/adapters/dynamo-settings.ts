/** ModeStore on the settings table: one item per setting, written with its audit event. */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../core/kernel/audit.js';
import { concurrentModification } from '../core/kernel/errors.js';
import type { ModeState, ModeStore } from '../core/system/modes.js';
import { auditPut } from './dynamo-common.js';

const MODE_KEY = { name: 'mode' };

export class DynamoModeStore implements ModeStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { settings: string; audit?: string },
  ) {}

  async get(): Promise<ModeState | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.tables.settings, Key: MODE_KEY, ConsistentRead: true }),
    );
    if (!res.Item) return undefined;
    const { name: _name, ...state } = res.Item;
    return state as ModeState;
  }

  async put(state: ModeState, expectRevision: number, audit: AuditEvent): Promise<void> {
    if (!this.tables.audit) throw new Error('this settings store was built without the audit table');
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tables.settings,
                Item: { ...state, ...MODE_KEY },
                ConditionExpression: expectRevision === 0 ? 'attribute_not_exists(#n)' : '#r = :expected',
                ExpressionAttributeNames: expectRevision === 0 ? { '#n': 'name' } : { '#r': 'revision' },
                ExpressionAttributeValues: expectRevision === 0 ? undefined : { ':expected': expectRevision },
              },
            },
            auditPut(this.tables.audit, audit),
          ],
        }),
      );
    } catch (err) {
      if (err instanceof TransactionCanceledException) throw concurrentModification();
      throw err;
    }
  }
}
