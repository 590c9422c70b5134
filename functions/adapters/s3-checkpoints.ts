/**
 * Retraining checkpoints on S3: `jobs/<jobId>/checkpoint.json` in the artifacts bucket (the key
 * layout: functions/contract/artifact-keys.ts). One object per job, overwritten by each step; only
 * the attempt that owns the job writes it (execution.ts claims attempts), so last write wins.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ARTIFACT_PREFIXES } from '../contract/artifact-keys.js';
import type { Checkpoint, CheckpointStore } from '../core/retraining/execution.js';

export function checkpointKey(jobId: string): string {
  return `${ARTIFACT_PREFIXES.jobs}${jobId}/checkpoint.json`;
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

export class S3Checkpoints implements CheckpointStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async read(jobId: string): Promise<Checkpoint | undefined> {
    try {
      const res = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: checkpointKey(jobId) }),
      );
      return JSON.parse(await (res.Body as { transformToString(): Promise<string> }).transformToString());
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async write(checkpoint: Checkpoint): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: checkpointKey(checkpoint.jobId),
        Body: JSON.stringify(checkpoint),
        ContentType: 'application/json',
      }),
    );
  }
}
