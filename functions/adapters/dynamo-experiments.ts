/**
 * ExperimentStore on DynamoDB (the experiments table; its layout: functions/contract/resources.ts).
 *
 * - A state change is one TransactWriteItems: the definition conditioned on its revision, the
 *   model's running slot (RUNNING#<model>) taken or given back, and the audit event, all or nothing.
 *   The slot is a plain item with a condition, so two concurrent starts on one model cannot both
 *   commit: exactly one transaction finds the slot free (or its own).
 * - Aggregates are running sums (n, sum, sumSq, latency histogram buckets) changed only with ADD,
 *   never read back and rewritten, so any number of writers add up exactly. Each observation group
 *   commits its ADDs in one transaction with its key's marker (KEY#<key>, put only if absent): a
 *   replayed key cancels the whole group, so it is counted once or not at all.
 * - Writers adding to the same aggregate item make DynamoDB cancel some transactions with
 *   TransactionConflict; those are retried with jittered backoff (nothing was written).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Experiment } from '../core/experiments/definition.js';
import type {
  ExperimentQuery,
  ExperimentStore,
  MetricAggregate,
  ObservationGroup,
  ResultsSnapshot,
  RunningLock,
} from '../core/experiments/ports.js';
import type { AuditEvent } from '../core/kernel/audit.js';
import { concurrentModification, conflict, validationFailed } from '../core/kernel/errors.js';
import type { Page, PageRequest } from '../core/kernel/paging.js';
import {
  auditPut,
  getItem,
  getWithoutKeys,
  gsi1Listing,
  prefixListing,
  putIfAbsent,
  queryFilteredPage,
  queryPage,
  storableNumbers,
  type TransactItem,
  withoutKeys,
} from './dynamo-common.js';
import { backoffMs, conditionFailure, isRetryable } from './dynamo-retry.js';

export interface DynamoExperimentStoreOptions {
  /** Days an observation key's marker lives (DynamoDB TTL on expiresAt). Default 90. */
  readonly keyTtlDays?: number;
  /**
   * The audit table, needed to create and change experiments (their audit events commit with
   * them); functions that only read or observe leave it out.
   */
  readonly auditTable?: string;
}

type Item = Record<string, unknown>;

const DEF_SK = 'DEF';
const RUNNING_SK = 'R';
/** gsi1 partitions: every experiment (by id, a ULID: newest first backwards), every running slot. */
const EXPERIMENTS_LISTING = 'EXPERIMENTS';
const RUNNING_LISTING = 'RUNNING';
const KEY_ATTRS = new Set(['pk', 'sk', 'type', 'gsi1pk', 'gsi1sk', 'expiresAt']);
/** A transaction holds at most 100 items: the marker and 99 aggregates. */
const MAX_GROUP_AGGREGATES = 99;
/** Attempts of one group's transaction while other writers keep conflicting with it. */
const OBSERVE_ATTEMPTS = 25;
/** Groups of one observe() call written at once. */
const OBSERVE_CONCURRENCY = 8;
/** Attempts of an update whose release found the slot held by another experiment meanwhile. */
const UPDATE_ATTEMPTS = 3;

const expPk = (id: string) => `EXP#${id}`;
const runningKey = (model: string) => ({ pk: `RUNNING#${model}`, sk: RUNNING_SK });
/**
 * Every request of a running experiment adds to the same few aggregates, and transactions on one
 * item conflict: each (variant, metric) is spread over AGG_SHARDS items, the group's key choosing
 * one, and aggregates() adds them up. A shard is `AGG#<variant>#<metric>#<shard>`.
 */
const AGG_SHARDS = 16;
const aggSk = (variant: string, metric: string, shard: number) => `AGG#${variant}#${metric}#${shard}`;

/** FNV-1a of the group key: which shard its contributions go to. */
function shardOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % AGG_SHARDS;
}
/** Latency histogram bucket b of an aggregate item is the number attribute `h<b>`. */
const HISTOGRAM_ATTR = /^h(\d+)$/;

export class DynamoExperimentStore implements ExperimentStore {
  private readonly ttlSeconds: number;
  private readonly auditTable?: string;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    options: DynamoExperimentStoreOptions = {},
  ) {
    this.ttlSeconds = Math.round((options.keyTtlDays ?? 90) * 86_400);
    this.auditTable = options.auditTable;
  }

  // ---- definitions ----------------------------------------------------------------------

  async create(experiment: Experiment, audit: AuditEvent): Promise<void> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [putIfAbsent(this.table, this.defItem(experiment)), this.audit(audit)],
        }),
      );
    } catch (err) {
      if (conditionFailure(err, 0)) {
        throw conflict(`experiment ${experiment.id} exists`, { experimentId: experiment.id });
      }
      throw err;
    }
  }

  get(id: string): Promise<Experiment | undefined> {
    return getWithoutKeys<Experiment>(this.db, this.table, { pk: expPk(id), sk: DEF_SK }, KEY_ATTRS);
  }

  list(query: ExperimentQuery): Promise<Page<Experiment>> {
    const listing = gsi1Listing(this.table, EXPERIMENTS_LISTING, true);
    const { model, state } = query;
    if (model === undefined && state === undefined) {
      return queryPage(this.db, listing.input, query, {
        ...listing.cursor,
        map: (i) => withoutKeys<Experiment>(i, KEY_ATTRS),
      });
    }
    return queryFilteredPage<Experiment>(
      this.db,
      KEY_ATTRS,
      listing,
      query,
      (e) => (model === undefined || e.model === model) && (state === undefined || e.state === state),
    );
  }

  async update(
    experiment: Experiment,
    expectRevision: number,
    options: { audit?: AuditEvent; lock?: RunningLock } = {},
  ): Promise<void> {
    let lock = options.lock;
    for (let attempt = 1; ; attempt++) {
      const items: TransactItem[] = [
        {
          Put: {
            TableName: this.table,
            Item: this.defItem(experiment),
            ConditionExpression: 'attribute_exists(pk) AND #revision = :revision',
            ExpressionAttributeNames: { '#revision': 'revision' },
            ExpressionAttributeValues: { ':revision': expectRevision },
          },
        },
      ];
      if (lock) items.push(this.lockItem(experiment, lock));
      if (options.audit) items.push(this.audit(options.audit));
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
        return;
      } catch (err) {
        if (conditionFailure(err, 0) || isRetryable(err)) throw concurrentModification();
        if (!lock || !conditionFailure(err, 1)) throw err;
        const holder = await getItem<{ experimentId?: string }>(
          this.db,
          this.table,
          runningKey(experiment.model),
        );
        if (lock === 'acquire') {
          // Released between the transaction and this read: the caller's retry may find it free.
          if (!holder?.experimentId) throw concurrentModification();
          throw conflict(
            `model ${experiment.model} already has a running experiment (${holder.experimentId})`,
            { model: experiment.model, runningExperiment: holder.experimentId },
          );
        }
        // Another experiment holds the slot now: ours is already given back, nothing to release.
        if (attempt >= UPDATE_ATTEMPTS) throw concurrentModification();
        lock = undefined;
      }
    }
  }

  async running(model: string): Promise<Experiment | undefined> {
    const slot = await getItem<{ experimentId?: string }>(this.db, this.table, runningKey(model));
    return slot?.experimentId ? this.get(slot.experimentId) : undefined;
  }

  async listRunning(): Promise<Experiment[]> {
    const ids: string[] = [];
    let start: Item | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({ ...gsi1Listing(this.table, RUNNING_LISTING).input, ExclusiveStartKey: start }),
      );
      for (const item of res.Items ?? []) ids.push(String(item.experimentId));
      start = res.LastEvaluatedKey;
    } while (start);
    const out: Experiment[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      out.push(...(await this.batchGet(ids.slice(i, i + 100))));
    }
    // The index is eventually consistent: keep only what the definitions say is running.
    return out.filter((e) => e.state === 'running').sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  // ---- observations ---------------------------------------------------------------------

  async observe(
    experimentId: string,
    groups: readonly ObservationGroup[],
  ): Promise<{ accepted: number; duplicates: number }> {
    let accepted = 0;
    let duplicates = 0;
    let next = 0;
    const worker = async () => {
      while (next < groups.length) {
        const g = groups[next++]!;
        if (await this.observeGroup(experimentId, g)) accepted++;
        else duplicates++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(OBSERVE_CONCURRENCY, groups.length) }, worker));
    return { accepted, duplicates };
  }

  /** true when counted now, false when the key was counted before. */
  private async observeGroup(experimentId: string, group: ObservationGroup): Promise<boolean> {
    const merged = mergeContributions(group);
    if (merged.length > MAX_GROUP_AGGREGATES) {
      throw validationFailed(`an observation group adds to at most ${MAX_GROUP_AGGREGATES} aggregates`, {
        aggregates: merged.length,
      });
    }
    const items: TransactItem[] = [
      putIfAbsent(this.table, {
        pk: expPk(experimentId),
        sk: `KEY#${group.key}`,
        at: new Date().toISOString(),
        expiresAt: Math.floor(Date.now() / 1000) + this.ttlSeconds,
      }),
      ...merged.map((m): TransactItem => ({ Update: this.aggUpdate(experimentId, m, shardOf(group.key)) })),
    ];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
        return true;
      } catch (err) {
        if (conditionFailure(err, 0)) return false;
        if (attempt + 1 < OBSERVE_ATTEMPTS && isRetryable(err)) {
          await sleep(backoffMs(attempt));
          continue;
        }
        throw err;
      }
    }
  }

  private aggUpdate(experimentId: string, m: Merged, shard: number): NonNullable<TransactItem['Update']> {
    const names: Record<string, string> = {
      '#variant': 'variant',
      '#metric': 'metric',
      '#n': 'n',
      '#sum': 'sum',
      '#sumSq': 'sumSq',
    };
    const values: Record<string, unknown> = {
      ':variant': m.variant,
      ':metric': m.metric,
      ':n': m.n,
      ':sum': dynamoNumber(m.sum),
      ':sumSq': dynamoNumber(m.sumSq),
    };
    const adds = ['#n :n', '#sum :sum', '#sumSq :sumSq'];
    for (const [i, [bucket, count]] of [...m.histogram].entries()) {
      names[`#h${i}`] = `h${bucket}`;
      values[`:h${i}`] = count;
      adds.push(`#h${i} :h${i}`);
    }
    return {
      TableName: this.table,
      Key: { pk: expPk(experimentId), sk: aggSk(m.variant, m.metric, shard) },
      UpdateExpression: `SET #variant = :variant, #metric = :metric ADD ${adds.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  async aggregates(experimentId: string): Promise<MetricAggregate[]> {
    const out: MetricAggregate[] = [];
    const input: QueryCommandInput = prefixListing(this.table, expPk(experimentId), 'AGG#').input;
    let start: Item | undefined;
    do {
      const res = await this.db.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      for (const item of res.Items ?? []) out.push(toAggregate(item));
      start = res.LastEvaluatedKey;
    } while (start);
    return sumShards(out);
  }

  // ---- snapshots --------------------------------------------------------------------------

  async putSnapshot(snapshot: ResultsSnapshot): Promise<void> {
    // Results hold statistics: a p-value below DynamoDB's smallest number is stored as 0.
    const { value } = storableNumbers(snapshot.results);
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: expPk(snapshot.experimentId),
          sk: `SNAP#${snapshot.at}`,
          experimentId: snapshot.experimentId,
          at: snapshot.at,
          results: value,
        },
      }),
    );
  }

  listSnapshots(experimentId: string, page: PageRequest): Promise<Page<ResultsSnapshot>> {
    const listing = prefixListing(this.table, expPk(experimentId), 'SNAP#');
    return queryPage(this.db, listing.input, page, {
      ...listing.cursor,
      map: (i) => ({
        experimentId: String(i.experimentId),
        at: String(i.at),
        results: i.results as Record<string, unknown>,
      }),
    });
  }

  // ---- helpers ----------------------------------------------------------------------------

  private defItem(e: Experiment): Item {
    return {
      ...storableNumbers(e).value,
      pk: expPk(e.id),
      sk: DEF_SK,
      type: 'experiment',
      gsi1pk: EXPERIMENTS_LISTING,
      gsi1sk: e.id,
    };
  }

  private lockItem(e: Experiment, lock: RunningLock): TransactItem {
    if (lock === 'acquire') {
      return {
        Put: {
          TableName: this.table,
          Item: {
            ...runningKey(e.model),
            experimentId: e.id,
            model: e.model,
            since: e.updatedAt,
            gsi1pk: RUNNING_LISTING,
            gsi1sk: e.model,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR experimentId = :id',
          ExpressionAttributeValues: { ':id': e.id },
        },
      };
    }
    return {
      Delete: {
        TableName: this.table,
        Key: runningKey(e.model),
        ConditionExpression: 'attribute_not_exists(pk) OR experimentId = :id',
        ExpressionAttributeValues: { ':id': e.id },
      },
    };
  }

  private audit(audit: AuditEvent): TransactItem {
    if (!this.auditTable) {
      throw new Error(
        'this experiment store was built without the audit table; it cannot change experiments',
      );
    }
    return auditPut(this.auditTable, audit);
  }

  private async batchGet(ids: readonly string[]): Promise<Experiment[]> {
    const out: Experiment[] = [];
    let keys: Item[] = ids.map((id) => ({ pk: expPk(id), sk: DEF_SK }));
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt > 0) await sleep(backoffMs(attempt));
      const res = await this.db.send(
        new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of res.Responses?.[this.table] ?? [])
        out.push(withoutKeys<Experiment>(item, KEY_ATTRS));
      keys = (res.UnprocessedKeys?.[this.table]?.Keys ?? []) as Item[];
    }
    return out;
  }
}

interface Merged {
  readonly variant: string;
  readonly metric: string;
  n: number;
  sum: number;
  sumSq: number;
  readonly histogram: Map<number, number>;
}

/** One ADD per aggregate item: a transaction may not name the same item twice. */
function mergeContributions(group: ObservationGroup): Merged[] {
  const byItem = new Map<string, Merged>();
  for (const c of group.contributions) {
    const id = `${c.variant}\u0000${c.metric}`;
    let m = byItem.get(id);
    if (!m) {
      m = { variant: c.variant, metric: c.metric, n: 0, sum: 0, sumSq: 0, histogram: new Map() };
      byItem.set(id, m);
    }
    m.n += 1;
    m.sum += c.value;
    m.sumSq += c.value * c.value;
    if (c.bucket !== undefined) m.histogram.set(c.bucket, (m.histogram.get(c.bucket) ?? 0) + 1);
  }
  return [...byItem.values()];
}

/** DynamoDB numbers stop at magnitude 1e-130: anything that small adds nothing anyway. */
function dynamoNumber(x: number): number {
  return Math.abs(x) < 1e-120 ? 0 : x;
}

function toAggregate(item: Item): MetricAggregate {
  const num = (k: string) => (typeof item[k] === 'number' ? (item[k] as number) : 0);
  const histogram: Record<number, number> = {};
  let buckets = 0;
  for (const [k, v] of Object.entries(item)) {
    const m = HISTOGRAM_ATTR.exec(k);
    if (m && typeof v === 'number') {
      histogram[Number(m[1])] = v;
      buckets++;
    }
  }
  return {
    variant: String(item.variant),
    metric: String(item.metric),
    n: num('n'),
    sum: num('sum'),
    sumSq: num('sumSq'),
    ...(buckets > 0 ? { histogram } : {}),
  };
}

/** The shards of each (variant, metric) added up into one aggregate. */
function sumShards(shards: readonly MetricAggregate[]): MetricAggregate[] {
  const byKey = new Map<
    string,
    {
      variant: string;
      metric: string;
      n: number;
      sum: number;
      sumSq: number;
      histogram?: Record<number, number>;
    }
  >();
  for (const a of shards) {
    const key = `${a.variant}\u0000${a.metric}`;
    const acc = byKey.get(key) ?? { variant: a.variant, metric: a.metric, n: 0, sum: 0, sumSq: 0 };
    acc.n += a.n;
    acc.sum += a.sum;
    acc.sumSq += a.sumSq;
    if (a.histogram) {
      acc.histogram ??= {};
      for (const [b, c] of Object.entries(a.histogram))
        acc.histogram[Number(b)] = (acc.histogram[Number(b)] ?? 0) + c;
    }
    byKey.set(key, acc);
  }
  return [...byKey.values()];
}
