/**
 * Retraining end to end on the local runtime: a scientist's request for the demo model queues a
 * job (SQS → retrain worker), which trains on the demo version's dataset in S3 with a CV search
 * and registers the best candidate in staging with its lineage; a second request while the
 * first is active is refused (409) and recorded on it; a finished job cannot be cancelled.
 */
import { describe, expect, it } from 'vitest';
import { makeDemoModel } from '../../functions/core/training/demo.js';
import { servalForFile } from '../support/lifecycle.js';
import { jobEnded } from '../support/retraining.js';
import { apiClient, type ServalProcess, waitFor } from '../support/serval-process.js';

let serval: ServalProcess;
let alice: ReturnType<typeof apiClient>; // scientist
let viewer: ReturnType<typeof apiClient>;

servalForFile({
  setup: async (local) => {
    ({ serval } = local);
    const admin = apiClient(serval.url, serval.adminKey);
    const key = async (role: string, name: string) => {
      const res = await admin('POST', '/v1/auth/keys', { name, role });
      expect(res.status).toBe(201);
      return apiClient(serval.url, res.body.key);
    };
    alice = await key('scientist', 'alice');
    viewer = await key('viewer', 'val');
  },
});

describe('retraining', () => {
  let jobId: string;

  it('needs the scientist role and an existing model', async () => {
    expect((await viewer('POST', '/v1/models/iris-demo/retrain', { reason: 'x' })).status).toBe(403);
    expect((await alice('POST', '/v1/models/no-such-model/retrain', { reason: 'x' })).status).toBe(404);
    expect((await alice('POST', '/v1/models/iris-demo/retrain', {})).status).toBe(400);
  });

  it('queues a job, and records a second request while it is active instead of starting another', async () => {
    const res = await alice('POST', '/v1/models/iris-demo/retrain', {
      reason: 'weekly refresh',
      search: { l2: [0.001, 0.01, 0.1] },
      params: { seed: 7 },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ model: 'iris-demo', state: 'queued', trigger: 'manual' });
    jobId = res.body.id;
    const again = await alice('POST', '/v1/models/iris-demo/retrain', { reason: 'again' });
    expect(again.status).toBe(409);
    // Still active: recorded on the job. Already finished (a fast worker): the cooldown refuses it.
    if (again.body.error.details?.jobId) {
      expect(again.body.error.details.jobId).toBe(jobId);
      const job = (await viewer('GET', `/v1/jobs/${jobId}`)).body;
      expect(job.duplicates).toEqual([expect.objectContaining({ reason: 'again', trigger: 'manual' })]);
    } else {
      expect(again.body.error.details).toMatchObject({ reason: 'cooldown' });
    }
  });

  it('runs the job to a staging candidate with lineage, CV metrics and a validation report', async () => {
    const job = await waitFor(
      serval,
      'the retraining job to finish',
      async () => {
        const res = await viewer('GET', `/v1/jobs/${jobId}`);
        return ['succeeded', 'failed', 'cancelled'].includes(res.body.state) ? res.body : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(job.error).toBeNull();
    expect(job).toMatchObject({
      state: 'succeeded',
      progress: { fraction: 1, trial: 3, trials: 3 },
      resultVersion: expect.stringMatching(/^\d+\.\d+\.\d+$/),
    });
    expect(job.log.some((l: { message: string }) => l.message.startsWith('trial 3/3'))).toBe(true);
    expect(job.outcome).toMatch(/no production version/);

    const v = (await viewer('GET', `/v1/models/iris-demo/versions/${job.resultVersion}`)).body;
    expect(v).toMatchObject({ stage: 'staging', status: 'ready', parent: '1.0.0' });
    // The rows trained on (the demo's dataset, no labelled traffic yet), written by the job.
    expect(v.dataset).toMatchObject({
      uri: expect.stringMatching(new RegExp(`datasets/iris-demo/retraining/${jobId}/rows\\.csv$`)),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      rows: 240,
      verified: true,
    });
    expect(v.metrics).toMatchObject({
      cvAccuracyMean: expect.any(Number),
      cvAccuracyStd: expect.any(Number),
    });
    expect(v.metrics.cvAccuracyMean).toBeGreaterThan(0.6);
    expect(v.params.lineage).toMatchObject({
      jobId,
      trigger: 'manual',
      parent: '1.0.0',
      dataset: { rows: 240, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      search: { best: { params: { l2: expect.any(Number) } } },
    });
    expect(v.params.lineage.search.trials).toHaveLength(3);
    // The held-out report is recorded by the job itself (the version view shows its summary).
    expect(v.validation).toMatchObject({ passed: true, by: `job:${jobId}` });

    const listed = (await viewer('GET', '/v1/jobs?model=iris-demo&state=succeeded')).body;
    expect(listed.items.map((j: { id: string }) => j.id)).toContain(jobId);
    const audit = (await viewer('GET', '/v1/audit?model=iris-demo&limit=50')).body.items.map(
      (a: { action: string }) => a.action,
    );
    expect(audit).toEqual(expect.arrayContaining(['retrain.requested', 'retrain.succeeded']));
  });

  it('refuses to cancel a finished job', async () => {
    const res = await alice('POST', `/v1/jobs/${jobId}/cancel`);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
  });
});

describe('retraining with an MLP and a successive-halving search fanned out into trial messages', () => {
  it('trains, searches rung by rung over the trials queue, and registers the best MLP in staging', async () => {
    // A second model on the demo's artifact and dataset: iris-demo is in its cooldown by now.
    await demoCopy('iris-mlp');

    const res = await alice('POST', '/v1/models/iris-mlp/retrain', {
      reason: 'try an MLP',
      trainer: 'mlp',
      params: { seed: 3 },
      search: {
        strategy: 'halving',
        factor: 2,
        space: {
          hidden: { type: 'choice', values: [4, 8, 16, 32] },
          alpha: { type: 'float', low: 1e-5, high: 1e-2, log: true },
        },
      },
    });
    expect(res.status, res.text).toBe(202);
    const id = res.body.id;
    const progress = new Set<string>();
    const job = await waitFor(
      serval,
      'the MLP job to finish',
      async () => {
        const r = await viewer('GET', `/v1/jobs/${id}`);
        progress.add(`${r.body.progress.trial}/${r.body.progress.trials}`);
        return ['succeeded', 'failed', 'cancelled'].includes(r.body.state) ? r.body : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    expect(job.error).toBeNull();
    expect(job.state).toBe('succeeded');
    // 240 rows, 5 folds: rungs of 4, 2 and 1 candidates on growing rows.
    expect(job.progress).toMatchObject({ trial: 7, trials: 7 });
    const messages = job.log.map((l: { message: string }) => l.message);
    expect(
      messages.filter((m: string) => /trial messages sent/.test(m)),
      JSON.stringify(job.log, null, 1),
    ).toHaveLength(3);
    expect(messages.filter((m: string) => /^trial \d\/7 ok/.test(m))).toHaveLength(7);
    expect([...progress].some((p) => /^[1-6]\/7$/.test(p))).toBe(true);

    const v = (await viewer('GET', `/v1/models/iris-mlp/versions/${job.resultVersion}`)).body;
    expect(v).toMatchObject({ stage: 'staging', params: { trainer: 'mlp', hidden: expect.any(Number) } });
    const trials = v.params.lineage.search.trials as { rung: number; resource: number }[];
    expect(trials.map((t) => t.rung)).toEqual([0, 0, 0, 0, 1, 1, 2]);
    expect(trials[0]!.resource).toBeLessThan(trials[6]!.resource);
    // The candidate is a real ONNX MLP: the job ran it on the held-out rows through onnxruntime.
    expect(v.validation).toMatchObject({ by: `job:${id}` });
  });
});

describe('cancelling a job that has not finished', () => {
  it('answers the job at once, and the job ends cancelled without a candidate', async () => {
    await demoCopy('iris-cancel');
    const res = await alice('POST', '/v1/models/iris-cancel/retrain', {
      reason: 'to be cancelled',
      // Enough trials that the job is still queued or running when the cancel arrives.
      search: { l2: Array.from({ length: 40 }, (_, i) => 10 ** (-6 + i / 8)) },
    });
    expect(res.status, res.text).toBe(202);
    const id = res.body.id as string;
    const cancel = await alice('POST', `/v1/jobs/${id}/cancel`);
    expect(cancel.status, cancel.text).toBe(200);
    expect(cancel.body.id).toBe(id);
    // Queued: cancelled at once. Running: flagged, and the worker stops at its next trial.
    expect(cancel.body.state === 'cancelled' || cancel.body.cancelRequested === true, cancel.text).toBe(true);
    const job = await jobEnded(serval, viewer, id);
    expect(job.state, JSON.stringify(job.log)).toBe('cancelled');
    expect(job.resultVersion).toBeNull();
    expect((await viewer('GET', '/v1/models/iris-cancel/versions')).body.items).toHaveLength(1);
  });
});

/** A model on the demo's artifact and dataset (iris-demo itself is in its cooldown after the first job). */
async function demoCopy(name: string): Promise<void> {
  const demo = makeDemoModel();
  const parent = (await viewer('GET', '/v1/models/iris-demo/versions/1.0.0')).body;
  expect((await alice('POST', '/v1/models', { name })).status).toBe(201);
  const reg = await alice('POST', `/v1/models/${name}/versions`, {
    version: '1.0.0',
    artifact: { base64: Buffer.from(demo.onnx).toString('base64') },
    framework: 'onnx',
    runtime: { type: 'lambda' },
    inputSchema: demo.inputSchema,
    outputSchema: demo.outputSchema,
    dataset: { uri: parent.dataset.uri },
  });
  expect(reg.status, reg.text).toBe(201);
}
