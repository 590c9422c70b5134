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
import { scratchDir, servalAsync, serval as servalSync } from '../support/serval-cli.js';
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
    expect(run.stdout).toMatch(/^iris@1\.1\.0 \(lambda\)\n#\s+PREDICTION\s+PREDICTION ID\n0\s+3\s+\S+\n$/);
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

  it('what people read is what the API answered: predict in an experiment, drift reports, alerts, keys, webhooks', async () => {
    const { bucket } = localS3(serval.dataDir);
    // The demo model (registered by every fresh start), a second version, and an A/B between them.
    const demo = join(tmp, 'demo.onnx');
    expect(servalSync('demo-model', '--out', demo).status).toBe(0);
    expect((await cli('register', 'iris-demo', '--file', demo, '--version', '1.0.1')).status).toBe(0);
    const created = await json(
      'experiments',
      'create',
      '--model',
      'iris-demo',
      '--variant',
      'a=1.0.0:50:control',
      '--variant',
      'b=1.0.1:50',
      '--metric',
      'converted:binary:maximize',
    );
    expect((await cli('experiments', 'start', created.id)).status).toBe(0);

    // A subject gets the variant the experiment assigns it, every time, and the answer says which.
    for (const subject of ['s-1', 's-2', 's-3']) {
      const assigned = await json('experiments', 'assignment', created.id, '--subject', subject);
      for (let i = 0; i < 2; i++) {
        const run = await cli(
          'predict',
          'iris-demo',
          '--subject',
          subject,
          '--instances',
          '[[6.1,2.8,4.7,1.2]]',
        );
        expect(run.stderr).toBe('');
        expect(run.stdout.split('\n')[0]).toBe(
          `iris-demo@${assigned.version} (lambda), experiment ${created.id} variant ${assigned.variant}`,
        );
      }
    }

    // Attributions for each instance, largest first, adding up to the log-odds; the context is
    // taken (and captured), never fed to the model.
    const explained = await cli(
      'predict',
      'iris-demo',
      '--version',
      '1.0.0',
      '--explain',
      '--context',
      '{"region": "north"}',
      '--instances',
      '[[6.1,2.8,4.7,1.2]]',
    );
    expect(explained.stderr).toBe('');
    const [sum, ...terms] = explained.stdout.trim().split('\n\n')[1]!.split('\n');
    const [, value, base] = /^#0: log-odds (\S+) = base (\S+) \+ attributions$/.exec(sum!)!;
    const attributions = terms.map((t) => Number(t.trim().split(/\s+/)[1]));
    expect(attributions).toHaveLength(4);
    expect([...attributions].sort((x, y) => Math.abs(y) - Math.abs(x))).toEqual(attributions);
    expect(Number(base) + attributions.reduce((x, y) => x + y, 0)).toBeCloseTo(Number(value), 2);

    // Drift: rows far from the training set, checked against it, as a report and as a listing.
    expect(
      (
        await api('PUT', '/v1/models/iris-demo/baseline', {
          datasetUri: `s3://${bucket}/datasets/iris-demo/train.csv`,
        })
      ).status,
    ).toBe(200);
    const rows = Array.from({ length: 60 }, (_, i) => [
      12 + (i % 7),
      6 + (i % 5),
      15 + (i % 11),
      5 + (i % 3),
    ]);
    const rowsFile = join(tmp, 'rows.json');
    writeFileSync(rowsFile, JSON.stringify(rows));
    expect(
      (await cli('predict', 'iris-demo', '--version', '1.0.0', '--instances', `@${rowsFile}`)).status,
    ).toBe(0);
    // Captures reach S3 in the background: checked until the window holds them.
    for (let tries = 0; ; tries++) {
      const r = await json('drift', 'check', 'iris-demo');
      if (r.rows >= 60) break;
      expect(tries).toBeLessThan(60);
      await new Promise((ok) => setTimeout(ok, 500));
    }
    const text = await cli('drift', 'check', 'iris-demo');
    expect(text.stderr).toBe('');
    const report = (await json('drift', 'reports', 'iris-demo')).items[0];
    const features = report.result.report.features as {
      name: string;
      test: string;
      statistic: number;
      drifted: boolean;
    }[];
    expect(text.stdout).toContain(`drift report ${report.id} of iris-demo`);
    expect(text.stdout).toContain(`DRIFT in ${report.result.report.driftedCount} of 4 features`);
    expect(features.map((f) => f.name)).toEqual([
      'sepal_length',
      'sepal_width',
      'petal_length',
      'petal_width',
    ]);
    for (const f of features) {
      const cells = cellsOf(text.stdout, f.name);
      expect(cells.slice(1, 3)).toEqual(['numerical', f.test]);
      expect(Number(cells[3])).toBeCloseTo(f.statistic, 3);
      expect(cells[6]).toBe(f.drifted ? 'yes' : 'no');
    }
    // Feedback: by then the explained prediction is captured; an id never served is unknown.
    const explainedId = cellsOf(explained.stdout, '0')[3]!;
    const never = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
    const labels = join(tmp, 'labels.json');
    writeFileSync(
      labels,
      JSON.stringify([
        { predictionId: explainedId, actual: 'versicolor' },
        { predictionId: never, actual: 'virginica' },
      ]),
    );
    const first = (await cli('feedback', '--file', labels)).stdout;
    expect(first.split('\n')[0]).toBe('joined 1, duplicate 0 (the first label stands), unknown 1');
    expect(cellsOf(first, explainedId)).toEqual([explainedId, 'joined', 'iris-demo', '1.0.0']);
    expect(cellsOf(first, never)).toEqual([never, 'unknown', '–', '–']);
    expect(first).toContain('send those again');
    const again = (await cli('feedback', '--file', labels)).stdout;
    expect(cellsOf(again, explainedId)[1]).toBe('duplicate');
    // Serving statistics: each cell is the answer's, the label just joined among them.
    const stats = await json('stats', 'iris-demo', '--version', '1.0.0');
    const v = stats.versions[0];
    expect(v.feedback.count).toBeGreaterThanOrEqual(1);
    const statsRow = cellsOf((await cli('stats', 'iris-demo', '--version', '1.0.0')).stdout, '1.0.0');
    expect(statsRow.slice(0, 4)).toEqual([
      '1.0.0',
      String(v.requests),
      `${v.errorRate * 100}%`,
      String(v.predictions),
    ]);
    expect(Number(statsRow[4])).toBeCloseTo(v.latencyMs.p50, 1);
    expect(Number(statsRow[7])).toBeCloseTo(v.meanConfidence, 3);
    expect(statsRow[8]).toBe(String(v.feedback.count));
    expect(Number(statsRow[9])).toBeCloseTo(v.feedback.classification.accuracy, 3);
    expect(statsRow[11]).toBe('–');
    expect(statsRow[12]).toBe(`${v.capture.completeness * 100}%`);

    const listed = cellsOf((await cli('drift', 'reports', 'iris-demo')).stdout, report.id);
    expect(listed.slice(2)).toEqual([
      String(report.rows),
      'ok',
      'yes',
      report.severity,
      report.baselineVersion,
      'manual',
    ]);

    // Alerts: each row is the alert's own kind, severity, status and title; acknowledged, it says so.
    const alerts = (await json('alerts', 'list', '--model', 'iris-demo')).items as {
      id: string;
      kind: string;
      severity: string;
      title: string;
    }[];
    const drifted = alerts.find((a) => a.kind === 'drift')!;
    expect(drifted.title).toMatch(/^iris-demo: dataset drift/);
    const alertsText = (await cli('alerts', 'list', '--model', 'iris-demo', '--status', 'open')).stdout;
    for (const a of alerts) {
      expect(cellsOf(alertsText, a.id).slice(2)).toEqual([a.kind, 'iris-demo', a.severity, 'open', a.title]);
    }
    expect((await cli('alerts', 'ack', drifted.id, '--comment', 'seen')).stdout).toBe(
      `acknowledged ${drifted.id}\n`,
    );
    const acked = (await cli('alerts', 'list', '--status', 'acknowledged')).stdout;
    expect(cellsOf(acked, drifted.id)[5]).toBe('acknowledged');
    expect(acked).not.toContain(alerts.find((a) => a.id !== drifted.id)?.id ?? 'none other');

    // Keys and webhooks: what was given comes back in the listing.
    const key = await cli(
      'keys',
      'create',
      '--name',
      'reader',
      '--role',
      'viewer',
      '--expires-at',
      '2030-01-01T02:00:00+02:00',
    );
    // The expiry comes back in UTC, as every time the API answers.
    const keyId = /^created key (\S+) \(viewer, expires 2030-01-01T00:00:00.000Z\); shown once:\nsvl_/.exec(
      key.stdout,
    )?.[1];
    expect(keyId).toBeDefined();
    expect(cellsOf((await cli('keys', 'list')).stdout, keyId!)).toEqual([
      keyId,
      'reader',
      'viewer',
      'active',
      expect.stringMatching(/^20\d\d-/),
      '2030-01-01T00:00:00.000Z',
      '–',
    ]);
    const hook = await cli(
      'webhooks',
      'create',
      '--url',
      'https://example.com/hooks/e2e',
      '--event',
      'alert',
      '--description',
      'on-call pager',
    );
    const hookId = /^created webhook (\S+); signing secret \(shown once\): \S{20,}\n$/.exec(hook.stdout)?.[1];
    expect(hookId).toBeDefined();
    const hookRow = cellsOf((await cli('webhooks', 'list')).stdout, hookId!);
    expect([...hookRow.slice(0, 4), hookRow[5]]).toEqual([
      hookId,
      'https://example.com/hooks/e2e',
      'alert',
      'active',
      'on-call pager',
    ]);
  }, 120_000);
});

/** The cells of the table row that starts with `first` (columns are two or more spaces apart). */
function cellsOf(text: string, first: string): string[] {
  const line = text.split('\n').find((l) => l.trimStart().startsWith(`${first} `));
  expect(line, `a row for ${first} in:\n${text}`).toBeDefined();
  return line!.trim().split(/\s{2,}/);
}
