/**
 * A killed platform's retraining job recovers, end to end over HTTP on the local runtime: a
 * scientist's MLP grid search is mid-job (trials done, a checkpoint in S3) when the whole `npm
 * start` process is killed with SIGKILL, so its in-memory SQS messages (the trials in flight and
 * queued) are gone with it. Started again on the same data directory, the job sweeper (scaled to
 * fire every ~0.6 s, with a short heartbeat timeout) finds the job's heartbeat stale and resumes
 * it from its checkpoint: the trials finished before the kill are not run again, the rest are
 * sent again, and the job succeeds with one staging candidate whose lineage lists every trial
 * once. Then the operating mode's say on a request for the same model, over HTTP.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { jobEnded } from '../support/retraining.js';
import { apiClient, localS3, type ServalProcess, startServal, waitFor } from '../support/serval-process.js';

const TRIALS = 12;
// Small steps and many epochs: early stopping rarely ends a trial early, so each takes about a
// second here and the search is still running when it is killed.
const SEARCH = {
  strategy: 'grid',
  space: {
    hidden: { type: 'choice', values: [48] },
    alpha: { type: 'choice', values: [1e-6, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2] },
    learningRateInit: { type: 'choice', values: [3e-4, 1e-3] },
    maxIter: { type: 'choice', values: [400] },
  },
};

const started: ServalProcess[] = [];

afterAll(async () => {
  for (const s of started) {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await s.stop();
  }
});

async function scientistOf(serval: ServalProcess, name: string) {
  const admin = apiClient(serval.url, serval.adminKey);
  const res = await admin('POST', '/v1/auth/keys', { name, role: 'scientist' });
  expect(res.status, res.text).toBe(201);
  return apiClient(serval.url, res.body.key);
}

type Line = { at: string; message: string };
const trialsDone = (log: readonly Line[]) =>
  log.flatMap((l) => /^trial (\d+)\/\d+ ok:/.exec(l.message)?.[1] ?? []).map(Number);

describe('a killed worker', () => {
  it('leaves a job that resumes from its checkpoint after a restart and succeeds', async () => {
    const first = await startServal();
    started.push(first);
    const alice = await scientistOf(first, 'alice');
    const res = await alice('POST', '/v1/models/iris-demo/retrain', {
      reason: 'recovery e2e',
      trainer: 'mlp',
      search: SEARCH,
      params: { seed: 3 },
    });
    expect(res.status, res.text).toBe(202);
    const jobId = res.body.id as string;

    const { s3, bucket } = localS3(first.dataDir);
    const hasCheckpoint = () =>
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `jobs/${jobId}/checkpoint.json` })).then(
        () => true,
        () => false,
      );
    const before = await waitFor(
      first,
      'the job to be mid-search with a checkpoint',
      async () => {
        const job = (await alice('GET', `/v1/jobs/${jobId}`)).body;
        expect(job.state, JSON.stringify(job.error)).not.toMatch(/succeeded|failed|cancelled/);
        return job.progress.trial >= 2 && (await hasCheckpoint()) ? job : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    first.child.kill('SIGKILL');
    await first.stop();
    s3.destroy();
    const doneBeforeKill = trialsDone(before.log);
    expect(before.state).toBe('running');
    expect(doneBeforeKill.length).toBeGreaterThanOrEqual(1);
    expect(doneBeforeKill.length).toBeLessThan(TRIALS);

    const second = await startServal({
      dataDir: first.dataDir,
      env: { SERVAL_SCHEDULE_SCALE: '0.002', SERVAL_RETRAIN_STALE_AFTER_MS: '3000' },
    });
    started.push(second);
    const viewer = apiClient(second.url, second.adminKey);
    // The model and the job survived the restart: DynamoDB Local and S3 keep them in the data dir.
    expect((await viewer('GET', '/v1/models/iris-demo')).status).toBe(200);
    const job = await jobEnded(second, viewer, jobId, 120_000);
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    const messages = (job.log as Line[]).map((l) => l.message);
    const resumed = messages.find((m) => m.includes('resuming from the checkpoint'));
    expect(resumed, messages.join('\n')).toBeDefined();
    const k = Number(/\((\d+) of \d+ trials done\)/.exec(resumed!)?.[1]);
    expect(k).toBeGreaterThanOrEqual(doneBeforeKill.length);

    // Every trial once in the lineage, and none finished before the kill reported again after it.
    const version = (await viewer('GET', `/v1/models/iris-demo/versions/${job.resultVersion}`)).body;
    expect(version.stage).toBe('staging');
    const trials = version.params.lineage.search.trials as { id: number; status: string }[];
    expect(trials.map((t) => t.id)).toEqual(Array.from({ length: TRIALS }, (_, i) => i));
    const resumedAt = messages.indexOf(resumed!);
    const after = trialsDone((job.log as Line[]).slice(resumedAt));
    for (const id of doneBeforeKill) expect(after).not.toContain(id);
    // Progress lines are best effort under concurrent trials, so some may be missing, never extra.
    expect(doneBeforeKill.length + after.length).toBeLessThanOrEqual(TRIALS);

    const staging = (await viewer('GET', '/v1/models/iris-demo/versions?stage=staging')).body;
    const candidates = staging.items.filter((v: { createdBy: string }) => v.createdBy === `job:${jobId}`);
    expect(candidates.map((v: { version: string }) => v.version)).toEqual([job.resultVersion]);

    // The operating mode, over HTTP: in serving mode (the default) a model whose policy keeps
    // retraining for training mode is refused before the cooldown is even looked at; in training
    // mode the same request gets as far as the cooldown of the job that just ended.
    const policy = await viewer('PUT', '/v1/models/iris-demo/policy', {
      retraining: { allowInServing: false },
    });
    expect(policy.status, policy.text).toBe(200);
    const bob = await scientistOf(second, 'bob');
    const refused = await bob('POST', '/v1/models/iris-demo/retrain', { reason: 'while serving' });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.error.details).toEqual({
      reason: 'mode',
      mode: 'serving',
      retraining: 'if_policy_allows',
    });
    expect((await viewer('PUT', '/v1/mode', { mode: 'training', comment: 'e2e' })).status).toBe(200);
    // Functions re-read the mode within 2 s.
    const later = await waitFor(second, 'the training mode to reach the retraining API', async () => {
      const r = await bob('POST', '/v1/models/iris-demo/retrain', { reason: 'in training mode' });
      return r.body.error?.details?.reason === 'mode' ? undefined : r;
    });
    expect(later.status, later.text).toBe(409);
    expect(later.body.error.details).toMatchObject({ reason: 'cooldown' });
  }, 300_000);
});
