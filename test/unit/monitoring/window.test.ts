/**
 * The window accumulator: raw columns up to the exact-row limit, sketches on the baseline's
 * layouts beyond it with memory that does not grow, and partition sketches that merge into the
 * same result as one accumulator over all the rows.
 */
import { describe, expect, it } from 'vitest';
import { type BaselineProfile, buildBaseline } from '../../../functions/core/monitoring/baseline.js';
import {
  parseWindowSketch,
  SKETCH_CHUNK_ROWS,
  WindowAccumulator,
  type WindowSketch,
} from '../../../functions/core/monitoring/window.js';
import {
  categoricalSketch,
  type NumericSketch,
  numericSketch,
} from '../../../functions/core/stats/sketch.js';
import { domainError } from '../../support/expect-code.js';
import { expectSameNumericSketch } from '../../support/expect-sketch.js';
import { generator } from '../../support/sketch-scenarios.js';

const base = { version: '1.0.0', createdAt: '2024-05-01T00:00:00.000Z' };

function makeRows(n: number, seed: number, shift = 0) {
  const g = generator(seed);
  return Array.from({ length: n }, (_, i) => ({
    x: i % 50 === 0 ? null : g.normal() + shift,
    k: g.uniform() < 0.3 + shift / 10 ? 'a' : g.uniform() < 0.5 ? 'b' : 'c',
  }));
}

const baseline: BaselineProfile = buildBaseline({ ...base, rows: makeRows(5000, 1) });
const xEdges = (baseline.features[0]!.sketch as NumericSketch).edges;

function numeric(s: WindowSketch, name = 'x'): NumericSketch {
  const f = s.features[name];
  if (f?.kind !== 'numeric') throw new Error('not numeric');
  return f;
}

function expectSameSketch(a: WindowSketch, b: WindowSketch): void {
  expect(a.rows).toBe(b.rows);
  expect(a.layoutId).toBe(b.layoutId);
  expectSameNumericSketch(numeric(a), numeric(b));
  expect(a.features.k).toEqual(b.features.k);
}

describe('exact and sketch mode', () => {
  it('keeps raw columns up to the limit and switches on the row after it', () => {
    const rows = makeRows(1001, 2);
    const w = new WindowAccumulator(baseline, 1000);
    rows.slice(0, 1000).forEach((r) => {
      w.add(r);
    });
    expect([w.mode, w.rows, w.bufferedRows]).toEqual(['exact', 1000, 1000]);
    const cols = w.columns();
    expect(cols.get('x')!.length).toBe(1000);
    expect(Number.isNaN(cols.get('x')![0] as number)).toBe(true); // row 0 has x = null
    expect(cols.get('k')!.slice(0, 3)).toEqual(rows.slice(0, 3).map((r) => r.k));

    w.add(rows[1000]!);
    expect([w.mode, w.rows]).toEqual(['sketch', 1001]);
    expect(w.bufferedRows).toBeLessThan(SKETCH_CHUNK_ROWS);
    expect(() => w.columns()).toThrow(domainError('validation_failed'));
    // The sketch is the stats engine's sketch of all rows on the baseline's layout.
    const s = w.toSketch();
    const direct = numericSketch(
      rows.map((r) => r.x),
      xEdges,
    );
    expect(numeric(s).counts).toEqual(direct.counts);
    expect(numeric(s).nulls).toBe(direct.nulls);
    expect(s.features.k).toEqual(categoricalSketch(rows.map((r) => r.k)));
  });

  it('toSketch in exact mode leaves the window exact', () => {
    const w = new WindowAccumulator(baseline, 100);
    makeRows(50, 3).forEach((r) => {
      w.add(r);
    });
    expect(numeric(w.toSketch()).n + numeric(w.toSketch()).nulls).toBe(50);
    expect(w.mode).toBe('exact');
  });

  it('keeps memory bounded over 2,000,000 rows: the same sketch size, a bounded buffer', () => {
    const w = new WindowAccumulator(baseline, 10_000);
    const g = generator(9);
    const kinds = ['a', 'b', 'c'];
    const row = { x: 0 as number | null, k: 'a' };
    let at100k: { bins: number; categories: number; bytes: number } | undefined;
    let maxBuffered = 0;
    for (let i = 0; i < 2_000_000; i++) {
      row.x = g.normal();
      row.k = kinds[i % 3]!;
      w.add(row);
      if (w.mode === 'sketch') maxBuffered = Math.max(maxBuffered, w.bufferedRows);
      if (i + 1 === 100_000) {
        const s = w.toSketch();
        at100k = {
          bins: numeric(s).counts.length,
          categories: Object.keys(s.features.k!.counts).length,
          bytes: JSON.stringify(s).length,
        };
      }
    }
    const s = w.toSketch();
    expect(w.rows).toBe(2_000_000);
    expect(numeric(s).n).toBe(2_000_000);
    expect(numeric(s).counts.length).toBe(at100k!.bins);
    expect(numeric(s).counts.length).toBe(xEdges.length + 1);
    expect(Object.keys(s.features.k!.counts)).toHaveLength(at100k!.categories);
    // Only the digits of the counts grow (×20 rows: about one more digit each).
    expect(JSON.stringify(s).length).toBeLessThan(at100k!.bytes * 1.25);
    expect(maxBuffered).toBeLessThan(SKETCH_CHUNK_ROWS);
  });
});

describe('rows', () => {
  it('ignores unknown features and treats missing ones as null', () => {
    const w = new WindowAccumulator(baseline, 100);
    w.add({ x: 1.5, unknown: 'zzz' });
    w.add({ k: 'b' });
    const cols = w.columns();
    expect([...(cols.get('x') as Float64Array)].map((v) => (Number.isNaN(v) ? null : v))).toEqual([
      1.5,
      null,
    ]);
    expect(cols.get('k')).toEqual([null, 'b']);
    expect([...cols.keys()]).toEqual(['x', 'k']);
  });

  it('reads arrays only when the baseline has the schema order', () => {
    expect(() => new WindowAccumulator(baseline, 100).add([1, 'a'])).toThrow(/input schema/);
    const schemaBaseline = buildBaseline({
      ...base,
      inputSchema: {
        features: [
          { name: 'x', type: 'float' },
          { name: 'k', type: 'category', categories: ['a', 'b', 'c'] },
        ],
      },
      rows: makeRows(200, 4),
    });
    const w = new WindowAccumulator(schemaBaseline, 100);
    w.add([2.5, 'c']);
    w.add([null, 1]); // a category index reads as its name
    expect(w.columns().get('k')).toEqual(['c', 'b']);
    expect(() => w.add([1])).toThrow(/2 features/);
  });

  it('leaves the window unchanged when a row is rejected', () => {
    const w = new WindowAccumulator(baseline, 100);
    w.add({ x: 1, k: 'a' });
    expect(() => w.add({ x: 'NaN?', k: 'b' })).toThrow(domainError('validation_failed'));
    expect(w.rows).toBe(1);
    expect(w.columns().get('k')).toEqual(['a']);
  });
});

describe('partition sketches', () => {
  const rows = makeRows(60_000, 5, 0.3);
  const parts = [rows.slice(0, 25_000), rows.slice(25_000, 25_700), rows.slice(25_700)];

  it('merge into the same sketch as one accumulator over every row', () => {
    const whole = new WindowAccumulator(baseline, 50_000);
    rows.forEach((r) => {
      whole.add(r);
    });
    // Each partition as the capture pipeline would store it: sketched, as JSON.
    const stored = parts.map((p, i) => {
      const w = new WindowAccumulator(baseline, i === 1 ? 50_000 : 1000);
      p.forEach((r) => {
        w.add(r);
      });
      return JSON.stringify(w.toSketch());
    });
    const merged = new WindowAccumulator(baseline, 50_000);
    for (const s of stored) merged.addSketch(parseWindowSketch(s));
    expect(merged.mode).toBe('sketch');
    expectSameSketch(merged.toSketch(), whole.toSketch());
  });

  it('mix with raw rows added before and after', () => {
    const whole = new WindowAccumulator(baseline, 0);
    rows.forEach((r) => {
      whole.add(r);
    });
    const partial = new WindowAccumulator(baseline, 1000);
    parts[1]!.forEach((r) => {
      partial.add(r);
    });
    const w = new WindowAccumulator(baseline, 50_000);
    parts[0]!.forEach((r) => {
      w.add(r);
    });
    expect(w.mode).toBe('exact');
    w.addSketch(partial.toSketch());
    expect(w.mode).toBe('sketch');
    parts[2]!.forEach((r) => {
      w.add(r);
    });
    expectSameSketch(w.toSketch(), whole.toSketch());
  });

  it('refuse sketches of another baseline and malformed stored sketches', () => {
    const other = buildBaseline({ ...base, rows: makeRows(5000, 77) });
    const foreign = new WindowAccumulator(other, 10);
    foreign.add({ x: 1, k: 'a' });
    expect(() => new WindowAccumulator(baseline, 10).addSketch(foreign.toSketch())).toThrow(
      /another baseline/,
    );

    const w = new WindowAccumulator(baseline, 10);
    makeRows(20, 6).forEach((r) => {
      w.add(r);
    });
    const json = JSON.parse(JSON.stringify(w.toSketch()));
    expect(parseWindowSketch(json)).toEqual(w.toSketch());
    expect(() => parseWindowSketch({ ...json, rows: 21 })).toThrow(domainError('integrity_failed'));
    expect(() => parseWindowSketch({ ...json, layoutId: 'x' })).toThrow(domainError('integrity_failed'));
    const bad = JSON.parse(JSON.stringify(json));
    bad.features.x.counts[3] += 1;
    expect(() => parseWindowSketch(bad)).toThrow(/invalid window sketch/);
    expect(() => parseWindowSketch('not json')).toThrow(domainError('integrity_failed'));
  });
});
