/**
 * `serval` API commands against a small recording server: what requests they make (the upload
 * flow of register --file, a profile's key and who it is sent to), and their one-line errors.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordingApiForFile } from '../../support/recording-api.js';
import { scratchDir, servalAsync } from '../../support/serval-cli.js';

interface Recorded {
  method: string;
  url: string;
  key: string | undefined;
  headers: Record<string, unknown>;
  body: Buffer;
}

const tmp = scratchDir('serval-cli-unit-');
const api = recordingApiForFile<Recorded>(
  (req, raw) => ({
    method: req.method!,
    url: req.url!,
    key: req.headers['x-api-key'] as string | undefined,
    headers: req.headers,
    body: raw,
  }),
  () => 'model churn does not exist',
);
const { requests, answers } = api;
let url = '';
beforeAll(() => {
  url = api.url;
});

describe('serval API commands', () => {
  it('register --file: POST with the streamed SHA-256, PUT the exact bytes with the signed headers, complete', async () => {
    const bytes = Buffer.from('not really onnx, the server here does not care'.repeat(1000));
    const file = join(tmp, 'm.onnx');
    writeFileSync(file, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    answers['POST /v1/models/churn/versions'] = [
      201,
      {
        version: '1.0.0',
        status: 'pending',
        upload: { url: `${url}/drop/abc?sig=1`, method: 'PUT', headers: { 'x-amz-checksum-sha256': 'c2ln' } },
      },
    ];
    answers['PUT /drop/abc'] = [200, {}];
    answers['POST /v1/models/churn/versions/1.0.0/complete'] = [
      200,
      { version: '1.0.0', status: 'ready', sha256 },
    ];
    const run = await servalAsync(
      ['register', 'churn', '--file', file, '--version', '1.0.0', '--tag', 'team=risk'],
      {
        SERVAL_URL: url,
        SERVAL_API_KEY: 'sk_a',
      },
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`registered churn@1.0.0 (ready, sha256 ${sha256})\n`);
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /v1/models/churn/versions',
      'PUT /drop/abc?sig=1',
      'POST /v1/models/churn/versions/1.0.0/complete',
    ]);
    expect(JSON.parse(requests[0]!.body.toString())).toEqual({
      version: '1.0.0',
      tags: { team: 'risk' },
      artifact: { upload: true },
      sha256,
    });
    // The presigned URL carries its own authority: no API key goes to the storage endpoint.
    expect(requests[1]!.key).toBeUndefined();
    expect(requests[1]!.headers['x-amz-checksum-sha256']).toBe('c2ln');
    expect(requests[1]!.headers['content-length']).toBe(String(bytes.length));
    expect(requests[1]!.body.equals(bytes)).toBe(true);
  });

  it("the profile's key goes to the profile's URL only; SERVAL_URL and SERVAL_API_KEY override it", async () => {
    const config = join(tmp, 'profile.json');
    writeFileSync(config, JSON.stringify({ url, apiKey: 'sk_profile' }), { mode: 0o600 });
    answers['GET /v1/mode'] = [200, { mode: 'serving' }];
    await servalAsync(['mode', 'get'], { SERVAL_CONFIG: config });
    await servalAsync(['mode', 'get'], { SERVAL_CONFIG: config, SERVAL_API_KEY: 'sk_env' });
    await servalAsync(['mode', 'get'], { SERVAL_CONFIG: config, SERVAL_URL: `${url}/v1/` });
    expect(requests.map((r) => r.key)).toEqual(['sk_profile', 'sk_env', undefined]);
  });

  it("a refusal is the server's message with its code and status on one line, exit 1", async () => {
    const run = await servalAsync(['versions', 'list', 'churn'], { SERVAL_URL: url, SERVAL_API_KEY: 'sk_a' });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('serval versions list: model churn does not exist (not_found, HTTP 404)\n');
  });

  it('models list prints a table; --json the body as it came', async () => {
    const page = {
      items: [
        {
          name: 'churn',
          productionVersion: '1.0.0',
          latestVersion: '1.1.0',
          versionCount: 2,
          updatedAt: 't',
          description: 'who leaves within the quarter, from billing and support data',
        },
      ],
      nextCursor: 'c1',
    };
    answers['GET /v1/models'] = [200, page];
    const env = { SERVAL_URL: url, SERVAL_API_KEY: 'sk_a' };
    const text = await servalAsync(['models', 'list', '--tag', 'team:risk', '--tag', 'env:prod'], env);
    expect(text.stdout).toBe(
      'NAME   PRODUCTION  LATEST  VERSIONS  UPDATED  DESCRIPTION\nchurn  1.0.0       1.1.0   2         t        who leaves within the quarter, from bil…\nmore: --cursor c1\n',
    );
    expect(requests[0]!.url).toBe('/v1/models?tag=team%3Arisk&tag=env%3Aprod');
    expect(JSON.parse((await servalAsync(['models', 'list', '--json'], env)).stdout)).toEqual(page);
  });
  it('health prints the status; --detailed each store, queue and production artifact, exit 1 when degraded', async () => {
    const env = { SERVAL_URL: url, SERVAL_API_KEY: 'sk_a' };
    answers['GET /v1/health'] = [200, { status: 'ok' }];
    expect(await servalAsync(['health'], env)).toMatchObject({ status: 0, stdout: 'ok\n' });

    const report = {
      status: 'degraded',
      stores: [{ name: 'table:registry', kind: 'dynamodb', ok: true, latencyMs: 4.6 }],
      queues: [{ name: 'queue:drift', kind: 'sqs', ok: true, latencyMs: 3.2, depth: 7 }],
      artifactsFrom: 'sweep',
      productionArtifacts: [
        {
          model: 'churn',
          version: '1.1.0',
          ok: false,
          status: 'corrupt',
          lastVerifiedAt: 't1',
          stale: false,
          suggestedRollback: {
            method: 'POST',
            path: '/v1/models/churn/rollback',
            body: { toVersion: '1.0.0' },
          },
        },
        {
          model: 'fraud',
          version: '2.0.0',
          ok: false,
          status: 'ready',
          lastVerifiedAt: 't0',
          stale: true,
          suggestedRollback: null,
        },
        { model: 'iris', version: '3.0.0', ok: true, status: 'ready', lastVerifiedAt: 't2', stale: false },
      ],
      checkedAt: 't',
    };
    answers['GET /v1/health/detailed'] = [200, report];
    const detailed = await servalAsync(['health', '--detailed'], env);
    expect(detailed.status).toBe(1);
    expect(detailed.stdout).toBe(
      [
        'degraded (checked t)',
        '',
        'STORE           KIND      OK  LATENCY  DEPTH  ERROR',
        'table:registry  dynamodb  ok  5 ms     –      –',
        'queue:drift     sqs       ok  3 ms     7      –',
        '',
        'production artifacts, as the integrity sweep last found them:',
        'MODEL  VERSION  OK     STATUS   LAST VERIFIED  ROLLBACK',
        'churn  1.1.0    FAIL   corrupt  t1             serval rollback churn --to 1.0.0',
        'fraud  2.0.0    STALE  ready    t0             none can serve',
        'iris   3.0.0    ok     ready    t2             –',
        '',
      ].join('\n'),
    );
    expect(JSON.parse((await servalAsync(['health', '--detailed', '--json'], env)).stdout)).toEqual(report);

    answers['GET /v1/health/detailed'] = [
      200,
      {
        ...report,
        stores: [
          { name: 'table:registry', kind: 'dynamodb', ok: false, latencyMs: 3000, error: 'TimeoutError' },
        ],
        productionArtifacts: [],
      },
    ];
    const unreachable = await servalAsync(['health', '--detailed', '--recheck'], env);
    expect(unreachable.status).toBe(1);
    expect(unreachable.stdout).toContain('table:registry  dynamodb  FAIL  3000 ms  –      TimeoutError');
    expect(unreachable.stdout).toContain(
      'production artifacts: not checked (a store or queue is unreachable)',
    );
    expect(requests.map((r) => r.url)).toEqual([
      '/v1/health',
      '/v1/health/detailed',
      '/v1/health/detailed',
      '/v1/health/detailed?recheck=true',
    ]);

    const misused = await servalAsync(['health', '--recheck'], env);
    expect(misused).toMatchObject({ status: 2, stderr: 'serval health: --recheck goes with --detailed\n' });
  });
  it('audit names each actor beside the id --actor takes; mode get says a default mode was never set', async () => {
    const env = { SERVAL_URL: url, SERVAL_API_KEY: 'sk_a' };
    answers['GET /v1/audit'] = [
      200,
      {
        items: [
          {
            at: 't1',
            action: 'version.approved',
            actor: '01B',
            actorName: 'bob',
            model: 'churn',
            version: '1.0.0',
          },
          { at: 't0', action: 'model.create', actor: 'system', model: 'churn' },
        ],
      },
    ];
    expect((await servalAsync(['audit', '--model', 'churn'], env)).stdout).toBe(
      [
        'AT  ACTION            ACTOR  ACTOR ID  MODEL  VERSION',
        't1  version.approved  bob    01B       churn  1.0.0',
        't0  model.create      –      system    churn  –',
        '',
      ].join('\n'),
    );
    const mode = {
      mode: 'serving',
      changedAt: '1970-01-01T00:00:00.000Z',
      changedBy: 'system',
      comment: '',
      revision: 0,
    };
    answers['GET /v1/mode'] = [200, mode];
    const never = (await servalAsync(['mode', 'get'], env)).stdout;
    expect(never).toContain('changedAt  never (the default)\n');
    expect(never).not.toContain('1970');
    answers['GET /v1/mode'] = [
      200,
      { ...mode, mode: 'maintenance', changedAt: 't2', changedBy: 'bob', revision: 3 },
    ];
    const set = (await servalAsync(['mode', 'get'], env)).stdout;
    expect(set).toContain('changedAt  t2\n');
    expect(set).toContain('changedBy  bob\n');
  });
});
