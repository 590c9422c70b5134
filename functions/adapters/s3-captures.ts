/**
 * Captured predictions in S3, as gzip JSON lines partitioned by model, version, date and hour:
 * `captures/<model>/<version>/<YYYY-MM-DD>/<HH>/<id>.jsonl.gz`, one object per line
 * `{predictionId, at, version, instance, prediction, …, group}` (`group`: the capture group the
 * row was recorded in; rows of a group are read from one object only). Reads stream object by object and line by
 * line, so a window of millions of rows never sits in memory. Partition sketches are stored next to
 * the data (`…/<HH>/_sketches/<baselineId>.json`) and reused by later checks.
 *
 * Also: JSON documents (baseline profiles) and dataset files (CSV with a header, or JSON lines).
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  ARTIFACT_PREFIXES,
  CAPTURE_FILE_SUFFIX,
  JSON_SUFFIX,
  SKETCH_DIR,
} from '../contract/artifact-keys.js';
import { validationFailed } from '../core/kernel/errors.js';
import type {
  CapturedRow,
  CapturePartition,
  CaptureSource,
  DatasetSource,
  DocumentStore,
} from '../core/monitoring/ports.js';

const HOUR_MS = 3600_000;

function hourPath(t: Date): { date: string; hour: string } {
  const iso = t.toISOString();
  return { date: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

async function* lines(body: Readable, gzipped: boolean): AsyncIterable<string> {
  const input = gzipped ? body.pipe(createGunzip()) : body;
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) if (line.trim() !== '') yield line;
}

/** The captured rows of one capture file, a few lines at a time. */
class RowReader {
  /** The groups met in this file. */
  readonly groups = new Set<string>();

  constructor(
    private readonly partitionVersion: string,
    /** Groups read from earlier files of the partition: their rows here are copies. */
    private readonly earlier: ReadonlySet<string>,
  ) {}

  rows(text: string): CapturedRow[] {
    const out: CapturedRow[] = [];
    for (const piece of text.split('\n')) {
      if (piece.includes('\r')) {
        for (const line of piece.split('\r')) this.push(out, line);
      } else this.push(out, piece);
    }
    return out;
  }

  private push(out: CapturedRow[], line: string): void {
    let record: {
      at?: unknown;
      version?: unknown;
      instance?: unknown;
      predictionId?: unknown;
      prediction?: unknown;
      context?: unknown;
      shadow?: unknown;
      group?: unknown;
    };
    try {
      record = JSON.parse(line);
    } catch {
      return; // a blank or torn line (never written by Serval) is skipped, not fatal for the window
    }
    if (record === null || typeof record !== 'object' || typeof record.at !== 'string') return;
    if (typeof record.group === 'string') {
      if (this.earlier.has(record.group)) return;
      this.groups.add(record.group);
    }
    // Assigned field by field: object spreads per row were a visible share of a window's profile.
    const row: { -readonly [K in keyof CapturedRow]: CapturedRow[K] } = {
      at: record.at,
      version: typeof record.version === 'string' ? record.version : this.partitionVersion,
      instance: record.instance,
    };
    if (typeof record.predictionId === 'string') row.predictionId = record.predictionId;
    if (typeof record.prediction === 'string' || typeof record.prediction === 'number') {
      row.prediction = record.prediction;
    }
    if (record.context && typeof record.context === 'object' && !Array.isArray(record.context)) {
      row.context = record.context as Record<string, unknown>;
    }
    if (record.shadow === true) row.shadow = true;
    out.push(row);
  }
}

export class S3Captures implements CaptureSource, DocumentStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  static prefix(model: string): string {
    return `${ARTIFACT_PREFIXES.captures}${model}/`;
  }

  async partitions(
    model: string,
    versions: readonly string[],
    from: Date,
    to: Date,
  ): Promise<CapturePartition[]> {
    const out: CapturePartition[] = [];
    for (const version of versions) {
      const versionPrefix = `${S3Captures.prefix(model)}${version}/`;
      for (let t = Math.floor(from.getTime() / HOUR_MS) * HOUR_MS; t < to.getTime(); t += HOUR_MS) {
        const { date, hour } = hourPath(new Date(t));
        const hourPrefix = `${versionPrefix}${date}/${hour}/`;
        // Only files directly in the hour: a sketch writer may write below it (SKETCH_DIR), and
        // nothing it writes may count as captured data.
        const keys = (await this.listKeys(hourPrefix)).filter((k) => {
          const name = k.slice(hourPrefix.length);
          return !name.includes('/') && name.endsWith(CAPTURE_FILE_SUFFIX);
        });
        if (keys.length) out.push({ version, hourStart: new Date(t).toISOString(), keys });
      }
    }
    return out;
  }

  async *rows(partition: CapturePartition): AsyncIterable<CapturedRow> {
    for await (const batch of this.rowBatches(partition)) yield* batch;
  }

  /**
   * Rows per decompressed chunk. Lines are split here rather than by readline, whose per-line
   * async iteration cost more than parsing; the split is readline's (LF, CRLF or a lone CR).
   * A capture group's rows are read from the first object of the partition that holds them
   * (keys in listing order): a group stored again in a later object (functions/adapters/
   * capture-recorder.ts) is skipped there.
   */
  async *rowBatches(partition: CapturePartition): AsyncIterable<CapturedRow[]> {
    const earlier = new Set<string>();
    for (const key of partition.keys) {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const reader = new RowReader(partition.version, earlier);
      const decoder = new StringDecoder('utf8');
      let rest = '';
      for await (const chunk of (res.Body as Readable).pipe(createGunzip())) {
        const text = rest + decoder.write(chunk as Buffer);
        const end = text.lastIndexOf('\n');
        if (end < 0) {
          rest = text;
          continue;
        }
        rest = text.slice(end + 1);
        yield reader.rows(text.slice(0, end));
      }
      rest += decoder.end();
      if (rest !== '') yield reader.rows(rest);
      for (const g of reader.groups) earlier.add(g);
    }
  }

  sketchKey(model: string, partition: CapturePartition, baselineId: string): string {
    const { date, hour } = hourPath(new Date(partition.hourStart));
    return `${S3Captures.prefix(model)}${partition.version}/${date}/${hour}/${SKETCH_DIR}${baselineId}${JSON_SUFFIX}`;
  }

  /** Writes records as capture files (one per version and hour): what the capture worker does. */
  async writeCaptures(
    model: string,
    records: readonly { at: string; version: string; instance: unknown; [k: string]: unknown }[],
    fileId: string,
  ): Promise<string[]> {
    const groups = new Map<string, string[]>();
    for (const r of records) {
      const { date, hour } = hourPath(new Date(r.at));
      const key = `${S3Captures.prefix(model)}${r.version}/${date}/${hour}/${fileId}${CAPTURE_FILE_SUFFIX}`;
      const group = groups.get(key) ?? [];
      group.push(JSON.stringify(r));
      groups.set(key, group);
    }
    for (const [key, group] of groups) {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: gzipSync(`${group.join('\n')}\n`),
          ContentType: 'application/x-ndjson',
          ContentEncoding: 'gzip',
        }),
      );
    }
    return [...groups.keys()];
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: JSON.stringify(value),
        ContentType: 'application/json',
      }),
    );
  }

  async getJson(key: string): Promise<unknown | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return JSON.parse(await res.Body!.transformToString());
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** Dataset files in the same bucket. */
  datasets(): DatasetSource {
    return { rows: (uri) => this.datasetRows(uri) };
  }

  /** `s3://<bucket>/<key>` (the deployment's bucket): CSV with a header row, or JSON lines. */
  private async *datasetRows(uri: string): AsyncIterable<Record<string, unknown>> {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
    if (!m) throw validationFailed('datasetUri must be s3://<bucket>/<key>', { field: 'datasetUri' });
    const [, bucket, key] = m as unknown as [string, string, string];
    if (bucket !== this.bucket) {
      throw validationFailed(`datasets are read from the deployment's bucket ${this.bucket}`, {
        field: 'datasetUri',
      });
    }
    // Reading is granted under datasets/ only: a baseline cannot be built from an artifact or
    // from captured predictions, whoever asks.
    if (!key.startsWith(ARTIFACT_PREFIXES.datasets)) {
      throw validationFailed(`datasets are read from ${ARTIFACT_PREFIXES.datasets} in ${this.bucket}`, {
        field: 'datasetUri',
      });
    }
    let body: Readable;
    try {
      body = (await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as Readable;
    } catch (err) {
      if (isMissing(err)) throw validationFailed(`no dataset at ${uri}`, { field: 'datasetUri' });
      throw err;
    }
    const gz = key.endsWith('.gz');
    const base = gz ? key.slice(0, -3) : key;
    if (base.endsWith('.csv')) {
      let header: string[] | undefined;
      for await (const line of lines(body, gz)) {
        const cells = parseCsvLine(line);
        if (!header) {
          header = cells;
          continue;
        }
        const row: Record<string, unknown> = {};
        header.forEach((h, i) => {
          row[h] = csvValue(cells[i]);
        });
        yield row;
      }
    } else if (base.endsWith('.jsonl') || base.endsWith('.ndjson') || base.endsWith('.json')) {
      let n = 0;
      for await (const line of lines(body, gz)) {
        n++;
        let row: unknown;
        try {
          row = JSON.parse(line);
        } catch {
          throw validationFailed(`line ${n} of ${uri} is not JSON`, { field: 'datasetUri', line: n });
        }
        if (typeof row !== 'object' || row === null || Array.isArray(row)) {
          throw validationFailed(`line ${n} of ${uri} is not a JSON object`, {
            field: 'datasetUri',
            line: n,
          });
        }
        yield row as Record<string, unknown>;
      }
    } else {
      throw validationFailed('datasets are .csv or .jsonl files (optionally .gz)', {
        field: 'datasetUri',
      });
    }
  }

  private async listKeys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) if (o.Key) out.push(o.Key);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }
}

/** One CSV record on one line (RFC 4180 quoting; embedded newlines are not supported). */
export function parseCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  cells.push(cell);
  return cells;
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function csvValue(cell: string | undefined): string | number | null {
  if (cell === undefined || cell === '') return null;
  return NUMBER.test(cell.trim()) ? Number(cell) : cell;
}
