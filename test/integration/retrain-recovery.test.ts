/**
 * A retrain worker killed mid-job (SIGKILL, in a child process, against the DynamoDB and S3
 * stand-ins) leaves a running job with a checkpoint; the sweep resumes it with a continuation on
 * the real retrain queue, and the next worker finishes it from the checkpoint: no trial run twice
 * or lost, one candidate registered.
 */
import { spawn } from 'node:child_process';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/adapters/aws-clients.js';
import { DynamoTrialResults } from '../../functions/adapters/dynamo-trials.js';
import { sqsClient } from '../../functions/adapters/sqs-client.js';
import { BUCKETS, QUEUES, TABLES } from '../../functions/contract/resources.js';
import type { RetrainJob } from '../../functions/core/retraining/jobs.js';
import { makeDemoModel } from '../../functions/core/training/demo.js';
import { registryServices } from '../../functions/handlers/registry-wiring.js';
import { createHandler } from '../../functions/handlers/retrain-worker.js';
import { retrainService } from '../../functions/handlers/retraining-wiring.js';
import { artifactStore, registryStore } from '../../functions/handlers/shared.js';
import { standinsForFile } from '../support/lifecycle.js';
import { root } from '../support/principals.js';

let env: Record<string, string>;
standinsForFile({
  setup: (aws) => {
    env = { ...aws.env, SERVAL_RETRAIN_STALE_AFTER_MS: '1500' };
    // Trials run in the worker's own invocation (no trials queue), one after the other.
    delete env[QUEUES.trials.env];
  },
});

/** The demo's two classes, separable in four features: enough rows that each MLP trial takes a while. */
function dataset(rows: number): string {
  const lines = ['sepal_length,sepal_width,petal_length,petal_width,species'];
  const names = ['versicolor', 'virginica'];
  let s = 7;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  for (let i = 0; i < rows; i++) {
    const c = i % 2;
    lines.push(
      [0, 1, 2, 3]
        .map((f) => (c * (f + 1) * 0.5 + rnd() * 2).toFixed(3))
        .concat(names[c] as string)
        .join(','),
    );
  }
  return lines.join('\n');
}

async function seed(): Promise<void> {
  const demo = makeDemoModel();
  const registry = registryServices(env);
  const key = `datasets/${demo.name}/big.csv`;
  const csv = new TextEncoder().encode(dataset(3000));
  const { sha256Hex } = await import('../../functions/core/registry/records.js');
  await artifactStore(env).put(key, csv, await sha256Hex(csv));
  await registry.models.create(root, { name: demo.name, description: 'd', tags: {} });
  await registry.artifacts.register(root, demo.name, {
    version: demo.version,
    artifact: { base64: Buffer.from(demo.onnx).toString('base64') },
    framework: 'onnx',
    runtime: { type: 'lambda' },
    inputSchema: demo.inputSchema,
    outputSchema: demo.outputSchema,
    dataset: { uri: `s3://${env[BUCKETS.artifacts.env]}/${key}` },
  });
}

describe('a killed retrain worker', () => {
  it('is resumed from its checkpoint by the sweep, and the job succeeds without redoing trials', async () => {
    await seed();
    const service = retrainService(env);
    const job = await service.request(root, 'iris-demo', {
      reason: 'kill test',
      trainer: 'mlp',
      params: { folds: 3 },
      search: {
        strategy: 'grid',
        space: {
          hidden: { type: 'choice', values: [16, 24, 32] },
          alpha: { type: 'choice', values: [1e-4, 1e-3] },
        },
      },
    });
    // The request's message stays on the queue: this test delivers by hand.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/retrain-worker-child.ts', job.id],
      {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((r) =>
      child.on('exit', (code, signal) => r(signal ? -1 : code)),
    );
    // Kill it once two trials are in (the third is under way).
    let seen: RetrainJob | undefined;
    for (let i = 0; i < 600; i++) {
      seen = await service.get(job.id);
      if (seen.progress.trial >= 3) break;
      if (seen.state !== 'queued' && seen.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen?.state, `${seen?.error} ${out}`).toBe('running');
    child.kill('SIGKILL');
    expect(await exited).toBe(-1);
    expect(out).not.toContain('finished');

    const results = new DynamoTrialResults(documentClient(), env[TABLES.jobs.env] as string);
    const before = (await results.list(job.id)).length;
    expect(before).toBeGreaterThanOrEqual(2);
    expect(before).toBeLessThan(6);

    // Not stale yet: the sweep leaves it alone; then it is resumed, once.
    expect((await service.sweep()).resumed).toEqual([]);
    await new Promise((r) => setTimeout(r, 1600));
    expect(await service.sweep()).toEqual({ resumed: [job.id], failed: [] });
    expect((await service.sweep()).resumed).toEqual([]);

    // The continuation is on the retrain queue (after the request's own message).
    const sqs = sqsClient();
    const url = env[QUEUES.retrain.env] as string;
    const bodies: { jobId: string; attempt?: number }[] = [];
    for (let i = 0; i < 10 && !bodies.some((b) => b.attempt); i++) {
      const got = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      for (const m of got.Messages ?? []) {
        bodies.push(JSON.parse(m.Body as string));
        await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
      }
    }
    const continuation = bodies.find((b) => b.attempt);
    expect(continuation).toEqual({ jobId: job.id, attempt: 2 });

    const worker = createHandler(env);
    const deliver = (body: unknown) =>
      worker({ Records: [{ messageId: 'x', body: JSON.stringify(body) } as never] }, {
        getRemainingTimeInMillis: () => 900_000,
      } as never);
    // The first message again (a redelivery) starts nothing; the continuation finishes the job.
    await deliver({ jobId: job.id });
    expect((await service.get(job.id)).attempt).toBe(1);
    await deliver(continuation);
    const done = await service.get(job.id);
    expect(done.error).toBeUndefined();
    expect(done).toMatchObject({ state: 'succeeded', attempt: 2, progress: { trials: 6 } });
    expect(done.log.some((l) => /resuming from the checkpoint \(\d of 6 trials done\)/.test(l.message))).toBe(
      true,
    );
    const stored = await results.list(job.id);
    expect(stored.map((t) => t.id).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const version = await registryStore(env).getVersion('iris-demo', done.resultVersion as string);
    expect(version?.stage).toBe('staging');
    const lineage = (
      (version as { params: unknown }).params as { lineage: { search: { trials: unknown[] } } }
    ).lineage;
    expect(lineage.search.trials).toHaveLength(6);
  }, 180_000);
});
