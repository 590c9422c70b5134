/**
 * The real `serval` CLI in child processes against `npm start`'s runtime: login to a profile,
 * models, register --file through the presigned upload (streamed SHA-256, progress), and imports
 * of models trained elsewhere (an MLflow directory from this machine and from another S3 bucket,
 * a SageMaker model.tar.gz from Serval's imports/ prefix), each then predicted and checked,
 * through the CLI and the HTTP API. A float64-input model throughout.
 */
import { createHash } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXAMPLE_ROWS,
  expected,
  float64RegressionOnnx,
  mlflowRunFiles,
  sagemakerArchive,
  writeFiles,
} from '../support/import-fixtures.js';
import { scratchDir, servalAsync } from '../support/serval-cli.js';
import { apiClient, localS3, type ServalProcess, startServal } from '../support/serval-process.js';

const ELSEWHERE = 'trained-elsewhere';
const tmp = scratchDir('serval-cli-e2e-');
const profile = join(tmp, 'config', 'profile.json');
let serval: ServalProcess;
let api: ReturnType<typeof apiClient>;

/** The CLI with the profile only (no SERVAL_URL/SERVAL_API_KEY). */
const cli = (...args: string[]) => servalAsync(args, { SERVAL_CONFIG: profile, SERVAL_PROGRESS: '1' });
const json = async (...args: string[]) => {
  const run = await cli(...args, '--json');
  expect(run.stderr.replace(/^(hashing|uploading).*$/gm, '').trim()).toBe('');
  expect(run.status).toBe(0);
  return JSON.parse(run.stdout);
};
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  serval = await startServal({ env: { SERVAL_IMPORT_BUCKETS: ELSEWHERE } });
  api = apiClient(serval.url, serval.adminKey);
  const { s3, bucket } = localS3(serval.dataDir);
  await s3.send(new CreateBucketCommand({ Bucket: ELSEWHERE }));
  for (const [path, bytes] of mlflowRunFiles()) {
    await s3.send(new PutObjectCommand({ Bucket: ELSEWHERE, Key: `mlruns/1/abc/${path}`, Body: bytes }));
  }
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'imports/job-7/output/model.tar.gz',
      Body: await sagemakerArchive(),
    }),
  );
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: 'datasets/m.onnx', Body: float64RegressionOnnx() }),
  );
}, 90_000);

afterAll(async () => {
  await serval?.stop();
});

describe('serval CLI end to end', () => {
  it('login writes a profile readable by its owner only, and later commands use it', async () => {
    const login = await servalAsync(['login', '--url', `${serval.url}/v1`, '--key', serval.adminKey], {
      SERVAL_CONFIG: profile,
    });
    expect(login.stderr).toBe('');
    expect(login.stdout).toContain('logged in');
    expect(statSync(profile).mode & 0o777).toBe(0o600);
    const bad = await servalAsync(['login', '--url', serval.url, '--key', 'sk_wrong'], {
      SERVAL_CONFIG: join(tmp, 'x.json'),
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^serval login: .*\(unauthorized, HTTP 401\)\n$/);

    expect((await cli('models', 'create', 'iris', '--description', 'imported')).status).toBe(0);
    const list = await cli('models', 'list');
    expect(list.stdout).toMatch(/^NAME\s+PRODUCTION\s+LATEST/);
    expect(list.stdout).toMatch(/\niris\s/);
  });

  it('register --file uploads through the presigned URL with progress; the version is verified', async () => {
    const file = join(tmp, 'model.onnx');
    writeFileSync(file, float64RegressionOnnx());
    const run = await cli('register', 'iris', '--file', file, '--version', '1.0.0');
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/hashing\s+\[#{20}\]\s+100%/);
    expect(run.stderr).toMatch(/uploading \[#{20}\]\s+100%/);
    expect(run.stdout).toContain('registered iris@1.0.0 (ready');
    const v = await json('versions', 'get', 'iris', '1.0.0');
    expect(v).toMatchObject({ status: 'ready', sha256: sha(float64RegressionOnnx()) });
    const p = await json(
      'predict',
      'iris',
      '--version',
      '1.0.0',
      '--instances',
      JSON.stringify(EXAMPLE_ROWS),
    );
    for (const [i, r] of EXAMPLE_ROWS.entries()) expect(p.predictions[i]).toBeCloseTo(expected(r), 4);
  });

  it('import mlflow DIR packs a local MLflow run and uploads it: schema from the signature, metrics, params', async () => {
    const dir = join(tmp, 'mlruns', 'run');
    writeFiles(dir, mlflowRunFiles());
    const v = await json('import', 'mlflow', dir, '--model', 'iris', '--version', '1.1.0');
    expect(v).toMatchObject({
      version: '1.1.0',
      status: 'ready',
      sha256: sha(float64RegressionOnnx()),
      metrics: { rmse: 0.37, r2: 0.93 },
      params: { alpha: '0.01', solver: 'lbfgs' },
      source: { format: 'mlflow', mlflow: { runId: '0a1b2c3d4e5f' } },
    });
    expect(v.inputSchema.features.map((f: { name: string }) => f.name)).toEqual([
      'sepal_length',
      'sepal_width',
      'petal_length',
    ]);
    const run = await cli(
      'predict',
      'iris',
      '--version',
      '1.1.0',
      '--instances',
      '[{"sepal_length": 1, "sepal_width": 1, "petal_length": 2}]',
    );
    expect(run.stdout).toMatch(/^version 1\.1\.0\n#\s+PREDICTION\s+PREDICTION ID\n0\s+3\s+\S+\n$/);
  });

  it('import s3 of a SageMaker model.tar.gz in imports/; other buckets only when the deployment lists them', async () => {
    const { bucket } = localS3(serval.dataDir);
    const v = await json(
      'import',
      's3',
      `s3://${bucket}/imports/job-7/output/model.tar.gz`,
      '--model',
      'iris',
      '--format',
      'sagemaker-tar',
    );
    expect(v).toMatchObject({
      version: '1.2.0',
      status: 'ready',
      source: { format: 'sagemaker-tar', files: ['model.onnx', 'code/inference.py'] },
    });
    expect(v.source.etag).toBeTruthy();
    const refused = await cli('import', 's3', `s3://${bucket}/datasets/m.onnx`, '--model', 'iris');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/imports\/ only \(forbidden, HTTP 403\)/);
    const elsewhere = await cli('import', 's3', 's3://some-other-bucket/m.onnx', '--model', 'iris');
    expect(elsewhere.stderr).toMatch(/SERVAL_IMPORT_BUCKETS.*\(forbidden, HTTP 403\)/);
  });

  it('the API imports an MLflow directory from an allowed bucket and serves it', async () => {
    const res = await api('POST', '/v1/models/iris/versions', {
      version: '2.0.0',
      format: 'mlflow',
      artifact: { uri: `s3://${ELSEWHERE}/mlruns/1/abc/` },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: 'ready',
      outputSchema: { kind: 'regression' },
      source: { uri: `s3://${ELSEWHERE}/mlruns/1/abc/` },
    });
    const p = await api('POST', '/v1/models/iris/predict', { version: '2.0.0', instances: EXAMPLE_ROWS });
    expect(p.status).toBe(200);
    for (const [i, r] of EXAMPLE_ROWS.entries()) expect(p.body.predictions[i]).toBeCloseTo(expected(r), 4);
  });

  it('serval api reaches any operation by its operationId; a wrong one is a usage error', async () => {
    const m = await json('api', 'getModel', '--param', 'name=iris');
    expect(m.name).toBe('iris');
    const history = await json(
      'api',
      'compareVersions',
      '--param',
      'name=iris',
      '--query',
      'a=1.0.0',
      '--query',
      'b=2.0.0',
    );
    expect(history).toBeTypeOf('object');
    const wrong = await cli('api', 'noSuchOperation');
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/no operation noSuchOperation/);
  });
});
