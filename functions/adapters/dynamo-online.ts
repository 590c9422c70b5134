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
import { gunzipSync, gzipSync } from 'node:zlib';
import type { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { validationFailed } from '../core/kernel/errors.js';
import type { AppliedSample, CommitResult, OnlineStore } from '../core/online/service.js';
import type { OnlineState } from '../core/online/strategy.js';
import { type TransactItem, transactIf } from './dynamo-common.js';

const stateKey = (model: string) => ({ pk: `ONLINE#${model}`, sk: 'S' });
const predKey = (id: string) => ({ pk: `PRED#${id}`, sk: 'P' });
/** Under DynamoDB's 400 KB item limit with room for the other attributes. */
const MAX_STATE_BYTES = 350_000;

export class DynamoOnlineStore implements OnlineStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

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
}
