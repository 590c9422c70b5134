import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localS3Client } from '../../../local/services/clients.js';
import { type S3Local, startS3Local } from '../../../local/services/s3.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('local S3 (s3rver)', () => {
  let server: S3Local;
  let s3: S3Client;
  const bucket = 'test-bucket';

  beforeAll(async () => {
    server = await startS3Local();
    s3 = localS3Client(server.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });

  afterAll(async () => {
    s3?.destroy();
    await server?.stop();
  });

  it('has single DES available, byte-identical to the standard (FIPS 46 known answer)', () => {
    // s3rver's continuation tokens need DES-CBC, which OpenSSL 3 only has in its legacy provider.
    // Looked up on the CommonJS module object, as s3rver does (ESM named imports are bound at load).
    const { createCipheriv } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
    const cipher = createCipheriv('des-cbc', Buffer.from('133457799bbcdff1', 'hex'), Buffer.alloc(8));
    cipher.setAutoPadding(false);
    const block = Buffer.concat([cipher.update(Buffer.from('0123456789abcdef', 'hex')), cipher.final()]);
    expect(block.toString('hex')).toBe('85e813540f0ab405');
  });

  it('pages through ListObjectsV2 with continuation tokens', async () => {
    const keys = Array.from({ length: 25 }, (_, i) => `page/${String(i).padStart(3, '0')}`);
    await Promise.all(keys.map((Key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }))));

    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: 'page/', MaxKeys: 10, ContinuationToken: token }),
      );
      pages.push((page.Contents ?? []).map((o) => o.Key ?? ''));
      expect(page.IsTruncated).toBe(Boolean(page.NextContinuationToken));
      token = page.NextContinuationToken;
    } while (token && pages.length < 10);

    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    expect(pages.flat()).toEqual(keys);
  });

  it('stores a streamed upload byte for byte (no aws-chunked framing)', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    // Several chunks, so the SDK really streams rather than sending one buffer.
    const chunks = Array.from({ length: 8 }, (_, i) =>
      data.subarray((i * data.length) / 8, ((i + 1) * data.length) / 8),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'streamed.bin',
        Body: Readable.from(chunks),
        ContentLength: data.length,
      }),
    );
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'streamed.bin' }));
    const stored = await object.Body!.transformToByteArray();
    expect(stored.length).toBe(data.length);
    expect(sha256(stored)).toBe(sha256(data));
  });

  it('round-trips user metadata (x-amz-meta-sha256) through HeadObject', async () => {
    const body = Buffer.from('model bytes');
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'meta.onnx',
        Body: body,
        Metadata: { sha256: sha256(body) },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta.onnx' }));
    expect(head.Metadata?.sha256).toBe(sha256(body));
    expect(head.ContentLength).toBe(body.length);
  });

  it('accepts presigned PUT and GET URLs from a plain HTTP client, and refuses an expired one', async () => {
    const data = randomBytes(200_000);
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'presigned.bin' }), {
      expiresIn: 300,
    });
    const put = await fetch(putUrl, { method: 'PUT', body: data });
    expect(put.status).toBe(200);

    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'presigned.bin' }), {
      expiresIn: 300,
    });
    const get = await fetch(getUrl);
    expect(get.status).toBe(200);
    expect(sha256(new Uint8Array(await get.arrayBuffer()))).toBe(sha256(data));

    // s3rver checks expiry (but not SigV4 signatures themselves; see local/services/s3.ts).
    const expiredUrl = await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket: bucket, Key: 'presigned.bin' }),
      {
        expiresIn: 60,
        signingDate: new Date(Date.now() - 3_600_000),
      },
    );
    const expired = await fetch(expiredUrl);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('Request has expired');
  });

  it('replaces an object atomically: a reader sees the old body or the new one, whole, never part of one', async () => {
    // As S3 does. s3rver wrote in place, so a GET during a PUT of the same key read a prefix of it
    // (a retraining trial read its job's checkpoint while the job rewrote it).
    const bodies = [Buffer.alloc(3 * 2 ** 20, 'a'), Buffer.alloc(2 * 2 ** 20, 'b')];
    const Key = 'atomic/object';
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: bodies[0] }));
    const seen = new Set<string>();
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 12; i++) {
        const Body = bodies[i % 2] as Buffer;
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
        // Answered only once the new body is whole: read back at once, it is all there.
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
        expect(sha256(await got.Body!.transformToByteArray())).toBe(sha256(Body));
      }
      writing = false;
    })();
    const wholes = new Set(bodies.map((b) => sha256(b)));
    // Three readers: a GET stats the object and then opens it, and a replace can land in between.
    const reader = async () => {
      while (writing) {
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
        const body = await got.Body!.transformToByteArray();
        seen.add(String(body.length));
        expect(wholes.has(sha256(body)), `a read of ${body.length} bytes was neither body`).toBe(true);
      }
    };
    await Promise.all([writer, reader(), reader(), reader()]);
    // Only the object is listed, not the file its next body was written to.
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'atomic/' }));
    expect((listed.Contents ?? []).map((o) => o.Key)).toEqual([Key]);
    expect(seen.size).toBeGreaterThan(0);
  });

  it('removes its temporary directory on stop, and keeps objects across a restart with a data directory', async () => {
    const temporary = await startS3Local();
    expect(existsSync(temporary.directory)).toBe(true);
    await temporary.stop();
    expect(existsSync(temporary.directory)).toBe(false);

    const dataDir = await mkdtemp(join(tmpdir(), 'serval-s3-test-'));
    try {
      const first = await startS3Local({ dataDir });
      const c1 = localS3Client(first.endpoint);
      await c1.send(new CreateBucketCommand({ Bucket: 'kept' }));
      await c1.send(new PutObjectCommand({ Bucket: 'kept', Key: 'k', Body: 'survives' }));
      c1.destroy();
      await first.stop();

      const second = await startS3Local({ dataDir });
      const c2 = localS3Client(second.endpoint);
      const object = await c2.send(new GetObjectCommand({ Bucket: 'kept', Key: 'k' }));
      expect(await object.Body?.transformToString()).toBe('survives');
      c2.destroy();
      await second.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
