/**
 * Captured predictions, feedback and the hourly serving aggregates on the predictions table
 * (functions/contract/resources.ts, TABLES.predictions).
 *
 * Items:
 *   PRED#<predictionId> / 'P'   predictionId, model, version, variant?, experimentId?, at, hourStart, kind,
 *                               predicted, confidence?, probabilities?, context?, instance? (JSON,
 *                               at most 4 KB: online learning's features), messageId,
 *                               expiresAt; after feedback also actual, feedbackAt and the keys of
 *                               the sparse index gsi1: gsi1pk LABELLED#<model>, gsi1sk '<at>#<id>'
 *                               (a window's labelled rows by prediction time, however late the
 *                               label: docs/performance.md).
 *   CAP#<messageId> / 'C'       the capture message's marker: model, version, hourStart, rows,
 *                               state ('writing' | 'done'), claimedAt, expiresAt.
 *   STATS#<model> / '<hourStart>#<version>'
 *                               model, version, hourStart and atomic counters: requests, errors,
 *                               predictions, l<i> (latency bucket i, core/kernel/latency-histogram.ts),
 *                               confidenceSum, confidenceCount, fbCount, fbAbsErrorSum,
 *                               fbSquaredErrorSum, fbErrorSum, and one counter per confusion pair:
 *                               `c:<key>` with key = confusionKey(actual, predicted), or, when the
 *                               key is longer than 128 bytes, `c#<h>` plus `k#<h>` holding the key
 *                               (h: the first 32 hex digits of its SHA-256). Counters are written
 *                               only when non-zero; a missing one reads as 0.
 *
 * Exactly-once counting of a capture message (SQS delivers at least once, possibly twice at the
 * same time, and the worker may die between any two requests):
 *
 * - A message with at most one prediction (the usual online request, and every failed request) is
 *   one transaction: Put marker (state 'done', if absent) + ADD to its hour + Put the prediction.
 *   A redelivery fails the marker's condition, so nothing is written twice and a prediction that
 *   has had feedback is not overwritten. It costs no more write units than the path below
 *   (a transaction counts each item twice; the three steps write the marker twice).
 * - A larger message is written in three steps, because BatchWriteItem (25 plain puts a request)
 *   cannot carry conditions and a transaction would double the write units of every prediction:
 *   1. claim: Put marker (state 'writing', claimedAt) if absent;
 *   2. BatchWrite the predictions;
 *   3. commit: one transaction of [marker state 'writing' → 'done' (conditional), ADD to the hour].
 *   A redelivery that finds the marker 'done' returns. One that finds it 'writing' means an
 *   earlier attempt died after the claim — or is still running (a duplicate delivery): within the
 *   claim lease (default 2 minutes, longer than the worker's 30 s timeout and shorter than the
 *   queue's 180 s visibility timeout) it throws CaptureInProgress so the message comes back later;
 *   after the lease it takes over and writes each prediction with PutItem if absent — never a
 *   plain put, because feedback may already have been joined to predictions the dead attempt wrote
 *   — then commits. The commit's condition lets exactly one attempt count the request. The claimer
 *   itself switches to the conditional puts should it still be writing when its lease runs out.
 *
 * Feedback joins with one consistent read (the prediction's model, version, hour and kind say
 * which counters to add to) and one transaction of [SET actual if the prediction exists and has
 * none, ADD to its hour], so a prediction is never joined without being counted, or counted twice.
 * A failed condition carries the old item (ReturnValuesOnConditionCheckFailure): present means
 * another feedback won (duplicate), absent means the prediction is gone (unknown).
 *
 * Every request to one model in one hour adds to one STATS item; concurrent transactions on it are
 * cancelled with TransactionConflict and retried here with jittered backoff.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type AggregateTotals,
  emptyTotals,
  feedbackTotals,
  HOUR_MS,
  hourStartOf,
  mergeAggregates,
  requestTotals,
} from '../core/inference/aggregates.js';
import type {
  CaptureBatch,
  CapturedPrediction,
  FeedbackItem,
  FeedbackResult,
  HourAggregate,
  LabelledPrediction,
  LabelledPredictions,
  PredictionStore,
} from '../core/inference/ports.js';
import type { Clock } from '../core/kernel/clock.js';
import type { TransactItem } from './dynamo-common.js';
import { statsPk, statsUpdate, toAggregate } from './dynamo-hour-stats.js';
import {
  backoffMs,
  cancelledByCondition,
  conditionFailure,
  isRetryable,
  MAX_ATTEMPTS,
  transact,
} from './dynamo-retry.js';

export interface DynamoPredictionStoreOptions {
  /** Days PRED and CAP items live (DynamoDB TTL on expiresAt). Default 90. */
  readonly ttlDays?: number;
  readonly clock?: Clock;
  /** How long a claimed capture message belongs to its claimer. Default 120 000 ms. */
  readonly claimLeaseMs?: number;
  /** Feedback items joined at once. Default 8. */
  readonly concurrency?: number;
}

/** A capture message is being written by another delivery right now; retry it later. */
export class CaptureInProgress extends Error {
  override readonly name = 'CaptureInProgress';
  constructor(
    readonly messageId: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`capture message ${messageId} is being recorded by another delivery`);
  }
}

type Item = Record<string, unknown>;

/** Messages with at most this many predictions are written in one transaction. */
const SINGLE_TRANSACTION_MAX = 1;
const BATCH_SIZE = 25;
const PUT_CONCURRENCY = 16;
/** Hour items one group may add to: with the marker, a commit transaction stays within 100 items. */
const MAX_GROUP_HOURS = 90;

const predKey = (id: string) => ({ pk: `PRED#${id}`, sk: 'P' });
const capKey = (id: string) => ({ pk: `CAP#${id}`, sk: 'C' });

export const labelledPk = (model: string) => `LABELLED#${model}`;

export class DynamoPredictionStore implements PredictionStore, LabelledPredictions {
  private readonly ttlSeconds: number;
  private readonly clock: Clock;
  private readonly leaseMs: number;
  private readonly concurrency: number;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    options: DynamoPredictionStoreOptions = {},
  ) {
    this.ttlSeconds = Math.round((options.ttlDays ?? 90) * 86_400);
    this.clock = options.clock ?? { now: () => new Date() };
    this.leaseMs = options.claimLeaseMs ?? 120_000;
    this.concurrency = Math.max(1, options.concurrency ?? 8);
  }

  async record(batch: CaptureBatch): Promise<void> {
    return this.recordGroup(batch.messageId, [batch]);
  }

  /**
   * Records several capture messages as one unit under one marker (CAP#<groupId>): their
   * predictions, and one ADD per hour item they touch. The capture worker records each queue body
   * (hundreds of capture messages) this way: a transaction per capture message kept it at about a
   * hundred requests a second. groupId must be a function of the messages (captureGroupId), so
   * that whichever path delivers the same group again (a redelivery, or the inference's spill
   * after a send that SQS accepted late) finds the marker and counts nothing twice.
   */
  async recordGroup(groupId: string, batches: readonly CaptureBatch[]): Promise<void> {
    if (batches.length === 0) return;
    const first = batches[0] as CaptureBatch;
    const now = this.clock.now();
    const expiresAt = Math.floor(now.getTime() / 1000) + this.ttlSeconds;
    const preds: Item[] = [];
    const hours = new Map<
      string,
      { model: string; version: string; hourStart: string; totals: AggregateTotals[] }
    >();
    for (const batch of batches) {
      const hourStart = hourStartOf(batch.hourStart);
      for (const p of batch.predictions)
        preds.push(this.predictionItem(p, batch.messageId, hourStart, expiresAt));
      const key = `${batch.model}\u0000${hourStart}\u0000${batch.version}`;
      let hour = hours.get(key);
      if (!hour) {
        hour = { model: batch.model, version: batch.version, hourStart, totals: [] };
        hours.set(key, hour);
      }
      hour.totals.push(requestTotals(batch));
    }
    if (hours.size > MAX_GROUP_HOURS) {
      // A transaction holds at most 100 items: a group spanning that many hour items (never one
      // queue body in practice) is recorded in deterministic slices instead.
      const slices: CaptureBatch[][] = [];
      for (let i = 0; i < batches.length; i += MAX_GROUP_HOURS)
        slices.push(batches.slice(i, i + MAX_GROUP_HOURS));
      for (const [i, slice] of slices.entries()) await this.recordGroup(`${groupId}.${i}`, slice);
      return;
    }
    const stats = [...hours.values()].map((h) =>
      statsUpdate(this.table, h.model, h.version, h.hourStart, mergeAggregates(h.totals)),
    );
    const marker: Item = {
      ...capKey(groupId),
      model: first.model,
      version: first.version,
      hourStart: hourStartOf(first.hourStart),
      messages: batches.length,
      rows: preds.length,
      claimedAt: now.toISOString(),
      expiresAt,
    };

    if (preds.length <= SINGLE_TRANSACTION_MAX) {
      try {
        await transact(this.db, [
          {
            Put: {
              TableName: this.table,
              Item: { ...marker, state: 'done' },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          ...stats.map((Update): TransactItem => ({ Update })),
          ...preds.map((Item): TransactItem => ({ Put: { TableName: this.table, Item } })),
        ]);
      } catch (err) {
        if (cancelledByCondition(err, 0)) return; // counted before
        throw err;
      }
      return;
    }

    // 1. claim
    let fresh = true;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...marker, state: 'writing' },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const old = await this.oldMarker(err, groupId);
      if (!old || old.state === 'done') return;
      const claimedAt = Date.parse(String(old.claimedAt));
      const leftMs = claimedAt + this.leaseMs - now.getTime();
      if (leftMs > 0) throw new CaptureInProgress(groupId, Math.ceil(leftMs / 1000));
      fresh = false;
    }

    // 2. the predictions
    if (fresh) await this.putFresh(preds, now.getTime() + this.leaseMs);
    else await this.putEachIfAbsent(preds);

    // 3. commit
    try {
      await transact(this.db, [
        {
          Update: {
            TableName: this.table,
            Key: capKey(groupId),
            UpdateExpression: 'SET #state = :done',
            ConditionExpression: '#state = :writing',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':done': 'done', ':writing': 'writing' },
          },
        },
        ...stats.map((Update): TransactItem => ({ Update })),
      ]);
    } catch (err) {
      if (cancelledByCondition(err, 0)) return; // another delivery committed it
      throw err;
    }
  }

  /**
   * Adds predictions the capture path gave up on to their hour's lostPredictions, so the model's
   * stats show them as answered but not captured. One attempt, no retry: an ADD whose answer was
   * lost may have been applied, and counting a loss twice would be as wrong as not at all.
   */
  async recordLost(model: string, version: string, hourStart: string, predictions: number): Promise<void> {
    if (predictions <= 0) return;
    const hour = hourStartOf(hourStart);
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: statsPk(model), sk: `${hour}#${version}` },
        UpdateExpression: 'SET #model = :model, #version = :version, #hourStart = :hour ADD #lost :n',
        ExpressionAttributeNames: {
          '#model': 'model',
          '#version': 'version',
          '#hourStart': 'hourStart',
          '#lost': 'lostPredictions',
        },
        ExpressionAttributeValues: { ':model': model, ':version': version, ':hour': hour, ':n': predictions },
      }),
    );
  }

  async feedback(items: readonly FeedbackItem[]): Promise<FeedbackResult[]> {
    return mapLimit(items, this.concurrency, (item) => this.feedbackOne(item));
  }

  async aggregates(model: string, from: Date, to: Date): Promise<HourAggregate[]> {
    const first = ceilHour(from);
    const end = ceilHour(to);
    if (end <= first) return [];
    // sk is '<ISO hourStart>#<version>': every key of an hour h sorts after 'h' and before 'h$'
    // ('$' follows '#'), and ISO strings of whole hours sort like the hours.
    const lo = new Date(first).toISOString();
    const hi = `${new Date(end - HOUR_MS).toISOString()}$`;
    const out: HourAggregate[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
          ExpressionAttributeValues: { ':pk': statsPk(model), ':lo': lo, ':hi': hi },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of res.Items ?? []) out.push(toAggregate(model, item));
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async labelled(
    model: string,
    from: Date,
    to: Date,
    options: { readonly version?: string; readonly limit: number },
  ): Promise<{ rows: LabelledPrediction[]; truncated: boolean }> {
    // gsi1sk is '<ISO at>#<id>': every key of an instant t sorts after 't', so [from, to) is
    // BETWEEN 'from' and 'to' (a key at exactly `to` is 'to#…', after 'to').
    const lo = from.toISOString();
    const hi = to.toISOString();
    const rows: LabelledPrediction[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi',
          ...(options.version
            ? { FilterExpression: '#version = :version', ExpressionAttributeNames: { '#version': 'version' } }
            : {}),
          ExpressionAttributeValues: {
            ':pk': labelledPk(model),
            ':lo': lo,
            ':hi': hi,
            ...(options.version ? { ':version': options.version } : {}),
          },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of res.Items ?? []) {
        if (rows.length >= options.limit) return { rows, truncated: true };
        rows.push(labelledRow(item));
      }
      start = res.LastEvaluatedKey;
    } while (start);
    return { rows, truncated: false };
  }

  // -------------------------------------------------------------------------------------------

  private predictionItem(
    p: CapturedPrediction,
    messageId: string,
    hourStart: string,
    expiresAt: number,
  ): Item {
    const item: Item = {
      ...predKey(p.predictionId),
      predictionId: p.predictionId,
      model: p.model,
      version: p.version,
      at: p.at,
      hourStart,
      kind: p.kind,
      predicted: p.predicted,
      messageId,
      expiresAt,
    };
    if (p.variant !== undefined) item.variant = p.variant;
    if (p.experimentId !== undefined) item.experimentId = p.experimentId;
    if (typeof p.confidence === 'number' && Number.isFinite(p.confidence)) item.confidence = p.confidence;
    // Non-finite probabilities cannot be stored (nor scored): the row keeps its label only.
    if (p.probabilities?.every(Number.isFinite)) item.probabilities = p.probabilities;
    if (p.context && Object.keys(p.context).length > 0) item.context = p.context;
    if (p.instance !== undefined) item.instance = p.instance;
    return item;
  }

  private async feedbackOne(item: FeedbackItem): Promise<FeedbackResult> {
    const { predictionId } = item;
    const got = await this.db.send(
      new GetCommand({ TableName: this.table, Key: predKey(predictionId), ConsistentRead: true }),
    );
    const pred = got.Item;
    if (!pred) return { predictionId, status: 'unknown' };
    const model = String(pred.model);
    const version = String(pred.version);
    const experiment = (actual: string | number) =>
      typeof pred.experimentId === 'string' && typeof pred.variant === 'string'
        ? {
            experiment: {
              id: pred.experimentId,
              variant: pred.variant,
              kind: pred.kind as CapturedPrediction['kind'],
              predicted: pred.predicted as string | number,
              actual,
            },
          }
        : {};
    if (pred.actual !== undefined) {
      return {
        predictionId,
        status: 'duplicate',
        model,
        version,
        ...experiment(pred.actual as string | number),
      };
    }
    const totals: AggregateTotals = {
      ...emptyTotals(),
      feedback: feedbackTotals(
        { kind: pred.kind as CapturedPrediction['kind'], predicted: pred.predicted as string | number },
        item.actual,
      ),
    };
    const hourStart = typeof pred.hourStart === 'string' ? pred.hourStart : hourStartOf(String(pred.at));
    try {
      await transact(this.db, [
        {
          Update: {
            TableName: this.table,
            Key: predKey(predictionId),
            UpdateExpression: 'SET #actual = :actual, #feedbackAt = :at, #gsi1pk = :gpk, #gsi1sk = :gsk',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#actual)',
            ExpressionAttributeNames: {
              '#actual': 'actual',
              '#feedbackAt': 'feedbackAt',
              '#gsi1pk': 'gsi1pk',
              '#gsi1sk': 'gsi1sk',
            },
            ExpressionAttributeValues: {
              ':actual': item.actual,
              ':at': this.clock.now().toISOString(),
              // Keyed by when it was predicted, not labelled: a late label counts in its window.
              ':gpk': labelledPk(model),
              ':gsk': `${String(pred.at)}#${predictionId}`,
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        { Update: statsUpdate(this.table, model, version, hourStart, totals) },
      ]);
      return { predictionId, status: 'joined', model, version, ...experiment(item.actual) };
    } catch (err) {
      const reason = conditionFailure(err, 0);
      if (reason) {
        return reason.Item && Object.keys(reason.Item).length > 0
          ? { predictionId, status: 'duplicate', model, version }
          : { predictionId, status: 'unknown' };
      }
      throw err;
    }
  }

  /** The marker a failed claim ran into: from the failure itself, else read back. */
  /**
   * The groups among these that are recorded ('done'): their rows are in S3 already, so the
   * capture worker need not store them again (a redelivery, or a body the inference spilled).
   */
  async doneGroups(groupIds: readonly string[]): Promise<Set<string>> {
    const done = new Set<string>();
    const unique = [...new Set(groupIds)];
    for (let i = 0; i < unique.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = unique.slice(i, i + 100).map(capKey);
      for (let attempt = 0; keys?.length; attempt++) {
        if (attempt > 0) await sleep(backoffMs(attempt));
        const res: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({
            RequestItems: {
              [this.table]: {
                Keys: keys,
                ProjectionExpression: 'pk, #s',
                ExpressionAttributeNames: { '#s': 'state' },
              },
            },
          }),
        );
        for (const item of res.Responses?.[this.table] ?? []) {
          if (item.state === 'done') done.add(String(item.pk).slice('CAP#'.length));
        }
        keys = res.UnprocessedKeys?.[this.table]?.Keys;
        // Unread markers only cost a rewrite of rows that readers skip; do not loop for ever.
        if (attempt >= MAX_ATTEMPTS) break;
      }
    }
    return done;
  }

  private async oldMarker(
    err: ConditionalCheckFailedException,
    messageId: string,
  ): Promise<Item | undefined> {
    const raw = err.Item as Record<string, { S?: string }> | undefined;
    if (raw?.state?.S) return { state: raw.state.S, claimedAt: raw.claimedAt?.S };
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: capKey(messageId), ConsistentRead: true }),
    );
    return res.Item;
  }

  /**
   * Plain puts, 25 a request, retrying what DynamoDB leaves unprocessed. Only for predictions
   * nobody else can have written (a fresh claim); past `deadline` the claim may have been taken
   * over, so the rest go through putEachIfAbsent.
   */
  private async putFresh(items: readonly Item[], deadline: number): Promise<void> {
    const chunks: Item[][] = [];
    for (let i = 0; i < items.length; i += BATCH_SIZE) chunks.push(items.slice(i, i + BATCH_SIZE));
    // A 10,000-row request is 400 batches: sent `concurrency` at a time, not one after another.
    await mapLimit(chunks, this.concurrency, async (chunk) => {
      if (this.clock.now().getTime() >= deadline) return this.putEachIfAbsent(chunk);
      let requests = chunk.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) {
          if (attempt >= MAX_ATTEMPTS) {
            throw new Error(`DynamoDB left ${requests.length} prediction writes unprocessed`);
          }
          await sleep(backoffMs(attempt));
        }
        const res = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        requests = (res.UnprocessedItems?.[this.table] ?? []) as typeof requests;
      }
    });
  }

  /** One PutItem per prediction, each only if absent: never overwrites a joined feedback. */
  private async putEachIfAbsent(items: readonly Item[]): Promise<void> {
    await mapLimit(items, PUT_CONCURRENCY, async (Item) => {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.db.send(
            new PutCommand({ TableName: this.table, Item, ConditionExpression: 'attribute_not_exists(pk)' }),
          );
          return;
        } catch (err) {
          if (err instanceof ConditionalCheckFailedException) return;
          if (attempt + 1 < MAX_ATTEMPTS && isRetryable(err)) {
            await sleep(backoffMs(attempt));
            continue;
          }
          throw err;
        }
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------

function labelledRow(item: Item): LabelledPrediction {
  return {
    predictionId: String(item.predictionId),
    version: String(item.version),
    at: String(item.at),
    kind: item.kind as LabelledPrediction['kind'],
    predicted: item.predicted as string | number,
    actual: item.actual as string | number,
    ...(Array.isArray(item.probabilities) ? { probabilities: item.probabilities as number[] } : {}),
    ...(item.context && typeof item.context === 'object'
      ? { context: item.context as LabelledPrediction['context'] }
      : {}),
  };
}

function ceilHour(d: Date): number {
  const t = d.getTime();
  if (!Number.isFinite(t)) throw new RangeError('aggregates: from and to must be valid times');
  return Math.ceil(t / HOUR_MS) * HOUR_MS;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
