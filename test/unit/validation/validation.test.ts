import { describe, expect, it } from 'vitest';
import type { InputSchema, OutputSchema } from '../../../functions/core/kernel/model-io.js';
import type {
  LoadedModel,
  ModelOutputs,
  ModelRunner,
  TensorInfo,
} from '../../../functions/core/kernel/runner.js';
import { quantile, validateModel } from '../../../functions/core/registry/validation.js';
import {
  type ValidationReport,
  ValidationRequest,
} from '../../../functions/core/registry/validation-report.js';
import { domainError } from '../../support/expect-code.js';

/** An in-memory model: `compute` maps one row to its outputs; the clock advances by `cost`. */
interface FakeSpec {
  inputs?: TensorInfo[];
  outputs?: TensorInfo[];
  compute?: (row: number[]) => Record<string, number[]>;
  /** Milliseconds a run takes; `single` counts single-row calls from 0. */
  cost?: (rows: number, single: number) => number;
  failLoad?: string;
  failRun?: string;
}

class FakeRunner implements ModelRunner {
  loads = 0;
  releases = 0;
  batches: number[] = [];
  clock = 0;
  constructor(private readonly spec: FakeSpec) {}

  now = (): number => this.clock;

  async load(): Promise<LoadedModel> {
    this.loads++;
    if (this.spec.failLoad) throw new Error(this.spec.failLoad);
    const spec = this.spec;
    let single = 0;
    return {
      inputs: spec.inputs ?? [{ name: 'input', type: 'float32', dims: ['N', 2] }],
      outputs: spec.outputs ?? [],
      run: async (batch, rows, features): Promise<ModelOutputs> => {
        this.batches.push(rows);
        this.clock += spec.cost ? spec.cost(rows, rows === 1 ? single : -1) : 0;
        if (rows === 1) single++;
        if (spec.failRun) throw new Error(spec.failRun);
        const out: Record<string, { type: string; dims: number[]; data: Float32Array }> = {};
        const perRow: Record<string, number[]>[] = Array.from({ length: rows }, (_, r) =>
          (spec.compute ?? (() => ({})))([...batch.subarray(r * features, (r + 1) * features)]),
        );
        for (const name of Object.keys(perRow[0] ?? {})) {
          const width = (perRow[0]?.[name] ?? []).length;
          out[name] = {
            type: 'float32',
            dims: [rows, width],
            data: Float32Array.from(perRow.flatMap((r) => r[name] ?? [])),
          };
        }
        return out;
      },
      release: async () => {
        this.releases++;
      },
    };
  }
}

const twoFeatures: InputSchema = {
  features: [
    { name: 'a', type: 'float' },
    { name: 'b', type: 'float' },
  ],
};
const binary: OutputSchema = { kind: 'binary', classes: ['no', 'yes'] };
const probOut: TensorInfo[] = [
  { name: 'label', type: 'int64', dims: ['N'] },
  { name: 'probabilities', type: 'float32', dims: ['N', 2] },
];
/** Says "yes" with probability 0.75 when a > 0, else 0.25 (exact in float32). */
const thresholdOnA = (row: number[]) => ({
  probabilities: (row[0] as number) > 0 ? [0.25, 0.75] : [0.75, 0.25],
});

/**
 * Ten rows. The model says yes for rows 0–4 (a > 0) and no for rows 5–9.
 * Truth: yes for rows 0–3 and 5–6, no for rows 4 and 7–9.
 * → TP 4 (0–3), FP 1 (4), FN 2 (5, 6), TN 3 (7–9): accuracy 0.7, precision 0.8, recall 4/6, F1 = 8/11.
 */
const dataset = {
  instances: [
    [1, 0],
    [2, 0],
    [3, 0],
    [4, 0],
    [5, 0],
    [-1, 0],
    [-2, 0],
    [-3, 0],
    [-4, 0],
    [-5, 0],
  ],
  labels: ['yes', 'yes', 'yes', 'yes', 'no', 'yes', 'yes', 'no', 'no', 'no'],
};

const artifact = new Uint8Array([1, 2, 3]);
const fixedClock = () => new Date('2026-01-02T03:04:05.000Z');

/** Instances with only feature `a` set (what thresholdOnA reads). */
const onA = (...as: number[]) => as.map((a) => [a, 0]);

async function run(
  runner: FakeRunner,
  request: unknown,
  inputSchema: InputSchema = twoFeatures,
  outputSchema: OutputSchema = binary,
): Promise<ValidationReport> {
  return validateModel({
    artifact,
    inputSchema,
    outputSchema,
    request: ValidationRequest.parse(request),
    runner,
    now: runner.now,
    clock: fixedClock,
  });
}

const check = (r: ValidationReport, name: string) => r.checks.find((c) => c.name === name);

describe('validateModel with a fake runner', () => {
  it('computes binary metrics matching the hand count and judges thresholds', async () => {
    const runner = new FakeRunner({ outputs: probOut, compute: thresholdOnA });
    const report = await run(runner, {
      dataset,
      thresholds: { accuracy: { min: 0.7 }, precision: { min: 0.8 }, recall: { min: 0.7 }, f1: { min: 0.7 } },
    });
    expect(report.metrics?.kind).toBe('binary');
    const m = report.metrics as Extract<typeof report.metrics, { kind: 'binary' | 'multiclass' }>;
    expect(m.accuracy).toBeCloseTo(0.7, 12);
    expect(m.precision).toBeCloseTo(0.8, 12);
    expect(m.recall).toBeCloseTo(4 / 6, 12);
    expect(m.f1).toBeCloseTo(8 / 11, 12);
    expect(m.confusion).toEqual([
      [3, 1],
      [2, 4],
    ]);
    // log-loss: 7 right at 0.75, 3 wrong at 0.25
    expect(m.logLoss).toBeCloseTo(-(7 * Math.log(0.75) + 3 * Math.log(0.25)) / 10, 6);
    expect(report.thresholds.map((t) => [t.metric, t.passed])).toEqual([
      ['accuracy', true],
      ['precision', true],
      ['recall', false],
      ['f1', true],
    ]);
    expect(check(report, 'metrics')?.passed).toBe(false);
    expect(check(report, 'metrics')?.message).toContain('recall 0.6667 < 0.7');
    expect(check(report, 'loads')?.passed).toBe(true);
    expect(check(report, 'schema')?.passed).toBe(true);
    expect(check(report, 'latency')?.passed).toBe(true); // no budget
    expect(report.passed).toBe(false);
    expect(report.ranAt).toBe('2026-01-02T03:04:05.000Z');
    expect(report.rows).toBe(10);
    expect(runner.releases).toBe(1);
  });

  it('passes when every check passes; the report is plain JSON', async () => {
    const runner = new FakeRunner({ outputs: probOut, compute: thresholdOnA });
    const report = await run(runner, {
      dataset,
      thresholds: { accuracy: { min: 0.7 } },
      latencyBudgetMs: 50,
    });
    expect(report.passed).toBe(true);
    expect(report.checks.map((c) => [c.name, c.passed, c.skipped])).toEqual([
      ['loads', true, false],
      ['schema', true, false],
      ['metrics', true, false],
      ['latency', true, false],
    ]);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('matches numeric labels to string classes and back ("1" ~ 1)', async () => {
    const runner = new FakeRunner({ outputs: probOut, compute: thresholdOnA });
    const dataset = { instances: onA(1, -1), labels: ['1', 0] };
    const report = await run(runner, { dataset }, twoFeatures, { kind: 'binary', classes: [0, 1] });
    expect((report.metrics as { accuracy: number }).accuracy).toBe(1);
  });

  it('defaults binary classes to [0, 1] with 1 positive', async () => {
    const runner = new FakeRunner({ outputs: probOut, compute: thresholdOnA });
    const dataset = { instances: onA(1, -1, 2), labels: [1, 0, 0] };
    const report = await run(runner, { dataset }, twoFeatures, { kind: 'binary' });
    const m = report.metrics as { precision: number; recall: number; positiveClass: number };
    expect(m.positiveClass).toBe(1);
    expect(m.precision).toBe(0.5); // predicted positive: rows 0 and 2, one right
    expect(m.recall).toBe(1);
  });

  it('computes regression metrics by hand: y = 2a against labels off by 0, 1, −2', async () => {
    const runner = new FakeRunner({
      outputs: [{ name: 'y', type: 'float32', dims: ['N', 1] }],
      compute: (row) => ({ y: [2 * (row[0] as number)] }),
    });
    const report = await run(
      runner,
      {
        dataset: {
          instances: [
            [1, 0],
            [2, 0],
            [3, 0],
          ],
          labels: [2, 5, 4],
        },
        thresholds: { rmse: { max: 1.3 }, mae: { max: 1 }, r2: { min: -1 } },
      },
      twoFeatures,
      { kind: 'regression' },
    );
    // predictions 2, 4, 6; errors 0, 1, −2 → RMSE √(5/3), MAE 1; mean label 11/3, SStot = 25/9+16/9+1/9 = 42/9
    const m = report.metrics as { rmse: number; mae: number; r2: number };
    expect(m.rmse).toBeCloseTo(Math.sqrt(5 / 3), 6);
    expect(m.mae).toBeCloseTo(1, 6);
    expect(m.r2).toBeCloseTo(1 - 5 / (42 / 9), 6); // = −1/14
    expect(report.thresholds.map((t) => t.passed)).toEqual([true, true, true]);
    expect(report.passed).toBe(true);
  });

  it('fails a threshold whose metric the model kind does not have', async () => {
    const runner = new FakeRunner({
      outputs: [{ name: 'y', type: 'float32', dims: ['N'] }],
      compute: () => ({ y: [1] }),
    });
    const report = await run(
      runner,
      { dataset: { instances: [[1, 0]], labels: [1] }, thresholds: { accuracy: { min: 0.5 } } },
      twoFeatures,
      {
        kind: 'regression',
      },
    );
    expect(report.thresholds).toEqual([
      { metric: 'accuracy', bound: 'min', threshold: 0.5, value: null, passed: false },
    ]);
    expect(check(report, 'metrics')?.message).toContain('accuracy is not available');
  });

  it('times single-row runs after warm-up and compares p95 with the budget', async () => {
    // Warm-up runs cost 1000 ms (they must not be counted); timed runs cost 1..20 ms in a shuffled order.
    const costs = [7, 3, 20, 1, 15, 9, 12, 4, 18, 2, 11, 6, 19, 5, 14, 8, 17, 10, 16, 13];
    const runner = new FakeRunner({
      outputs: probOut,
      compute: thresholdOnA,
      cost: (rows, single) => (rows > 1 ? 0 : single < 5 ? 1000 : (costs[single - 5] as number)),
    });
    const report = await run(runner, { dataset, latencyRuns: 20, latencyBudgetMs: 19 });
    // Sorted 1..20; numpy-linear quantiles: p50 at 9.5 → 10.5, p95 at 18.05 → 19.05.
    expect(report.latency).toEqual({
      runs: 20,
      p50Ms: 10.5,
      p95Ms: 19.05,
      maxMs: 20,
      meanMs: 10.5,
      budgetMs: 19,
    });
    expect(check(report, 'latency')?.passed).toBe(false);
    expect(check(report, 'latency')?.message).toContain('over the 19 ms budget');
    const ok = await run(
      new FakeRunner({
        outputs: probOut,
        compute: thresholdOnA,
        cost: (rows, single) => (rows > 1 ? 0 : single < 5 ? 1000 : (costs[single - 5] as number)),
      }),
      { dataset, latencyRuns: 20, latencyBudgetMs: 19.05 },
    );
    expect(check(ok, 'latency')?.passed).toBe(true);
  });

  it('stops timing after ten seconds of a slow model', async () => {
    const runner = new FakeRunner({
      outputs: probOut,
      compute: thresholdOnA,
      cost: (rows) => (rows > 1 ? 0 : 3000),
    });
    const report = await run(runner, { dataset, latencyRuns: 100 });
    // timed runs end at 3 s, 6 s, 9 s, 12 s: the fourth crosses the cap
    expect(report.latency?.runs).toBe(4);
  });

  it('reports a model that does not load, and skips the rest', async () => {
    const runner = new FakeRunner({ failLoad: 'protobuf parsing failed' });
    const report = await run(runner, { dataset });
    expect(report.passed).toBe(false);
    expect(check(report, 'loads')).toMatchObject({ passed: false, skipped: false });
    expect(check(report, 'loads')?.message).toContain('protobuf parsing failed');
    for (const name of ['schema', 'metrics', 'latency'])
      expect(check(report, name)).toMatchObject({ passed: false, skipped: true });
    expect(report.model).toBeNull();
  });

  it('reports a model that fails to run', async () => {
    const runner = new FakeRunner({ outputs: probOut, failRun: 'Got invalid dimensions' });
    const report = await run(runner, { dataset });
    expect(check(report, 'metrics')).toMatchObject({ passed: false, skipped: false });
    expect(check(report, 'metrics')?.message).toContain('Got invalid dimensions');
    expect(check(report, 'latency')?.passed).toBe(false);
    expect(runner.releases).toBe(1);
  });

  it('fails metrics when the model produces NaN', async () => {
    const runner = new FakeRunner({
      outputs: probOut,
      compute: () => ({ probabilities: [Number.NaN, Number.NaN] }),
    });
    const report = await run(runner, { dataset });
    expect(check(report, 'metrics')?.message).toContain('non-finite');
    expect(report.metrics).toBeNull();
  });

  it('feeds a fixed batch dimension of 1 row by row', async () => {
    const runner = new FakeRunner({
      inputs: [{ name: 'input', type: 'float32', dims: [1, 2] }],
      outputs: probOut,
      compute: thresholdOnA,
    });
    const report = await run(runner, { dataset, latencyRuns: 1 });
    expect(report.passed).toBe(true);
    expect(runner.batches.every((n) => n === 1)).toBe(true);
  });

  it('scores large datasets in batches of at most 1024 rows', async () => {
    const instances = Array.from({ length: 2500 }, (_, i) => [i % 2 === 0 ? 1 : -1, 0]);
    const labels = instances.map((r) => ((r[0] as number) > 0 ? 'yes' : 'no'));
    const runner = new FakeRunner({ outputs: probOut, compute: thresholdOnA });
    const report = await run(runner, { dataset: { instances, labels }, latencyRuns: 1 });
    expect(runner.batches.filter((n) => n > 1)).toEqual([1024, 1024, 452]);
    expect((report.metrics as { accuracy: number }).accuracy).toBe(1);
  });

  describe('schema check', () => {
    const cases: [string, FakeSpec, OutputSchema, string][] = [
      [
        'feature count',
        { inputs: [{ name: 'input', type: 'float32', dims: ['N', 3] }], outputs: probOut },
        binary,
        'takes 3 features but the input schema lists 2',
      ],
      [
        'input type',
        { inputs: [{ name: 'input', type: 'int64', dims: ['N', 2] }], outputs: probOut },
        binary,
        'input input is int64',
      ],
      [
        'fixed batch',
        { inputs: [{ name: 'input', type: 'float32', dims: [8, 2] }], outputs: probOut },
        binary,
        'fixed batch dimension 8',
      ],
      [
        'two inputs',
        {
          inputs: [
            { name: 'a', type: 'float32', dims: ['N', 2] },
            { name: 'b', type: 'float32', dims: ['N', 2] },
          ],
          outputs: probOut,
        },
        binary,
        'takes 2 inputs',
      ],
      [
        'binary probability columns',
        { outputs: [{ name: 'probabilities', type: 'float32', dims: ['N', 3] }] },
        binary,
        'probability output of shape [N, 2]',
      ],
      [
        'multiclass probability columns',
        { outputs: [{ name: 'probabilities', type: 'float32', dims: ['N', 4] }] },
        { kind: 'multiclass', classes: ['a', 'b', 'c'] },
        'probability output of shape [N, 3]',
      ],
      [
        'regression output',
        { outputs: [{ name: 'label', type: 'int64', dims: ['N'] }] },
        { kind: 'regression' },
        'float output of shape [N] or [N, 1]',
      ],
      [
        'non-tensor probabilities',
        { outputs: [{ name: 'output_probability', type: 'non-tensor', dims: null }] },
        binary,
        'output_probability: non-tensor',
      ],
    ];
    it.each(cases)('fails on %s', async (_name, spec, outputSchema, text) => {
      const labels =
        outputSchema.kind === 'binary'
          ? dataset.labels
          : dataset.labels.map((_, i) => (outputSchema.classes ? 'abc'[i % 3] : i));
      const report = await run(
        new FakeRunner(spec),
        { dataset: { ...dataset, labels } },
        twoFeatures,
        outputSchema,
      );
      expect(check(report, 'schema')).toMatchObject({ passed: false, skipped: false });
      expect(check(report, 'schema')?.message).toContain(text);
      expect(check(report, 'metrics')?.skipped).toBe(true);
      expect(report.model).not.toBeNull();
    });

    it('uses the input named by inputSchema.tensor', async () => {
      const spec: FakeSpec = {
        inputs: [{ name: 'features', type: 'float32', dims: ['N', 2] }],
        outputs: probOut,
      };
      const missing = await run(new FakeRunner(spec), { dataset }, { ...twoFeatures, tensor: 'x' });
      expect(check(missing, 'schema')?.message).toContain('no input named x');
      const found = await run(
        new FakeRunner({ ...spec, compute: thresholdOnA }),
        { dataset },
        { ...twoFeatures, tensor: 'features' },
      );
      expect(check(found, 'schema')?.passed).toBe(true);
    });

    it('accepts dynamic shapes and prefers an output named probabilities', async () => {
      const spec: FakeSpec = {
        inputs: [{ name: 'input', type: 'float64', dims: [null, 'F'] }],
        outputs: [
          { name: 'logits', type: 'float32', dims: ['N', 2] },
          { name: 'probabilities', type: 'float32', dims: ['N', 'K'] },
        ],
        compute: thresholdOnA,
      };
      const report = await run(new FakeRunner(spec), { dataset });
      expect(check(report, 'schema')?.passed).toBe(true);
      expect(check(report, 'schema')?.details.output).toBe('probabilities');
      expect(check(report, 'schema')?.message).toContain('dynamic feature dimension');
    });
  });

  describe('request errors are thrown, before the model is loaded', () => {
    it('labels that are not classes', async () => {
      const runner = new FakeRunner({ outputs: probOut, compute: thresholdOnA });
      await expect(
        run(runner, { dataset: { instances: [[1, 0]], labels: ['maybe'] } }),
      ).rejects.toMatchObject({
        code: 'validation_failed',
        details: { field: 'dataset.labels', row: 0 },
      });
      expect(runner.loads).toBe(0);
    });

    it('instances that do not fit the input schema', async () => {
      const runner = new FakeRunner({ outputs: probOut });
      const err = await run(runner, { dataset: { instances: [[1, 0], [1]], labels: ['yes', 'no'] } }).catch(
        (e) => e,
      );
      expect(err).toEqual(domainError('validation_failed'));
      expect(err).toMatchObject({ details: { instance: 1, reason: 'wrong_length' } });
      expect(runner.loads).toBe(0);
    });

    it('non-numeric labels for a regressor', async () => {
      const runner = new FakeRunner({});
      await expect(
        run(runner, { dataset: { instances: [[1, 0]], labels: ['x'] } }, twoFeatures, { kind: 'regression' }),
      ).rejects.toThrow(domainError('validation_failed'));
    });

    it('class indices beyond the model’s classes (no classes declared)', async () => {
      const runner = new FakeRunner({
        outputs: [{ name: 'probabilities', type: 'float32', dims: ['N', 'K'] }],
        compute: () => ({ probabilities: [0.2, 0.3, 0.5] }),
      });
      await expect(
        run(runner, { dataset: { instances: [[1, 0]], labels: [3] } }, twoFeatures, { kind: 'multiclass' }),
      ).rejects.toMatchObject({
        code: 'validation_failed',
        details: { row: 0 },
      });
      expect(runner.releases).toBe(1);
    });
  });
});

describe('ValidationRequest', () => {
  it('accepts keyed instances and defaults nothing it does not need', () => {
    const r = ValidationRequest.parse({ dataset: { instances: [{ a: 1, b: 'x' }], labels: [1] } });
    expect(r.thresholds).toBeUndefined();
  });

  it.each([
    ['mismatched labels', { dataset: { instances: [[1]], labels: [1, 2] } }],
    ['no rows', { dataset: { instances: [], labels: [] } }],
    [
      'too many rows',
      {
        dataset: {
          instances: Array.from({ length: 10_001 }, () => [1]),
          labels: Array.from({ length: 10_001 }, () => 1),
        },
      },
    ],
    [
      'unknown threshold',
      { dataset: { instances: [[1]], labels: [1] }, thresholds: { auroc: { min: 0.5 } } },
    ],
    [
      'accuracy above 1',
      { dataset: { instances: [[1]], labels: [1] }, thresholds: { accuracy: { min: 1.5 } } },
    ],
    ['negative rmse', { dataset: { instances: [[1]], labels: [1] }, thresholds: { rmse: { max: -1 } } }],
    ['zero budget', { dataset: { instances: [[1]], labels: [1] }, latencyBudgetMs: 0 }],
    ['infinite label', { dataset: { instances: [[1]], labels: [Number.POSITIVE_INFINITY] } }],
    ['unknown field', { dataset: { instances: [[1]], labels: [1] }, extra: true }],
  ])('rejects %s', (_name, body) => {
    expect(ValidationRequest.safeParse(body).success).toBe(false);
  });
});

describe('quantile', () => {
  it('interpolates linearly between order statistics (numpy default)', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.95)).toBeCloseTo(3.85, 12);
    expect(quantile([7], 0.95)).toBe(7);
  });
});
