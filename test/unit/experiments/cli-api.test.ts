/**
 * `serval experiments` against the API: the real CLI in a child process, talking to a small
 * node:http server here that records each request and answers canned bodies. What is tested is
 * the CLI's own behaviour: the requests it makes (method, path, query, body, x-api-key), the
 * tables it prints, and its exit codes and one-line errors.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CreateExperimentBody } from '../../../functions/core/experiments/definition.js';
import { ExperimentService } from '../../../functions/core/experiments/service.js';
import { exposureMetric } from '../../../functions/core/experiments/serving.js';
import { MemoryExperimentStore } from '../../support/memory-experiments.js';
import { CountingIds, SteppingClock } from '../../support/memory-stores.js';
import { alice } from '../../support/principals.js';
import { jsonBody, recordingApiForFile } from '../../support/recording-api.js';
import { scratchDir, servalAsync } from '../../support/serval-cli.js';

interface Recorded {
  method: string;
  url: string;
  key: string | undefined;
  body: unknown;
}

const tmp = scratchDir('serval-exp-api-cli-');
const api = recordingApiForFile<Recorded>((req, raw) => ({
  method: req.method!,
  url: req.url!,
  key: req.headers['x-api-key'] as string,
  body: jsonBody(raw),
}));
const { requests, answers } = api;
let url = '';
beforeAll(() => {
  url = api.url;
});

const cli = (...args: string[]) =>
  servalAsync(['experiments', ...args], { SERVAL_URL: url, SERVAL_API_KEY: 'sk_test' });

/** Real results and records from the service over in-memory stores, as the API would answer them. */
async function realAnswers() {
  const store = new MemoryExperimentStore();
  const service = new ExperimentService({
    store,
    clock: new SteppingClock(),
    ids: new CountingIds(),
    registry: {
      getModel: async (name) => ({ name, productionVersion: '1.0.0' }),
      getVersion: async (_m, version) => ({ version, stage: 'staging', status: 'ready' }),
      promote: async () => {},
    },
  });
  const e = await service.create(
    alice,
    CreateExperimentBody.parse({
      name: 'new threshold',
      model: 'churn',
      variants: [
        { version: '1.0.0', weight: 50, control: true },
        { version: '1.1.0', weight: 50 },
      ],
      metric: { name: 'converted', kind: 'binary', goal: 'maximize' },
      minSamples: 100,
    }),
  );
  await service.start(alice, e.id);
  const groups = (variant: string, n: number, ones: number) =>
    Array.from({ length: n }, (_, i) => ({
      key: `${variant}:${i}`,
      contributions: [
        { variant, metric: 'converted', value: i < ones ? 1 : 0 },
        { variant, metric: exposureMetric(0), value: 1 },
        { variant, metric: 'error_rate', value: 0 },
      ],
    }));
  await store.observe(e.id, [...groups('1.0.0', 2000, 200), ...groups('1.1.0', 2000, 600)]);
  return { experiment: await service.get(e.id), results: await service.results(e.id) };
}

describe('serval experiments (API commands)', () => {
  it('results: one request with the key, then a table per variant and comparison, SRM and the decision', async () => {
    const { experiment, results } = await realAnswers();
    answers[`GET /v1/experiments/${experiment.id}/results`] = [200, results];
    const run = await cli('results', experiment.id);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(requests).toEqual([
      { method: 'GET', url: `/v1/experiments/${experiment.id}/results`, key: 'sk_test', body: undefined },
    ]);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe(
      `experiment ${experiment.id} — ab on model churn, running; metric converted (binary, maximize)`,
    );
    // Variant rows: n, mean and the Wald CI of each arm.
    expect(run.stdout).toMatch(
      /^1\.0\.0 \(control\)\s+1\.0\.0\s+50%\s+2000\s+2000\s+0\.1\s+\[0\.08685, 0\.1131\]/m,
    );
    expect(run.stdout).toMatch(/^1\.1\.0\s+1\.1\.0\s+50%\s+2000\s+2000\s+0\.3\s+\[/m);
    // The comparison: diff, lift, CI, the three p-values (tiny ones in scientific notation), significance.
    const c = results.comparisons[0]!;
    const row = lines.find((l) => l.startsWith('1.1.0 ') && l.includes('+0.2'))!;
    expect(row).toMatch(/\+0\.2\s+\+200%\s+\[0\.1\d*, 0\.2\d*\]/);
    expect(row).toContain(c.pValue!.toExponential(2));
    expect(row).toContain(c.alwaysValidPValue.toExponential(2));
    expect(row).toMatch(/yes$/);
    expect(run.stdout).toContain('adjusted p (holm)');
    expect(run.stdout).toMatch(/^SRM: ok \(p = 1\.0000\)$/m);
    expect(lines.filter((l) => l !== '').at(-1)).toBe(`decision: winner (1.1.0) — ${results.reason}`);
  });

  it('results --json prints the body as it came', async () => {
    const { experiment, results } = await realAnswers();
    answers[`GET /v1/experiments/${experiment.id}/results`] = [200, results];
    // SERVAL_URL as `npm start` prints it, ending in /v1.
    const run = await servalAsync(['experiments', 'results', experiment.id, '--json'], {
      SERVAL_URL: `${url}/v1/`,
    });
    expect(requests.map((r) => r.url)).toEqual([`/v1/experiments/${experiment.id}/results`]);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(JSON.stringify(results)));
  });

  it('create from options: variants, metric, guardrails and the canary ramp become the request body', async () => {
    const { experiment } = await realAnswers();
    answers['POST /v1/experiments'] = [201, experiment];
    const run = await cli(
      'create',
      '--model',
      'churn',
      '--kind',
      'ab',
      '--name',
      'new threshold',
      '--variant',
      '1.0.0:50:control',
      '--variant',
      'b=1.1.0:50',
      '--metric',
      'converted:binary:maximize',
      '--guardrail',
      'revenue:continuous:maximize',
      '--min-samples',
      '200',
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(requests.map((r) => [r.method, r.url, r.body])).toEqual([
      [
        'POST',
        '/v1/experiments',
        {
          name: 'new threshold',
          model: 'churn',
          kind: 'ab',
          variants: [
            { version: '1.0.0', weight: 50, control: true },
            { name: 'b', version: '1.1.0', weight: 50 },
          ],
          metric: { name: 'converted', kind: 'binary', goal: 'maximize' },
          guardrails: [{ name: 'revenue', kind: 'continuous', goal: 'maximize' }],
          minSamples: 200,
        },
      ],
    ]);
    expect(run.stdout).toContain(experiment.id);
    expect(run.stdout).toContain('1.0.0=1.0.0 50% (control), 1.1.0=1.1.0 50%');

    requests.length = 0;
    await cli(
      'create',
      '--model',
      'churn',
      '--kind',
      'canary',
      '--variant',
      '1.0.0',
      '--variant',
      '1.1.0',
      '--steps',
      '10,50,100',
      '--bake-minutes',
      '15',
    );
    expect(requests[0]!.body).toEqual({
      name: 'canary of churn',
      model: 'churn',
      kind: 'canary',
      variants: [{ version: '1.0.0' }, { version: '1.1.0' }],
      canary: { steps: [10, 50, 100], bakeMinutes: 15 },
    });
  });

  it('create --file sends the file as the body', async () => {
    const spec = {
      name: 'x',
      model: 'churn',
      variants: [
        { version: '1.0.0', weight: 50 },
        { version: '1.1.0', weight: 50 },
      ],
    };
    const file = join(tmp, 'spec.json');
    writeFileSync(file, JSON.stringify(spec));
    answers['POST /v1/experiments'] = [201, { id: 'X' }];
    const run = await cli('create', '--file', file, '--json');
    expect(run.status).toBe(0);
    expect(requests[0]!.body).toEqual(spec);
    expect(JSON.parse(run.stdout)).toEqual({ id: 'X' });
  });

  it('state changes, list, assignment, weights and events make the requests of the API', async () => {
    const { experiment } = await realAnswers();
    const id = experiment.id;
    for (const a of ['start', 'pause', 'conclude'])
      answers[`POST /v1/experiments/${id}/${a}`] = [200, experiment];
    answers[`PATCH /v1/experiments/${id}`] = [200, experiment];
    answers['GET /v1/experiments'] = [200, { items: [experiment], nextCursor: 'NEXT' }];
    answers[`GET /v1/experiments/${id}/assignment`] = [
      200,
      {
        experimentId: id,
        subject: 'u 1',
        state: 'running',
        bucket: 4242,
        variant: '1.1.0',
        version: '1.1.0',
        servedBy: '1.1.0',
      },
    ];
    answers[`POST /v1/experiments/${id}/events`] = [200, { accepted: 500, duplicates: 0 }];
    const events = join(tmp, 'events.json');
    writeFileSync(
      events,
      JSON.stringify(
        Array.from({ length: 501 }, (_, i) => ({
          eventId: `e${i}`,
          subject: `s${i}`,
          metric: 'converted',
          value: 1,
        })),
      ),
    );

    expect((await cli('start', id, '--comment', 'go')).status).toBe(0);
    expect((await cli('pause', id)).status).toBe(0);
    expect((await cli('conclude', id, '--promote', '--variant', '1.1.0')).status).toBe(0);
    expect((await cli('weights', id, '1.0.0=80', '1.1.0=20')).status).toBe(0);
    const list = await cli('list', '--model', 'churn', '--state', 'running');
    const assignment = await cli('assignment', id, '--subject', 'u 1');
    const sent = await cli('events', id, '--file', events);

    expect(requests.map((r) => [r.method, r.url, r.body])).toEqual([
      ['POST', `/v1/experiments/${id}/start`, { comment: 'go' }],
      ['POST', `/v1/experiments/${id}/pause`, {}],
      ['POST', `/v1/experiments/${id}/conclude`, { promote: true, variant: '1.1.0' }],
      [
        'PATCH',
        `/v1/experiments/${id}`,
        {
          weights: [
            { name: '1.0.0', weight: 80 },
            { name: '1.1.0', weight: 20 },
          ],
        },
      ],
      ['GET', '/v1/experiments?model=churn&state=running', undefined],
      ['GET', `/v1/experiments/${id}/assignment?subject=u+1`, undefined],
      // 501 events: two requests, the API's limit (500) each at most.
      ['POST', `/v1/experiments/${id}/events`, expect.any(Array)],
      ['POST', `/v1/experiments/${id}/events`, expect.any(Array)],
    ]);
    expect((requests[6]!.body as unknown[]).length).toBe(500);
    expect((requests[7]!.body as unknown[]).length).toBe(1);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+churn\\s+ab\\s+running\\s+new threshold$`, 'm'));
    // The same header and cursor line as every other list (tables.ts).
    expect(list.stdout).toMatch(/^ID\s+MODEL\s+KIND\s+STATE\s+NAME$/m);
    expect(list.stdout).toMatch(/^more: --cursor NEXT$/m);
    expect(assignment.stdout.trim()).toBe('u 1 → 1.1.0 (version 1.1.0, bucket 4242; served by 1.1.0)');
    expect(sent.stdout.trim()).toBe('accepted 1000, duplicates 0');
  });

  it("a refusal prints the API's message on one line of stderr and exits 1", async () => {
    answers['POST /v1/experiments/01J0/start'] = [
      409,
      {
        error: {
          code: 'conflict',
          message: 'model churn already has a running experiment (01JOTHER)',
          details: { runningExperiment: '01JOTHER' },
        },
      },
    ];
    const run = await cli('start', '01J0');
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'serval experiments start: model churn already has a running experiment (01JOTHER) (conflict, HTTP 409)\n',
    );
  });

  it('exits 2 on a malformed command line or missing configuration, 1 when the API cannot be reached', async () => {
    const bad = await cli(
      'create',
      '--model',
      'churn',
      '--variant',
      '1.0.0:50:control:9',
      '--variant',
      '1.1.0',
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      'serval experiments create: --variant 1.0.0:50:control:9: expected [name=]version[:weight][:control]\n',
    );
    const weights = await cli('weights', 'X', 'a=half');
    expect(weights.status).toBe(2);
    expect(weights.stderr.trim().split('\n')).toHaveLength(1);
    expect(requests).toEqual([]);

    const unset = await servalAsync(['experiments', 'get', 'X'], {});
    expect(unset.status).toBe(2);
    expect(unset.stderr).toMatch(/^serval experiments get: SERVAL_URL is not set/);

    // A port nobody listens on: one the OS just handed out and took back.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closed = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const down = await servalAsync(['experiments', 'get', 'X'], { SERVAL_URL: closed });
    expect(down.status).toBe(1);
    expect(down.stderr).toBe(`serval experiments get: cannot reach ${closed}: ECONNREFUSED\n`);
  });
});
