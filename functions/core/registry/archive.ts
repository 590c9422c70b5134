/**
 * Reading and writing `.tar.gz` archives in memory: a SageMaker training output (`model.tar.gz`)
 * and an MLflow model directory packed by the CLI. Only regular files are kept; links, devices
 * and paths that climb out of the archive are ignored, since nothing here is ever written to disk.
 */
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import { payloadTooLarge, validationFailed } from '../kernel/errors.js';

/**
 * The most an archive may expand to. A registry function holds the whole archive in memory, and
 * a small gzip can expand a thousandfold: the limit refuses such a bomb before it exhausts memory.
 */
export const MAX_UNPACKED_BYTES = 1024 * 1024 * 1024;

/** Relative path (no leading ./) → bytes. */
export type FileMap = ReadonlyMap<string, Uint8Array>;

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export async function readTarGz(bytes: Uint8Array, what = 'the archive'): Promise<FileMap> {
  let tar: Buffer;
  try {
    tar = isGzip(bytes)
      ? gunzipSync(bytes, { maxOutputLength: MAX_UNPACKED_BYTES })
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw payloadTooLarge(`${what} expands to more than ${MAX_UNPACKED_BYTES} bytes`);
    }
    throw validationFailed(`${what} is not a gzip file: ${(err as Error).message}`);
  }
  const files = new Map<string, Uint8Array>();
  const reader = extract();
  Readable.from([tar]).pipe(reader);
  try {
    for await (const entry of reader) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const name = normalizePath(entry.header.name);
      if (entry.header.type === 'file' && name !== undefined) files.set(name, Buffer.concat(chunks));
    }
  } catch (err) {
    throw validationFailed(`${what} is not a tar archive: ${(err as Error).message}`);
  }
  if (files.size === 0) throw validationFailed(`${what} holds no files (is it a tar.gz?)`);
  return files;
}

export async function writeTarGz(files: FileMap): Promise<Uint8Array> {
  const packer = pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of packer) out.push(chunk as Buffer);
  })();
  for (const [name, bytes] of files) {
    await new Promise<void>((resolve, reject) =>
      packer.entry({ name, size: bytes.byteLength, mode: 0o644 }, Buffer.from(bytes), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
  packer.finalize();
  await done;
  return gzipSync(Buffer.concat(out));
}

/** `./a/b` → `a/b`; undefined for absolute paths and paths with `..`. */
export function normalizePath(path: string): string | undefined {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (path.startsWith('/') || parts.includes('..') || parts.length === 0) return undefined;
  return parts.join('/');
}
