/**
 * Binary classifiers as different exporters shape them, registered WITHOUT a schema, promoted
 * and served by onnxruntime: Serval's own label + probabilities [N, 2], a PyTorch-style single
 * sigmoid column [N, 1], and skl2onnx's output_label + output_probability as a tensor [N, 2] or
 * as a ZipMap (sequence of maps). Every one must derive its schema from the graph and answer
 * with the probabilities of both classes, computed here by hand from the weights.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { OnnxRuntimeRunner } from '../../../functions/adapters/onnx-runner.js';
import { PredictionIdBlock } from '../../../functions/core/inference/ids.js';
import { InferenceService } from '../../../functions/core/inference/service.js';
import { ModelCache } from '../../../functions/core/inference/sessions.js';
import {
  logisticRegressionOnnx,
  sklearnBinaryOnnx,
  torchSigmoidOnnx,
} from '../../../functions/core/onnx/models.js';
import type { RegistryServices } from '../../../functions/core/registry/services.js';
import { validateModel } from '../../../functions/core/registry/validation.js';
import { expectEveryCheckPassed } from '../../support/expect-code.js';
import { memoryRegistry } from '../../support/memory-stores.js';
import { alice, bob } from '../../support/principals.js';

const W = [0.5, -1.25, 2];
const B = -0.3;
const X = [
  [1, 2, 3],
  [4, 0.5, -1],
  [0, 0, 0],
];
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const P1 = X.map((x) => sigmoid(W.reduce((s, w, i) => s + w * (x[i] as number), B)));

const SHAPES = [
  {
    what: "Serval's label + probabilities [N, 2] (classes from metadata)",
    bytes: () =>
      logisticRegressionOnnx({ weights: W, bias: B, featureNames: ['a', 'b', 'c'], classes: ['no', 'yes'] }),
    features: ['a', 'b', 'c'],
    classes: ['no', 'yes'] as (string | number)[] | undefined,
  },
  {
    what: 'a PyTorch-style single sigmoid column [N, 1] (classes are indices)',
    bytes: () => torchSigmoidOnnx({ weights: W, bias: B }),
    features: ['f0', 'f1', 'f2'],
    classes: undefined,
  },
  {
    what: 'skl2onnx output_label + output_probability tensor [N, 2] (classes from the label table)',
    bytes: () => sklearnBinaryOnnx({ weights: W, bias: B, classes: [3, 7], zipmap: false }),
    features: ['f0', 'f1', 'f2'],
    classes: [3, 7],
  },
  {
    what: 'skl2onnx output_label + ZipMap of int64 classes',
    bytes: () => sklearnBinaryOnnx({ weights: W, bias: B, classes: [0, 1], zipmap: true }),
    features: ['f0', 'f1', 'f2'],
    classes: [0, 1],
  },
  {
    what: 'skl2onnx output_label + ZipMap of string classes',
    bytes: () => sklearnBinaryOnnx({ weights: W, bias: B, classes: ['stay', 'leave'], zipmap: true }),
    features: ['f0', 'f1', 'f2'],
    classes: ['stay', 'leave'],
  },
] as const;

class FixedIds {
  private n = 0;
  block() {
    return new PredictionIdBlock(`01JB${String(++this.n).padStart(19, '0')}`);
  }
}

describe('binary classifier output shapes, served by onnxruntime', () => {
  let registry: RegistryServices;
  let service: InferenceService;

  beforeEach(async () => {
    const rig = memoryRegistry();
    registry = rig.registry;
    const { store, artifacts, clock } = rig;
    await registry.models.create(alice, { name: 'churn' });
    service = new InferenceService({
      store,
      registry,
      models: new ModelCache({ artifacts, runner: new OnnxRuntimeRunner() }),
      capture: { add: () => undefined },
      metrics: { served: () => undefined, integrityFailure: () => undefined },
      ids: new FixedIds(),
      clock,
    });
  });

  it.each(SHAPES)('derives the schema of $what and serves both probabilities', async (shape) => {
    const { version } = await registry.artifacts.register(alice, 'churn', {
      artifact: { base64: Buffer.from(shape.bytes()).toString('base64') },
      framework: 'onnx',
      runtime: { type: 'lambda' },
    });
    expect(version.inputSchema?.features.map((f) => f.name)).toEqual(shape.features);
    expect(version.outputSchema).toEqual(
      shape.classes ? { kind: 'binary', classes: shape.classes } : { kind: 'binary' },
    );
    expect(version.derivedSchemas).toEqual(['inputSchema', 'outputSchema']);

    await registry.lifecycle.transition(alice, 'churn', version.version, 'testing');
    await registry.lifecycle.transition(alice, 'churn', version.version, 'staging');
    await registry.lifecycle.decideApproval(bob, 'churn', version.version, 'approved', 'ok');
    await registry.lifecycle.transition(bob, 'churn', version.version, 'production');

    const out = await service.predict('churn', { instances: X });
    const labels = shape.classes ?? [0, 1];
    expect(out.predictions).toEqual(P1.map((p) => labels[p > 0.5 ? 1 : 0]));
    expect(out.probabilities).toHaveLength(X.length);
    out.probabilities?.forEach((row, i) => {
      expect(row).toHaveLength(2);
      expect(row[0]).toBeCloseTo(1 - (P1[i] as number), 6);
      expect(row[1]).toBeCloseTo(P1[i] as number, 6);
    });
  });

  it.each(SHAPES)('validates $what with metrics from its derived schema', async (shape) => {
    const { version } = await registry.artifacts.register(alice, 'churn', {
      artifact: { base64: Buffer.from(shape.bytes()).toString('base64') },
      framework: 'onnx',
      runtime: { type: 'lambda' },
    });
    const labels = shape.classes ?? [0, 1];
    const report = await validateModel({
      artifact: shape.bytes(),
      inputSchema: version.inputSchema!,
      outputSchema: version.outputSchema!,
      request: {
        dataset: { instances: X, labels: P1.map((p) => labels[p > 0.5 ? 1 : 0] as string | number) },
      },
      runner: new OnnxRuntimeRunner(),
    });
    expectEveryCheckPassed(report.checks);
    expect(report.metrics).toMatchObject({ accuracy: 1 });
  });
});
