/**
 * S3Captures reads a capture file in batches, splitting lines itself (not readline): lines may
 * end in LF, CRLF or a lone CR, a chunk boundary may fall inside a line or inside a multi-byte
 * character, and blank, torn or foreign lines are skipped as before.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3Captures } from '../../functions/adapters/s3-captures.js';

function captures(files: Record<string, Buffer>, chunkBytes: number): S3Captures {
  const s3 = {
    send: async (command: { input: { Key: string } }) => {
      const gz = files[command.input.Key]!;
      const chunks: Buffer[] = [];
      for (let i = 0; i < gz.length; i += chunkBytes) chunks.push(gz.subarray(i, i + chunkBytes));
      return { Body: Readable.from(chunks) };
    },
  } as unknown as S3Client;
  return new S3Captures(s3, 'bucket');
}

const row = (i: number) => ({
  at: `2026-03-01T10:00:${String(i % 60).padStart(2, '0')}.000Z`,
  version: '1.0.0',
  instance: [i, `é€😀${i}`],
  predictionId: `p${i}`,
  prediction: i % 2 === 0 ? 'yes' : 1,
  context: { group: `g${i % 3}` },
  ...(i % 7 === 0 ? { shadow: true } : {}),
});

describe('S3Captures.rows', () => {
  it('reads every row of every key, whatever the line endings and chunk boundaries', async () => {
    const a = Array.from({ length: 300 }, (_, i) => row(i));
    const b = Array.from({ length: 5 }, (_, i) => row(1000 + i));
    const endings = ['\n', '\r\n', '\r'];
    const text =
      a.map((r, i) => JSON.stringify(r) + endings[i % 3]).join('') +
      '\n   \n{"torn": \nnull\n42\n{"at": 5}\n';
    const files = {
      a: gzipSync(text),
      // No newline at the end of the last line.
      b: gzipSync(b.map((r) => JSON.stringify(r)).join('\n')),
    };
    for (const chunkBytes of [1, 7, 64, 1 << 16]) {
      const source = captures(files, chunkBytes);
      const got = [];
      for await (const r of source.rows({
        version: '9.9.9',
        hourStart: '2026-03-01T10:00:00.000Z',
        keys: ['a', 'b'],
      }))
        got.push(r);
      expect(got).toEqual([...a, ...b]);
    }
  });

  it('takes the partition version for rows without one, and drops what is not a row field', async () => {
    const text = `${JSON.stringify({ at: '2026-03-01T10:00:00.000Z', instance: [1], prediction: {}, context: [1], extra: 1 })}\n`;
    const source = captures({ k: gzipSync(text) }, 3);
    const got = [];
    for await (const r of source.rows({
      version: '2.0.0',
      hourStart: '2026-03-01T10:00:00.000Z',
      keys: ['k'],
    }))
      got.push(r);
    expect(got).toEqual([{ at: '2026-03-01T10:00:00.000Z', version: '2.0.0', instance: [1] }]);
  });

  it("reads a capture group's rows from the first object of the partition that holds them", async () => {
    const lines = (group: string, ids: number[]) =>
      `${ids.map((i) => JSON.stringify({ ...row(i), group })).join('\n')}\n`;
    const files = {
      a: gzipSync(lines('g1', [1, 2]) + lines('g2', [3])),
      // g1 stored again beside g3 (a body whose count failed, retried with others).
      b: gzipSync(lines('g3', [4]) + lines('g1', [1, 2])),
      // Rows without a group (written before groups were named) are all read, as they were.
      c: gzipSync(`${JSON.stringify(row(5))}\n${JSON.stringify(row(5))}\n`),
    };
    const got: string[] = [];
    const partition = { version: '1.0.0', hourStart: '2026-03-01T10:00:00.000Z', keys: ['a', 'b', 'c'] };
    for await (const r of captures(files, 5).rows(partition)) got.push(r.predictionId!);
    expect(got).toEqual(['p1', 'p2', 'p3', 'p4', 'p5', 'p5']);
  });
});
