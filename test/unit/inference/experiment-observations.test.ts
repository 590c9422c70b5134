/**
 * What the capture path and feedback count into a running experiment: per request error_rate,
 * latency_ms and (without a subject) one exposure; a subject's exposure once per epoch; shadow
 * copies' agreement and score_diff per row; accuracy from feedback. Through the capture recorder
 * the worker uses, over in-memory stores: a redelivered body adds nothing.
 */
import { describe, expect, it } from 'vitest';
import { CaptureRecorder } from '../../../functions/adapters/capture-recorder.js';
import { serialise } from '../../../functions/adapters/sqs-capture-queue.js';
import { CaptureMessageSchema } from '../../../functions/contract/messages.js';
import type { MetricAggregate } from '../../../functions/core/experiments/ports.js';
import { exposureMetric } from '../../../functions/core/experiments/serving.js';
import { recordFeedback } from '../../../functions/core/inference/feedback.js';
import type { CaptureBatch, CaptureMessage } from '../../../functions/core/inference/ports.js';
import { latencyBucket } from '../../../functions/core/kernel/latency-histogram.js';
import { MemoryExperimentStore } from '../../support/memory-experiments.js';
import { MemoryPredictionStore } from '../../support/memory-predictions.js';

const AT = '2026-01-01T10:00:00.000Z';
const EXP = 'exp-1';

function msg(id: string, extra: Partial<CaptureMessage>): CaptureMessage {
  const rows = extra.predictionIds?.length ?? 1;
  return {
    v: 1,
    id,
    model: 'churn',
    version: '1.0.0',
    at: AT,
    latencyMs: 10,
    outcome: 'ok',
    kind: 'binary',
    predictionIds: Array.from({ length: rows }, (_, i) => `${id}-p${i}`),
    predictions: Array.from({ length: rows }, () => 'yes'),
    probabilities: Array.from({ length: rows }, () => [0.3, 0.7]),
    experimentId: EXP,
    epoch: 0,
    ...extra,
  };
}

function rig() {
  const experiments = new MemoryExperimentStore();
  const predictions = new MemoryPredictionStore();
  const written: string[] = [];
  const recorder = new CaptureRecorder(
    {
      writeCaptures: async (_model: string, rows: readonly Record<string, unknown>[]) => {
        written.push(...rows.map((r) => String(r.predictionId)));
        return [];
      },
    },
    {
      recordGroup: async (_id: string, batches: readonly CaptureBatch[]) => {
        for (const b of batches) await predictions.record(b);
      },
    },
    experiments,
  );
  const agg = async (variant: string, metric: string): Promise<MetricAggregate | undefined> =>
    (await experiments.aggregates(EXP)).find((a) => a.variant === variant && a.metric === metric);
  return { experiments, predictions, recorder, agg, written };
}

describe('capture messages counted into their experiment', () => {
  const body = [
    msg('c1', { variant: 'control', subject: 's1', latencyMs: 12, predictionIds: ['c1-p0', 'c1-p1'] }),
    msg('c2', { variant: 'control', subject: 's1', latencyMs: 20 }),
    msg('t1', {
      variant: 'treatment',
      version: '1.1.0',
      outcome: 'error',
      errorCode: 'model_error',
      latencyMs: 5,
    }),
    // The later part of c1, split for the queue: the same request, not a new one.
    msg('c1.2', { variant: 'control', subject: 's1', part: 2, latencyMs: 12 }),
    msg('sh1', {
      variant: 'shadow',
      version: '1.2.0',
      shadow: true,
      subject: 's1',
      latencyMs: 7,
      predictionIds: ['sh1-p0', 'sh1-p1', 'sh1-p2'],
      agreement: [1, 0, 1],
      scoreDiff: [0, 0.5, 0.25],
    }),
  ].map((m) =>
    m.outcome === 'error'
      ? { ...m, predictionIds: undefined, predictions: undefined, probabilities: undefined }
      : m,
  );

  it('counts requests, latency, errors, exposures and shadow agreement once over redeliveries', async () => {
    const { recorder, agg, predictions, written } = rig();
    for (let delivery = 0; delivery < 3; delivery++) await recorder.record(body);
    // A later body with the same subject again (another request of s1).
    await recorder.record([msg('c3', { variant: 'control', subject: 's1', latencyMs: 30 })]);

    expect(await agg('control', 'error_rate')).toMatchObject({ n: 3, sum: 0 });
    expect(await agg('control', 'latency_ms')).toMatchObject({
      n: 3,
      sum: 62,
      histogram: { [latencyBucket(12)]: 1, [latencyBucket(20)]: 1, [latencyBucket(30)]: 1 },
    });
    // s1 is one unit, however many requests it made.
    expect(await agg('control', exposureMetric(0))).toMatchObject({ n: 1 });
    expect(await agg('treatment', 'error_rate')).toMatchObject({ n: 1, sum: 1 });
    expect(await agg('treatment', 'latency_ms')).toMatchObject({ n: 1, sum: 5 });
    // Without a subject the request is its own unit.
    expect(await agg('treatment', exposureMetric(0))).toMatchObject({ n: 1 });

    expect(await agg('shadow', 'agreement')).toMatchObject({ n: 3, sum: 2 });
    expect(await agg('shadow', 'score_diff')).toMatchObject({ n: 3, sum: 0.75 });
    expect(await agg('shadow', 'latency_ms')).toMatchObject({ n: 1, sum: 7 });
    expect(await agg('shadow', 'error_rate')).toMatchObject({ n: 1, sum: 0 });
    expect(await agg('shadow', exposureMetric(0))).toBeUndefined();

    // The shadow copy is stored with the captures, but is no served prediction.
    expect(written).toContain('sh1-p0');
    expect(predictions.predictions.has('sh1-p0')).toBe(false);
    expect(predictions.predictions.get('c1-p0')).toMatchObject({ experimentId: EXP, variant: 'control' });
  });

  it('a subject in a new allocation epoch is exposed again, under that epoch', async () => {
    const { recorder, agg } = rig();
    await recorder.record([msg('a', { variant: 'control', subject: 's1' })]);
    await recorder.record([msg('b', { variant: 'treatment', subject: 's1', epoch: 1 })]);
    expect(await agg('control', exposureMetric(0))).toMatchObject({ n: 1 });
    expect(await agg('treatment', exposureMetric(1))).toMatchObject({ n: 1 });
  });

  it('the contract keeps agreement and scoreDiff, and a split keeps them row by row', () => {
    const rows = 6000;
    const m = msg('big', {
      variant: 'shadow',
      shadow: true,
      predictionIds: Array.from({ length: rows }, (_, i) => `01JB${String(i).padStart(22, '0')}`),
      instances: Array.from({ length: rows }, (_, i) => [i, i / 3, i / 7]),
      agreement: Array.from({ length: rows }, (_, i) => i % 2),
      scoreDiff: Array.from({ length: rows }, (_, i) => i / rows),
    });
    const parts = serialise(m).map((s) => CaptureMessageSchema.parse(JSON.parse(s)));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.flatMap((p) => p.agreement ?? [])).toEqual(m.agreement);
    expect(parts.flatMap((p) => p.scoreDiff ?? [])).toEqual(m.scoreDiff);
    for (const p of parts) expect(p.agreement).toHaveLength(p.predictionIds!.length);
  });
});

describe('feedback on an experiment variant', () => {
  it('counts accuracy once per prediction; a retry after a failed count counts it then', async () => {
    const { recorder, experiments, predictions, agg } = rig();
    await recorder.record([
      msg('c1', { variant: 'control', subject: 's1', predictionIds: ['c1-p0', 'c1-p1'] }),
      msg('n1', { experimentId: undefined, epoch: undefined }),
    ]);
    const observe = experiments.observe.bind(experiments);
    experiments.observe = async () => {
      throw new Error('experiments table unavailable');
    };
    const items = [
      { predictionId: 'c1-p0', actual: 'yes' },
      { predictionId: 'c1-p1', actual: 'no' },
      { predictionId: 'n1-p0', actual: 'yes' },
    ];
    await expect(recordFeedback(predictions, experiments, items)).rejects.toThrow('unavailable');
    experiments.observe = observe;
    // The labels were stored: the retry finds duplicates, and still counts the accuracy.
    const retry = await recordFeedback(predictions, experiments, items);
    expect(retry).toMatchObject({ joined: 0, duplicate: 3, unknown: 0 });
    expect(retry.results[0]).not.toHaveProperty('experiment');
    expect(await agg('control', 'accuracy')).toMatchObject({ n: 2, sum: 1 });
    // Again: nothing more.
    await recordFeedback(predictions, experiments, items);
    expect(await agg('control', 'accuracy')).toMatchObject({ n: 2, sum: 1 });
  });

  it('joined feedback counts at once; regression predictions have no accuracy', async () => {
    const { recorder, predictions, experiments, agg } = rig();
    await recorder.record([
      msg('c1', { variant: 'control' }),
      msg('r1', { variant: 'treatment', kind: 'regression', predictions: [3.5], probabilities: undefined }),
    ]);
    const out = await recordFeedback(predictions, experiments, [
      { predictionId: 'c1-p0', actual: 'yes' },
      { predictionId: 'r1-p0', actual: 3.5 },
    ]);
    expect(out).toMatchObject({ joined: 2 });
    expect(await agg('control', 'accuracy')).toMatchObject({ n: 1, sum: 1 });
    expect(await agg('treatment', 'accuracy')).toBeUndefined();
  });
});
