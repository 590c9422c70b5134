/**
 * The registry reads an ONNX artifact's graph when it gets the bytes (inline, or when an upload
 * is completed): bytes that are not ONNX are refused, a declared schema must fit the graph, a
 * missing one is derived; and production refuses a version that could not serve.
 */
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { linearRegressionOnnx, logisticRegressionOnnx } from '../../../functions/core/onnx/models.js';
import type { RegistryServices } from '../../../functions/core/registry/services.js';
import type { ModelVersion } from '../../../functions/core/registry/types.js';
import { expectCode } from '../../support/expect-code.js';
import {
  type MemoryArtifactStore,
  type MemoryRegistryStore,
  memoryRegistry,
} from '../../support/memory-stores.js';
import { tinyOnnx } from '../../support/onnx-fixtures.js';
import { alice, bob } from '../../support/principals.js';

const dana: typeof alice = { id: 'dana', name: 'Dana', role: 'admin' };
const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

describe('registry: reading ONNX artifacts', () => {
  let store: MemoryRegistryStore;
  let artifacts: MemoryArtifactStore;
  let registry: RegistryServices;

  beforeEach(async () => {
    ({ store, artifacts, registry } = memoryRegistry());
    await registry.models.create(alice, { name: 'churn' });
  });

  async function toStaging(version: string) {
    await registry.lifecycle.transition(alice, 'churn', version, 'testing');
    await registry.lifecycle.transition(alice, 'churn', version, 'staging');
    await registry.lifecycle.decideApproval(bob, 'churn', version, 'approved', 'ok');
  }

  it('refuses inline bytes that are not an ONNX model with invalid_model, storing nothing', async () => {
    for (const junk of ['hello world', '{"not":"onnx"}', 'PK\u0003\u0004 a zip file']) {
      const err = await expectCode(
        registry.artifacts.register(alice, 'churn', {
          artifact: { base64: b64(junk) },
          framework: 'onnx',
          runtime: { type: 'lambda' },
        }),
        'invalid_model',
      );
      expect(err.message).toMatch(/not a loadable ONNX model/);
    }
    expect(artifacts.objects.size).toBe(0);
    expect(store.versions.size).toBe(0);
  });

  it('does not read the artifact of a sagemaker-framework version', async () => {
    const { version } = await registry.artifacts.register(alice, 'churn', {
      artifact: { base64: b64('a model.tar.gz, not ONNX') },
      framework: 'sagemaker',
      runtime: { type: 'sagemaker', endpointName: 'churn-ep' },
    });
    expect(version.status).toBe('ready');
    expect(version.graph).toBeUndefined();
    expect(version.inputSchema).toBeUndefined();
  });

  it('derives the schema from the graph and records what it read', async () => {
    const onnx = logisticRegressionOnnx({
      weights: [1, 2, 3, 4],
      bias: 0,
      featureNames: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
      classes: ['versicolor', 'virginica'],
    });
    const { version } = await registry.artifacts.register(alice, 'churn', {
      artifact: { base64: b64(onnx) },
      framework: 'onnx',
      runtime: { type: 'lambda' },
    });
    expect(version.inputSchema).toEqual({
      tensor: 'input',
      features: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'].map((name) => ({
        name,
        type: 'float',
      })),
    });
    expect(version.outputSchema).toEqual({ kind: 'binary', classes: ['versicolor', 'virginica'] });
    expect(version.graph).toMatchObject({
      producer: 'serval 1',
      opsets: [{ domain: 'ai.onnx', version: 17 }],
      inputs: [{ name: 'input', type: 'float32', dims: ['N', 4] }],
      outputs: [
        { name: 'label', type: 'int64', dims: ['N'] },
        { name: 'probabilities', type: 'float32', dims: ['N', 2] },
      ],
    });
    const regression = await registry.artifacts.register(alice, 'churn', {
      artifact: { base64: b64(linearRegressionOnnx({ weights: [1, 2], bias: 0 })) },
      framework: 'onnx',
      runtime: { type: 'lambda' },
    });
    expect(regression.version.inputSchema?.features.map((f) => f.name)).toEqual(['f0', 'f1']);
    expect(regression.version.outputSchema).toEqual({ kind: 'regression' });
  });

  it('refuses a declared schema the graph contradicts, and keeps one that fits', async () => {
    const register = (extra: object) =>
      registry.artifacts.register(alice, 'churn', {
        artifact: { base64: b64(tinyOnnx('x')) }, // 3 float features → y [N, 1]
        framework: 'onnx',
        runtime: { type: 'lambda' },
        ...extra,
      });
    const twoFeatures = await expectCode(
      register({
        inputSchema: {
          features: [
            { name: 'a', type: 'float' },
            { name: 'b', type: 'float' },
          ],
        },
      }),
      'validation_failed',
    );
    expect(twoFeatures.message).toMatch(/takes 3 features but the input schema lists 2/);
    const classifier = await expectCode(
      register({ outputSchema: { kind: 'multiclass' } }),
      'validation_failed',
    );
    expect(classifier.message).toMatch(/probability output/);
    await expectCode(
      register({ inputSchema: { features: [{ name: 'a', type: 'float' }], tensor: 'nope' } }),
      'validation_failed',
    );
    const fits = await register({
      inputSchema: { features: ['age', 'tenure', 'spend'].map((name) => ({ name, type: 'float' })) },
    });
    expect(fits.version.inputSchema?.features.map((f) => f.name)).toEqual(['age', 'tenure', 'spend']);
    expect(fits.version.outputSchema).toEqual({ kind: 'regression' });
    expect(fits.version.derivedSchemas).toEqual(['outputSchema']);
    expect(store.versions.size).toBe(1);
  });

  it('reads an upload when it is completed: a good graph gets its schema, junk makes the version unusable', async () => {
    const onnx = tinyOnnx('uploaded');
    const good = await registry.artifacts.register(alice, 'churn', {
      artifact: { upload: true },
      sha256: sha(onnx),
      framework: 'onnx',
      runtime: { type: 'lambda' },
    });
    expect(good.version.inputSchema).toBeUndefined();
    await artifacts.put(good.version.artifact.key, onnx);
    const done = await registry.artifacts.completeUpload(alice, 'churn', good.version.version);
    expect(done.status).toBe('ready');
    expect(done.inputSchema?.features).toHaveLength(3);
    expect(done.graph?.inputs).toEqual([{ name: 'input', type: 'float32', dims: ['N', 3] }]);

    const junk = new TextEncoder().encode('definitely not onnx');
    const bad = await registry.artifacts.register(alice, 'churn', {
      artifact: { upload: true },
      sha256: sha(junk),
      framework: 'onnx',
      runtime: { type: 'lambda' },
    });
    await artifacts.put(bad.version.artifact.key, junk);
    await expectCode(registry.artifacts.completeUpload(alice, 'churn', bad.version.version), 'invalid_model');
    const after = await registry.models.getVersion('churn', bad.version.version);
    expect(after.status).toBe('unusable');
    expect(after.unusableReason).toMatch(/not a loadable ONNX model/);
    const audit = store.audits.filter((a) => a.action === 'version.invalid_model');
    expect(audit).toHaveLength(1);
  });

  it('refuses production to a version that cannot serve, unless the model allows it', async () => {
    // No schema: a SageMaker-framework version registered without one.
    await registry.artifacts.register(alice, 'churn', {
      version: '1.0.0',
      artifact: { base64: b64('opaque') },
      framework: 'sagemaker',
      runtime: { type: 'sagemaker', endpointName: 'ep' },
    });
    await toStaging('1.0.0');
    const err = await expectCode(
      registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production'),
      'conflict',
    );
    expect(err.message).toMatch(/cannot serve predictions: it has no input and output schema/);
    expect(err.message).toMatch(/allowUnservableProduction/);

    // An ONNX version stored before the registry read graphs: no graph, never loaded.
    const legacy: ModelVersion = {
      ...(await registry.models.getVersion('churn', '1.0.0')),
      version: '0.9.0',
      framework: 'onnx',
      runtime: { type: 'lambda' },
      inputSchema: { features: [{ name: 'a', type: 'float' }] },
      outputSchema: { kind: 'regression' },
      revision: 1,
    };
    store.versions.set('churn@0.9.0', legacy);
    const old = await expectCode(
      registry.lifecycle.transition(bob, 'churn', '0.9.0', 'production'),
      'conflict',
    );
    expect(old.message).toMatch(/never been read as an ONNX model/);

    await registry.models.update(dana, 'churn', { allowUnservableProduction: true });
    expect((await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production')).stage).toBe(
      'production',
    );
  });

  it('promotes a version whose schema was derived from its graph', async () => {
    await registry.artifacts.register(alice, 'churn', {
      version: '1.0.0',
      artifact: { base64: b64(tinyOnnx('served')) },
      framework: 'onnx',
      runtime: { type: 'lambda' },
    });
    await toStaging('1.0.0');
    expect((await registry.lifecycle.transition(bob, 'churn', '1.0.0', 'production')).stage).toBe(
      'production',
    );
  });
});
