import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { checksumOf, S3ArtifactStore } from '../../../functions/adapters/s3-artifacts.js';

describe('S3ArtifactStore.keyOf', () => {
  const store = new S3ArtifactStore({} as S3Client, 'serval-artifacts');

  it('names objects of its own bucket only, keys taken verbatim', () => {
    expect(store.keyOf('s3://serval-artifacts/datasets/iris-demo/train.csv')).toBe(
      'datasets/iris-demo/train.csv',
    );
    expect(store.keyOf('s3://serval-artifacts/a%20b/C.csv')).toBe('a%20b/C.csv');
    expect(store.keyOf('s3://serval-artifacts-other/x.csv')).toBeUndefined();
    expect(store.keyOf('s3://other/serval-artifacts/x.csv')).toBeUndefined();
    expect(store.keyOf('s3://serval-artifacts/')).toBeUndefined();
    expect(store.keyOf('https://serval-artifacts.s3.amazonaws.com/x.csv')).toBeUndefined();
  });
});

describe('S3ArtifactStore writes once, with its checksum, and reads the pinned version', () => {
  const sha = 'ab'.repeat(32);

  it('signs If-None-Match: * and the SHA-256 checksum into a presigned upload', async () => {
    const s3 = new S3Client({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const upload = await new S3ArtifactStore(s3, 'serval-artifacts').presignPut(
      'uploads/m/1.0.0/x',
      sha,
      900,
    );
    const signed = new URL(upload.url).searchParams.get('X-Amz-SignedHeaders')?.split(';');
    // Signed headers must be sent as given: S3 refuses other bytes (BadDigest) and a second
    // write to the key (412), so the URL cannot replace what it uploaded.
    expect(signed).toEqual(
      expect.arrayContaining(['if-none-match', 'x-amz-checksum-sha256', 'x-amz-meta-sha256']),
    );
    expect(upload.headers).toMatchObject({
      'if-none-match': '*',
      'x-amz-checksum-sha256': Buffer.from(sha, 'hex').toString('base64'),
      'x-amz-sdk-checksum-algorithm': 'SHA256',
    });
    expect(checksumOf(sha)).toBe(upload.headers['x-amz-checksum-sha256']);
    s3.destroy();
  });

  it('reads, hashes and copies by object version, and returns the version each write made', async () => {
    const sent: { name: string; input: Record<string, unknown> }[] = [];
    const fake = {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        sent.push({ name: command.constructor.name, input: command.input });
        if (command.constructor.name === 'GetObjectCommand') {
          return {
            Body: Object.assign(Readable.from([Buffer.from('bytes')]), {
              transformToByteArray: async () => new Uint8Array(Buffer.from('bytes')),
            }),
          };
        }
        return { VersionId: 'v-42' };
      },
    } as unknown as S3Client;
    const store = new S3ArtifactStore(fake, 'serval-artifacts');
    expect(await store.put('models/m/1.0.0/a', new Uint8Array([1]), sha)).toEqual({ versionId: 'v-42' });
    expect(sent[0]!.input).toMatchObject({ ChecksumSHA256: checksumOf(sha) });
    expect(await store.copy('uploads/m/1.0.0/u', 'models/m/1.0.0/c')).toEqual({ versionId: 'v-42' });
    expect(sent[1]!.input).toMatchObject({
      Key: 'models/m/1.0.0/c',
      CopySource: 'serval-artifacts/uploads/m/1.0.0/u',
    });
    await store.digest('models/m/1.0.0/c', 'v-42');
    await store.get('models/m/1.0.0/c', 'v-42');
    expect(sent.slice(2).map((c) => [c.name, c.input.VersionId])).toEqual([
      ['GetObjectCommand', 'v-42'],
      ['GetObjectCommand', 'v-42'],
    ]);
    const url = await new S3ArtifactStore(
      new S3Client({
        region: 'eu-west-1',
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 's' },
      }),
      'serval-artifacts',
    ).presignGet('models/m/1.0.0/c', 300, 'v-42');
    expect(new URL(url).searchParams.get('versionId')).toBe('v-42');
  });
});
