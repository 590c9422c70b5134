/**
 * ArtifactStore on S3. The SHA-256 travels in object metadata (x-amz-meta-sha256) for operators,
 * but integrity is never taken from metadata: digest() streams the bytes and hashes them.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { DELETED_ARTIFACT_TAG } from '../contract/resources.js';
import type { ArtifactStore, PresignedRequest, StoredObject } from '../core/registry/ports.js';

function isMissing(err: unknown): boolean {
  return (
    err instanceof NoSuchKey ||
    (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404))
  );
}

export class S3ArtifactStore implements ArtifactStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, bytes: Uint8Array, sha256: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentLength: bytes.byteLength,
        ContentType: 'application/octet-stream',
        Metadata: { sha256 },
      }),
    );
  }

  async digest(key: string): Promise<StoredObject | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of res.Body as Readable) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      return { sha256: hash.digest('hex'), size };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await res.Body!.transformToByteArray();
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async presignPut(key: string, sha256: string, expiresInSeconds: number): Promise<PresignedRequest> {
    const url = await getSignedUrl(
      this.s3,
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Metadata: { sha256 } }),
      // The metadata header is signed, so the client must send it; it records the declared hash.
      { expiresIn: expiresInSeconds, unhoistableHeaders: new Set(['x-amz-meta-sha256']) },
    );
    return {
      url,
      method: 'PUT',
      headers: { 'x-amz-meta-sha256': sha256 },
      expiresAt: new Date(Date.now() + expiresInSeconds * 1000).toISOString(),
    };
  }

  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async release(key: string): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectTaggingCommand({
          Bucket: this.bucket,
          Key: key,
          Tagging: { TagSet: [{ Key: DELETED_ARTIFACT_TAG.key, Value: DELETED_ARTIFACT_TAG.value }] },
        }),
      );
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }

  keyOf(uri: string): string | undefined {
    // A plain prefix match: URL parsing would lower-case or re-encode parts of a key.
    const prefix = `s3://${this.bucket}/`;
    return uri.startsWith(prefix) && uri.length > prefix.length ? uri.slice(prefix.length) : undefined;
  }
}
