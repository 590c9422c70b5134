import { describe, expect, it } from 'vitest';
import { OnlineLearningPolicy } from '../../../functions/core/monitoring/policy.js';
import {
  onlineIneligibility,
  onlineKindOf,
  predictScores,
  readLinearWeights,
} from '../../../functions/core/online/learner.js';
import {
  applySamples,
  isHeldOut,
  type OnlineState,
  type Sample,
  startState,
} from '../../../functions/core/online/strategy.js';
import {
  logisticRegressionOnnx,
  mlpOnnx,
  softmaxRegressionOnnx,
} from '../../../functions/core/onnx/models.js';
import { createRng } from '../../../functions/core/training/random.js';

const W = [2, -1, 0.5];
const B = 0.25;
const logistic = logisticRegressionOnnx({ weights: W, bias: B, classes: ['no', 'yes'] });

function start(policy: OnlineLearningPolicy): OnlineState {
  return startState({
    model: 'm',
    parentVersion: '1.0.0',
    classes: ['no', 'yes'],
    features: ['a', 'b', 'c'],
    weights: readLinearWeights(logistic, 3),
    policy,
    now: new Date('2026-01-01T00:00:00Z'),
  });
}

/** After the shift, the label follows feature b instead of feature a. */
function shifted(n: number, seed: number, from = 0): Sample[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const x = [rng.normal(), rng.normal(), rng.normal()];
    return { id: `s${from + i}`, x, actual: (x[1] as number) > 0 ? 'yes' : 'no' };
  });
}

const accuracy = (s: OnlineState, rows: Sample[], which: 'current' | 'base') =>
  rows.filter((r) => {
    const p = predictScores(s[which], r.x as number[]);
    return ((p[1] as number) > (p[0] as number) ? 'yes' : 'no') === r.actual;
  }).length / rows.length;

describe('online learner', () => {
  it('reads the production weights, so it starts out predicting what production predicts', () => {
    const w = readLinearWeights(logistic, 3);
    expect(w.kind).toBe('logistic-regression');
    expect(w.weights[0]).toEqual(W);
    expect(w.bias).toEqual([B]);
    const z = 2 * 1 - 1 * 2 + 0.5 * 3 + B;
    expect(predictScores(w, [1, 2, 3])[1]).toBeCloseTo(1 / (1 + Math.exp(-z)), 6);
    const sm = readLinearWeights(
      softmaxRegressionOnnx({
        weights: [
          [1, 0],
          [0, 1],
          [1, 1],
        ],
        bias: [0, 1, 2],
      }),
      2,
    );
    expect(sm.weights).toEqual([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    expect(sm.bias).toEqual([0, 1, 2]);
  });

  it('refuses an MLP, naming why', () => {
    const mlp = mlpOnnx({ layers: [{ weights: [[1, 2]], bias: [0], activation: 'sigmoid' }] });
    expect(onlineKindOf(mlp).reason).toMatch(/linear, logistic and softmax.*mlp/);
    expect(() => readLinearWeights(mlp, 2)).toThrow(/mlp/);
  });

  it('incremental SGD recovers accuracy on a shifted stream that production keeps failing', () => {
    const policy = OnlineLearningPolicy.parse({ enabled: true, strategy: 'incremental', learningRate: 0.1 });
    const s = applySamples(start(policy), shifted(1500, 1), policy, new Date());
    const test = shifted(1000, 99, 10_000);
    expect(accuracy(s, test, 'base')).toBeLessThan(0.7);
    expect(accuracy(s, test, 'current')).toBeGreaterThan(0.9);
    expect(s.updates).toBe(s.trainedSamples);
    expect(s.samplesSeen).toBe(1500);
    expect(s.trainedSamples).toBe(1500 - shifted(1500, 1).filter((x) => isHeldOut(x.id)).length);
  });

  it('minibatch updates once per batchSize trained samples', () => {
    const policy = OnlineLearningPolicy.parse({ enabled: true, strategy: 'minibatch', batchSize: 10 });
    const s = applySamples(start(policy), shifted(200, 2), policy, new Date());
    expect(s.updates).toBe(Math.floor(s.trainedSamples / 10));
    expect(s.pending.length).toBe(s.trainedSamples % 10);
  });

  it('periodic buffers until the period has passed, then applies the buffer', () => {
    const policy = OnlineLearningPolicy.parse({ enabled: true, strategy: 'periodic', periodMinutes: 5 });
    const t0 = new Date('2026-01-01T00:00:00Z');
    let s = applySamples(start(policy), shifted(50, 3), policy, t0);
    expect(s.updates).toBe(0);
    s = applySamples(s, shifted(1, 4, 500), policy, new Date(t0.getTime() + 4 * 60_000));
    expect(s.updates).toBe(0);
    s = applySamples(s, shifted(5, 5, 600), policy, new Date(t0.getTime() + 5 * 60_000));
    expect(s.updates).toBe(1);
    expect(s.current).not.toEqual(s.base);
  });

  it('adaptive waits while accuracy holds, and updates when the relation changes', () => {
    const policy = OnlineLearningPolicy.parse({
      enabled: true,
      strategy: 'adaptive',
      adaptive: { window: 100, accuracyDrop: 0.1 },
    });
    const rng = createRng(6);
    // Stationary and well served by production first: no reason to update.
    const before: Sample[] = Array.from({ length: 400 }, (_, i) => {
      const x = [rng.normal(), rng.normal(), rng.normal()];
      const z = 2 * (x[0] as number) - (x[1] as number) + 0.5 * (x[2] as number) + B;
      return { id: `p${i}`, x, actual: z > 0 ? 'yes' : 'no' };
    });
    let s = applySamples(start(policy), before, policy, new Date());
    expect(s.updates).toBe(0);
    s = applySamples(s, shifted(600, 7), policy, new Date());
    expect(s.updates).toBeGreaterThan(0);
    expect(accuracy(s, shifted(1000, 98, 20_000), 'current')).toBeGreaterThan(0.75);
  });

  it('holds out the same samples whatever the order, and replays to identical weights', () => {
    const policy = OnlineLearningPolicy.parse({ enabled: true });
    const samples = shifted(300, 8);
    const held = samples.filter((x) => isHeldOut(x.id)).length;
    expect(held).toBeGreaterThan(30);
    expect(held).toBeLessThan(90);
    const a = applySamples(start(policy), samples, policy, new Date(0));
    const b = applySamples(
      applySamples(start(policy), samples.slice(0, 100), policy, new Date(0)),
      samples.slice(100),
      policy,
      new Date(0),
    );
    expect(b.current).toEqual(a.current);
  });

  it('counts a sample with an unknown label or the wrong width as skipped, not learned', () => {
    const policy = OnlineLearningPolicy.parse({ enabled: true });
    const s = applySamples(
      start(policy),
      [
        { id: 'a', x: [1, 2, 3], actual: 'maybe' },
        { id: 'b', x: [1, 2], actual: 'yes' },
        { id: 'c', x: null, actual: 'yes' },
      ],
      policy,
      new Date(),
    );
    expect(s.skipped).toBe(3);
    expect(s.samplesSeen).toBe(3);
    expect(s.current).toEqual(s.base);
  });

  it('a snapshot becomes a candidate only when it beats production on the held-out rows', () => {
    const policy = OnlineLearningPolicy.parse({
      enabled: true,
      learningRate: 0.1,
      snapshot: { everySamples: 400, minHoldoutRows: 50, margin: 0.05 },
    });
    const s = applySamples(start(policy), shifted(1000, 9), policy, new Date());
    expect(s.lastSnapshot?.outcome).toBe('candidate');
    expect(s.snapshotDue?.learner).toBeGreaterThan((s.snapshotDue?.production ?? 1) + 0.05);
    // On the unshifted relation the learner cannot beat production by the margin.
    const rng = createRng(10);
    const same: Sample[] = Array.from({ length: 1000 }, (_, i) => {
      const x = [rng.normal(), rng.normal(), rng.normal()];
      const z = 2 * (x[0] as number) - (x[1] as number) + 0.5 * (x[2] as number) + B;
      return { id: `q${i}`, x, actual: z > 0 ? 'yes' : 'no' };
    });
    const t = applySamples(start(policy), same, policy, new Date());
    expect(t.lastSnapshot?.outcome).toBe('not-better');
    expect(t.snapshotDue).toBeNull();
  });
});

describe('who may enable online learning', () => {
  const registry = (kindBytes: Uint8Array | undefined, production = '1.0.0') => ({
    registry: {
      getModel: async () => (production ? { productionVersion: production } : {}),
      getVersion: async () => ({ framework: 'onnx', artifact: { key: 'models/m/1.0.0/model.onnx' } }),
    },
    artifacts: { get: async () => kindBytes },
  });

  it('accepts a production logistic model and refuses an MLP, a model without production, a missing artifact', async () => {
    const ok = registry(logistic);
    expect(await onlineIneligibility(ok.registry, ok.artifacts, 'm')).toBeUndefined();
    const mlp = registry(mlpOnnx({ layers: [{ weights: [[1, 2]], bias: [0], activation: 'sigmoid' }] }));
    expect(await onlineIneligibility(mlp.registry, mlp.artifacts, 'm')).toMatch(/is a mlp/);
    const none = registry(logistic, '');
    expect(await onlineIneligibility(none.registry, none.artifacts, 'm')).toMatch(/has none/);
    const gone = registry(undefined);
    expect(await onlineIneligibility(gone.registry, gone.artifacts, 'm')).toMatch(/missing/);
  });
});
