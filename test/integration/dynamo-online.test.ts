/**
 * The online learner's state on DynamoDB Local under concurrency: 50 feedback streams, each in its
 * own "container" (its own learn loop), some re-sending samples others sent, must apply every
 * distinct sample exactly once, and the weights must equal a sequential replay in the committed
 * order (each sample's onlineSeq).
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/adapters/aws-clients.js';
import { DynamoOnlineStore } from '../../functions/adapters/dynamo-online.js';
import { DynamoPredictionStore } from '../../functions/adapters/dynamo-predictions.js';
import { OnlineLearningPolicy } from '../../functions/core/monitoring/policy.js';
import { readLinearWeights } from '../../functions/core/online/learner.js';
import { learn } from '../../functions/core/online/service.js';
import { applySamples, type Sample, startState } from '../../functions/core/online/strategy.js';
import { logisticRegressionOnnx } from '../../functions/core/onnx/models.js';
import { createRng } from '../../functions/core/training/random.js';
import { standinsForFile } from '../support/lifecycle.js';

let db: DynamoDBDocumentClient;
let table: string;
let auditTable: string;

standinsForFile({
  setup: (aws) => {
    db = documentClient();
    table = aws.resources.tables.predictions;
    auditTable = aws.resources.tables.audit;
  },
});

const STREAMS = 50;
const PER_STREAM = 8;
const weights = readLinearWeights(logisticRegressionOnnx({ weights: [1, -1], bias: 0, classes: [0, 1] }), 2);

async function capture(model: string, samples: readonly Sample[]): Promise<void> {
  const at = new Date().toISOString();
  const preds = new DynamoPredictionStore(db, table);
  for (const s of samples) {
    await preds.record({
      messageId: `m-${s.id}`,
      model,
      version: '1.0.0',
      hourStart: `${at.slice(0, 13)}:00:00.000Z`,
      outcome: 'ok',
      latencyMs: 1,
      predictions: [{ predictionId: s.id, model, version: '1.0.0', at, kind: 'binary', predicted: 0 }],
    });
  }
}

/** The learner a model starts from: production's weights for features a and b, classes 0 and 1. */
function starter(model: string, policy: OnlineLearningPolicy) {
  return async () =>
    startState({
      model,
      parentVersion: '1.0.0',
      classes: [0, 1],
      features: ['a', 'b'],
      weights,
      policy,
      now: new Date(0),
    });
}

describe('online learner state under 50 concurrent feedback streams', () => {
  for (const strategy of ['incremental', 'minibatch'] as const) {
    it(`${strategy}: no sample lost or counted twice; weights = replay in committed order`, async () => {
      const model = `online-${strategy}`;
      const policy = OnlineLearningPolicy.parse({ enabled: true, strategy, batchSize: 7, learningRate: 0.2 });
      const rng = createRng(strategy === 'incremental' ? 1 : 2);
      const all: Sample[] = Array.from({ length: STREAMS * PER_STREAM }, (_, i) => {
        const x = [rng.normal(), rng.normal()];
        return { id: `${model}-${i}`, x, actual: (x[1] as number) > 0 ? 1 : 0 };
      });
      await capture(model, all);
      const store = new DynamoOnlineStore(db, table);
      const start = starter(model, policy);
      // Each stream sends its own samples one request at a time, and re-sends one of its
      // neighbour's (a client retry or a redelivery): duplicates across containers.
      await Promise.all(
        Array.from({ length: STREAMS }, async (_, k) => {
          const mine = all.slice(k * PER_STREAM, (k + 1) * PER_STREAM);
          const neighbour = all[((k + 1) % STREAMS) * PER_STREAM] as Sample;
          for (const s of [...mine.slice(0, 4), neighbour, ...mine.slice(4)]) {
            await learn({ store, model, samples: [s], policy, start, now: () => new Date(0), sleep });
          }
        }),
      );
      const loaded = await store.load(model);
      expect(loaded?.state.samplesSeen).toBe(all.length);
      // Every sample carries one place in the order, and the places are 0..n-1.
      const seqs = new Map<number, Sample>();
      for (const s of all) {
        const item = await db.send(
          new GetCommand({ TableName: table, Key: { pk: `PRED#${s.id}`, sk: 'P' } }),
        );
        expect(item.Item?.onlineModel).toBe(model);
        seqs.set(Number(item.Item?.onlineSeq), s);
      }
      expect([...seqs.keys()].sort((a, b) => a - b)).toEqual(all.map((_, i) => i));
      const order = [...seqs.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
      const replay = applySamples(await start(), order, policy, new Date(0));
      expect(loaded?.state.current).toEqual(JSON.parse(JSON.stringify(replay.current)));
      expect(loaded?.state.trainedSamples).toBe(replay.trainedSamples);
      expect(loaded?.state.updates).toBe(replay.updates);
      // It learned something: the weights moved from production's.
      expect(loaded?.state.current).not.toEqual(weights);
    }, 180_000);
  }

  it('a sample that is no captured prediction is refused, not learned', async () => {
    const model = 'online-unknown';
    const policy = OnlineLearningPolicy.parse({ enabled: true });
    const store = new DynamoOnlineStore(db, table);
    const start = starter(model, policy);
    const r = await learn({
      store,
      model,
      samples: [{ id: 'never-captured', x: [1, 1], actual: 1 }],
      policy,
      start,
      now: () => new Date(0),
      sleep,
    });
    expect(r.applied).toBe(0);
    expect(r.alreadyApplied).toBe(1);
  });

  it('reads labelled captures with their stored instance (in the order asked), and resets with an audit event', async () => {
    const model = 'online-read';
    const at = new Date().toISOString();
    const preds = new DynamoPredictionStore(db, table);
    await preds.recordGroup('g-online-read', [
      {
        messageId: 'm-online-read',
        model,
        version: '1.0.0',
        hourStart: `${at.slice(0, 13)}:00:00.000Z`,
        outcome: 'ok',
        latencyMs: 1,
        predictions: [
          {
            predictionId: 'or-1',
            model,
            version: '1.0.0',
            at,
            kind: 'binary',
            predicted: 0,
            instance: '[1e+200,2]',
          },
          { predictionId: 'or-2', model, version: '1.0.0', at, kind: 'binary', predicted: 1 },
        ],
      },
    ]);
    await preds.feedback([
      { predictionId: 'or-2', actual: 0 },
      { predictionId: 'or-1', actual: 1 },
    ]);
    const store = new DynamoOnlineStore(db, table, auditTable);
    expect(await store.labelled(['or-2', 'never', 'or-1'])).toEqual([
      { predictionId: 'or-2', model, actual: 0 },
      { predictionId: 'or-1', model, actual: 1, instance: '[1e+200,2]' },
    ]);
    const policy = OnlineLearningPolicy.parse({ enabled: true });
    const state = await starter(model, policy)();
    expect((await store.commit(model, null, state, [])).ok).toBe(true);
    await store.reset(model, {
      id: 'a-online-read',
      at,
      actor: 'k1',
      actorName: 'alice',
      action: 'online.reset',
      target: `model/${model}`,
      model,
    });
    expect(await store.load(model)).toBeUndefined();
    const audit = await db.send(
      new GetCommand({ TableName: auditTable, Key: { pk: `MODEL#${model}`, sk: `${at}#a-online-read` } }),
    );
    expect(audit.Item?.action).toBe('online.reset');
  });
});
