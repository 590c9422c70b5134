/**
 * The experiments API end to end: a started local runtime, plain HTTP, registered versions as
 * variants. Definition rules and roles, the one running experiment per model, sticky assignment
 * that enrolls nobody, outcome events counted once, the results' shape, conclusion under the
 * registry's promotion rules, weight changes that keep subjects in place, and the registry
 * refusing to delete a version an experiment still uses.
 */
import { describe, expect, it } from 'vitest';
import { type Allocation, assign } from '../../functions/core/experiments/assignment.js';
import { servalForFile } from '../support/lifecycle.js';
import { tinyOnnxBase64 } from '../support/onnx-fixtures.js';
import { apiClient, type ServalProcess } from '../support/serval-process.js';

let serval: ServalProcess;
let admin: ReturnType<typeof apiClient>;
let alice: ReturnType<typeof apiClient>; // scientist
let bob: ReturnType<typeof apiClient>; // approver
let viewer: ReturnType<typeof apiClient>;
let predictor: ReturnType<typeof apiClient>;

async function keyFor(role: string, name: string) {
  const res = await admin('POST', '/v1/auth/keys', { name, role });
  expect(res.status).toBe(201);
  return apiClient(serval.url, res.body.key);
}

async function registerModel(name: string, versions: number): Promise<void> {
  expect((await alice('POST', '/v1/models', { name })).status).toBe(201);
  for (let i = 0; i < versions; i++) {
    const res = await alice('POST', `/v1/models/${name}/versions`, {
      artifact: { base64: tinyOnnxBase64(`${name}-${i}`, 1) },
      inputSchema: { features: [{ name: 'x', type: 'float' }] },
    });
    expect(res.status).toBe(201);
  }
}

servalForFile({
  setup: async (local) => {
    ({ serval } = local);
    admin = apiClient(serval.url, serval.adminKey);
    alice = await keyFor('scientist', 'alice');
    bob = await keyFor('approver', 'bob');
    viewer = await keyFor('viewer', 'val');
    predictor = await keyFor('predictor', 'app');
    await registerModel('shop', 4); // 1.0.0 … 1.3.0
    await alice('POST', '/v1/models/shop/versions/1.3.0/transition', { stage: 'archived' });
  },
});

const abBody = (extra: Record<string, unknown> = {}) => ({
  name: 'new ranking',
  model: 'shop',
  variants: [
    { name: 'control', version: '1.0.0', weight: 50, control: true },
    { name: 'treat', version: '1.1.0', weight: 50 },
  ],
  metric: { name: 'converted', kind: 'binary', goal: 'maximize' },
  minSamples: 10,
  ...extra,
});

let expId: string;

describe('experiments over HTTP', () => {
  it('creates a draft (201) with its weights and allocation, and refuses bad definitions', async () => {
    const created = await alice('POST', '/v1/experiments', abBody());
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'new ranking',
      model: 'shop',
      kind: 'ab',
      state: 'draft',
      weights: { control: 50, treat: 50 },
      variants: [
        { name: 'control', version: '1.0.0', control: true },
        { name: 'treat', version: '1.1.0', control: false },
      ],
    });
    expect(created.body.allocation.slots).toHaveLength(100);
    expect(created.body.revision).toBeUndefined();
    expId = created.body.id;
    expect((await viewer('GET', `/v1/experiments/${expId}`)).body).toEqual(created.body);

    const uneven = await alice(
      'POST',
      '/v1/experiments',
      abBody({
        variants: [
          { version: '1.0.0', weight: 60 },
          { version: '1.1.0', weight: 50 },
        ],
      }),
    );
    expect(uneven.status).toBe(400);
    expect(uneven.body.error).toMatchObject({ code: 'validation_failed', details: { total: 110 } });

    const archived = await alice(
      'POST',
      '/v1/experiments',
      abBody({
        variants: [
          { version: '1.0.0', weight: 50 },
          { version: '1.3.0', weight: 50 },
        ],
      }),
    );
    expect(archived.status).toBe(409);
    expect(archived.body.error.message).toContain('archived');

    const unknown = await alice('POST', '/v1/experiments', abBody({ model: 'nope' }));
    expect(unknown.status).toBe(404);
    expect((await alice('GET', '/v1/experiments/01ARZ3NDEKTSV4RRFFQ69G5FAV')).status).toBe(404);
    expect((await alice('GET', '/v1/experiments/not-an-id')).status).toBe(400);
  });

  it('lets only scientists create and change experiments', async () => {
    const denied = await viewer('POST', '/v1/experiments', abBody());
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: 'forbidden', details: { required: 'scientist' } });
    expect((await predictor('POST', `/v1/experiments/${expId}/start`, {})).status).toBe(403);
    expect((await viewer('GET', '/v1/experiments?model=shop')).status).toBe(200);
  });

  it('starts, pauses and starts again; a second running experiment on the model is refused', async () => {
    const started = await alice('POST', `/v1/experiments/${expId}/start`, { comment: 'go' });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ state: 'running' });
    expect(started.body.startedAt).toEqual(expect.any(String));

    const other = await alice('POST', '/v1/experiments', abBody({ name: 'rival' }));
    expect(other.status).toBe(201);
    const refused = await alice('POST', `/v1/experiments/${other.body.id}/start`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'conflict',
      details: { model: 'shop', runningExperiment: expId },
    });

    expect((await alice('POST', `/v1/experiments/${expId}/pause`, {})).body.state).toBe('paused');
    expect((await alice('POST', `/v1/experiments/${expId}/pause`, {})).status).toBe(409);
    expect((await alice('POST', `/v1/experiments/${expId}/start`, {})).body.state).toBe('running');

    const running = await viewer('GET', '/v1/experiments?model=shop&state=running');
    expect(running.body.items.map((e: { id: string }) => e.id)).toEqual([expId]);
    const all = await viewer('GET', '/v1/experiments?model=shop&limit=1');
    expect(all.body.items.map((e: { id: string }) => e.id)).toEqual([other.body.id]); // newest first
    expect(all.body.nextCursor).toEqual(expect.any(String));
    const next = await viewer('GET', `/v1/experiments?model=shop&limit=1&cursor=${all.body.nextCursor}`);
    expect(next.body.items.map((e: { id: string }) => e.id)).toEqual([expId]);
  });

  it('answers a stable assignment per subject without enrolling anyone', async () => {
    const first = await viewer('GET', `/v1/experiments/${expId}/assignment?subject=user-42`);
    expect(first.status).toBe(200);
    const again = await viewer('GET', `/v1/experiments/${expId}/assignment?subject=user-42`);
    expect(again.body).toEqual(first.body);
    const e = (await viewer('GET', `/v1/experiments/${expId}`)).body;
    expect(first.body).toMatchObject({
      experimentId: expId,
      subject: 'user-42',
      state: 'running',
      variant: assign(e.allocation, e.seed, 'user-42'),
    });
    expect(first.body.servedBy).toBe(first.body.version);
    for (let i = 0; i < 20; i++) await viewer('GET', `/v1/experiments/${expId}/assignment?subject=u${i}`);
    const results = (await viewer('GET', `/v1/experiments/${expId}/results`)).body;
    for (const v of results.variants) expect(v.exposures).toBe(0);
    expect((await viewer('GET', `/v1/experiments/${expId}/assignment`)).status).toBe(400);
  });

  it('counts outcome events once, however often an eventId is replayed', async () => {
    const events = Array.from({ length: 40 }, (_, i) => ({
      eventId: `order-${i}`,
      subject: `user-${i}`,
      metric: 'converted',
      value: i % 3 === 0 ? 1 : 0,
    }));
    const sent = await predictor('POST', `/v1/experiments/${expId}/events`, events);
    expect(sent.status).toBe(200);
    expect(sent.body).toEqual({ accepted: 40, duplicates: 0 });
    const replay = await predictor('POST', `/v1/experiments/${expId}/events`, [
      events[0],
      events[1],
      { eventId: 'order-new', subject: 'user-new', metric: 'converted', value: 1 },
    ]);
    expect(replay.body).toEqual({ accepted: 1, duplicates: 2 });
    expect((await viewer('POST', `/v1/experiments/${expId}/events`, events)).status).toBe(403);
    const wrongMetric = await predictor('POST', `/v1/experiments/${expId}/events`, [
      { eventId: 'x', subject: 's', metric: 'revenue', value: 3 },
    ]);
    expect(wrongMetric.status).toBe(400);
    const notBinary = await predictor('POST', `/v1/experiments/${expId}/events`, [
      { eventId: 'y', subject: 's', metric: 'converted', value: 3 },
    ]);
    expect(notBinary.status).toBe(400);

    const results = (await viewer('GET', `/v1/experiments/${expId}/results`)).body;
    const n = results.variants.reduce((s: number, v: { metric: { n: number } }) => s + v.metric.n, 0);
    expect(n).toBe(41);
  });

  it('answers results with per-variant statistics, comparisons, SRM and a decision', async () => {
    const res = await viewer('GET', `/v1/experiments/${expId}/results`);
    expect(res.status).toBe(200);
    const r = res.body;
    expect(r.sequential).toBeUndefined();
    expect(r).toMatchObject({
      experimentId: expId,
      model: 'shop',
      state: 'running',
      decision: expect.any(String),
      reason: expect.any(String),
      srm: { ok: expect.any(Boolean) },
    });
    expect('pValue' in r.srm).toBe(true);
    expect(r.variants.map((v: { name: string }) => v.name)).toEqual(['control', 'treat']);
    for (const v of r.variants) {
      expect(v.metric).toMatchObject({ n: expect.any(Number) });
      expect('mean' in v.metric && 'ci' in v.metric).toBe(true);
      expect(v.weight).toBe(50);
    }
    expect(r.comparisons).toHaveLength(1);
    expect(r.comparisons[0]).toMatchObject({
      variant: 'treat',
      metric: 'converted',
      alwaysValidPValue: expect.any(Number),
      adjustedPValue: expect.any(Number),
      adjustment: 'holm',
    });
    expect('pValue' in r.comparisons[0]).toBe(true);
  });

  it('moves few subjects when the weights change', async () => {
    const before = (await viewer('GET', `/v1/experiments/${expId}`)).body;
    const patched = await alice('PATCH', `/v1/experiments/${expId}`, {
      weights: [
        { name: 'control', weight: 60 },
        { name: 'treat', weight: 40 },
      ],
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ weights: { control: 60, treat: 40 }, epoch: before.epoch + 1 });
    const after = patched.body.allocation as Allocation;
    const subjects = Array.from({ length: 5000 }, (_, i) => `s-${i}`);
    const moved = subjects.filter(
      (s) => assign(before.allocation, before.seed, s) !== assign(after, before.seed, s),
    ).length;
    // 10 points of weight move from treat to control: about 10 % of subjects, nobody else.
    expect(moved / subjects.length).toBeGreaterThan(0.05);
    expect(moved / subjects.length).toBeLessThan(0.15);
    // The server assigns as the allocation says.
    const served = await viewer('GET', `/v1/experiments/${expId}/assignment?subject=s-7`);
    expect(served.body.variant).toBe(assign(after, before.seed, 's-7'));

    const unknown = await alice('PATCH', `/v1/experiments/${expId}`, {
      weights: [{ name: 'ghost', weight: 100 }],
    });
    expect(unknown.status).toBe(400);
    const uneven = await alice('PATCH', `/v1/experiments/${expId}`, {
      weights: [
        { name: 'control', weight: 70 },
        { name: 'treat', weight: 40 },
      ],
    });
    expect(uneven.status).toBe(400);
  });

  it('keeps a version an experiment uses from being deleted', async () => {
    const refused = await admin('DELETE', '/v1/models/shop/versions/1.1.0');
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain(expId);
    expect((await admin('DELETE', '/v1/models/shop')).status).toBe(409);
    // Paused still counts: it may resume.
    await alice('POST', `/v1/experiments/${expId}/pause`, {});
    expect((await admin('DELETE', '/v1/models/shop/versions/1.1.0')).status).toBe(409);
    // A version no live experiment uses goes.
    expect((await admin('DELETE', '/v1/models/shop/versions/1.2.0')).status).toBe(200);
    await alice('POST', `/v1/experiments/${expId}/start`, {});
  });

  it('answers the history as a page', async () => {
    const res = await viewer('GET', `/v1/experiments/${expId}/history?limit=10`);
    expect(res.status).toBe(200);
    expect(Array.isArray(res.body.items)).toBe(true);
    expect(res.body).toHaveProperty('nextCursor');
  });

  it('concludes under the registry rules: promotion without approval is refused and changes nothing', async () => {
    await alice('POST', '/v1/models/shop/versions/1.1.0/transition', { stage: 'testing' });
    await alice('POST', '/v1/models/shop/versions/1.1.0/transition', { stage: 'staging' });
    const asScientist = await alice('POST', `/v1/experiments/${expId}/conclude`, {
      promote: true,
      variant: 'treat',
    });
    expect(asScientist.status).toBe(403); // production moves need the approver role
    const refused = await bob('POST', `/v1/experiments/${expId}/conclude`, {
      promote: true,
      variant: 'treat',
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('needs an approval before production');
    expect((await viewer('GET', `/v1/experiments/${expId}`)).body.state).toBe('running');

    const concluded = await alice('POST', `/v1/experiments/${expId}/conclude`, {
      variant: 'treat',
      comment: 'enough',
    });
    expect(concluded.status).toBe(200);
    expect(concluded.body.experiment).toMatchObject({
      state: 'concluded',
      outcome: { result: 'winner', variant: 'treat' },
    });
    expect(concluded.body.results).toMatchObject({ state: 'concluded', experimentId: expId });
    expect(concluded.body.results.sequential).toBeUndefined();
    expect((await alice('POST', `/v1/experiments/${expId}/start`, {})).status).toBe(409);
    const events = await predictor('POST', `/v1/experiments/${expId}/events`, [
      { eventId: 'late', subject: 's', metric: 'converted', value: 1 },
    ]);
    expect(events.status).toBe(409);
    // Concluded: the version is free to go.
    expect((await admin('DELETE', '/v1/models/shop/versions/1.1.0')).status).toBe(200);
  });
});
