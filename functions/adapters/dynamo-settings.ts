/** ModeStore on the settings table: one item per setting, written with its audit event. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../core/kernel/audit.js';
import { concurrentModification } from '../core/kernel/errors.js';
import type { ModeState, ModeStore } from '../core/system/modes.js';
import { auditPut, auditTableOf, getItem, putIfAbsent, transactIf } from './dynamo-common.js';

const MODE_KEY = { name: 'mode' };

export class DynamoModeStore implements ModeStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { settings: string; audit?: string },
  ) {}

  async get(): Promise<ModeState | undefined> {
    const item = await getItem<ModeState & typeof MODE_KEY>(this.db, this.tables.settings, MODE_KEY);
    if (!item) return undefined;
    const { name: _name, ...state } = item;
    return state;
  }

  async put(state: ModeState, expectRevision: number, audit: AuditEvent): Promise<void> {
    const auditTable = auditTableOf(this.tables, 'settings store');
    const item = { ...state, ...MODE_KEY };
    const write =
      expectRevision === 0
        ? putIfAbsent(this.tables.settings, item, 'name')
        : {
            Put: {
              TableName: this.tables.settings,
              Item: item,
              ConditionExpression: '#r = :expected',
              ExpressionAttributeNames: { '#r': 'revision' },
              ExpressionAttributeValues: { ':expected': expectRevision },
            },
          };
    if (!(await transactIf(this.db, [write, auditPut(auditTable, audit)]))) throw concurrentModification();
  }
}
