/**
 * JobStore on DynamoDB (the jobs table; its layout: functions/contract/resources.ts).
 *
 * - Creating a job is one transaction: the job (only if absent), the model's slot (only if no
 *   job holds it) and the audit event. Two concurrent requests cannot both commit.
 * - Saving a job is conditioned on its revision; a job entering a final state gives the slot back
 *   (only if it holds it) in the same transaction, stamping releasedAt for the cooldown.
 * - Reads are strongly consistent, so the worker's cancel check sees a cancel at once.
 */
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../core/kernel/audit.js';
import { concurrentModification, conflict } from '../core/kernel/errors.js';
import type { Page } from '../core/kernel/paging.js';
import {
  isActive,
  type JobQuery,
  type JobSlot,
  type JobStore,
  type RetrainJob,
} from '../core/retraining/jobs.js';
import {
  auditPut,
  getItem,
  getWithoutKeys,
  gsi1Listing,
  putIfAbsent,
  queryFilteredPage,
  storableNumbers,
  type TransactItem,
  transactIf,
} from './dynamo-common.js';
import { conditionFailure } from './dynamo-retry.js';

type Item = Record<string, unknown>;

const KEY_ATTRS = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk']);
const JOB_SK = 'J';
const JOBS_LISTING = 'JOBS';
const jobKey = (id: string) => ({ pk: `JOB#${id}`, sk: JOB_SK });
const slotKey = (model: string) => ({ pk: `SLOT#${model}`, sk: 'S' });

export class DynamoJobStore implements JobStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly auditTable?: string,
  ) {}

  private item(job: RetrainJob): Item {
    // Search scores and metrics are plain numbers, but a CV std of 1e-200 would not store.
    return { ...storableNumbers(job).value, ...jobKey(job.id), gsi1pk: JOBS_LISTING, gsi1sk: job.id };
  }

  private auditItem(event: AuditEvent): TransactItem {
    if (!this.auditTable) throw new Error('this job store was built without the audit table');
    return auditPut(this.auditTable, event);
  }

  get(id: string): Promise<RetrainJob | undefined> {
    return getWithoutKeys<RetrainJob>(this.db, this.table, jobKey(id), KEY_ATTRS);
  }

  list(q: JobQuery): Promise<Page<RetrainJob>> {
    return queryFilteredPage<RetrainJob>(
      this.db,
      KEY_ATTRS,
      gsi1Listing(this.table, JOBS_LISTING, true),
      q,
      (j) => (!q.model || j.model === q.model) && (!q.state || j.state === q.state),
    );
  }

  async slot(model: string): Promise<JobSlot> {
    const item = await getItem<Item>(this.db, this.table, slotKey(model));
    return {
      ...(typeof item?.activeJobId === 'string' ? { activeJobId: item.activeJobId } : {}),
      ...(typeof item?.releasedAt === 'string' ? { releasedAt: item.releasedAt } : {}),
    };
  }

  async create(job: RetrainJob, audit: AuditEvent): Promise<void> {
    const taken = await transactIf(
      this.db,
      [
        putIfAbsent(this.table, this.item(job)),
        {
          Update: {
            TableName: this.table,
            Key: slotKey(job.model),
            UpdateExpression: 'SET activeJobId = :id, model = :m',
            ConditionExpression: 'attribute_not_exists(activeJobId)',
            ExpressionAttributeValues: { ':id': job.id, ':m': job.model },
          },
        },
        this.auditItem(audit),
      ],
      (err) => conditionFailure(err, 1) !== undefined,
    );
    if (!taken) throw conflict(`model ${job.model} already has an active retraining job`);
  }

  async save(job: RetrainJob, expectRevision: number, audit?: AuditEvent): Promise<void> {
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.table,
          Item: this.item(job),
          ConditionExpression: 'revision = :r',
          ExpressionAttributeValues: { ':r': expectRevision },
        },
      },
    ];
    if (!isActive(job.state)) {
      items.push({
        Update: {
          TableName: this.table,
          Key: slotKey(job.model),
          UpdateExpression: 'REMOVE activeJobId SET releasedAt = :at',
          ConditionExpression: 'activeJobId = :id',
          ExpressionAttributeValues: { ':id': job.id, ':at': job.updatedAt },
        },
      });
    }
    if (audit) items.push(this.auditItem(audit));
    const written = await transactIf(this.db, items, (err) => conditionFailure(err, 0) !== undefined);
    if (written) return;
    throw concurrentModification(`job ${job.id} changed meanwhile`);
  }

  async audit(event: AuditEvent): Promise<void> {
    const item = this.auditItem(event).Put as NonNullable<TransactItem['Put']>;
    await this.db.send(new PutCommand(item));
  }
}
