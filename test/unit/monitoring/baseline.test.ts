/**
 * Baseline profiles: summaries against hand-worked numbers (numpy's quantiles of a small list),
 * kinds from the schema or inferred, row shapes, the reservoir sample, and the stored form.
 */
import { describe, expect, it } from 'vitest';
import type { DomainError } from '../../../functions/core/kernel/errors.js';
import type { InputSchema } from '../../../functions/core/kernel/model-io.js';
import {
  type BaselineProfile,
  buildBaseline,
  type CategoricalFeatureProfile,
  MAX_INFERRED_FEATURES,
  type NumericalFeatureProfile,
  referenceSample,
} from '../../../functions/core/monitoring/baseline.js';
import { parseBaselineProfile } from '../../../functions/core/monitoring/profile-schema.js';
import { decodeFloat64, Reservoir } from '../../../functions/core/monitoring/sampling.js';
import { domainError } from '../../support/expect-code.js';

const base = { version: '1.0.0', createdAt: '2024-05-01T00:00:00.000Z' };

function numerical(p: BaselineProfile, name: string): NumericalFeatureProfile {
  const f = p.features.find((x) => x.name === name);
  if (f?.kind !== 'numerical') throw new Error(`${name} is not numerical`);
  return f;
}

function categorical(p: BaselineProfile, name: string): CategoricalFeatureProfile {
  const f = p.features.find((x) => x.name === name);
  if (f?.kind !== 'categorical') throw new Error(`${name} is not categorical`);
  return f;
}

describe('summaries', () => {
  // [2, 4, 4, 4, 5, 5, 7, 9]: mean 5, population std 2; numpy.quantile (linear) at
  // .01 .05 .25 .5 .75 .95 .99 = 2.14 2.7 4 4.5 5.5 8.3 8.86 (v = 7p between order statistics).
  const xs = [4, null, 2, 9, 4, 5, 4, 7, 5];
  const colours = ['red', 'blue', 'red', null, 'green', 'red', 'blue', 'red', 'red'];
  const profile = buildBaseline({ ...base, rows: xs.map((x, i) => ({ x, colour: colours[i] })) });

  it('gives count, nulls, mean, population std, min, max and numpy quantiles', () => {
    const s = numerical(profile, 'x').summary;
    expect(s).toMatchObject({ count: 8, nulls: 1, distinct: 5, min: 2, max: 9 });
    expect(s.mean).toBeCloseTo(5, 14);
    expect(s.std).toBeCloseTo(2, 14);
    const q = s.quantiles!;
    const expected = { p01: 2.14, p05: 2.7, p25: 4, p50: 4.5, p75: 5.5, p95: 8.3, p99: 8.86 };
    for (const [k, v] of Object.entries(expected)) expect(q[k as keyof typeof q]).toBeCloseTo(v, 12);
  });

  it('gives categorical counts, most frequent first', () => {
    const s = categorical(profile, 'colour').summary;
    expect(s).toEqual({
      count: 8,
      nulls: 1,
      distinct: 3,
      top: [
        { value: 'red', count: 5 },
        { value: 'blue', count: 2 },
        { value: 'green', count: 1 },
      ],
    });
    expect(categorical(profile, 'colour').sketch.counts).toEqual({ red: 5, blue: 2, green: 1 });
  });

  it('keeps the sketch of the whole reference on its layout', () => {
    const f = numerical(profile, 'x');
    // Five distinct values: one edge each plus one just above the maximum.
    expect(f.sketch!.edges.slice(0, 5)).toEqual([2, 4, 5, 7, 9]);
    expect(f.sketch!.edges).toHaveLength(6);
    expect(f.sketch!.counts).toEqual([0, 1, 3, 2, 1, 1, 0]);
    expect(profile.rows).toBe(9);
  });

  it('lists at most 20 top categories but counts them all', () => {
    const rows = Array.from({ length: 300 }, (_, i) => ({ c: `k${i % 30}` }));
    const f = categorical(buildBaseline({ ...base, rows }), 'c');
    expect(f.summary.distinct).toBe(30);
    expect(f.summary.top).toHaveLength(20);
    expect(Object.keys(f.sketch.counts)).toHaveLength(30);
  });

  it('profiles an all-null feature without a layout', () => {
    const p = buildBaseline({ ...base, rows: [{ a: 1, b: null }, { a: 2 }] });
    const b = numerical(p, 'b');
    expect(b.summary).toMatchObject({ count: 0, nulls: 2, mean: null, quantiles: null });
    expect(b.sketch).toBeNull();
  });
});

describe('kinds and row shapes', () => {
  const schema: InputSchema = {
    features: [
      { name: 'age', type: 'int' },
      { name: 'plan', type: 'category', categories: ['free', 'pro', 'team'] },
      { name: 'score', type: 'float' },
    ],
  };

  it('takes kinds from the schema and reads a category sent as its index as its name', () => {
    const p = buildBaseline({
      ...base,
      inputSchema: schema,
      rows: [
        { age: 30, plan: 'pro', score: 0.5, extra: 'ignored' },
        { age: 40, plan: 1, score: 0.25 },
        { age: 50, plan: 0, score: null },
      ],
    });
    expect(p.features.map((f) => [f.name, f.kind])).toEqual([
      ['age', 'numerical'],
      ['plan', 'categorical'],
      ['score', 'numerical'],
    ]);
    expect(categorical(p, 'plan').sketch.counts).toEqual({ pro: 2, free: 1 });
    expect(p.featureOrder).toBe('schema');
  });

  it('reads arrays in schema order exactly like objects', () => {
    const objects = [
      { age: 30, plan: 'pro', score: 0.5 },
      { age: 41, plan: 'team', score: -1.5 },
    ];
    const arrays = objects.map((o) => [o.age, o.plan, o.score]);
    const a = buildBaseline({ ...base, inputSchema: schema, rows: objects });
    const b = buildBaseline({ ...base, inputSchema: schema, rows: arrays });
    expect(b).toEqual(a);
  });

  it('infers kinds without a schema: numerical only when every value is a number', () => {
    const p = buildBaseline({
      ...base,
      rows: [
        { n: 1, s: 'a', mixed: 1, flag: true },
        { n: 2.5, s: 'b', mixed: 'x', flag: false },
        { n: null, later: 3 },
      ],
    });
    expect(p.features.map((f) => [f.name, f.kind])).toEqual([
      ['n', 'numerical'],
      ['s', 'categorical'],
      ['mixed', 'categorical'],
      ['flag', 'categorical'],
      ['later', 'numerical'],
    ]);
    // A key first seen late is null in the rows before it.
    expect(numerical(p, 'later').summary).toMatchObject({ count: 1, nulls: 2 });
    expect(p.featureOrder).toBe('inferred');
  });

  it('refuses more than MAX_INFERRED_FEATURES distinct keys without a schema (issue 18: 8,000 one-key rows)', () => {
    const hostile = Array.from({ length: 8_000 }, (_, i) => ({ [`k${i}`]: 1 }));
    let err: unknown;
    try {
      buildBaseline({ ...base, rows: hostile });
    } catch (e) {
      err = e;
    }
    expect(err).toEqual(domainError('validation_failed'));
    expect((err as DomainError).details).toEqual({
      row: MAX_INFERRED_FEATURES,
      limit: MAX_INFERRED_FEATURES,
    });
    expect((err as DomainError).message).toMatch(/at most 1000 features/);
    // At the limit, every key is a feature, null in every row but its own.
    const atLimit = buildBaseline({ ...base, rows: hostile.slice(0, MAX_INFERRED_FEATURES) });
    expect(atLimit.features).toHaveLength(MAX_INFERRED_FEATURES);
    expect(numerical(atLimit, 'k999').summary).toMatchObject({ count: 1, nulls: 999, mean: 1 });
  });

  it('names the row of a bad value in a key first seen late', () => {
    expect(() => buildBaseline({ ...base, rows: [{ a: 1 }, { a: 2 }, { a: 3, b: Infinity }] })).toThrow(
      /row 2: feature "b"/,
    );
  });

  it('rejects arrays without a schema, arrays of the wrong length and non-finite numbers', () => {
    expect(() => buildBaseline({ ...base, rows: [[1, 2]] })).toThrow(domainError('validation_failed'));
    expect(() => buildBaseline({ ...base, rows: [[1, 2]] })).toThrow(/input schema/);
    expect(() => buildBaseline({ ...base, inputSchema: schema, rows: [[1, 'pro']] })).toThrow(/3 features/);
    expect(() =>
      buildBaseline({ ...base, inputSchema: schema, rows: [{ age: Infinity, plan: 'pro', score: 1 }] }),
    ).toThrow(domainError('validation_failed'));
    expect(() => buildBaseline({ ...base, inputSchema: schema, rows: [{ age: '3', plan: 'pro' }] })).toThrow(
      /"age" must be a finite number/,
    );
    expect(() => buildBaseline({ ...base, rows: [] })).toThrow(domainError('validation_failed'));
  });
});

describe('reference sample', () => {
  const rows = Array.from({ length: 10_000 }, (_, i) => ({ i, c: `k${i % 7}` }));

  it('keeps every value, in row order, when the reference fits', () => {
    const p = buildBaseline({ ...base, rows: rows.slice(0, 500), maxSample: 500 });
    expect([...(referenceSample(numerical(p, 'i')) as Float64Array)]).toEqual(
      rows.slice(0, 500).map((r) => r.i),
    );
    expect(referenceSample(categorical(p, 'c'))).toEqual(rows.slice(0, 500).map((r) => r.c));
    expect(p.sample).toMatchObject({ rows: 500, maxSample: 500 });
  });

  it('draws maxSample distinct rows, the same ones for the same seed, others for another seed', () => {
    const a = buildBaseline({ ...base, rows, maxSample: 1000 });
    const b = buildBaseline({ ...base, rows, maxSample: 1000 });
    const c = buildBaseline({ ...base, rows, maxSample: 1000, seed: 7 });
    const ia = [...decodeFloat64(numerical(a, 'i').sample)];
    expect(ia).toHaveLength(1000);
    expect(new Set(ia).size).toBe(1000);
    expect(ia).toEqual([...decodeFloat64(numerical(b, 'i').sample)]);
    expect(ia).not.toEqual([...decodeFloat64(numerical(c, 'i').sample)]);
    // Rows are sampled whole: the categorical sample is of the same rows.
    expect(referenceSample(categorical(a, 'c'))).toEqual(ia.map((i) => `k${i % 7}`));
    // Summaries and sketches still describe all 10,000 rows.
    expect(numerical(a, 'i').summary.count).toBe(10_000);
    expect(numerical(a, 'i').sketch!.n).toBe(10_000);
  });

  it('includes every row with the same probability k/N', () => {
    // 100 rows, k = 10, 4000 seeds: each row is expected 400 times, sd = √(4000·0.1·0.9) ≈ 19.
    const hits = new Array<number>(100).fill(0);
    for (let seed = 1; seed <= 4000; seed++) {
      const r = new Reservoir(10, seed);
      for (let i = 0; i < 100; i++) r.offer();
      for (const i of r.indices()) hits[i]!++;
    }
    expect(hits.reduce((a, b) => a + b, 0)).toBe(40_000);
    expect(Math.min(...hits)).toBeGreaterThan(400 - 6 * 19);
    expect(Math.max(...hits)).toBeLessThan(400 + 6 * 19);
    // Early and late rows alike (Algorithm R's classic bug is favouring the first k).
    const first = hits.slice(0, 10).reduce((a, b) => a + b, 0);
    expect(Math.abs(first - 4000)).toBeLessThan(6 * Math.sqrt(4000));
  });

  it('stores numbers exactly and compactly', () => {
    const values = [0.1, -1e-300, 123456789.12345679, 2 ** 53, Math.PI, -0.5];
    const p = buildBaseline({ ...base, rows: values.map((v) => ({ v })) });
    const f = numerical(p, 'v');
    expect([...decodeFloat64(f.sample)]).toEqual(values);
    expect(f.sample.length).toBeLessThanOrEqual(Math.ceil((values.length * 8) / 3) * 4);
  });
});

describe('stored form', () => {
  const rows = Array.from({ length: 3000 }, (_, i) => ({
    x: Math.sin(i) * 10,
    k: i % 3 === 0 ? 'a' : 'b',
    z: i % 5,
  }));
  const profile = buildBaseline({ ...base, rows, maxSample: 2000 });

  it('round-trips through JSON', () => {
    expect(parseBaselineProfile(JSON.stringify(profile))).toEqual(profile);
    expect(parseBaselineProfile(JSON.parse(JSON.stringify(profile)))).toEqual(profile);
  });

  it('rejects tampered or truncated profiles as integrity failures', () => {
    const json = JSON.parse(JSON.stringify(profile));
    const edges = JSON.parse(JSON.stringify(json));
    edges.features[0].sketch.edges[3] += 1e-9;
    expect(() => parseBaselineProfile(edges)).toThrow(domainError('integrity_failed'));
    const kind = JSON.parse(JSON.stringify(json));
    kind.features[1].kind = 'numerical';
    expect(() => parseBaselineProfile(kind)).toThrow(domainError('integrity_failed'));
    const sample = JSON.parse(JSON.stringify(json));
    sample.features[0].sample = 'AAAA';
    expect(() => parseBaselineProfile(sample)).toThrow(/whole float64/);
    expect(() => parseBaselineProfile('{"profileVersion": 1')).toThrow(domainError('integrity_failed'));
    expect(() => parseBaselineProfile({ ...json, extra: 1 })).toThrow(domainError('integrity_failed'));
  });

  it('stays compact: the numeric sketch is bounded by its bins, the sample ~11 characters a value', () => {
    const big = buildBaseline({
      ...base,
      rows: Array.from({ length: 20_000 }, (_, i) => ({ x: Math.sin(i * 1.7) * 1e3 + i / 7 })),
      maxSample: 5000,
    });
    const f = numerical(big, 'x');
    // 1025 quantile edges at most, plus one just above the maximum.
    expect(f.sketch!.edges.length).toBeLessThanOrEqual(1026);
    expect(JSON.stringify(f.sketch).length).toBeLessThan(64_000);
    expect(f.sample.length / 5000).toBeLessThan(11);
  });
});
