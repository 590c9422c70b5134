/**
 * Trial results of a fanned-out search in the jobs table: `JOB#<id>` / `TRIAL#<trial id>`, put
 * only if absent, so a redelivered trial message (or two workers on one message) stores one
 * result. They sit beside the job's own item (sk 'J') and carry no gsi1 keys, so job listings
 * never see them.
 */
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { TrialRecord, TrialResultStore } from '../core/retraining/execution.js';
import { sendIf, storableNumbers, withoutKeys } from './dynamo-common.js';

const KEYS = new Set(['pk', 'sk']);
const PREFIX = 'TRIAL#';

export class DynamoTrialResults implements TrialResultStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  put(jobId: string, record: TrialRecord): Promise<boolean> {
    return sendIf(
      this.db,
      new PutCommand({
        TableName: this.table,
        Item: {
          ...storableNumbers(record).value,
          pk: `JOB#${jobId}`,
          sk: `${PREFIX}${String(record.id).padStart(6, '0')}`,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async list(jobId: string): Promise<TrialRecord[]> {
    const out: TrialRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
          ExpressionAttributeValues: { ':p': `JOB#${jobId}`, ':s': PREFIX },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of res.Items ?? []) out.push(withoutKeys<TrialRecord>(item, KEYS));
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }
}
