/**
 * The labelled-predictions index (TABLES.predictions gsi1) through the real SDK against DynamoDB
 * Local: a label is found by its prediction's time however late it came, unlabelled predictions
 * are not in the index, the window is [from, to), a version filter and a row cap (truncated)
 * hold across pages, and the prediction's probabilities and context come back with it.
 */

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/adapters/aws-clients.js';
import { DynamoPredictionStore } from '../../functions/adapters/dynamo-predictions.js';
import type { CaptureBatch } from '../../functions/core/inference/ports.js';
import { standinsForFile } from '../support/lifecycle.js';
import type { Standins } from '../support/standins.js';

let aws: Standins;
let db: DynamoDBDocumentClient;
let table: string;

standinsForFile({
  setup: (started) => {
    aws = started;
    db = documentClient();
    table = aws.resources.tables.predictions;
  },
  teardown: () => db?.destroy(),
});

const at = (h: number, m = 0) => new Date(Date.UTC(2026, 2, 1, h, m)).toISOString();

function batch(model: string, id: string, when: string, version = '1.0.0', rows = 1): CaptureBatch {
  return {
    messageId: `msg-${id}`,
    model,
    version,
    hourStart: when,
    outcome: 'ok',
    latencyMs: 3,
    predictions: Array.from({ length: rows }, (_, i) => ({
      predictionId: `${id}-${i}`,
      model,
      version,
      at: when,
      kind: 'binary' as const,
      predicted: 'yes',
      confidence: 0.8,
      probabilities: [0.2, 0.8],
      context: { group: i % 2 === 0 ? 'a' : 'b' },
    })),
  };
}

describe('labelled predictions by prediction time', () => {
  it('finds a label sent days later in its prediction’s window, never in the label’s', async () => {
    let now = new Date();
    const store = new DynamoPredictionStore(db, table, { clock: { now: () => now } });
    await store.record(batch('late', 'p10', at(10, 30)));
    await store.record(batch('late', 'p11', at(11, 15)));
    await store.record(batch('late', 'unlabelled', at(10, 45)));
    // Three days pass before the labels come.
    now = new Date(now.getTime() + 3 * 86_400_000);
    const fb = await store.feedback([
      { predictionId: 'p10-0', actual: 'no' },
      { predictionId: 'p11-0', actual: 'yes' },
    ]);
    expect(fb.map((r) => r.status)).toEqual(['joined', 'joined']);

    const ten = await store.labelled('late', new Date(at(10)), new Date(at(11)), { limit: 100 });
    expect(ten.truncated).toBe(false);
    expect(ten.rows).toEqual([
      {
        predictionId: 'p10-0',
        version: '1.0.0',
        at: at(10, 30),
        kind: 'binary',
        predicted: 'yes',
        actual: 'no',
        probabilities: [0.2, 0.8],
        context: { group: 'a' },
      },
    ]);
    const eleven = await store.labelled('late', new Date(at(11)), new Date(at(12)), { limit: 100 });
    expect(eleven.rows.map((r) => r.predictionId)).toEqual(['p11-0']);
    // The labels' own time (three days on) holds nothing.
    const labelDay = new Date(now.getTime() - 3_600_000);
    expect((await store.labelled('late', labelDay, now, { limit: 100 })).rows).toEqual([]);
  });

  it('takes [from, to): a prediction at exactly `to` belongs to the next window', async () => {
    const store = new DynamoPredictionStore(db, table);
    await store.record(batch('edges', 'from', at(12)));
    await store.record(batch('edges', 'to', at(13)));
    await store.feedback([
      { predictionId: 'from-0', actual: 'yes' },
      { predictionId: 'to-0', actual: 'yes' },
    ]);
    const rows = (await store.labelled('edges', new Date(at(12)), new Date(at(13)), { limit: 10 })).rows;
    expect(rows.map((r) => r.predictionId)).toEqual(['from-0']);
  });

  it('filters by version and caps the rows, saying when it did', async () => {
    const store = new DynamoPredictionStore(db, table);
    await store.record({ ...batch('cap', 'v1', at(14, 1), '1.0.0', 20) });
    await store.record({ ...batch('cap', 'v2', at(14, 2), '2.0.0', 5) });
    await store.feedback([
      ...Array.from({ length: 20 }, (_, i) => ({ predictionId: `v1-${i}`, actual: 'no' })),
      ...Array.from({ length: 5 }, (_, i) => ({ predictionId: `v2-${i}`, actual: 'no' })),
    ]);
    const from = new Date(at(14));
    const to = new Date(at(15));
    const v2 = await store.labelled('cap', from, to, { version: '2.0.0', limit: 100 });
    expect(v2.rows).toHaveLength(5);
    expect(v2.rows.every((r) => r.version === '2.0.0')).toBe(true);
    const capped = await store.labelled('cap', from, to, { limit: 7 });
    expect(capped).toMatchObject({ truncated: true });
    expect(capped.rows).toHaveLength(7);
    const exact = await store.labelled('cap', from, to, { limit: 25 });
    expect(exact.truncated).toBe(false);
    expect(exact.rows).toHaveLength(25);
  });
});
