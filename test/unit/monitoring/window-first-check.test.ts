/**
 * A first check over a window past the exact limit reads each captured row once into one sketch:
 * the hour being summarised for later checks, which then joins the window as a later check's
 * stored summary would. It used to be sketched twice (window and hour) and its quality counted
 * twice, a third of the first check's profile over 10M rows (docs/performance.md).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_POLICY } from '../../../functions/core/monitoring/policy.js';
import type { CapturedRow, CapturePartition } from '../../../functions/core/monitoring/ports.js';
import { MonitoringService } from '../../../functions/core/monitoring/service.js';
import { WindowAccumulator } from '../../../functions/core/monitoring/window.js';
import { hourSketchKey, MemoryMonitoringStore, memoryDocs } from '../../support/memory-monitoring.js';
import { CountingIds, oneVersionRegistry, SteppingClock } from '../../support/memory-stores.js';
import { lcgNormals } from '../../support/random.js';

const HOUR = 3600_000;
const START = Date.parse('2026-03-01T06:00:00Z');
const HOURS = 4;
const PER_HOUR = 600;
const LIMIT = 300;

async function setup() {
  const registry = await oneVersionRegistry({
    features: [
      { name: 'x', type: 'float' },
      { name: 'y', type: 'float' },
    ],
  });
  const partitions: CapturePartition[] = Array.from({ length: HOURS }, (_, h) => ({
    version: '1.0.0',
    hourStart: new Date(START + h * HOUR).toISOString(),
    keys: [`h${h}`],
  }));
  const xs = lcgNormals(HOURS * PER_HOUR, 0.4, 11);
  const ys = lcgNormals(HOURS * PER_HOUR, 0, 12);
  const rows = (p: CapturePartition): CapturedRow[] => {
    const h = partitions.indexOf(p);
    return Array.from({ length: PER_HOUR }, (_, i) => ({
      at: new Date(START + h * HOUR + i * 1000).toISOString(),
      version: '1.0.0',
      // Every 50th row has a wrong-typed value: quality counts it, drift reads it as missing.
      instance: [i % 50 === 0 ? 'oops' : xs[h * PER_HOUR + i]!, ys[h * PER_HOUR + i]!],
    }));
  };
  const store = new MemoryMonitoringStore();
  const service = new MonitoringService({
    store,
    docs: memoryDocs(),
    captures: {
      partitions: async () => partitions,
      rows: async function* (p) {
        yield* rows(p);
      },
      sketchKey: hourSketchKey,
    },
    datasets: { rows: async function* () {} },
    registry,
    clock: new SteppingClock(Date.parse('2026-03-01T12:00:00Z')),
    ids: new CountingIds(),
  });
  const principal = { id: 'p', name: 'p', role: 'admin' as const };
  await service.putBaseline(principal, 'm', {
    rows: lcgNormals(2000, 0, 3).map((x, i) => [x, lcgNormals(1, 0, i + 5)[0]!]),
  });
  store.policies.set('m', { ...DEFAULT_POLICY, exactRowLimit: LIMIT });
  return { service };
}

const range = {
  from: new Date(START).toISOString(),
  to: new Date(START + HOURS * HOUR).toISOString(),
};

afterEach(() => vi.restoreAllMocks());

describe('first check of a large window', () => {
  it('adds each row to one accumulator once the window is sketched, with the same report as the next check', async () => {
    const { service } = await setup();
    const add = vi.spyOn(WindowAccumulator.prototype, 'add');
    const first = await service.check('m', range, 'manual');
    const rowsAdded = add.mock.calls.length;
    add.mockClear();
    const again = await service.check('m', range, 'manual');
    expect(first.mode).toBe('sketch');
    expect(first.rows).toBe(HOURS * PER_HOUR);
    // Rows reach both the window and its hour only until the window leaves exact mode, which
    // happens within the first hour here: that hour twice, every other row once.
    expect(rowsAdded).toBe(HOURS * PER_HOUR + PER_HOUR);
    // The next check reads the stored summaries only, and reports the same.
    expect(add).not.toHaveBeenCalled();
    expect(again.rows).toBe(first.rows);
    // Equal up to the order of floating-point sums (a sketch's sums merge per chunk or per hour).
    const rounded = (r: unknown) =>
      JSON.parse(
        JSON.stringify(r, (k, v) =>
          k === 'checkedAt' ? undefined : typeof v === 'number' ? Number(v.toPrecision(12)) : v,
        ),
      );
    expect(rounded(again.result)).toEqual(rounded(first.result));
  });
});
