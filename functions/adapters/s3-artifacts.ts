/**
 * ArtifactStore on S3. The SHA-256 travels in object metadata (x-amz-meta-sha256) for operators,
 * but integrity is never taken from metadata: digest() streams the bytes and hashes them.
 *
 * Writes carry the SHA-256 as an S3 checksum (x-amz-checksum-sha256), so S3 itself refuses other
 * bytes; presigned uploads also sign `If-None-Match: *`, so a URL writes its key once. Reads take
 * the VersionId a version was pinned to. s3rver (local) ignores checksums and conditional writes
 * and has no versions; the registry does not rely on them (completed uploads are copied to a key
 * no URL was issued for: core/registry/artifacts.ts).
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
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
import type { ArtifactStore, PresignedRequest, StoredObject, WrittenObject } from '../core/registry/ports.js';
import { primeSend } from './sdk-priming.js';

/** S3's checksum header: the base64 of the digest, where Serval records lower-case hex. */
export function checksumOf(sha256Hex: string): string {
  return Buffer.from(sha256Hex, 'hex').toString('base64');
}

function isMissing(err: unknown): boolean {
  return (
    err instanceof NoSuchKey ||
    (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404))
  );
}

/** What `read` gives, or undefined when S3 says the object (or that version of it) is not there. */
async function unlessMissing<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

export class S3ArtifactStore implements ArtifactStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, bytes: Uint8Array, sha256: string): Promise<WrittenObject> {
    const res = await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentLength: bytes.byteLength,
        ContentType: 'application/octet-stream',
        Metadata: { sha256 },
        ChecksumSHA256: checksumOf(sha256),
      }),
    );
    return res.VersionId ? { versionId: res.VersionId } : {};
  }

  copy(from: string, to: string): Promise<WrittenObject | undefined> {
    return unlessMissing(async () => {
      const res = await this.s3.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: to,
          // Keys are names and versions of safe alphabets plus ULIDs; encodeURI keeps the slashes.
          CopySource: `${this.bucket}/${encodeURI(from)}`,
          MetadataDirective: 'COPY',
        }),
      );
      return res.VersionId ? { versionId: res.VersionId } : {};
    });
  }

  digest(key: string, versionId?: string): Promise<StoredObject | undefined> {
    return unlessMissing(async () => {
      const res = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }),
      );
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of res.Body as Readable) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      return { sha256: hash.digest('hex'), size };
    });
  }

  /**
   * The SDK work of this store's first read, done with no request made (sdk-priming.ts): the read
   * of an artifact, which a prediction makes on a cache miss, answered with an empty object.
   */
  prime(key: string): Promise<boolean> {
    return primeSend(
      new GetObjectCommand({ Bucket: this.bucket, Key: key }),
      (command) => this.s3.send(command),
      { headers: { 'content-length': '0' } },
    );
  }

  get(key: string, versionId?: string): Promise<Uint8Array | undefined> {
    return unlessMissing(async () => {
      const res = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }),
      );
      return res.Body!.transformToByteArray();
    });
  }

  async presignPut(key: string, sha256: string, expiresInSeconds: number): Promise<PresignedRequest> {
    const checksum = checksumOf(sha256);
    // Every header below is signed, so the client must send each one as given: S3 then stores
    // only bytes with this SHA-256 (400 BadDigest otherwise) and only while the key is empty
    // (412 PreconditionFailed once written), so the URL cannot replace what it uploaded.
    const headers = {
      'x-amz-meta-sha256': sha256,
      'x-amz-checksum-sha256': checksum,
      'x-amz-sdk-checksum-algorithm': 'SHA256',
      'if-none-match': '*',
    };
    const url = await getSignedUrl(
      this.s3,
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Metadata: { sha256 },
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: checksum,
        IfNoneMatch: '*',
      }),
      { expiresIn: expiresInSeconds, unhoistableHeaders: new Set(Object.keys(headers)) },
    );
    return {
      url,
      method: 'PUT',
      headers,
      expiresAt: new Date(Date.now() + expiresInSeconds * 1000).toISOString(),
    };
  }

  async presignGet(key: string, expiresInSeconds: number, versionId?: string): Promise<string> {
    return getSignedUrl(
      this.s3,
      new GetObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }),
      { expiresIn: expiresInSeconds },
    );
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
