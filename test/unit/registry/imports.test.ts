/**
 * Importing models trained elsewhere, through the registry service over in-memory stores and the
 * real onnxruntime: an ONNX file, a SageMaker model.tar.gz and an MLflow directory (by S3 URI,
 * as an S3 directory, inline, and by presigned upload), then served predictions checked.
 */
import { describe, expect, it } from 'vitest';
import { OnnxRuntimeRunner } from '../../../functions/adapters/onnx-runner.js';
import { encodeInstances } from '../../../functions/core/kernel/encode.js';
import { ElemType, GraphBuilder } from '../../../functions/core/onnx/graph.js';
import type { ImportObjects } from '../../../functions/core/registry/ports.js';
import { sha256Hex } from '../../../functions/core/registry/records.js';
import { expectCode } from '../../support/expect-code.js';
import {
  EXAMPLE_ROWS,
  expected,
  float32RegressionOnnx,
  float64RegressionOnnx,
  mlflowArchive,
  mlflowRunFiles,
  sagemakerArchive,
} from '../../support/import-fixtures.js';
import { memoryRegistry } from '../../support/memory-stores.js';
import { alice } from '../../support/principals.js';

const runner = new OnnxRuntimeRunner();

class FakeObjects implements ImportObjects {
  readonly objects = new Map<string, Uint8Array>();
  refusal(uri: string) {
    return uri.startsWith('s3://allowed/') ? undefined : `bucket of ${uri} is not allowed`;
  }
  async get(uri: string) {
    const bytes = this.objects.get(uri);
    return bytes ? { bytes, size: bytes.byteLength, etag: '"etag-1"' } : undefined;
  }
  async readDirectory(uri: string) {
    return new Map(
      [...this.objects].filter(([k]) => k.startsWith(uri)).map(([k, v]) => [k.slice(uri.length), v]),
    );
  }
}

async function setup() {
  const objects = new FakeObjects();
  const reg = memoryRegistry({ imports: objects, runner: async () => runner });
  await reg.registry.models.create(alice, { name: 'iris', description: '', tags: {} });
  return { ...reg, objects };
}

const base = { framework: 'onnx' as const, runtime: { type: 'lambda' as const } };

/** Predicts through the stored artifact as inference would: encode by the version's schema, run. */
async function predict(reg: Awaited<ReturnType<typeof setup>>, version: string, rows: number[][]) {
  const v = await reg.registry.models.getVersion('iris', version);
  const bytes = await reg.artifacts.get(v.artifact.key);
  expect(await sha256Hex(bytes!)).toBe(v.artifact.sha256);
  const model = await runner.load(bytes!);
  const out = await model.run(encodeInstances(rows, v.inputSchema!), rows.length, 3, v.inputSchema!.tensor);
  await model.release();
  return Array.from(Object.values(out)[0]!.data as Float32Array);
}

describe('imports', () => {
  it('an MLflow run directory in S3: signature → schema, example smoke-run, metrics and params, float64 input', async () => {
    const reg = await setup();
    for (const [path, bytes] of mlflowRunFiles())
      reg.objects.objects.set(`s3://allowed/runs/42/${path}`, bytes);
    const { version } = await reg.registry.artifacts.register(alice, 'iris', {
      ...base,
      version: '1.0.0',
      format: 'mlflow',
      artifact: { uri: 's3://allowed/runs/42/' },
      metrics: { rmse: 0.5 },
    });
    expect(version.status).toBe('ready');
    expect(version.inputSchema).toEqual({
      features: [
        { name: 'sepal_length', type: 'float' },
        { name: 'sepal_width', type: 'float' },
        { name: 'petal_length', type: 'float' },
      ],
    });
    expect(version.outputSchema).toEqual({ kind: 'regression' });
    // The caller's metric wins over the run's; the run's others are kept.
    expect(version.metrics).toEqual({ rmse: 0.5, r2: 0.93 });
    expect(version.params).toEqual({ alpha: '0.01', solver: 'lbfgs' });
    expect(version.source).toMatchObject({
      format: 'mlflow',
      uri: 's3://allowed/runs/42/',
      mlflow: { runId: '0a1b2c3d4e5f', version: '2.16.0' },
    });
    expect(version.artifact.sha256).toBe(await sha256Hex(float64RegressionOnnx()));
    const got = await predict(reg, '1.0.0', EXAMPLE_ROWS);
    for (const [i, r] of EXAMPLE_ROWS.entries()) expect(got[i]).toBeCloseTo(expected(r), 4);
  });

  it('a SageMaker model.tar.gz by URI: model.onnx becomes the artifact; source keeps digest, size and ETag', async () => {
    const reg = await setup();
    const tar = await sagemakerArchive(float32RegressionOnnx());
    reg.objects.objects.set('s3://allowed/jobs/1/output/model.tar.gz', tar);
    const { version } = await reg.registry.artifacts.register(alice, 'iris', {
      ...base,
      format: 'sagemaker-tar',
      artifact: { uri: 's3://allowed/jobs/1/output/model.tar.gz' },
      sha256: await sha256Hex(tar),
    });
    expect(version.source).toEqual({
      format: 'sagemaker-tar',
      uri: 's3://allowed/jobs/1/output/model.tar.gz',
      sha256: await sha256Hex(tar),
      size: tar.byteLength,
      etag: '"etag-1"',
      files: ['model.onnx', 'code/inference.py'],
    });
    expect(version.artifact.key).toMatch(/^models\/iris\//);
    const got = await predict(reg, version.version, [[1, 1, 1]]);
    expect(got[0]).toBeCloseTo(expected([1, 1, 1]), 5);
  });

  it('a plain ONNX file by URI is copied in and checksummed', async () => {
    const reg = await setup();
    reg.objects.objects.set('s3://allowed/m.onnx', float64RegressionOnnx());
    const { version } = await reg.registry.artifacts.register(alice, 'iris', {
      ...base,
      artifact: { uri: 's3://allowed/m.onnx' },
    });
    expect(version.inputSchema?.tensor).toBe('x');
    expect(await predict(reg, version.version, [[0, 0, 2]])).toEqual([expected([0, 0, 2])]);
  });

  it('refuses: a bucket not allowed (403), a missing object, a wrong sha256, an example the model cannot run', async () => {
    const reg = await setup();
    const register = (over: object) =>
      reg.registry.artifacts.register(alice, 'iris', {
        ...base,
        artifact: { uri: 's3://allowed/x' },
        ...over,
      });
    await expectCode(register({ artifact: { uri: 's3://other/m.onnx' } }), 'forbidden');
    await expectCode(register({}), 'validation_failed');
    reg.objects.objects.set('s3://allowed/x', float64RegressionOnnx());
    await expectCode(register({ sha256: 'a'.repeat(64) }), 'integrity_failed');
    const wrongWidth = await mlflowArchive(mlflowRunFiles(undefined, { example: [[1, 2, 3, 4]] }));
    reg.objects.objects.set('s3://allowed/bad.tar.gz', wrongWidth);
    await expectCode(
      register({ format: 'mlflow', artifact: { uri: 's3://allowed/bad.tar.gz' } }),
      'validation_failed',
    );
    // A model that loads but fails on its own example: it reshapes the batch to one row.
    const g = new GraphBuilder('one_row');
    const x = g.input('x', ElemType.FLOAT, ['N', 3]);
    const r = g.node('Reshape', [x, g.int64s('one', [2], [1, 3])], ['r']);
    g.node('Gemm', [r, g.floats('w', [3, 1], [1, 1, 1]), g.floats('b', [1], [0])], ['y']);
    g.output('y', ElemType.FLOAT, ['N', 1]);
    reg.objects.objects.set('s3://allowed/one-row.tar.gz', await mlflowArchive(mlflowRunFiles(g.encode({}))));
    const err = await expectCode(
      register({ format: 'mlflow', artifact: { uri: 's3://allowed/one-row.tar.gz' } }),
      'invalid_model',
    );
    expect(err.message).toMatch(/input example/);
    expect((await reg.registry.models.listVersions('iris', { limit: 10 })).items).toEqual([]);
  });

  it('an MLflow archive by presigned upload is unpacked at completion', async () => {
    const reg = await setup();
    const tar = await mlflowArchive(mlflowRunFiles(undefined, { modelOnly: true }));
    const { version, upload } = await reg.registry.artifacts.register(alice, 'iris', {
      ...base,
      version: '2.0.0',
      format: 'mlflow',
      artifact: { upload: true },
      sha256: await sha256Hex(tar),
    });
    expect(version.status).toBe('pending');
    expect(upload).toBeDefined();
    await reg.artifacts.put(version.artifact.key, tar);
    const done = await reg.registry.artifacts.completeUpload(alice, 'iris', '2.0.0');
    expect(done.status).toBe('ready');
    expect(done.artifact.sha256).toBe(await sha256Hex(float64RegressionOnnx()));
    expect(done.source).toMatchObject({ format: 'mlflow', sha256: await sha256Hex(tar) });
    expect(done.inputSchema?.features.map((f) => f.name)).toEqual([
      'sepal_length',
      'sepal_width',
      'petal_length',
    ]);
    expect(await predict(reg, '2.0.0', [[3, 1, 2]])).toEqual([expected([3, 1, 2])]);
  });
});
