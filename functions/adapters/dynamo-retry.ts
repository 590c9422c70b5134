/**
 * Retrying DynamoDB writes: which failures are worth another attempt (conflicts with another
 * transaction, throttling; never a failed condition), the backoff between attempts, and reading
 * which item's condition cancelled a transaction.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { TransactItem } from './dynamo-common.js';

export const MAX_ATTEMPTS = 10;

/** TransactWriteItems, retried while it is cancelled only by conflicts or throttling. */
export async function transact(db: DynamoDBDocumentClient, items: TransactItem[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await db.send(new TransactWriteCommand({ TransactItems: items }));
      return;
    } catch (err) {
      if (attempt + 1 < MAX_ATTEMPTS && isRetryable(err)) {
        await sleep(backoffMs(attempt));
        continue;
      }
      throw err;
    }
  }
}

type Reason = NonNullable<TransactionCanceledException['CancellationReasons']>[number];

/** The cancellation reason of item `index` when a transaction failed on that item's condition. */
export function conditionFailure(err: unknown, index: number): Reason | undefined {
  if (!(err instanceof TransactionCanceledException)) return undefined;
  const reason = err.CancellationReasons?.[index];
  return reason?.Code === 'ConditionalCheckFailed' ? reason : undefined;
}

export function cancelledByCondition(err: unknown, index: number): boolean {
  return conditionFailure(err, index) !== undefined;
}

const RETRYABLE_REASONS = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
]);

/** Conflicts with another transaction and throttling; never a failed condition. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof TransactionCanceledException) {
    const codes = (err.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
    return codes.some((c) => RETRYABLE_REASONS.has(c)) && !codes.includes('ConditionalCheckFailed');
  }
  return (err as Error | undefined)?.name === 'TransactionConflictException';
}

/** Full jitter: uniform in [0, min(1 s, 20 ms · 2^attempt)]. */
export function backoffMs(attempt: number): number {
  return Math.random() * Math.min(1000, 20 * 2 ** attempt);
}
