/**
 * Serving under a running experiment, with the real onnxruntime runner on real ONNX files, the
 * registry and experiments in memory: sticky and random assignment, what bypasses the experiment,
 * the response and capture fields, shadow runs after the answer (captured with agreement, never
 * returned, failures invisible), and a failing experiment read serving production.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { OnnxRuntimeRunner } from '../../../functions/adapters/onnx-runner.js';
import { assign } from '../../../functions/core/experiments/assignment.js';
import {
  CreateExperimentBody,
  type CreateExperimentBody as CreateInput,
} from '../../../functions/core/experiments/definition.js';
import { ExperimentService } from '../../../functions/core/experiments/service.js';
import { DeferredWork } from '../../../functions/core/inference/deferred.js';
import { PredictionIdBlock } from '../../../functions/core/inference/ids.js';
import type { CaptureMessage, ExperimentReader } from '../../../functions/core/inference/ports.js';
import { ROUTE_CACHE_MS } from '../../../functions/core/inference/routing.js';
import { compareAnswers, InferenceService } from '../../../functions/core/inference/service.js';
import { ModelCache } from '../../../functions/core/inference/sessions.js';
import type { InputSchema, OutputSchema } from '../../../functions/core/kernel/model-io.js';
import { logisticRegressionOnnx } from '../../../functions/core/onnx/models.js';
import type { RegistryServices } from '../../../functions/core/registry/services.js';
import { experimentReader } from '../../../functions/handlers/serving-experiments.js';
import { expectCode } from '../../support/expect-code.js';
import { MemoryExperimentStore } from '../../support/memory-experiments.js';
import {
  CountingIds,
  type MemoryArtifactStore,
  type MemoryRegistryStore,
  memoryRegistry,
  type SteppingClock,
} from '../../support/memory-stores.js';
import { unloadableOnnx } from '../../support/onnx-fixtures.js';
import { alice, bob } from '../../support/principals.js';

const FEATURES = ['a', 'b', 'c'];
const inputSchema: InputSchema = { features: FEATURES.map((name) => ({ name, type: 'float' as const })) };
const binary: OutputSchema = { kind: 'binary', classes: ['no', 'yes'] };
const logistic = (w: number[], b: number) =>
  logisticRegressionOnnx({ weights: w, bias: b, featureNames: FEATURES, classes: ['no', 'yes'] });
const X = [
  [1, 2, 3],
  [4, 0.5, -1],
  [0, 0, 0],
];

class FixedIds {
  private n = 0;
  block() {
    return new PredictionIdBlock(`01JB${String(++this.n).padStart(19, '0')}`);
  }
}

/** A uniform-looking but reproducible sequence in [0, 1). */
function lcg(seed = 7): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('serving a running experiment', () => {
  let store: MemoryRegistryStore;
  let artifacts: MemoryArtifactStore;
  let registry: RegistryServices;
  let clock: SteppingClock;
  let captured: CaptureMessage[];
  let warnings: string[];
  let experiments: MemoryExperimentStore;
  let exps: ExperimentService;
  let deferred: DeferredWork;

  function inference(reader: ExperimentReader = experimentReader(experiments)) {
    return new InferenceService({
      store,
      registry,
      models: new ModelCache({ artifacts, runner: new OnnxRuntimeRunner() }),
      capture: { add: (m) => captured.push(m) },
      metrics: { served: () => {}, integrityFailure: () => {} },
      ids: new FixedIds(),
      clock,
      experiments: reader,
      random: lcg(),
      deferred,
      log: { warn: (message) => warnings.push(message) },
    });
  }

  async function register(version: string, onnx: Uint8Array) {
    await registry.artifacts.register(alice, 'churn', {
      version,
      artifact: { base64: Buffer.from(onnx).toString('base64') },
      framework: 'onnx',
      runtime: { type: 'lambda' },
      inputSchema,
      outputSchema: binary,
    });
    await registry.lifecycle.transition(alice, 'churn', version, 'testing');
    await registry.lifecycle.transition(alice, 'churn', version, 'staging');
  }

  async function start(body: Partial<CreateInput>) {
    const e = await exps.create(
      alice,
      CreateExperimentBody.parse({
        name: 'test',
        model: 'churn',
        variants: [
          { name: 'control', version: '1.0.0', weight: 50, control: true },
          { name: 'treatment', version: '1.1.0', weight: 50 },
        ],
        ...body,
      }),
    );
    return exps.start(alice, e.id);
  }

  beforeEach(async () => {
    ({ store, artifacts, clock, registry } = memoryRegistry());
    await registry.models.create(alice, { name: 'churn' });
    await register('1.0.0', logistic([0.5, -1.25, 2], -0.3));
    await registry.lifecycle.decideApproval(bob, 'churn', '1.0.0', 'approved', 'ok');
    await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production');
    await register('1.1.0', logistic([-0.75, 0.5, 1], 0.2));
    captured = [];
    warnings = [];
    experiments = new MemoryExperimentStore();
    deferred = new DeferredWork();
    exps = new ExperimentService({
      store: experiments,
      clock,
      ids: new CountingIds(),
      registry: {
        getModel: (name) => store.getModel(name),
        getVersion: (model, version) => store.getVersion(model, version),
        promote: async () => {},
      },
    });
  });

  it('serves a subject its sticky variant on every call, with experimentId and variant in the answer and capture', async () => {
    const e = await start({});
    const service = inference();
    const subjects = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    for (let round = 0; round < 5; round++) {
      for (const subject of subjects) {
        const out = await service.predict('churn', { instances: X, subject });
        const expected = assign(e.allocation, e.seed, subject);
        expect(out.variant).toBe(expected);
        expect(out.experimentId).toBe(e.id);
        expect(out.modelVersion).toBe(expected === 'control' ? '1.0.0' : '1.1.0');
        const m = captured.at(-1)!;
        expect(m).toMatchObject({
          experimentId: e.id,
          variant: expected,
          epoch: e.epoch,
          subject,
          version: out.modelVersion,
        });
        expect(m.shadow).toBeUndefined();
      }
    }
    // Both variants are really served (40 subjects at 50/50).
    expect(new Set(captured.map((m) => m.variant))).toEqual(new Set(['control', 'treatment']));
  });

  it('assigns requests without a subject at random by the weights: 2000 requests at 50/50 split about evenly', async () => {
    const e = await start({});
    const service = inference();
    const counts: Record<string, number> = { control: 0, treatment: 0 };
    for (let i = 0; i < 2000; i++) {
      const out = await service.predict('churn', { instances: [[1, 2, 3]] });
      counts[out.variant!]!++;
      expect(out.experimentId).toBe(e.id);
    }
    // Binomial(2000, 0.5): sd 22; ±110 is 5 sd.
    expect(Math.abs(counts.control! - 1000)).toBeLessThan(110);
    expect(captured.every((m) => m.subject === undefined && m.experimentId === e.id)).toBe(true);
  });

  it('a pinned version or an alias bypasses the experiment', async () => {
    await start({
      variants: [
        { name: 'control', version: '1.0.0', weight: 0, control: true },
        { name: 'treatment', version: '1.1.0', weight: 100 },
      ],
    });
    const service = inference();
    const pinned = await service.predict('churn', { instances: X, version: '1.0.0', subject: 's' });
    expect(pinned.modelVersion).toBe('1.0.0');
    expect(pinned.experimentId).toBeUndefined();
    expect(pinned.variant).toBeUndefined();
    const aliased = await service.predict('churn', { instances: X, alias: 'production', subject: 's' });
    expect(aliased.modelVersion).toBe('1.0.0');
    expect(aliased.variant).toBeUndefined();
    expect(captured.every((m) => m.experimentId === undefined)).toBe(true);
    // Without either, the experiment decides (every subject gets the treatment at 0/100).
    expect((await service.predict('churn', { instances: X, subject: 's' })).modelVersion).toBe('1.1.0');
  });

  it('no experiment, or a paused one, serves production without experiment fields', async () => {
    const service = inference();
    const before = await service.predict('churn', { instances: X, subject: 's' });
    expect(before).not.toHaveProperty('experimentId');
    expect(before.modelVersion).toBe('1.0.0');
    const e = await start({
      variants: [
        { name: 'control', version: '1.0.0', weight: 0, control: true },
        { name: 'treatment', version: '1.1.0', weight: 100 },
      ],
    });
    clock.advance(ROUTE_CACHE_MS);
    expect((await service.predict('churn', { instances: X })).modelVersion).toBe('1.1.0');
    await exps.pause(alice, e.id);
    // Within the cache the experiment still routes; after it, production again.
    clock.advance(ROUTE_CACHE_MS);
    const after = await service.predict('churn', { instances: X, subject: 's' });
    expect(after.modelVersion).toBe('1.0.0');
    expect(after).not.toHaveProperty('variant');
    expect(captured.at(-1)).not.toHaveProperty('experimentId');
  });

  it('a failing or missing experiment read serves production and is logged', async () => {
    let calls = 0;
    const service = inference({
      running: async () => {
        calls++;
        throw new Error('table unavailable');
      },
    });
    const out = await service.predict('churn', { instances: X, subject: 's' });
    expect(out.modelVersion).toBe('1.0.0');
    expect(out.variant).toBeUndefined();
    expect(warnings).toContain('running experiment not read; serving production');
    // The failure is cached like a read: the table is not hammered on every request.
    await service.predict('churn', { instances: X });
    expect(calls).toBe(1);
  });

  it('reads the running experiment once per cache period', async () => {
    await start({});
    let reads = 0;
    const reader = experimentReader(experiments);
    const service = inference({
      running: (m) => {
        reads++;
        return reader.running(m);
      },
    });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => service.predict('churn', { instances: X, subject: `u${i}` })),
    );
    expect(reads).toBe(1);
  });

  it('reads the model while the running experiment is read, and only once', async () => {
    await start({});
    const reader = experimentReader(experiments);
    let release!: () => void;
    const gate = new Promise<void>((ok) => (release = ok));
    const service = inference({
      running: async (m) => {
        await gate;
        return reader.running(m);
      },
    });
    const getModel = store.getModel.bind(store);
    let modelReads = 0;
    store.getModel = (name) => {
      modelReads++;
      return getModel(name);
    };
    const predicted = service.predict('churn', { instances: X, subject: 'u1' });
    await new Promise((ok) => setTimeout(ok, 5));
    // The experiment has not answered, and the model's read is already under way.
    expect(modelReads).toBe(1);
    release();
    expect((await predicted).experimentId).toBeDefined();
    // The variant's route joined that read instead of starting its own.
    expect(modelReads).toBe(1);
  });

  it('a failing variant fails its requests, no fallback, and its error capture counts against it', async () => {
    await register('1.2.0', unloadableOnnx());
    await start({
      kind: 'canary',
      variants: [
        { name: 'control', version: '1.0.0', control: true },
        { name: 'canary', version: '1.2.0' },
      ],
      canary: { steps: [100] },
    });
    const service = inference();
    await expectCode(service.predict('churn', { instances: X, subject: 's' }), 'integrity_failed');
    expect(captured.at(-1)).toMatchObject({
      outcome: 'error',
      variant: 'canary',
      version: '1.2.0',
      subject: 's',
    });
    expect(captured.at(-1)!.experimentId).toBeDefined();
  });

  describe('shadow', () => {
    const shadowBody = (version = '1.1.0'): Partial<CreateInput> => ({
      kind: 'shadow',
      variants: [
        { name: 'control', version: '1.0.0', control: true },
        { name: 'shadow', version },
      ],
    });

    it('the control answers; the shadow runs only after, on the same instances, captured with agreement and never returned', async () => {
      const e = await start(shadowBody());
      const service = inference();
      const out = await service.predict('churn', { instances: X, subject: 'u1' });
      expect(out.modelVersion).toBe('1.0.0');
      expect(out).toMatchObject({ experimentId: e.id, variant: 'control' });
      // Not on the response path: nothing of the shadow exists when the answer is out.
      expect(captured).toHaveLength(1);
      expect(deferred.pending).toBe(1);
      await service.flushDeferred();
      expect(captured).toHaveLength(2);
      const [control, shadow] = captured as [CaptureMessage, CaptureMessage];
      expect(control).toMatchObject({ experimentId: e.id, variant: 'control', version: '1.0.0' });
      expect(control.shadow).toBeUndefined();
      expect(shadow).toMatchObject({
        experimentId: e.id,
        variant: 'shadow',
        version: '1.1.0',
        shadow: true,
        outcome: 'ok',
        subject: 'u1',
        instances: X,
      });
      // The shadow's output differs from what the client got (it never reached it).
      const direct = await service.predict('churn', { instances: X, version: '1.1.0' });
      expect(shadow.predictions).toEqual(direct.predictions);
      expect(shadow.probabilities).toEqual(direct.probabilities);
      expect(shadow.predictionIds).not.toEqual(out.predictionIds);
      // Agreement and score difference per row, from the two answers.
      const pc = out.probabilities!;
      const ps = direct.probabilities!;
      expect(shadow.agreement).toEqual(out.predictions.map((p, i) => (p === direct.predictions[i] ? 1 : 0)));
      out.predictions.forEach((p, i) => {
        const k = p === 'yes' ? 1 : 0;
        expect(shadow.scoreDiff![i]).toBeCloseTo(Math.abs(pc[i]![k]! - ps[i]![k]!), 12);
      });
      expect(shadow.agreement).toContain(0);
      expect(shadow.agreement).toContain(1);
    });

    it("a failing shadow never reaches the client: the answer is whole, the failure is captured as the shadow's error", async () => {
      await register('1.2.0', unloadableOnnx());
      await start(shadowBody('1.2.0'));
      const service = inference();
      const out = await service.predict('churn', { instances: X });
      expect(out.predictions).toHaveLength(3);
      await service.flushDeferred();
      expect(captured).toHaveLength(2);
      expect(captured[1]).toMatchObject({
        shadow: true,
        variant: 'shadow',
        outcome: 'error',
        version: '1.2.0',
      });
      expect(warnings).toContain('shadow run failed');
      // And again: the next answers are unaffected.
      await expect(service.predict('churn', { instances: X })).resolves.toMatchObject({
        modelVersion: '1.0.0',
      });
      await service.flushDeferred();
    });
  });
});

describe('compareAnswers', () => {
  const out = (predictions: (string | number)[], probabilities?: number[][]) => ({
    model: 'm',
    modelVersion: '1',
    runtime: 'lambda' as const,
    predictions,
    predictionIds: predictions.map((_, i) => `id${i}`),
    ...(probabilities ? { probabilities } : {}),
  });

  it('regression: equal within 1e-9 relative, absolute difference', () => {
    const schema: OutputSchema = { kind: 'regression' };
    const r = compareAnswers(
      { output: out([1e6, 2, 3]), schema },
      { output: out([1e6 + 1e-4, 2.5, 3]), schema },
    );
    expect(r.agreement).toEqual([1, 0, 1]);
    expect(r.scoreDiff![0]).toBeCloseTo(1e-4, 9);
    expect(r.scoreDiff!.slice(1)).toEqual([0.5, 0]);
  });

  it("classification: the probability of the control's class under each, matched by label", () => {
    const c: OutputSchema = { kind: 'multiclass', classes: ['a', 'b', 'c'] };
    const s: OutputSchema = { kind: 'multiclass', classes: ['c', 'b', 'a'] };
    const r = compareAnswers(
      {
        output: out(
          ['a', 'b'],
          [
            [0.7, 0.2, 0.1],
            [0.1, 0.5, 0.4],
          ],
        ),
        schema: c,
      },
      {
        output: out(
          ['a', 'c'],
          [
            [0.1, 0.3, 0.6],
            [0.45, 0.45, 0.1],
          ],
        ),
        schema: s,
      },
    );
    expect(r.agreement).toEqual([1, 0]);
    expect(r.scoreDiff![0]).toBeCloseTo(0.1, 12);
    expect(r.scoreDiff![1]).toBeCloseTo(0.05, 12);
    // Without probabilities on one side: agreement only.
    expect(compareAnswers({ output: out(['a']), schema: c }, { output: out(['a']), schema: c })).toEqual({
      agreement: [1],
    });
  });
});
