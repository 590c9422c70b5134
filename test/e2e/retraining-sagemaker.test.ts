/**
 * Retraining on a SageMaker training job, end to end over HTTP on the local runtime: a policy
 * with `retraining.training.sagemaker`, a manual retrain, the job following the training job
 * (the local stand-in, through the real SageMakerClient) with SageMaker's statuses as progress,
 * and its model.onnx registered in staging with the training job in its lineage, validated on the
 * held-out rows against production.
 */
import { describe, expect, it } from 'vitest';
import { servalForFile } from '../support/lifecycle.js';
import { type Client, irisModel, roleKey } from '../support/retraining.js';
import { apiClient, type ServalProcess, waitFor } from '../support/serval-process.js';

let serval: ServalProcess;
let admin: Client;
let scientist: Client;
const MODEL = 'iris-sagemaker';

servalForFile({
  options: { env: { SERVAL_SAGEMAKER_POLL_SECONDS: '1' } },
  setup: async (local) => {
    serval = local.serval;
    admin = apiClient(serval.url, serval.adminKey);
    scientist = await roleKey(serval, 'scientist');
    const approver = await roleKey(serval, 'approver');
    await irisModel({ s3: local.s3, bucket: local.bucket, scientist, approver }, MODEL, { production: true });
  },
});

const SAGEMAKER = {
  image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/serval-algo:1',
  instanceType: 'ml.m5.xlarge',
  hyperparameters: { l2: '0.001' },
};

describe('retraining on SageMaker', () => {
  it('refuses a SageMaker block SageMaker would refuse', async () => {
    const res = await admin('PUT', `/v1/models/${MODEL}/policy`, {
      retraining: { training: { sagemaker: { ...SAGEMAKER, instanceType: 'm5.xlarge' } } },
    });
    expect(res.status, res.text).toBe(400);
  });

  it('trains the candidate on a training job and registers its model.onnx with the job in its lineage', async () => {
    const put = await admin('PUT', `/v1/models/${MODEL}/policy`, {
      retraining: { training: { sagemaker: SAGEMAKER } },
    });
    expect(put.status, put.text).toBe(200);
    const res = await scientist('POST', `/v1/models/${MODEL}/retrain`, { reason: 'too big for a Lambda' });
    expect(res.status, res.text).toBe(202);
    const messages = new Set<string>();
    const job = await waitFor(
      serval,
      'the SageMaker job to end',
      async () => {
        const r = await scientist('GET', `/v1/jobs/${res.body.id}`);
        messages.add(r.body.progress.message);
        return ['succeeded', 'failed', 'cancelled'].includes(r.body.state) ? r.body : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(job.error).toBeNull();
    expect(job.state).toBe('succeeded');
    // Progress showed SageMaker's own statuses while the job waited on it.
    expect([...messages].some((m) => /^SageMaker: InProgress \(/.test(m))).toBe(true);
    const name = job.training.trainingJobName as string;
    expect(name).toBe(`serval-${String(job.id).toLowerCase()}-1`);
    expect(job.training).toMatchObject({ backend: 'sagemaker', status: 'Completed' });
    expect(job.log.map((l: { message: string }) => l.message)).toContain(
      `SageMaker training job ${name} created`,
    );

    const v = (await scientist('GET', `/v1/models/${MODEL}/versions/${job.resultVersion}`)).body;
    expect(v).toMatchObject({ stage: 'staging', parent: '1.0.0' });
    expect(v.params).toMatchObject({ trainer: 'sagemaker', hyperparameters: { l2: '0.001' } });
    expect(v.params.lineage).toMatchObject({
      jobId: job.id,
      parent: '1.0.0',
      training: {
        backend: 'sagemaker',
        trainingJobName: name,
        image: SAGEMAKER.image,
        instanceType: 'ml.m5.xlarge',
      },
    });
    // Judged on the held-out rows against the (deliberately poor) production version.
    expect(v.validation).toMatchObject({ passed: true, by: `job:${job.id}` });
    expect(job.outcome).toMatch(/beats production 1\.0\.0/);
  });
});
