/**
 * s3rver, in-process, as the local S3. It speaks the S3 REST protocol well enough for the SDK
 * (path-style addressing, SigV4 and presigned URLs, user metadata), keeps objects as plain files,
 * and neither returns nor validates checksums — Serval verifies SHA-256 itself.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver from 's3rver';
import { LOCAL_HOST } from '../ports.js';
import { localService } from './server.js';

export interface S3LocalOptions {
  /** Keep objects under `<dataDir>/s3`; omit for a fresh temporary directory removed by stop(). */
  readonly dataDir?: string;
  /** Port to listen on; one the OS picks when omitted. */
  readonly port?: number;
}

export interface S3Local {
  /** `http://127.0.0.1:<port>`, for AWS_ENDPOINT_URL_S3 (clients must use path-style addressing). */
  readonly endpoint: string;
  readonly port: number;
  /** Where the objects are stored. */
  readonly directory: string;
  stop(): Promise<void>;
}

export async function startS3Local(options: S3LocalOptions = {}): Promise<S3Local> {
  ensureDesCbc();
  ensureAtomicPuts();
  const temporary = !options.dataDir;
  const directory = options.dataDir
    ? join(options.dataDir, 's3')
    : await mkdtemp(join(tmpdir(), 'serval-s3-'));
  await mkdir(directory, { recursive: true });

  const server = new S3rver({
    address: LOCAL_HOST,
    port: options.port ?? 0,
    directory,
    silent: true,
    // Path-style only: with vhost guessing on, any Host header that is not an IP or "localhost"
    // (a proxy, a container name) would be taken for a bucket name.
    vhostBuckets: false,
  });
  const address = await server.run();
  const service = localService(address.port, async () => {
    const closed = server.close();
    // Keep-alive sockets of SDK clients would otherwise hold close() open until they time out.
    server.httpServer?.closeAllConnections();
    await closed;
    if (temporary) await rm(directory, { recursive: true, force: true });
  });
  return { ...service, directory };
}

let desChecked = false;

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with single DES (DES-CBC, for its 8-byte block;
 * lib/controllers/bucket.js). OpenSSL 3 moved DES-CBC to its "legacy" provider, which Node only
 * loads when started with --openssl-legacy-provider, so every truncated listing fails with
 * ERR_OSSL_EVP_UNSUPPORTED (a 500) and paging through a bucket is impossible.
 *
 * Two-key triple DES (DES-EDE-CBC) is still in the default provider, and with both keys equal it
 * computes E_K(D_K(E_K(x))) = E_K(x): exactly single DES, byte for byte. So when DES-CBC is
 * unavailable, requests for it — and only for it, with an 8-byte key — are answered by DES-EDE-CBC
 * with the key doubled. Nothing that worked before behaves differently, and no node flag is
 * needed; under --openssl-legacy-provider DES-CBC is found and nothing is substituted.
 *
 * The substitution is process-wide because s3rver calls the shared CommonJS `crypto` object; it
 * cannot be scoped to one module. ESM named imports (`import { createCipheriv }`) keep the
 * original function.
 */
function ensureDesCbc(): void {
  if (desChecked) return;
  desChecked = true;
  // The CommonJS module object: the very one s3rver's require('crypto') returns.
  const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  try {
    crypto.createCipheriv('des-cbc', Buffer.alloc(8), Buffer.alloc(8));
    return;
  } catch {
    // DES-CBC is missing: OpenSSL 3 without the legacy provider.
  }
  const isSingleDes = (algorithm: unknown, key: unknown): key is Uint8Array =>
    typeof algorithm === 'string' &&
    ['des', 'des-cbc'].includes(algorithm.toLowerCase()) &&
    key instanceof Uint8Array &&
    key.length === 8;
  const doubled = (key: Uint8Array) => Buffer.concat([key, key]);
  const { createCipheriv, createDecipheriv } = crypto;
  const substitute =
    <F extends typeof createCipheriv | typeof createDecipheriv>(original: F) =>
    (algorithm: string, key: unknown, ...rest: unknown[]) =>
      isSingleDes(algorithm, key)
        ? Reflect.apply(original, crypto, ['des-ede-cbc', doubled(key), ...rest])
        : Reflect.apply(original, crypto, [algorithm, key, ...rest]);
  crypto.createCipheriv = substitute(createCipheriv) as typeof createCipheriv;
  crypto.createDecipheriv = substitute(createDecipheriv) as typeof createDecipheriv;
}

let putsChecked = false;

interface StoredObject {
  readonly bucket: string;
  readonly key: string;
  readonly content: Buffer | Readable;
  readonly metadata: Record<string, string>;
}

interface ByteRange {
  start: number;
  end: number;
}

interface S3ObjectModel {
  range?: ByteRange;
}

interface FilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, string | number>>;
  getObject(
    bucket: string,
    key: string,
    options?: { start?: number; end?: number },
  ): Promise<S3ObjectModel | null>;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
}

/**
 * An S3 PUT is atomic: a GET sees the old object or the new one, whole, and never a part of one.
 * s3rver's store writes in place (lib/stores/filesystem.js): it truncates the object's file and
 * streams into it, and for a body already in memory it answers before the write has finished.
 * A reader in between got a prefix of the object: a retraining trial read its job's checkpoint
 * while the job rewrote it and failed on "Unterminated string in JSON". Here the body is written
 * whole to a file beside the object's (listings only show names ending in the object suffix),
 * then renamed over it, which POSIX makes atomic, and only then answered. The same store, so the
 * patch is process-wide, like ensureDesCbc's. A GET reads the file it opened, whole (below).
 */
function ensureAtomicPuts(): void {
  if (putsChecked) return;
  putsChecked = true;
  const require = createRequire(import.meta.url);
  const { prototype } = require('s3rver/lib/stores/filesystem.js') as { prototype: FilesystemStore };
  prototype.putObject = async function putObject(this: FilesystemStore, object: StoredObject) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const partial = `${objectPath}.${randomUUID()}.part`;
    const md5 = createHash('md5');
    let size = 0;
    try {
      const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            md5.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(partial),
      );
      await rename(partial, objectPath);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    const digest = md5.digest('hex');
    await this.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
  // s3rver's GET stats the object's path, then opens it: a replace in between streamed the new
  // file cut to the old one's length. The file is opened first, and its size is the open file's.
  const S3Object = require('s3rver/lib/models/object.js') as new (
    bucket: string,
    key: string,
    content: Readable | null,
    metadata: Record<string, string | number>,
  ) => S3ObjectModel;
  prototype.getObject = async function getObject(this: FilesystemStore, bucket, key, options) {
    let handle: FileHandle;
    try {
      handle = await open(this.getResourcePath(bucket, key, 'object'), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const [metadata, stat] = await Promise.all([this.getMetadata(bucket, key), handle.stat()]);
      metadata['content-length'] = stat.size;
      metadata['last-modified'] = stat.mtime.toUTCString();
      // As s3rver computes the range (lib/stores/filesystem.js), on the open file's size.
      const lastByte = Math.max(0, stat.size - 1);
      const range = {
        start: options?.start || 0,
        end: Math.min(options?.end || Number.POSITIVE_INFINITY, lastByte),
      };
      const ranged = options !== undefined && (options.start !== undefined || Boolean(options.end));
      const unsatisfiable = range.start < 0 || Math.min(range.end, lastByte) < range.start;
      if (unsatisfiable) await handle.close();
      const content = unsatisfiable ? null : handle.createReadStream({ start: range.start, end: range.end });
      const object = new S3Object(bucket, key, content, metadata);
      if (ranged) object.range = range;
      return object;
    } catch (err) {
      await handle.close().catch(() => {});
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  };
}
