/**
 * A drift check decides which captured rows are in its window from each row's `at`. It reads
 * `at` without a Date.parse per row (a visible share of a 10M-row first check), and must still
 * give every row the instant Date.parse gives it: at == from is in, at == to is out, and a
 * timestamp Date.parse rejects is out.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CapturedAtReader } from '../../../functions/core/monitoring/captured-at.js';
import type { CapturedRow, CapturePartition } from '../../../functions/core/monitoring/ports.js';
import { MonitoringService } from '../../../functions/core/monitoring/service.js';
import { hourSketchKey, MemoryMonitoringStore, memoryDocs } from '../../support/memory-monitoring.js';
import { CountingIds, oneVersionRegistry, SteppingClock } from '../../support/memory-stores.js';

const HOUR = 3600_000;
const START = Date.parse('2026-03-01T06:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

afterEach(() => vi.restoreAllMocks());

describe('CapturedAtReader', () => {
  it('reads every timestamp as Date.parse does, including the ones Date.parse bends or rejects', () => {
    const cases = [
      '2026-03-01T06:00:00.000Z',
      '2024-02-29T23:59:59.999Z',
      '2024-02-30T10:00:00.000Z', // Date.parse reads it as March 1st
      '2023-02-29T10:00:00.000Z',
      '2024-04-31T00:00:00.001Z',
      '2024-13-01T10:00:00.000Z', // NaN
      '2024-00-01T10:00:00.000Z',
      '2024-01-00T10:00:00.000Z',
      '2024-01-31T24:00:00.000Z', // midnight of the next day
      '2024-01-01T23:60:00.000Z',
      '2024-01-01T23:59:60.000Z',
      '2024-01-01t10:00:00.000z',
      '2024-01-01T10:00:00Z',
      '2024-01-01T10:00:00.000+02:00',
      '2024-01-01T10:00:00.0000Z',
      '2024-01-01',
      'Jan 1 2024T10:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
      'not a date',
      '',
    ];
    const reader = new CapturedAtReader();
    for (const at of cases) expect([at, reader.ms(at)]).toEqual([at, Date.parse(at)]);
    // Random edits of a canonical timestamp, read one after another (the day cache changes too).
    let s = 7;
    const rnd = (n: number) => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return Math.floor((s / 2147483648) * n);
    };
    const alphabet = '0123456789-:.TZtz +';
    for (let i = 0; i < 50_000; i++) {
      const chars = [...'2024-02-29T13:45:59.123Z'];
      for (let k = rnd(3); k >= 0; k--) chars[rnd(chars.length)] = alphabet[rnd(alphabet.length)]!;
      const at = chars.join('');
      const got = reader.ms(at);
      if (!Object.is(got, Date.parse(at))) expect([at, got]).toEqual([at, Date.parse(at)]);
    }
  });
});

describe('the window of a drift check', () => {
  it('keeps from ≤ at < to by the instant Date.parse reads, without a Date.parse per row', async () => {
    const registry = await oneVersionRegistry({ features: [{ name: 'x', type: 'float' }] });
    const partition: CapturePartition = { version: '1.0.0', hourStart: iso(START), keys: ['h0'] };
    const inside = [
      iso(START), // at == from: in
      iso(START + HOUR - 1),
      '2026-03-01T06:30:00Z', // another ISO form, read by Date.parse
      '2026-03-01t06:30:00.000z',
      ...Array.from({ length: 2000 }, (_, i) => iso(START + i * 1000)),
    ];
    const outside = [
      iso(START - 1),
      iso(START + HOUR), // at == to: out
      '2026-03-01T06:60:00.000Z', // Date.parse rejects it
      'not a date',
      '2026-02-30T06:00:00.000Z', // March 2nd by Date.parse, after the window
    ];
    const rows: CapturedRow[] = [...inside, ...outside].map((at, i) => ({
      at,
      version: '1.0.0',
      instance: { x: i % 7 },
    }));
    const store = new MemoryMonitoringStore();
    const service = new MonitoringService({
      store,
      docs: memoryDocs(),
      captures: {
        partitions: async () => [partition],
        rowBatches: async function* () {
          yield rows;
        },
        rows: async function* () {
          yield* rows;
        },
        sketchKey: hourSketchKey,
      },
      datasets: { rows: async function* () {} },
      registry,
      clock: new SteppingClock(START + 3 * HOUR),
      ids: new CountingIds(),
    });
    const principal = { id: 'p', name: 'p', role: 'admin' as const };
    await service.putBaseline(principal, 'm', {
      rows: Array.from({ length: 200 }, (_, i) => ({ x: i % 7 })),
    });

    const parse = vi.spyOn(Date, 'parse');
    const report = await service.check('m', { from: iso(START), to: iso(START + HOUR) }, 'manual');
    expect(report.rows).toBe(inside.length);
    // A handful of calls (each day once, each odd timestamp once), not one per row.
    expect(parse.mock.calls.length).toBeLessThan(50);
  });
});
