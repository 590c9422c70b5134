/**
 * What every DynamoDB adapter shares: the audit event as a transaction item (audit events are
 * written in the same transaction as the change they record), and one paginated query whose
 * cursor is checked before DynamoDB sees it.
 */
import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../core/kernel/audit.js';
import { type DomainError, validationFailed } from '../core/kernel/errors.js';
import type { Page, PageRequest } from '../core/kernel/paging.js';
import { decodeCursor, encodeCursor } from './cursor.js';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** The audit table's partition: a model's events under its name, everything else under SYSTEM. */
export function auditPartition(model?: string): string {
  return model ? `MODEL#${model}` : 'SYSTEM';
}

/** The time-ordered feed partition of the audit table's byTime index. */
export const AUDIT_FEED = 'ALL';

export function auditPut(table: string, audit: AuditEvent): TransactItem {
  return {
    Put: {
      TableName: table,
      Item: { ...audit, pk: auditPartition(audit.model), sk: `${audit.at}#${audit.id}`, feed: AUDIT_FEED },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

export function invalidCursor(): DomainError {
  return validationFailed('cursor is not valid for this listing', { field: 'cursor' });
}

/** An item without the attributes that only index it. */
export function withoutKeys<T>(item: Record<string, unknown>, keys: ReadonlySet<string>): T {
  return Object.fromEntries(Object.entries(item).filter(([k]) => !keys.has(k))) as T;
}

export interface PageQuery<T> {
  /** The key attributes a cursor of this listing holds. */
  readonly cursorAttrs: readonly string[];
  /** Key values the cursor must carry (its partition), so it cannot wander into another listing. */
  readonly expect?: Record<string, string>;
  /** The shape of the cursor's sort key in this listing. */
  readonly sortKeyPattern?: RegExp;
  readonly map: (item: Record<string, unknown>) => T;
}

export async function queryPage<T>(
  db: DynamoDBDocumentClient,
  input: QueryCommandInput,
  page: PageRequest,
  q: PageQuery<T>,
): Promise<Page<T>> {
  const start = decodeCursor(page.cursor, q.cursorAttrs, q.expect);
  if (start && q.sortKeyPattern && !q.sortKeyPattern.test(start.sk ?? '')) throw invalidCursor();
  try {
    const res = await db.send(new QueryCommand({ ...input, Limit: page.limit, ExclusiveStartKey: start }));
    return { items: (res.Items ?? []).map(q.map), nextCursor: encodeCursor(res.LastEvaluatedKey) };
  } catch (err) {
    // A well-formed cursor can still fall outside the query's key range (e.g. before `since`).
    if (start && (err as Error).name === 'ValidationException') throw invalidCursor();
    throw err;
  }
}
