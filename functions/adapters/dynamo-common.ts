/**
 * What every DynamoDB adapter shares: the audit event as a transaction item (audit events are
 * written in the same transaction as the change they record), the consistent read of one item,
 * writes and transactions whose conditions may fail, and one paginated query whose cursor is
 * checked before DynamoDB sees it.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  type PutCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  type UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../core/kernel/audit.js';
import { type DomainError, validationFailed } from '../core/kernel/errors.js';
import type { Page, PageRequest } from '../core/kernel/paging.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { primeSend } from './sdk-priming.js';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type Item = Record<string, unknown>;

/** The audit table's partition: a model's events under its name, everything else under SYSTEM. */
export function auditPartition(model?: string): string {
  return model ? `MODEL#${model}` : 'SYSTEM';
}

/** The time-ordered feed partition of the audit table's byTime index. */
export const AUDIT_FEED = 'ALL';

export function auditPut(table: string, audit: AuditEvent): TransactItem {
  return putIfAbsent(table, {
    ...audit,
    pk: auditPartition(audit.model),
    sk: `${audit.at}#${audit.id}`,
    feed: AUDIT_FEED,
  });
}

/** A transaction item that creates `item` and fails if an item with its key (`attr`) exists. */
export function putIfAbsent(table: string, item: Item, attr = 'pk'): TransactItem {
  return {
    Put: {
      TableName: table,
      Item: item,
      ConditionExpression: 'attribute_not_exists(#key)',
      ExpressionAttributeNames: { '#key': attr },
    },
  };
}

/** The audit table a store writes to; a store built without it can only read. */
export function auditTableOf(tables: { readonly audit?: string }, store = 'store'): string {
  if (!tables.audit) throw new Error(`this ${store} was built without the audit table; it can only read`);
  return tables.audit;
}

export function invalidCursor(): DomainError {
  return validationFailed('cursor is not valid for this listing', { field: 'cursor' });
}

/** An item without the attributes that only index it. */
export function withoutKeys<T>(item: Item, keys: ReadonlySet<string>): T {
  return Object.fromEntries(Object.entries(item).filter(([k]) => !keys.has(k))) as T;
}

/** The read getItem sends: one item by its key, with strong consistency. */
function getItemCommand(table: string, key: Item): GetCommand {
  return new GetCommand({ TableName: table, Key: key, ConsistentRead: true });
}

/**
 * getItem's SDK work for `table`, done with no request made (sdk-priming.ts): the read is answered
 * inside the client as DynamoDB answers a key with no item.
 */
export function primeGetItem(db: DynamoDBDocumentClient, table: string, key: Item): Promise<boolean> {
  return primeSend(getItemCommand(table, key), (command) => db.send(command), {
    headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: '{}',
  });
}

/** One item (as the caller knows it to be), read with strong consistency; undefined when there is none. */
export async function getItem<T = Item>(
  db: DynamoDBDocumentClient,
  table: string,
  key: Item,
): Promise<T | undefined> {
  const res = await db.send(getItemCommand(table, key));
  return res.Item as T | undefined;
}

/** One item without the attributes that only index it, read with strong consistency. */
export async function getWithoutKeys<T>(
  db: DynamoDBDocumentClient,
  table: string,
  key: Item,
  keys: ReadonlySet<string>,
): Promise<T | undefined> {
  const item = await getItem(db, table, key);
  return item ? withoutKeys<T>(item, keys) : undefined;
}

/** A put or update with a condition: true when written, false when the condition failed. */
export async function sendIf(
  db: DynamoDBDocumentClient,
  command: PutCommand | UpdateCommand,
): Promise<boolean> {
  try {
    // Both command types answer with an output the caller does not need.
    await db.send(command as PutCommand);
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/**
 * A transaction whose conditions may fail: true when committed, false when DynamoDB cancelled it
 * and `refused` agrees that the cancellation is the expected refusal (by default, any is).
 */
export async function transactIf(
  db: DynamoDBDocumentClient,
  items: TransactItem[],
  refused: (err: TransactionCanceledException) => boolean = () => true,
): Promise<boolean> {
  try {
    await db.send(new TransactWriteCommand({ TransactItems: items }));
    return true;
  } catch (err) {
    if (err instanceof TransactionCanceledException && refused(err)) return false;
    throw err;
  }
}

/** The cancellation reason codes of a cancelled transaction, one per item. */
export function cancellationCodes(err: TransactionCanceledException): (string | undefined)[] {
  return (err.CancellationReasons ?? []).map((r) => r.Code);
}

export interface PageQuery<T> {
  /** The key attributes a cursor of this listing holds. */
  readonly cursorAttrs: readonly string[];
  /** Key values the cursor must carry (its partition), so it cannot wander into another listing. */
  readonly expect?: Record<string, string>;
  /** The shape of the cursor's sort key in this listing. */
  readonly sortKeyPattern?: RegExp;
  readonly map: (item: Item) => T;
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

/**
 * One page of a listing filtered in code. DynamoDB's Limit counts items before any filter, so a
 * filtered query page can come back short or empty while more matches follow; instead this reads
 * on until `limit` items pass `keep`, the listing ends, or `maxScanned` items were read. The
 * cursor is the key of the last item returned (not DynamoDB's LastEvaluatedKey, which may lie
 * past matches left unreturned), so the next page starts right after it and nothing is skipped.
 * Only when `maxScanned` runs out is a page short: its cursor then resumes where the reading
 * stopped, still skipping nothing.
 */
export async function queryFilteredPage<T>(
  db: DynamoDBDocumentClient,
  keys: ReadonlySet<string>,
  listing: Listing,
  page: PageRequest,
  keep: (item: T) => boolean,
  maxScanned = 2000,
): Promise<Page<T>> {
  const { cursorAttrs, expect, sortKeyPattern } = listing.cursor;
  let start: Item | undefined = decodeCursor(page.cursor, cursorAttrs, expect);
  if (start && sortKeyPattern && !sortKeyPattern.test(String(start.sk ?? ''))) throw invalidCursor();
  const items: T[] = [];
  let scanned = 0;
  for (;;) {
    let res: QueryCommandOutput;
    try {
      res = await db.send(
        new QueryCommand({ ...listing.input, Limit: Math.max(page.limit, 100), ExclusiveStartKey: start }),
      );
    } catch (err) {
      if (page.cursor && start && (err as Error).name === 'ValidationException') throw invalidCursor();
      throw err;
    }
    const raw = res.Items ?? [];
    for (const [i, item] of raw.entries()) {
      scanned++;
      const value = withoutKeys<T>(item, keys);
      if (!keep(value)) continue;
      items.push(value);
      if (items.length === page.limit) {
        // Nothing after it in what was read, and nothing left to read: the listing ends here.
        const last = !res.LastEvaluatedKey && raw.slice(i + 1).every((r) => !keep(withoutKeys<T>(r, keys)));
        return {
          items,
          nextCursor: last
            ? undefined
            : encodeCursor(Object.fromEntries(cursorAttrs.map((a) => [a, item[a]]))),
        };
      }
    }
    if (!res.LastEvaluatedKey) return { items };
    start = res.LastEvaluatedKey;
    if (scanned >= maxScanned) return { items, nextCursor: encodeCursor(start) };
  }
}

/** A listing's cursor: the key attributes it holds, the partition it must stay in, its sort key's shape. */
export type Cursor = Omit<PageQuery<unknown>, 'map'>;

/** One listing: its query (without the page) and the cursor that stays in it. */
export interface Listing {
  readonly input: QueryCommandInput;
  readonly cursor: Cursor;
}

/** The items of one kind listed through gsi1 (`gsi1pk` = `listing`). */
export function gsi1Listing(table: string, listing: string, newestFirst = false): Listing {
  return {
    input: {
      TableName: table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': listing },
      ...(newestFirst ? { ScanIndexForward: false } : {}),
    },
    cursor: { cursorAttrs: ['pk', 'sk', 'gsi1pk', 'gsi1sk'], expect: { gsi1pk: listing } },
  };
}

/** The items of partition `pk` whose sort key starts with `prefix`, read with strong consistency. */
export function prefixListing(table: string, pk: string, prefix: string, newestFirst = false): Listing {
  const literal = prefix.replace(/[.*+?^$(){}|[\]\\]/g, '\\$&');
  return {
    input: {
      TableName: table,
      KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
      ExpressionAttributeValues: { ':p': pk, ':s': prefix },
      ConsistentRead: true,
      ...(newestFirst ? { ScanIndexForward: false } : {}),
    },
    cursor: {
      cursorAttrs: ['pk', 'sk'],
      expect: { pk },
      sortKeyPattern: new RegExp(`^${literal}`),
    },
  };
}

/** One page of a listing, its items without the attributes that only index them. */
export function queryWithoutKeys<T>(
  db: DynamoDBDocumentClient,
  keys: ReadonlySet<string>,
  listing: Listing,
  page: PageRequest,
): Promise<Page<T>> {
  return queryPage(db, listing.input, page, { ...listing.cursor, map: (i) => withoutKeys<T>(i, keys) });
}

/** DynamoDB numbers: magnitudes from 1e-130 to just under 1e126, and no NaN or infinities. */
export const DYNAMO_MIN_MAGNITUDE = 1e-130;
// 9.99…e125 with more nines is the double 1e126, which DynamoDB refuses.
export const DYNAMO_MAX_MAGNITUDE = 9.99999999999999e125;
/** Paths listed in `clampedNumbers`: enough to say which statistics, not a second copy of the item. */
const MAX_CLAMPED_PATHS = 50;

/**
 * A copy of `value` whose every number DynamoDB can store, and the paths of those it had to
 * change. A statistic is written as the nearest storable number — below 1e-130 as 0 (a p-value of
 * drift too strong to tell apart from certainty), beyond the maximum as ± the maximum, NaN and
 * infinities as null — because refusing the whole write would lose the report, and with it the
 * alert the strongest drift should raise.
 */
export function storableNumbers<T>(value: T): { value: T; clamped: string[] } {
  const clamped: string[] = [];
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'number') {
      const a = Math.abs(v);
      if (v === 0 || (a >= DYNAMO_MIN_MAGNITUDE && a <= DYNAMO_MAX_MAGNITUDE)) return v;
      if (clamped.length < MAX_CLAMPED_PATHS) clamped.push(path);
      if (!Number.isFinite(v)) return Number.isNaN(v) ? null : Math.sign(v) * DYNAMO_MAX_MAGNITUDE;
      return a < DYNAMO_MIN_MAGNITUDE ? 0 : Math.sign(v) * DYNAMO_MAX_MAGNITUDE;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`));
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, path ? `${path}.${k}` : k)]));
    }
    return v;
  };
  return { value: walk(value, '') as T, clamped };
}
