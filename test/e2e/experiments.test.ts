/**
 * Experiments end to end on the local runtime (`npm start` in a child process), over HTTP, with
 * the analysis schedule scaled down so it runs every ~0.6 s:
 * - an A/B test: sticky subjects (the server's assignment equals the documented hash computed
 *   here), outcome events (a replay counted once), results with a winner, conclude refused for a
 *   scientist's promotion and done by an approver, production switched;
 * - a canary of a version whose endpoint fails: rolled back by the scheduled analysis, with an
 *   alert, and production untouched;
 * - a canary of a healthy version: ramped and promoted by the scheduled analysis;
 * - a shadow run: the shadow's answers never reach the client; agreement and latency in results.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign } from '../../functions/core/experiments/assignment.js';
import { logisticRegressionOnnx } from '../../functions/core/onnx/models.js';
import { approveVersion, type Client, roleClients } from '../support/model-api.js';
import { type ServalProcess, startServal, waitFor } from '../support/serval-process.js';

let serval: ServalProcess;
let admin: Client;
let scientist: Client;
let approver: Client;
let predictor: Client;

const FEATURES = ['a', 'b', 'c'];
const inputSchema = { features: FEATURES.map((name) => ({ name, type: 'float' })) };
const outputSchema = { kind: 'binary', classes: ['no', 'yes'] };
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const model = (weights: number[], bias: number) =>
  logisticRegressionOnnx({ weights, bias, featureNames: FEATURES, classes: ['no', 'yes'] });
// Probes that send 20 predictions wait 500 ms between rounds: at most 40 a second, under the
// predictor key's 50 a second. At waitFor's default 250 ms, a canary that took more than about
// 20 rounds to conclude emptied the burst allowance and got 429s.
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) =>
  waitFor(serval, what, probe, { timeoutMs, intervalMs: 500 });

/** Registered, through testing and staging, approved by someone else; production when asked. */
async function register(
  version: string,
  artifact: Uint8Array,
  options: { production?: boolean; runtime?: object } = {},
) {
  const reg = await scientist('POST', '/v1/models/shop/versions', {
    version,
    artifact: { base64: b64(artifact) },
    framework: 'onnx',
    runtime: options.runtime ?? { type: 'lambda' },
    inputSchema,
    outputSchema,
  });
  expect(reg.status, reg.text).toBe(201);
  await approveVersion({ scientist, approver }, 'shop', version, options);
}

const instance = (i: number) => [((i * 37) % 11) / 5 - 1, ((i * 17) % 7) / 3 - 1, ((i * 13) % 5) / 2 - 1];

async function production(): Promise<string> {
  return (await scientist('GET', '/v1/models/shop')).body.productionVersion;
}

beforeAll(async () => {
  // The 1-minute analysis schedule fires every ~0.6 s.
  serval = await startServal({ env: { SERVAL_SCHEDULE_SCALE: '0.01' } });
  ({ admin, scientist, approver, predictor } = await roleClients(serval, 'e2e-exp'));
  expect((await scientist('POST', '/v1/models', { name: 'shop' })).status).toBe(201);
  await register('1.0.0', model([0.5, -1.25, 2], -0.3), { production: true });
  await register('1.1.0', model([-0.75, 0.5, 1], 0.2));
}, 180_000);

afterAll(async () => {
  await serval?.stop();
});

describe('an A/B experiment over HTTP', () => {
  let id: string;

  it('routes subjects stickily, as the documented hash says', async () => {
    const created = await scientist('POST', '/v1/experiments', {
      name: 'new weights',
      model: 'shop',
      variants: [
        { version: '1.0.0', weight: 50, control: true },
        { version: '1.1.0', weight: 50 },
      ],
      metric: { name: 'converted', kind: 'binary', goal: 'maximize' },
      minSamples: 200,
    });
    expect(created.status, created.text).toBe(201);
    id = created.body.id;
    expect((await scientist('POST', `/v1/experiments/${id}/start`, {})).status).toBe(200);
    const experiment = (await scientist('GET', `/v1/experiments/${id}`)).body;
    expect(experiment.state).toBe('running');
    for (let i = 0; i < 20; i++) {
      const subject = `user-${i}`;
      const expected = assign(experiment.allocation, experiment.seed, subject);
      const asked = await scientist('GET', `/v1/experiments/${id}/assignment?subject=${subject}`);
      expect(asked.body.variant).toBe(expected);
      for (let k = 0; k < 2; k++) {
        const res = await predictor('POST', '/v1/models/shop/predict', { instances: [instance(i)], subject });
        expect(res.status, res.text).toBe(200);
        expect(res.body.experimentId).toBe(id);
        expect(res.body.variant).toBe(expected);
        expect(res.body.modelVersion).toBe(expected);
      }
    }
    // A named version is served as itself, outside the experiment.
    const pinned = await predictor('POST', '/v1/models/shop/predict', {
      instances: [instance(1)],
      version: '1.0.0',
      subject: 'user-1',
    });
    expect(pinned.body.experimentId).toBeUndefined();
  }, 60_000);

  it('counts outcome events once, finds the winner, and promotes it only under the registry rules', async () => {
    const experiment = (await scientist('GET', `/v1/experiments/${id}`)).body;
    const events = Array.from({ length: 2000 }, (_, i) => {
      const subject = `buyer-${i}`;
      const variant = assign(experiment.allocation, experiment.seed, subject);
      // Treatment converts 30 %, control 10 % (deterministic by index).
      const value = i % 10 < (variant === '1.1.0' ? 3 : 1) ? 1 : 0;
      return { eventId: `order-${i}`, subject, metric: 'converted', value };
    });
    for (let i = 0; i < events.length; i += 500) {
      const res = await predictor('POST', `/v1/experiments/${id}/events`, events.slice(i, i + 500));
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ accepted: 500, duplicates: 0 });
    }
    const replay = await predictor('POST', `/v1/experiments/${id}/events`, events.slice(0, 100));
    expect(replay.body).toEqual({ accepted: 0, duplicates: 100 });
    const results = (await scientist('GET', `/v1/experiments/${id}/results`)).body;
    const n = results.variants.reduce((s: number, v: { metric: { n: number } }) => s + v.metric.n, 0);
    expect(n).toBe(2000);
    expect(results.decision).toBe('winner');
    expect(results.winner).toBe('1.1.0');
    expect(results.comparisons[0]).toMatchObject({ variant: '1.1.0', adjustment: 'holm', significant: true });
    expect(results.comparisons[0].alwaysValidPValue).toBeLessThan(0.05);
    expect(results.srm).toHaveProperty('ok');
    // Promotion to production needs the approver role: the scientist's conclude changes nothing.
    const refused = await scientist('POST', `/v1/experiments/${id}/conclude`, { promote: true });
    expect(refused.status).toBe(403);
    expect((await scientist('GET', `/v1/experiments/${id}`)).body.state).toBe('running');
    const done = await approver('POST', `/v1/experiments/${id}/conclude`, {
      promote: true,
      comment: 'ship it',
    });
    expect(done.status, done.text).toBe(200);
    expect(done.body.experiment.outcome).toMatchObject({
      result: 'winner',
      variant: '1.1.0',
      promotedVersion: '1.1.0',
    });
    expect(await production()).toBe('1.1.0');
    const after = await predictor('POST', '/v1/models/shop/predict', {
      instances: [instance(3)],
      subject: 'user-3',
    });
    expect(after.body.modelVersion).toBe('1.1.0');
    expect(after.body.experimentId).toBeUndefined();
  }, 60_000);
});

describe('canaries over HTTP', () => {
  it('rolls back a canary whose version fails, with an alert; production is untouched', async () => {
    const dir = join(serval.dataDir, 'sagemaker');
    mkdirSync(dir, { recursive: true });
    const bad = model([1, 1, 1], 0);
    writeFileSync(join(dir, 'shop-bad.onnx'), bad);
    writeFileSync(join(dir, 'shop-bad.json'), JSON.stringify({ fail: 'model_error' }));
    await register('2.0.0', bad, { runtime: { type: 'sagemaker', endpointName: 'shop-bad' } });
    const created = await scientist('POST', '/v1/experiments', {
      name: 'canary 2.0.0',
      model: 'shop',
      kind: 'canary',
      variants: [{ version: '1.1.0' }, { version: '2.0.0' }],
      minSamples: 30,
      canary: { steps: [50, 100], bakeMinutes: 0 },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id;
    expect((await scientist('POST', `/v1/experiments/${id}/start`, {})).status).toBe(200);
    let failures = 0;
    const concluded = await until('the canary to be rolled back', async () => {
      for (let i = 0; i < 20; i++) {
        const res = await predictor('POST', '/v1/models/shop/predict', { instances: [instance(i)] });
        if (res.status !== 200) failures++;
      }
      const e = (await scientist('GET', `/v1/experiments/${id}`)).body;
      return e.state === 'concluded' ? e : undefined;
    });
    expect(failures).toBeGreaterThan(0);
    expect(concluded.outcome.result).toBe('rolled_back');
    expect(concluded.weights).toMatchObject({ '1.1.0': 100, '2.0.0': 0 });
    const results = (await scientist('GET', `/v1/experiments/${id}/results`)).body;
    expect(results.decision).toBe('rolled_back');
    expect(
      results.guardrails.some(
        (g: { metric: string; failed: boolean }) => g.metric === 'error_rate' && g.failed,
      ),
    ).toBe(true);
    const alerts = (await scientist('GET', '/v1/alerts?model=shop')).body.items;
    const alert = alerts.find((a: { kind: string }) => a.kind === 'experiment');
    expect(alert, JSON.stringify(alerts)).toBeDefined();
    expect(alert.title).toMatch(/2\.0\.0.*rolled back/);
    expect(alert.details.experimentId).toBe(id);
    expect(await production()).toBe('1.1.0');
    // Serving reads the running experiment through its 1 s cache: within it the canary is gone.
    await new Promise((r) => setTimeout(r, 1_100));
    for (let i = 0; i < 10; i++) {
      const res = await predictor('POST', '/v1/models/shop/predict', { instances: [instance(i)] });
      expect(res.status).toBe(200);
      expect(res.body.modelVersion).toBe('1.1.0');
      expect(res.body.experimentId).toBeUndefined();
    }
  }, 120_000);

  it('ramps a healthy canary and promotes it', async () => {
    await register('1.2.0', model([0.4, -1, 2.2], -0.1));
    const created = await scientist('POST', '/v1/experiments', {
      name: 'canary 1.2.0',
      model: 'shop',
      kind: 'canary',
      variants: [{ version: '1.1.0' }, { version: '1.2.0' }],
      minSamples: 30,
      canary: { steps: [50, 100], bakeMinutes: 0 },
    });
    const id = created.body.id;
    expect((await scientist('POST', `/v1/experiments/${id}/start`, {})).status).toBe(200);
    const steps = new Set<number>();
    const concluded = await until('the canary to be promoted', async () => {
      for (let i = 0; i < 20; i++) {
        const res = await predictor('POST', '/v1/models/shop/predict', { instances: [instance(i)] });
        expect(res.status, res.text).toBe(200);
      }
      const e = (await scientist('GET', `/v1/experiments/${id}`)).body;
      if (e.canaryProgress) steps.add(e.canaryProgress.step);
      return e.state === 'concluded' ? e : undefined;
    });
    expect(concluded.outcome).toMatchObject({ result: 'promoted', promotedVersion: '1.2.0' });
    expect(await production()).toBe('1.2.0');
    const audit = (await admin('GET', '/v1/audit?model=shop&limit=100')).body.items.map(
      (a: { action: string }) => a.action,
    );
    expect(audit).toContain('experiment.advanced');
    expect(audit).toContain('experiment.concluded');
    const history = (await scientist('GET', `/v1/experiments/${id}/history?limit=100`)).body.items;
    expect(history.length).toBeGreaterThan(0);
  }, 120_000);
});

describe('a shadow run over HTTP', () => {
  it('never returns the shadow answer, and reports agreement and latency', async () => {
    const created = await scientist('POST', '/v1/experiments', {
      name: 'shadow 1.1.0',
      model: 'shop',
      kind: 'shadow',
      variants: [{ version: '1.2.0' }, { version: '1.1.0' }],
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id;
    expect((await scientist('POST', `/v1/experiments/${id}/start`, {})).status).toBe(200);
    // Serving reads the running experiment (and production) through its 1 s cache.
    await new Promise((r) => setTimeout(r, 1_100));
    for (let i = 0; i < 40; i++) {
      const res = await predictor('POST', '/v1/models/shop/predict', {
        instances: [instance(i), instance(i + 1)],
      });
      expect(res.status, res.text).toBe(200);
      expect(res.body.modelVersion).toBe('1.2.0');
      expect(res.body.variant).toBe('1.2.0');
      expect(res.body.predictions).toHaveLength(2);
    }
    let last: unknown;
    const results = await until('shadow results', async () => {
      const r = (await scientist('GET', `/v1/experiments/${id}/results`)).body;
      last = r.shadow;
      return r.shadow?.agreement?.n >= 80 ? r : undefined;
    }).catch((err: Error) => {
      const problems = serval
        .output()
        .split('\n')
        .filter((l) => /WARN|ERROR/.test(l))
        .slice(-20)
        .join('\n');
      throw new Error(
        `${err.message.split('\n')[0]}; last shadow results: ${JSON.stringify(last)}\n${problems}`,
      );
    });
    expect(results.shadow.agreement.mean).toBeGreaterThanOrEqual(0);
    expect(results.shadow.agreement.mean).toBeLessThanOrEqual(1);
    expect(results.shadow.latencyMeanMs.shadow).toBeGreaterThan(0);
    expect(results.shadow.latencyMeanMs.control).toBeGreaterThan(0);
    expect((await scientist('POST', `/v1/experiments/${id}/conclude`, {})).status).toBe(200);
  }, 120_000);
});
