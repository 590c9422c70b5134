/**
 * Where versions are imported from: s3:// objects in Serval's own bucket under `imports/`, and in
 * the buckets the deployment lists in SERVAL_IMPORT_BUCKETS (the CDK context serval:importBuckets
 * grants the registry function read on them: docs/import.md). Anything else is refused before
 * a request is made, so the registry never reads where it was not meant to.
 */
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { ARTIFACT_PREFIXES } from '../contract/artifact-keys.js';
import { forbidden, payloadTooLarge } from '../core/kernel/errors.js';
import type { ImportObject, ImportObjects } from '../core/registry/ports.js';

export const IMPORT_BUCKETS_ENV = 'SERVAL_IMPORT_BUCKETS';

export function importBuckets(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
}

function parseS3(uri: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  return m ? { bucket: m[1]!, key: m[2]! } : undefined;
}

export class S3ImportObjects implements ImportObjects {
  constructor(
    private readonly s3: S3Client,
    private readonly ownBucket: string,
    private readonly allowed: readonly string[],
  ) {}

  refusal(uri: string): string | undefined {
    const at = parseS3(uri);
    if (!at) return `${uri} is not an S3 URI (s3://bucket/key)`;
    if (at.bucket === this.ownBucket) {
      return at.key.startsWith(ARTIFACT_PREFIXES.imports)
        ? undefined
        : `in Serval's artifacts bucket, models are imported from ${ARTIFACT_PREFIXES.imports} only`;
    }
    return this.allowed.includes(at.bucket)
      ? undefined
      : `bucket ${at.bucket} is not one Serval imports from: the deployment lists them in ${IMPORT_BUCKETS_ENV} (CDK context serval:importBuckets), or copy the file to s3://${this.ownBucket}/${ARTIFACT_PREFIXES.imports}`;
  }

  async get(uri: string): Promise<ImportObject | undefined> {
    const { bucket, key } = parseS3(uri)!;
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = await res.Body!.transformToByteArray();
      return { bytes, size: bytes.byteLength, ...(res.ETag ? { etag: res.ETag } : {}) };
    } catch (err) {
      if (
        err instanceof S3ServiceException &&
        (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404)
      )
        return undefined;
      throw refused(err, uri);
    }
  }

  async readDirectory(uri: string, maxBytes: number): Promise<Map<string, Uint8Array>> {
    const { bucket, key: prefix } = parseS3(uri)!;
    const files = new Map<string, Uint8Array>();
    let total = 0;
    let token: string | undefined;
    try {
      do {
        const page = await this.s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          if (!o.Key || o.Key.endsWith('/')) continue;
          total += o.Size ?? 0;
          if (total > maxBytes) throw payloadTooLarge(`${uri} holds more than ${maxBytes} bytes`);
          const res = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
          const chunks: Buffer[] = [];
          for await (const c of res.Body as Readable) chunks.push(c as Buffer);
          files.set(o.Key.slice(prefix.length), Buffer.concat(chunks));
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw refused(err, uri);
    }
    return files;
  }
}

/** S3's AccessDenied is the deployment's grants disagreeing with its list: a 403, not a 500. */
function refused(err: unknown, uri: string): unknown {
  if (
    err instanceof S3ServiceException &&
    (err.name === 'AccessDenied' || err.$metadata.httpStatusCode === 403)
  ) {
    return forbidden(
      `S3 refused to let Serval read ${uri}: grant the registry function s3:GetObject and s3:ListBucket there`,
    );
  }
  return err;
}
