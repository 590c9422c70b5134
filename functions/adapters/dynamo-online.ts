/**
 * Online learners on the predictions table (functions/core/online/service.ts):
 *
 *   ONLINE#<model> / 'S'   rev (the revision every commit checks and bumps), samplesSeen,
 *                          updatedAt, state (gzip JSON of the learner: weights, buffers, detector)
 *   PRED#<id> / 'P'        the captured prediction; learning a sample sets onlineSeq (its place in
 *                          the learner's order) and onlineModel, once
 *
 * The marker sits on the prediction item itself, so it expires with it and a sample can only be
 * learned if it is a captured prediction. The state is gzip-compressed: weights and the held-out
 * rows are numbers that JSON spells out, and an item holds at most 400 KB.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../core/kernel/audit.js';
import { validationFailed } from '../core/kernel/errors.js';
import type { AppliedSample, CommitResult } from '../core/online/service.js';
import type { OnlineState } from '../core/online/strategy.js';
import type { LabelledCapture, OnlineResetStore } from '../core/online/worker.js';
import { auditPut, type TransactItem, transactIf } from './dynamo-common.js';
import { backoffMs } from './dynamo-retry.js';

const stateKey = (model: string) => ({ pk: `ONLINE#${model}`, sk: 'S' });
const predKey = (id: string) => ({ pk: `PRED#${id}`, sk: 'P' });
/** Under DynamoDB's 400 KB item limit with room for the other attributes. */
const MAX_STATE_BYTES = 350_000;

/** BatchGetItem's limit. */
const KEYS_PER_BATCH = 100;

export class DynamoOnlineStore implements OnlineResetStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly auditTable?: string,
  ) {}

  /** The captured predictions with these ids that exist: model, stored label and instance. */
  async labelled(ids: readonly string[]): Promise<LabelledCapture[]> {
    const out: LabelledCapture[] = [];
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += KEYS_PER_BATCH) {
      let keys: Record<string, unknown>[] = unique.slice(i, i + KEYS_PER_BATCH).map(predKey);
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 0) await sleep(backoffMs(attempt));
        const res = await this.db.send(
          new BatchGetCommand({
            RequestItems: {
              [this.table]: {
                Keys: keys,
                ConsistentRead: true,
                ProjectionExpression: '#id, #model, #actual, #instance',
                ExpressionAttributeNames: {
                  '#id': 'predictionId',
                  '#model': 'model',
                  '#actual': 'actual',
                  '#instance': 'instance',
                },
              },
            },
          }),
        );
        for (const item of res.Responses?.[this.table] ?? []) {
          out.push({
            predictionId: String(item.predictionId),
            model: String(item.model),
            ...(item.actual !== undefined ? { actual: item.actual as string | number } : {}),
            ...(typeof item.instance === 'string' ? { instance: item.instance } : {}),
          });
        }
        keys = (res.UnprocessedKeys?.[this.table]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    // BatchGetItem answers in any order: keep the order the samples were sent in.
    const rank = new Map(ids.map((id, i) => [id, i] as const));
    return out.sort((a, b) => (rank.get(a.predictionId) ?? 0) - (rank.get(b.predictionId) ?? 0));
  }

  async load(model: string): Promise<{ state: OnlineState; rev: number } | undefined> {
    const got = await this.db.send(
      new GetCommand({ TableName: this.table, Key: stateKey(model), ConsistentRead: true }),
    );
    if (!got.Item) return undefined;
    const bytes = got.Item.state as Uint8Array;
    return {
      state: JSON.parse(gunzipSync(bytes).toString('utf8')) as OnlineState,
      rev: Number(got.Item.rev),
    };
  }

  async commit(
    model: string,
    rev: number | null,
    state: OnlineState,
    applied: readonly AppliedSample[],
  ): Promise<CommitResult> {
    const body = gzipSync(JSON.stringify(state));
    if (body.byteLength > MAX_STATE_BYTES) {
      throw validationFailed(
        `the online learner of ${model} no longer fits one item (${body.byteLength} bytes compressed): lower snapshot.minHoldoutRows or batchSize`,
        { model, bytes: body.byteLength },
      );
    }
    const stateWrite: TransactItem =
      rev === null
        ? {
            Put: {
              TableName: this.table,
              Item: {
                ...stateKey(model),
                rev: 1,
                samplesSeen: state.samplesSeen,
                updatedAt: state.updatedAt,
                state: body,
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          }
        : {
            Update: {
              TableName: this.table,
              Key: stateKey(model),
              UpdateExpression: 'SET #rev = :next, #seen = :seen, #updatedAt = :at, #state = :state',
              ConditionExpression: '#rev = :rev',
              ExpressionAttributeNames: {
                '#rev': 'rev',
                '#seen': 'samplesSeen',
                '#updatedAt': 'updatedAt',
                '#state': 'state',
              },
              ExpressionAttributeValues: {
                ':rev': rev,
                ':next': rev + 1,
                ':seen': state.samplesSeen,
                ':at': state.updatedAt,
                ':state': body,
              },
            },
          };
    const marks: TransactItem[] = applied.map((a) => ({
      Update: {
        TableName: this.table,
        Key: predKey(a.id),
        UpdateExpression: 'SET #seq = :seq, #om = :model',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#seq)',
        ExpressionAttributeNames: { '#seq': 'onlineSeq', '#om': 'onlineModel' },
        ExpressionAttributeValues: { ':seq': a.seq, ':model': model },
      },
    }));
    let refusal: CommitResult = { ok: false, conflict: true };
    const ok = await transactIf(this.db, [stateWrite, ...marks], (err: TransactionCanceledException) => {
      const codes = (err.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
      const gone = applied.filter((_, i) => codes[i + 1] === 'ConditionalCheckFailed').map((a) => a.id);
      // A failed sample marker is decisive; a failed state condition or a conflict just means retry.
      if (gone.length > 0) refusal = { ok: false, alreadyApplied: gone };
      return codes.some((c) => c === 'ConditionalCheckFailed' || c === 'TransactionConflict');
    });
    return ok ? { ok: true } : refusal;
  }

  async remove(model: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: stateKey(model) }));
  }

  async reset(model: string, audit: AuditEvent): Promise<void> {
    if (!this.auditTable) throw new Error('this online store was built without the audit table');
    await this.db.send(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: this.table, Key: stateKey(model) } },
          auditPut(this.auditTable, audit),
        ],
      }),
    );
  }
}
