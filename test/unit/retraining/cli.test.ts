/**
 * `serval retrain` and `serval jobs` against a small node:http server that records each request
 * and answers canned bodies: the requests the CLI makes, what it prints, its exit codes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { jsonBody, recordingApiForFile } from '../../support/recording-api.js';
import { scratchDir, servalAsync } from '../../support/serval-cli.js';

const tmp = scratchDir('serval-retrain-cli-');

const api = recordingApiForFile(
  (req, raw) => ({
    method: req.method!,
    url: req.url!,
    key: req.headers['x-api-key'] as string,
    body: jsonBody(raw),
  }),
  () => 'no route',
);
const { requests, answers } = api;
let url = '';
beforeAll(() => {
  url = api.url;
});

const cli = (...args: string[]) => servalAsync(args, { SERVAL_URL: url, SERVAL_API_KEY: 'sk_test' });

const JOB = {
  id: '01JOBJOBJOBJOBJOBJOBJOBJOB',
  model: 'iris-demo',
  state: 'succeeded',
  reason: 'weekly',
  trigger: 'manual',
  // As the service finishes a job: its last progress message is the outcome.
  progress: {
    fraction: 1,
    message: '1.0.1 registered in staging (no production version to compare with)',
    trial: 3,
    trials: 3,
  },
  resultVersion: '1.0.1',
  error: null,
  outcome: '1.0.1 registered in staging (no production version to compare with)',
  createdAt: '2026-12-01T10:00:00.000Z',
  duplicates: [{ at: '2026-12-01T10:00:01.000Z', by: 'bob', trigger: 'manual', reason: 'again' }],
  log: [{ at: '2026-12-01T10:00:02.000Z', message: 'trial 3/3: l2 0.1' }],
};

describe('serval jobs watch', () => {
  it('reads the job until it ends, drawing progress, and exits 0 only when it succeeded', async () => {
    const states = [
      { ...JOB, state: 'queued', progress: { fraction: 0, message: 'queued', trial: 0, trials: 3 } },
      { ...JOB, state: 'running', progress: { fraction: 0.5, message: 'trial 2 of 3', trial: 2, trials: 3 } },
      JOB,
    ];
    let reads = 0;
    answers[`GET /v1/jobs/${JOB.id}`] = () => [200, states[Math.min(reads++, states.length - 1)]];
    const watched = await servalAsync(['jobs', 'watch', JOB.id, '--interval', '0.05'], {
      SERVAL_URL: url,
      SERVAL_API_KEY: 'sk_test',
      SERVAL_PROGRESS: '1',
    });
    expect(watched.status).toBe(0);
    expect(reads).toBe(3);
    expect(watched.stderr).toContain('running   [##########..........]  50% trial 2/3 trial 2 of 3');
    expect(watched.stderr).toContain('succeeded [####################] 100% trial 3/3');
    expect(watched.stdout).toContain('result: iris-demo@1.0.1');
    reads = 0;
    states[2] = { ...JOB, state: 'failed', error: 'out of memory' } as unknown as typeof JOB;
    const failed = await servalAsync(['jobs', 'watch', JOB.id, '--interval', '0.05'], {
      SERVAL_URL: url,
      SERVAL_API_KEY: 'sk_test',
    });
    expect(failed.status).toBe(1);
  });
});

describe('serval retrain / jobs', () => {
  it('retrain: posts the body built from the options, with the key', async () => {
    answers['POST /v1/models/iris-demo/retrain'] = [202, { ...JOB, state: 'queued', resultVersion: null }];
    const run = await cli(
      'retrain',
      'iris-demo',
      '--reason',
      'weekly',
      '--l2',
      '0.01,0.1',
      '--seed',
      '3',
      '--margin',
      '0.02',
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(requests).toEqual([
      {
        method: 'POST',
        url: '/v1/models/iris-demo/retrain',
        key: 'sk_test',
        body: { reason: 'weekly', params: { seed: 3, margin: 0.02 }, search: { l2: [0.01, 0.1] } },
      },
    ]);
    expect(run.stdout).toContain(`job ${JOB.id}  iris-demo  queued`);
  });

  it('retrain: the search strategy, a space from a file, the time budget and the halving factor', async () => {
    answers['POST /v1/models/iris-demo/retrain'] = [202, { ...JOB, state: 'queued', resultVersion: null }];
    const space = { alpha: { type: 'float', low: 1e-5, high: 0.1, log: true } };
    const file = join(tmp, 'space.json');
    writeFileSync(file, JSON.stringify(space));
    const run = await cli(
      'retrain',
      'iris-demo',
      '--reason',
      'search',
      '--trainer',
      'mlp',
      '--strategy',
      'halving',
      '--space',
      `@${file}`,
      '--max-trials',
      '9',
      '--time-budget',
      '90.5',
      '--factor',
      '2',
    );
    expect(run.stderr).toBe('');
    expect(requests.at(-1)?.body).toEqual({
      reason: 'search',
      trainer: 'mlp',
      search: { strategy: 'halving', space, maxTrials: 9, timeBudgetMs: 90_500, factor: 2 },
    });
    const bad = await cli('retrain', 'iris-demo', '--reason', 'x', '--space', '{alpha');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('serval retrain: --space is not valid JSON\n');
  });

  it('retrain: a refusal is one line on stderr and exit code 1', async () => {
    answers['POST /v1/models/iris-demo/retrain'] = [
      409,
      { error: { code: 'conflict', message: 'model iris-demo has an active retraining job X', details: {} } },
    ];
    const run = await cli('retrain', 'iris-demo', '--reason', 'again');
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      'serval retrain: model iris-demo has an active retraining job X (conflict, HTTP 409)\n',
    );
  });

  it('retrain without --reason is a command-line error', async () => {
    const run = await cli('retrain', 'iris-demo');
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/--reason/);
    expect(requests).toHaveLength(0);
  });

  it('jobs show / list / cancel', async () => {
    answers[`GET /v1/jobs/${JOB.id}`] = [200, JOB];
    const shown = await cli('jobs', 'show', JOB.id);
    expect(shown.stdout).toContain('result: iris-demo@1.0.1');
    // The outcome once, on its own line, not again in the header.
    expect(shown.stdout.split('\n').slice(0, 4)).toEqual([
      `job ${JOB.id}  iris-demo  succeeded  100%`,
      '  reason: weekly (manual)',
      '  trial 3 of 3',
      '  result: iris-demo@1.0.1',
    ]);
    expect(shown.stdout.split(JOB.outcome)).toHaveLength(2);
    expect(shown.stdout).toContain('also asked: 2026-12-01T10:00:01.000Z by bob (manual): again');
    expect(shown.stdout).toContain('trial 3/3: l2 0.1');

    answers['GET /v1/jobs'] = [200, { items: [JOB], nextCursor: 'c1' }];
    const listed = await cli('jobs', 'list', '--model', 'iris-demo', '--state', 'succeeded');
    expect(requests.at(-1)?.url).toBe('/v1/jobs?model=iris-demo&state=succeeded');
    // A table with its header, as every other list prints.
    expect(listed.stdout).toBe(
      [
        `JOB${' '.repeat(JOB.id.length - 1)}MODEL      STATE      PROGRESS  RESULT  CREATED`,
        `${JOB.id}  iris-demo  succeeded  100%      1.0.1   ${JOB.createdAt}`,
        'more: --cursor c1',
        '',
      ].join('\n'),
    );

    answers[`POST /v1/jobs/${JOB.id}/cancel`] = [
      409,
      { error: { code: 'conflict', message: 'job is succeeded', details: {} } },
    ];
    const cancelled = await cli('jobs', 'cancel', JOB.id);
    expect(cancelled.status).toBe(1);
    expect(cancelled.stderr).toContain('serval jobs cancel: job is succeeded');
  });
});
