/**
 * TEMPORARY (h-serve): only what serving and the capture worker need of the experiments table,
 * `running()` and `observe()`, so this branch builds and runs on its own. The full adapter
 * (DynamoExperimentStore implementing ExperimentStore) is written on another branch and replaces
 * this file at merge; the layout below follows TABLES.experiments in functions/contract/resources.ts:
 *   RUNNING#<model> / 'R'            experimentId: the model's running slot;
 *   EXP#<id> / 'DEF'                 the Experiment record's fields;
 *   EXP#<id> / 'AGG#<variant>#<metric>'  variant, metric, n, sum, sumSq, h<bucket> (atomic ADDs);
 *   EXP#<id> / 'KEY#<key>'           an observation key already counted; expires with expiresAt.
 */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Experiment } from '../core/experiments/definition.js';
import type { Contribution, ObservationGroup } from '../core/experiments/ports.js';
import type { TransactItem } from './dynamo-common.js';
import { cancelledByCondition, transact } from './dynamo-retry.js';

/** With the key's marker, a group's transaction stays within DynamoDB's 100 items. */
const MAX_AGGREGATES_PER_GROUP = 99;

export class DynamoExperimentStore {
  private readonly ttlSeconds: number;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    options: { keyTtlDays?: number } = {},
  ) {
    this.ttlSeconds = Math.round((options.keyTtlDays ?? 90) * 86_400);
  }

  async running(model: string): Promise<Experiment | undefined> {
    const slot = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: `RUNNING#${model}`, sk: 'R' } }),
    );
    const id = slot.Item?.experimentId;
    if (typeof id !== 'string') return undefined;
    const def = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: `EXP#${id}`, sk: 'DEF' } }),
    );
    const e = def.Item as (Experiment & { pk?: string; sk?: string }) | undefined;
    if (!e || e.state !== 'running') return undefined;
    const { pk: _pk, sk: _sk, ...experiment } = e;
    return experiment as Experiment;
  }

  async observe(
    experimentId: string,
    groups: readonly ObservationGroup[],
  ): Promise<{ accepted: number; duplicates: number }> {
    let accepted = 0;
    let duplicates = 0;
    const expiresAt = Math.floor(Date.now() / 1000) + this.ttlSeconds;
    for (const g of groups) {
      const updates = aggregateUpdates(this.table, experimentId, g.contributions);
      if (updates.length > MAX_AGGREGATES_PER_GROUP) {
        throw new RangeError(`observation group ${g.key} touches ${updates.length} aggregates`);
      }
      try {
        await transact(this.db, [
          {
            Put: {
              TableName: this.table,
              Item: { pk: `EXP#${experimentId}`, sk: `KEY#${g.key}`, expiresAt },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          ...updates,
        ]);
        accepted++;
      } catch (err) {
        if (!cancelledByCondition(err, 0)) throw err;
        duplicates++;
      }
    }
    return { accepted, duplicates };
  }
}

/** One ADD per variant and metric the contributions touch. */
function aggregateUpdates(
  table: string,
  experimentId: string,
  contributions: readonly Contribution[],
): TransactItem[] {
  const sums = new Map<
    string,
    { variant: string; metric: string; n: number; sum: number; sumSq: number; h: Map<number, number> }
  >();
  for (const c of contributions) {
    const k = `${c.variant}#${c.metric}`;
    let s = sums.get(k);
    if (!s) {
      s = { variant: c.variant, metric: c.metric, n: 0, sum: 0, sumSq: 0, h: new Map() };
      sums.set(k, s);
    }
    s.n++;
    s.sum += c.value;
    s.sumSq += c.value * c.value;
    if (c.bucket !== undefined) s.h.set(c.bucket, (s.h.get(c.bucket) ?? 0) + 1);
  }
  return [...sums].map(([k, s]) => {
    const names: Record<string, string> = {
      '#v': 'variant',
      '#m': 'metric',
      '#n': 'n',
      '#s': 'sum',
      '#q': 'sumSq',
    };
    const values: Record<string, unknown> = {
      ':v': s.variant,
      ':m': s.metric,
      ':n': s.n,
      ':s': s.sum,
      ':q': s.sumSq,
    };
    const adds = ['#n :n', '#s :s', '#q :q'];
    let i = 0;
    for (const [bucket, count] of s.h) {
      names[`#h${i}`] = `h${bucket}`;
      values[`:h${i}`] = count;
      adds.push(`#h${i} :h${i}`);
      i++;
    }
    return {
      Update: {
        TableName: table,
        Key: { pk: `EXP#${experimentId}`, sk: `AGG#${k}` },
        UpdateExpression: `SET #v = :v, #m = :m ADD ${adds.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  });
}
