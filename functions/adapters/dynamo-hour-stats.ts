/**
 * The hourly STATS item of the predictions table (its layout: dynamo-predictions.ts): the one
 * UpdateItem that ADDs some totals to an hour, and reading an item back as an HourAggregate.
 */
import { createHash } from 'node:crypto';
import type { AggregateTotals } from '../core/inference/aggregates.js';
import type { HourAggregate } from '../core/inference/ports.js';
import type { TransactItem } from './dynamo-common.js';

type UpdateOp = NonNullable<TransactItem['Update']>;

/** Confusion keys longer than this (UTF-8 bytes) are stored under a hashed attribute name. */
const INLINE_KEY_BYTES = 128;

export const statsPk = (model: string) => `STATS#${model}`;

/** The ADD of some totals to an hour's STATS item (also setting its model, version, hour). */
export function statsUpdate(
  table: string,
  model: string,
  version: string,
  hourStart: string,
  t: AggregateTotals,
): UpdateOp {
  const u = new UpdateBuilder();
  u.set('model', model);
  u.set('version', version);
  u.set('hourStart', hourStart);
  // Later parts of a split request carry predictions without a request (requestTotals).
  if (t.requests) u.add('requests', t.requests);
  if (t.requests) u.add('errors', t.errors);
  if (t.predictions) u.add('predictions', t.predictions);
  for (const [bucket, c] of Object.entries(t.latency)) if (c) u.add(`l${bucket}`, c);
  if (t.confidenceCount) {
    u.add('confidenceSum', t.confidenceSum);
    u.add('confidenceCount', t.confidenceCount);
  }
  const f = t.feedback;
  if (f.count) u.add('fbCount', f.count);
  if (f.absErrorSum) u.add('fbAbsErrorSum', f.absErrorSum);
  if (f.squaredErrorSum) u.add('fbSquaredErrorSum', f.squaredErrorSum);
  if (f.errorSum) u.add('fbErrorSum', f.errorSum);
  for (const [key, c] of Object.entries(f.confusion)) {
    if (!c) continue;
    if (Buffer.byteLength(key, 'utf8') <= INLINE_KEY_BYTES) {
      u.add(`c:${key}`, c);
    } else {
      const h = createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32);
      u.add(`c#${h}`, c);
      u.set(`k#${h}`, key);
    }
  }
  return {
    TableName: table,
    Key: { pk: statsPk(model), sk: `${hourStart}#${version}` },
    ...u.build(),
  };
}

class UpdateBuilder {
  private readonly names: Record<string, string> = {};
  private readonly values: Record<string, unknown> = {};
  private readonly sets: string[] = [];
  private readonly adds: string[] = [];
  private n = 0;

  set(attr: string, value: unknown): void {
    this.sets.push(`${this.name(attr)} = ${this.value(value)}`);
  }

  add(attr: string, value: number): void {
    this.adds.push(`${this.name(attr)} ${this.value(dynamoNumber(value))}`);
  }

  build() {
    const parts = [];
    if (this.sets.length) parts.push(`SET ${this.sets.join(', ')}`);
    if (this.adds.length) parts.push(`ADD ${this.adds.join(', ')}`);
    return {
      UpdateExpression: parts.join(' '),
      ExpressionAttributeNames: this.names,
      ExpressionAttributeValues: this.values,
    };
  }

  private name(attr: string): string {
    const k = `#n${this.n++}`;
    this.names[k] = attr;
    return k;
  }

  private value(v: unknown): string {
    const k = `:v${this.n++}`;
    this.values[k] = v;
    return k;
  }
}

/** DynamoDB numbers stop at magnitude 1e-130: anything that small adds nothing anyway. */
function dynamoNumber(x: number): number {
  return Math.abs(x) < 1e-120 ? 0 : x;
}

export function toAggregate(model: string, item: Record<string, unknown>): HourAggregate {
  const num = (k: string) => (typeof item[k] === 'number' ? (item[k] as number) : 0);
  const latency: Record<number, number> = {};
  const confusion: Record<string, number> = {};
  for (const [k, v] of Object.entries(item)) {
    if (typeof v !== 'number') continue;
    if (/^l\d+$/.test(k)) {
      latency[Number(k.slice(1))] = v;
    } else if (k.startsWith('c:')) {
      const key = k.slice(2);
      confusion[key] = (confusion[key] ?? 0) + v;
    } else if (k.startsWith('c#')) {
      const key = item[`k#${k.slice(2)}`];
      if (typeof key === 'string') confusion[key] = (confusion[key] ?? 0) + v;
    }
  }
  const sk = String(item.sk);
  const cut = sk.indexOf('#');
  return {
    model: typeof item.model === 'string' ? item.model : model,
    version: typeof item.version === 'string' ? item.version : sk.slice(cut + 1),
    hourStart: typeof item.hourStart === 'string' ? item.hourStart : sk.slice(0, cut),
    requests: num('requests'),
    errors: num('errors'),
    predictions: num('predictions'),
    latency,
    confidenceSum: num('confidenceSum'),
    confidenceCount: num('confidenceCount'),
    feedback: {
      count: num('fbCount'),
      absErrorSum: num('fbAbsErrorSum'),
      squaredErrorSum: num('fbSquaredErrorSum'),
      errorSum: num('fbErrorSum'),
      confusion,
    },
    ...(num('lostPredictions') ? { lostPredictions: num('lostPredictions') } : {}),
  };
}
