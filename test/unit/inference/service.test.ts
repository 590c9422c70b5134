/**
 * The inference core with in-memory registry ports and the real onnxruntime runner on real ONNX
 * files: routing, the route cache, integrity fallback, explanations, SageMaker error mapping and
 * what is captured. Expected numbers are computed by hand from the models' weights.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { OnnxRuntimeRunner } from '../../../functions/adapters/onnx-runner.js';
import { captureBodies, pack, serialise } from '../../../functions/adapters/sqs-capture-queue.js';
import type { Explanation } from '../../../functions/core/inference/explain.js';
import { PredictionIdBlock } from '../../../functions/core/inference/ids.js';
import {
  type CaptureMessage,
  type EndpointAnswer,
  type EndpointInvoker,
  EndpointModelError,
  EndpointUnavailable,
  type ServedRequest,
  type ServingMetrics,
} from '../../../functions/core/inference/ports.js';
import { ROUTE_CACHE_MS } from '../../../functions/core/inference/routing.js';
import { InferenceService } from '../../../functions/core/inference/service.js';
import { ModelCache } from '../../../functions/core/inference/sessions.js';
import type { ShapExplanation } from '../../../functions/core/inference/shap-explain.js';
import type { InputSchema, OutputSchema } from '../../../functions/core/kernel/model-io.js';
import {
  linearRegressionOnnx,
  logisticRegressionOnnx,
  mlpOnnx,
} from '../../../functions/core/onnx/models.js';
import type { RegisterVersionInput } from '../../../functions/core/registry/registration.js';
import type { RegistryServices } from '../../../functions/core/registry/services.js';
import { respond } from '../../../functions/http/api.js';
import { expectCode } from '../../support/expect-code.js';
import {
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
const W1 = [0.5, -1.25, 2];
const B1 = -0.3;
const W2 = [-0.75, 0.5, 1];
const B2 = 0.2;
const MEANS = [1, 2, 0.5];

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const dot = (w: number[], x: number[]) => w.reduce((s, wi, i) => s + wi * (x[i] as number), 0);
const f32 = Math.fround;

class RecordingMetrics implements ServingMetrics {
  readonly served_: ServedRequest[] = [];
  readonly integrity: string[] = [];
  served(r: ServedRequest) {
    this.served_.push(r);
  }
  integrityFailure(model: string, version: string) {
    this.integrity.push(`${model}@${version}`);
  }
}

class FixedIds {
  private n = 0;
  block() {
    const prefix = `01JB${String(++this.n).padStart(19, '0')}`;
    return new PredictionIdBlock(prefix);
  }
}

describe('InferenceService', () => {
  let store: MemoryRegistryStore;
  let artifacts: MemoryArtifactStore;
  let registry: RegistryServices;
  let clock: SteppingClock;
  let captured: CaptureMessage[];
  let metrics: RecordingMetrics;
  let endpoint: { answer?: EndpointAnswer; error?: Error; calls: number[][][] };
  let service: InferenceService;

  const logistic = (w: number[], b: number) =>
    logisticRegressionOnnx({ weights: w, bias: b, featureNames: FEATURES, classes: ['no', 'yes'] });

  async function register(version: string, onnx: Uint8Array, extra: Partial<RegisterVersionInput> = {}) {
    return registry.artifacts.register(alice, 'churn', {
      version,
      artifact: { base64: Buffer.from(onnx).toString('base64') },
      framework: 'onnx',
      runtime: { type: 'lambda' },
      inputSchema,
      outputSchema: binary,
      params: { featureMeans: MEANS },
      ...extra,
    });
  }

  async function promote(version: string) {
    const v = await registry.models.getVersion('churn', version);
    if (v.stage === 'draft') {
      await registry.lifecycle.transition(alice, 'churn', version, 'testing');
      await registry.lifecycle.transition(alice, 'churn', version, 'staging');
    }
    if (!v.approval) await registry.lifecycle.decideApproval(bob, 'churn', version, 'approved', 'ok');
    await registry.lifecycle.transition(bob, 'churn', version, 'production');
  }

  beforeEach(async () => {
    ({ store, artifacts, clock, registry } = memoryRegistry());
    await registry.models.create(alice, { name: 'churn' });
    captured = [];
    metrics = new RecordingMetrics();
    endpoint = { calls: [] };
    const invoker: EndpointInvoker = {
      invoke: async (_name, rows) => {
        endpoint.calls.push(rows.map((r) => [...r]));
        if (endpoint.error) throw endpoint.error;
        return endpoint.answer as EndpointAnswer;
      },
    };
    service = new InferenceService({
      store,
      registry,
      models: new ModelCache({ artifacts, runner: new OnnxRuntimeRunner() }),
      endpoints: invoker,
      capture: { add: (m) => captured.push(m) },
      metrics,
      ids: new FixedIds(),
      clock,
    });
  });

  it('answers and captures a large batch with the bytes JSON.stringify writes, its arrays serialised once', async () => {
    await register('1.0.0', logistic(W1, B1));
    await promote('1.0.0');
    const x = Array.from({ length: 40 }, (_, i) => [i / 3, -i, i % 2 ? -0 : 1e-7]);
    const out = await service.predict('churn', { instances: x, context: { region: 'é🙂' } });
    expect(respond(200, out, 'r').body).toBe(JSON.stringify(out));
    const m = captured[0] as CaptureMessage;
    expect(m.predictions).toBe(out.predictions);
    expect(serialise(m)).toEqual([JSON.stringify(m)]);
    expect(captureBodies([m, m])).toEqual(pack([JSON.stringify(m), JSON.stringify(m)]));
  });

  it('serves production: labels and probabilities as computed by hand, ids, capture and metrics', async () => {
    await register('1.0.0', logistic(W1, B1));
    await promote('1.0.0');
    const x = [
      [1, 2, 3],
      [4, 0.5, -1],
    ];
    const out = await service.predict('churn', { instances: x });
    expect(out.modelVersion).toBe('1.0.0');
    expect(out.runtime).toBe('lambda');
    const p = x.map((r) => sigmoid(dot(W1, r) + B1));
    expect(out.predictions).toEqual(p.map((v) => (v > 0.5 ? 'yes' : 'no')));
    out.probabilities?.forEach((row, i) => {
      expect(row[1]).toBeCloseTo(p[i] as number, 6);
      expect(row[0]).toBeCloseTo(1 - (p[i] as number), 6);
    });
    expect(out.predictionIds).toHaveLength(2);
    expect(new Set(out.predictionIds).size).toBe(2);
    for (const id of out.predictionIds) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(out.fallbackFrom).toBeUndefined();

    expect(captured).toHaveLength(1);
    const m = captured[0] as CaptureMessage;
    expect(m).toMatchObject({ model: 'churn', version: '1.0.0', outcome: 'ok', kind: 'binary' });
    expect(m.features).toEqual(FEATURES);
    expect(m.instances).toEqual(x);
    expect(m.predictionIds).toEqual(out.predictionIds);
    expect(m.predictions).toEqual(out.predictions);
    expect(metrics.served_).toHaveLength(1);
    expect(metrics.served_[0]).toMatchObject({ model: 'churn', version: '1.0.0', outcome: 'ok', rows: 2 });
  });

  it('takes named features, and names the instance and feature that does not fit', async () => {
    await register('1.0.0', logistic(W1, B1));
    await promote('1.0.0');
    const named = await service.predict('churn', { instances: [{ c: 3, a: 1, b: 2 }] });
    const positional = await service.predict('churn', { instances: [[1, 2, 3]] });
    expect(named.probabilities).toEqual(positional.probabilities);
    const err = await expectCode(
      service.predict('churn', { instances: [[1, 2, 3], { a: 1, b: 'x', c: 2 }] }),
      'validation_failed',
    );
    expect(err.details).toEqual({ instance: 1, feature: 'b', reason: 'not_a_number' });
    const short = await expectCode(service.predict('churn', { instances: [[1, 2]] }), 'validation_failed');
    expect(short.details).toMatchObject({ instance: 0, reason: 'wrong_length' });
    // Client mistakes are not serving errors and leave no capture.
    expect(captured).toHaveLength(2);
    expect(metrics.served_.every((s) => s.outcome === 'ok')).toBe(true);
  });

  it('captures the context and never feeds it to the model; refuses one that does not match the instances', async () => {
    await register('1.0.0', logistic(W1, B1));
    await promote('1.0.0');
    const plain = await service.predict('churn', { instances: [[1, 2, 3]] });
    const context = [{ sex: 'f', age_band: '30-39' }];
    const withContext = await service.predict('churn', { instances: [[1, 2, 3]], context });
    expect(withContext.probabilities).toEqual(plain.probabilities);
    expect((captured[1] as CaptureMessage).context).toEqual(context);
    const err = await expectCode(
      service.predict('churn', {
        instances: [
          [1, 2, 3],
          [4, 5, 6],
        ],
        context,
      }),
      'validation_failed',
    );
    expect(err.details).toMatchObject({ field: 'context', given: 1, instances: 2 });
    expect(captured).toHaveLength(2);
  });

  it('routes by explicit version, alias latest, or production, and refuses what cannot route', async () => {
    await expectCode(service.predict('nope', { instances: [[1, 2, 3]] }), 'not_found');
    const none = await expectCode(service.predict('churn', { instances: [[1, 2, 3]] }), 'conflict');
    expect(none.message).toMatch(/no versions yet|no production version/);
    await register('1.0.0', logistic(W1, B1));
    await register('1.1.0', logistic(W2, B2));
    await expectCode(service.predict('churn', { instances: [[1, 2, 3]] }), 'conflict');
    await promote('1.0.0');
    clock.advance(ROUTE_CACHE_MS); // the refusal above cached "no production" for this long
    const x = [[1, 2, 3]];
    expect((await service.predict('churn', { instances: x })).modelVersion).toBe('1.0.0');
    expect((await service.predict('churn', { instances: x, alias: 'latest' })).modelVersion).toBe('1.1.0');
    const pinned = await service.predict('churn', { instances: x, version: '1.1.0' });
    expect(pinned.modelVersion).toBe('1.1.0');
    expect(pinned.probabilities?.[0]?.[1]).toBeCloseTo(sigmoid(dot(W2, [1, 2, 3]) + B2), 6);
    await expectCode(service.predict('churn', { instances: x, version: '9.9.9' }), 'not_found');
    await expectCode(
      service.predict('churn', { instances: x, version: '1.0.0', alias: 'latest' }),
      'validation_failed',
    );
  });

  it('serves a promotion once the route cache expires, without a restart', async () => {
    await register('1.0.0', logistic(W1, B1));
    await register('1.1.0', logistic(W2, B2));
    await promote('1.0.0');
    const x = { instances: [[1, 2, 3]] };
    expect((await service.predict('churn', x)).modelVersion).toBe('1.0.0');
    await promote('1.1.0');
    // Within the cache window the old pointer still answers…
    expect((await service.predict('churn', x)).modelVersion).toBe('1.0.0');
    clock.advance(ROUTE_CACHE_MS);
    // …and the first request after it is served by the new production version.
    expect((await service.predict('churn', x)).modelVersion).toBe('1.1.0');
  });

  it('refuses a tampered production artifact, marks it unusable and falls back to the previous production', async () => {
    await register('1.0.0', logistic(W1, B1));
    await register('1.1.0', logistic(W2, B2));
    await promote('1.0.0');
    await promote('1.1.0');
    const v11 = await registry.models.getVersion('churn', '1.1.0');
    // Someone overwrites the object in the bucket: same key, other bytes.
    artifacts.objects.set(v11.artifact.key, logistic([9, 9, 9], 9));
    const x = [[1, 2, 3]];
    const out = await service.predict('churn', { instances: x });
    expect(out.modelVersion).toBe('1.0.0');
    expect(out.fallbackFrom).toBe('1.1.0');
    expect(out.probabilities?.[0]?.[1]).toBeCloseTo(sigmoid(dot(W1, x[0] as number[]) + B1), 6);
    expect((await registry.models.getVersion('churn', '1.1.0')).status).toBe('unusable');
    const audit = await store.list({ limit: 50, model: 'churn' });
    expect(audit.items.map((e) => e.action)).toContain('version.integrity_failed');
    expect(metrics.integrity).toEqual(['churn@1.1.0']);
    expect(metrics.served_.at(-1)).toMatchObject({ version: '1.0.0', fallback: true });
    // The next requests keep falling back without trying the bad bytes again.
    clock.advance(ROUTE_CACHE_MS);
    const again = await service.predict('churn', { instances: x });
    expect(again).toMatchObject({ modelVersion: '1.0.0', fallbackFrom: '1.1.0' });
    expect(metrics.integrity).toHaveLength(1);
    // The fallback is recorded once (audit, and so its lifecycle event and alert), not per request.
    const fallbacks = (await store.list({ limit: 50, model: 'churn' })).items.filter(
      (e) => e.action === 'version.serving_failed',
    );
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]).toMatchObject({ version: '1.1.0', after: { servedBy: '1.0.0' } });
    // A request naming the bad version gets the refusal itself.
    const pinned = await expectCode(
      service.predict('churn', { instances: x, version: '1.1.0' }),
      'integrity_failed',
    );
    expect(pinned.message).toMatch(/named this version/);
  });

  it('refuses without fallback when the model policy forbids it, or nothing earlier exists', async () => {
    await register('1.0.0', logistic(W1, B1));
    await promote('1.0.0');
    const v = await registry.models.getVersion('churn', '1.0.0');
    artifacts.objects.set(v.artifact.key, new Uint8Array([1, 2, 3]));
    const err = await expectCode(service.predict('churn', { instances: [[1, 2, 3]] }), 'integrity_failed');
    expect(err.message).toMatch(/no earlier production version/);
    expect(captured.at(-1)).toMatchObject({
      outcome: 'error',
      errorCode: 'integrity_failed',
      version: '1.0.0',
    });
    expect(metrics.served_.at(-1)).toMatchObject({ outcome: 'error', errorCode: 'integrity_failed' });

    await registry.models.create(alice, { name: 'strict', fallback: false });
    const reg = (version: string, w: number[]) =>
      registry.artifacts.register(alice, 'strict', {
        version,
        artifact: { base64: Buffer.from(logistic(w, 0)).toString('base64') },
        framework: 'onnx',
        runtime: { type: 'lambda' },
        inputSchema,
        outputSchema: binary,
      });
    for (const version of ['1.0.0', '2.0.0']) {
      await reg(version, W1);
      await registry.lifecycle.transition(alice, 'strict', version, 'testing');
      await registry.lifecycle.transition(alice, 'strict', version, 'staging');
      await registry.lifecycle.decideApproval(bob, 'strict', version, 'approved', 'ok');
      await registry.lifecycle.transition(bob, 'strict', version, 'production');
    }
    const v2 = await registry.models.getVersion('strict', '2.0.0');
    artifacts.objects.delete(v2.artifact.key);
    const strict = await expectCode(
      service.predict('strict', { instances: [[1, 2, 3]] }),
      'integrity_failed',
    );
    expect(strict.message).toMatch(/policy does not allow a fallback/);
  });

  it('records a version that checks out but cannot be loaded, and falls back', async () => {
    await register('1.0.0', logistic(W1, B1));
    await promote('1.0.0');
    // Valid checksum and a readable graph, but not a model onnxruntime can run.
    await register('1.1.0', unloadableOnnx());
    await promote('1.1.0');
    const out = await service.predict('churn', { instances: [[1, 2, 3]] });
    expect(out).toMatchObject({ modelVersion: '1.0.0', fallbackFrom: '1.1.0' });
    const audit = await store.list({ limit: 50, model: 'churn' });
    const failure = audit.items.find((e) => e.action === 'version.serving_failed');
    expect(failure).toMatchObject({ version: '1.1.0', actor: 'system:inference' });
    expect((await registry.models.getVersion('churn', '1.1.0')).status).toBe('ready');
  });

  it('explains linear and logistic models exactly, against the training means', async () => {
    await register('1.0.0', logistic(W1, B1));
    const x = [
      [1, 2, 3],
      [0, -1, 4],
    ];
    const explanations = (await service.explain('churn', { instances: x, version: '1.0.0' }))
      .explanations as Explanation[];
    explanations.forEach((e, r) => {
      const row = x[r] as number[];
      expect(e.space).toBe('logit');
      // float32 weights, as stored in the file
      const w = W1.map(f32);
      const base = f32(B1) + dot(w, MEANS);
      expect(e.base).toBeCloseTo(base, 5);
      FEATURES.forEach((f, j) => {
        expect(e.attributions[f]).toBeCloseTo(
          (w[j] as number) * ((row[j] as number) - (MEANS[j] as number)),
          5,
        );
      });
      expect(e.value).toBeCloseTo(dot(W1, row) + B1, 5);
      const sum = Object.values(e.attributions).reduce((s, a) => s + a, 0);
      expect(e.base + sum).toBeCloseTo(e.value, 9);
    });
    // predict with explain: the same attributions next to the predictions
    const withExplain = await service.predict('churn', { instances: x, version: '1.0.0', explain: true });
    expect(withExplain.explanations).toEqual(explanations);

    await registry.artifacts.register(alice, 'churn', {
      version: '2.0.0',
      artifact: {
        base64: Buffer.from(
          linearRegressionOnnx({ weights: [1, 2, 3], bias: 4, featureNames: FEATURES }),
        ).toString('base64'),
      },
      framework: 'onnx',
      runtime: { type: 'lambda' },
      inputSchema,
      outputSchema: { kind: 'regression' },
      params: { featureMeans: { a: 0, b: 1, c: 2 } },
    });
    const lin = await service.explain('churn', { instances: [[1, 1, 1]], version: '2.0.0' });
    expect(lin.explanations[0]).toEqual({
      space: 'identity',
      base: 4 + 0 + 2 + 6,
      value: 4 + 1 + 2 + 3,
      attributions: { a: 1, b: 0, c: -3 },
      method: 'linear',
      output: 'raw',
      baseValue: 4 + 0 + 2 + 6,
      values: { a: 1, b: 0, c: -3 },
      prediction: 4 + 1 + 2 + 3,
    });
  });

  it('explains any other ONNX model by Kernel SHAP; asks for a background when it has none', async () => {
    const mlp = mlpOnnx({
      layers: [
        {
          weights: [
            [0.1, 0.2, 0.3],
            [0.3, 0.2, 0.1],
          ],
          bias: [0, 0],
          activation: 'relu',
        },
        {
          weights: [
            [1, -1],
            [-1, 1],
          ],
          bias: [0, 0],
          activation: 'softmax',
        },
      ],
      classes: ['no', 'yes'],
    });
    await register('1.0.0', mlp);
    // Three features: every coalition is evaluated, so these are exact Shapley values; the
    // background is the training means (one row), the explained output the predicted class.
    const shap = (await service.explain('churn', { instances: [[1, 2, 3]], version: '1.0.0' }))
      .explanations[0] as ShapExplanation;
    expect(shap).toMatchObject({ method: 'exact', output: 'probability', coalitions: 6 });
    const sum = Object.values(shap.values).reduce((a, b) => a + b, 0);
    expect(shap.baseValue + sum).toBeCloseTo(shap.prediction, 9);
    const predicted = await service.predict('churn', { instances: [[1, 2, 3]], version: '1.0.0' });
    expect(shap.class).toBe(predicted.predictions[0]);
    expect(shap.prediction).toBeCloseTo(Math.max(...predicted.probabilities![0]!), 6);
    // A logistic model asked for probabilities leaves the closed form (which is in log-odds).
    await register('1.1.0', logistic(W1, B1), { params: {} });
    const none = await expectCode(
      service.explain('churn', { instances: [[1, 2, 3]], version: '1.1.0' }),
      'validation_failed',
    );
    expect(none.details).toMatchObject({ field: 'background' });
    const withBackground = await service.explain('churn', {
      instances: [[1, 2, 3]],
      version: '1.1.0',
      background: [
        [0, 0, 0],
        [1, 1, 1],
      ],
      output: 'logit',
    });
    const logit = withBackground.explanations[0] as ShapExplanation;
    // Logistic in log-odds is linear: Shapley values are w_j (x_j − mean of the background).
    const w = W1.map(f32);
    FEATURES.forEach((f, j) => {
      expect(logit.values[f]).toBeCloseTo((w[j] as number) * ([1, 2, 3][j]! - 0.5), 5);
    });
    // Too much work for one request (8000 × 7 × 100 rows) is refused before anything runs.
    await expectCode(
      service.explain('churn', {
        instances: Array.from({ length: 8000 }, () => [1, 2, 3]),
        version: '1.1.0',
        background: Array.from({ length: 100 }, () => [0, 0, 0]),
        nsamples: 100,
      }),
      'validation_failed',
    );
  });

  it('delegates SageMaker versions and maps endpoint failures to model_error and unavailable', async () => {
    await register('3.0.0', logistic(W1, B1), { runtime: { type: 'sagemaker', endpointName: 'fraud-xl' } });
    endpoint.answer = {
      probabilities: [
        [0.2, 0.8],
        [0.9, 0.1],
      ],
    };
    const out = await service.predict('churn', {
      instances: [[1, 2, 3], { a: 0.1, b: 0.2, c: 0.3 }],
      version: '3.0.0',
    });
    expect(out).toMatchObject({ runtime: 'sagemaker', predictions: ['yes', 'no'], modelVersion: '3.0.0' });
    expect(endpoint.calls[0]).toEqual([
      [1, 2, 3],
      [f32(0.1), f32(0.2), f32(0.3)],
    ]);
    endpoint.error = new EndpointModelError('boom', { endpoint: 'fraud-xl', originalStatusCode: 500 });
    const me = await expectCode(
      service.predict('churn', { instances: [[1, 2, 3]], version: '3.0.0' }),
      'model_error',
    );
    expect(me.details).toMatchObject({ endpoint: 'fraud-xl', originalStatusCode: 500 });
    endpoint.error = new EndpointUnavailable('slow down', 'throttled', { endpoint: 'fraud-xl' }, 2);
    const un = await expectCode(
      service.predict('churn', { instances: [[1, 2, 3]], version: '3.0.0' }),
      'unavailable',
    );
    expect(un.details).toMatchObject({ reason: 'throttled', retryAfterSeconds: 2 });
    expect(captured.filter((c) => c.outcome === 'error').map((c) => c.errorCode)).toEqual([
      'model_error',
      'unavailable',
    ]);
    await expectCode(service.explain('churn', { instances: [[1, 2, 3]], version: '3.0.0' }), 'unsupported');
  });

  it('refuses empty and oversized batches, pending uploads and archived versions by name', async () => {
    await register('1.0.0', logistic(W1, B1));
    await expectCode(service.predict('churn', { instances: [], version: '1.0.0' }), 'validation_failed');
    await expectCode(
      service.predict('churn', { instances: new Array(10_001).fill([1, 2, 3]), version: '1.0.0' }),
      'validation_failed',
    );
    await registry.lifecycle.transition(alice, 'churn', '1.0.0', 'archived');
    clock.advance(ROUTE_CACHE_MS);
    await expectCode(service.predict('churn', { instances: [[1, 2, 3]], version: '1.0.0' }), 'conflict');
  });

  it('checks instances before loading anything: a malformed request to a broken version changes nothing', async () => {
    await register('1.0.0', unloadableOnnx());
    const before = (await store.list({ limit: 50, model: 'churn' })).items.length;
    await expectCode(
      service.predict('churn', { instances: [[1, 'x', 3]], version: '1.0.0' }),
      'validation_failed',
    );
    await expectCode(service.explain('churn', { instances: [[{}]], version: '1.0.0' }), 'validation_failed');
    expect((await store.list({ limit: 50, model: 'churn' })).items).toHaveLength(before);
    expect(captured).toEqual([]);
    expect(metrics.served_).toEqual([]);
    // A well-formed explain of a version that cannot load is a 422, never a 500.
    const err = await expectCode(
      service.explain('churn', { instances: [[1, 2, 3]], version: '1.0.0' }),
      'integrity_failed',
    );
    expect(err.details).toMatchObject({ version: '1.0.0' });
  });

  it('refuses a stats window that ends before it starts, even with the default end', async () => {
    const stats = { aggregates: async () => [] };
    await expectCode(service.stats('churn', stats, { from: '2099-01-01T00:00:00Z' }), 'validation_failed');
    const ok = await service.stats('churn', stats, {});
    expect(ok).toMatchObject({ model: 'churn', total: { requests: 0, errorRate: null } });
  });

  it('counts a store failure that carries its own code (a network error) as a serving error', async () => {
    await register('1.0.0', logistic(W1, B1));
    await promote('1.0.0');
    artifacts.get = async () => {
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    };
    await expect(service.predict('churn', { instances: [[1, 2, 3]] })).rejects.toThrow('socket hang up');
    expect(captured).toEqual([
      expect.objectContaining({ outcome: 'error', errorCode: 'internal', version: '1.0.0' }),
    ]);
    expect(metrics.served_).toEqual([expect.objectContaining({ outcome: 'error', errorCode: 'internal' })]);
  });
});
