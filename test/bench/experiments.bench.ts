/**
 * Experiment assignment: assignments per second on one core, as ratios against baselines
 * measured in the same run, and the 1M-subject split with its SRM check.
 *
 *   node --import tsx test/bench/experiments.bench.ts [--subjects N]
 *
 * Timed over the same N subject ids ("user-0" … "user-{N−1}", built before timing), interleaved
 * rounds, best round of each reported:
 *   - baseline: building `${seed}:${subject}` and reading its length (the string work any scheme does);
 *   - ours: assigner(allocation, seed)(subject), i.e. UTF-8 encode + MurmurHash3 + slot lookup;
 *   - assign(): the convenience form (seed encoded per call);
 *   - SHA-256: node:crypto createHash('sha256') of the same string, first 8 bytes mod 10000 — the
 *     alternative the design rejected.
 *
 * Then predict latency with a running experiment against the same service without one, same run:
 * the in-process inference core (real onnxruntime, registry and experiments in memory, capture
 * taken by a no-op), an A/B 50/50 between two logistic regressions of the same size, batch 1, a
 * subject per request; calls interleaved, medians and p99 over N calls each (goal ≤ 1.05×).
 */
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { OnnxRuntimeRunner } from '../../functions/adapters/onnx-runner.js';
import { SYSTEM_PRINCIPAL } from '../../functions/core/auth/principal.js';
import { assign, assigner, initialAllocation } from '../../functions/core/experiments/assignment.js';
import { CreateExperimentBody } from '../../functions/core/experiments/definition.js';
import { ExperimentService } from '../../functions/core/experiments/service.js';
import { sampleRatioMismatch } from '../../functions/core/experiments/srm.js';
import { RandomIdBlocks } from '../../functions/core/inference/ids.js';
import { InferenceService } from '../../functions/core/inference/service.js';
import { ModelCache } from '../../functions/core/inference/sessions.js';
import { logisticRegressionOnnx } from '../../functions/core/onnx/models.js';
import { experimentReader } from '../../functions/handlers/serving-experiments.js';
import { MemoryExperimentStore } from '../support/memory-experiments.js';
import { CountingIds, memoryRegistry } from '../support/memory-stores.js';

export interface ExperimentsBenchResult {
  readonly subjects: number;
  readonly perSecond: Record<string, number>;
  readonly shares: { name: string; weight: number; sharePct: number }[];
  readonly srmPValue: number | null;
  readonly srmOk: boolean;
  readonly predict?: PredictBenchResult;
}

export interface PredictBenchResult {
  readonly calls: number;
  readonly medianMs: { readonly without: number; readonly with: number };
  readonly p99Ms: { readonly without: number; readonly with: number };
  /** Median with a running experiment / median without. */
  readonly ratio: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p99 = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]!;
};

/** Predict with and without a running experiment on the model, interleaved in one run. */
export async function runPredictWithExperimentBench(
  opts: { calls?: number; log?: (line: string) => void } = {},
): Promise<PredictBenchResult> {
  const calls = opts.calls ?? 20_000;
  const log = opts.log ?? console.log;
  const clock = { now: () => new Date() };
  const setup = async () => {
    const { store, artifacts, registry } = memoryRegistry();
    const p = SYSTEM_PRINCIPAL;
    await registry.models.create(p, { name: 'churn' });
    for (const [version, w] of [
      ['1.0.0', [0.5, -0.25, 0.1]],
      ['1.1.0', [0.4, -0.2, 0.3]],
    ] as const) {
      const onnx = logisticRegressionOnnx({
        weights: [...w],
        bias: 0,
        featureNames: ['a', 'b', 'c'],
        classes: ['stay', 'leave'],
      });
      await registry.artifacts.register(p, 'churn', {
        version,
        artifact: { base64: Buffer.from(onnx).toString('base64') },
        framework: 'onnx',
        runtime: { type: 'lambda' },
        inputSchema: { features: ['a', 'b', 'c'].map((name) => ({ name, type: 'float' as const })) },
        outputSchema: { kind: 'binary', classes: ['stay', 'leave'] },
      });
      await registry.lifecycle.transition(p, 'churn', version, 'testing');
      await registry.lifecycle.transition(p, 'churn', version, 'staging');
    }
    // Four eyes: someone other than the registrant approves.
    const approver = { ...p, id: 'bench-approver', name: 'approver' };
    await registry.lifecycle.decideApproval(approver, 'churn', '1.0.0', 'approved', 'bench');
    await registry.lifecycle.transition(approver, 'churn', '1.0.0', 'production');
    const experiments = new MemoryExperimentStore();
    const service = new InferenceService({
      store,
      registry,
      models: new ModelCache({ artifacts, runner: new OnnxRuntimeRunner() }),
      capture: { add: () => {} },
      metrics: { served: () => {}, integrityFailure: () => {} },
      ids: new RandomIdBlocks(clock),
      clock,
      experiments: experimentReader(experiments),
    });
    return { store, experiments, service };
  };
  const without = await setup();
  const withExp = await setup();
  const exps = new ExperimentService({
    store: withExp.experiments,
    clock,
    ids: new CountingIds(),
    registry: {
      getModel: (name) => withExp.store.getModel(name),
      getVersion: (model, version) => withExp.store.getVersion(model, version),
      promote: async () => {},
    },
  });
  const e = await exps.create(
    SYSTEM_PRINCIPAL,
    CreateExperimentBody.parse({
      name: 'bench',
      model: 'churn',
      variants: [
        { name: 'control', version: '1.0.0', weight: 50, control: true },
        { name: 'treatment', version: '1.1.0', weight: 50 },
      ],
    }),
  );
  await exps.start(SYSTEM_PRINCIPAL, e.id);

  const instances = [[1.5, 0.25, -2]];
  const timed = async (service: InferenceService, i: number) => {
    const t0 = process.hrtime.bigint();
    await service.predict('churn', { instances, subject: `user-${i}` });
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  // Warm-up: sessions loaded, caches filled, the JIT settled on both paths.
  for (let i = 0; i < 2000; i++) {
    await timed(without.service, i);
    await timed(withExp.service, i);
  }
  const a: number[] = [];
  const b: number[] = [];
  const served = new Set<string>();
  for (let i = 0; i < calls; i++) {
    // Alternate which goes first, so neither always runs on the warmer cache.
    if (i % 2 === 0) {
      a.push(await timed(without.service, i));
      b.push(await timed(withExp.service, i));
    } else {
      b.push(await timed(withExp.service, i));
      a.push(await timed(without.service, i));
    }
  }
  for (let i = 0; i < 100; i++) {
    const out = await withExp.service.predict('churn', { instances, subject: `user-${i}` });
    served.add(out.variant ?? '-');
  }
  const result: PredictBenchResult = {
    calls,
    medianMs: { without: median(a), with: median(b) },
    p99Ms: { without: p99(a), with: p99(b) },
    ratio: median(b) / median(a),
  };
  const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
  log(
    `predict, batch 1, in-process core, ${calls.toLocaleString('en-US')} interleaved calls each (variants served: ${[...served].sort().join(', ')})`,
  );
  log(`  without experiment   median ${us(result.medianMs.without)}   p99 ${us(result.p99Ms.without)}`);
  log(`  running A/B 50/50    median ${us(result.medianMs.with)}   p99 ${us(result.p99Ms.with)}`);
  log(`  ratio (medians)      ${result.ratio.toFixed(3)}×   (goal ≤ 1.05×)`);
  return result;
}

function best(fn: () => void, rounds: number): number {
  let min = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return min;
}

export async function runExperimentsBench(
  opts: { subjects?: number; log?: (line: string) => void } = {},
): Promise<ExperimentsBenchResult> {
  const n = opts.subjects ?? 1_000_000;
  const log = opts.log ?? console.log;
  const subjects = Array.from({ length: n }, (_, i) => `user-${i}`);
  const seed = 'bench-experiment';
  const weights = [
    { name: 'control', weight: 50 },
    { name: 'b', weight: 30 },
    { name: 'c', weight: 20 },
  ];
  const allocation = initialAllocation(weights);
  const pick = assigner(allocation, seed);
  let sink = 0;
  const cases: Record<string, () => void> = {
    baseline: () => {
      for (const s of subjects) sink += `${seed}:${s}`.length;
    },
    assigner: () => {
      for (const s of subjects) sink += pick(s);
    },
    'assign()': () => {
      for (const s of subjects) sink += assign(allocation, seed, s).length;
    },
    sha256: () => {
      // A tenth of the subjects: it is the slow one.
      for (let i = 0; i < n; i += 10) {
        sink += createHash('sha256').update(`${seed}:${subjects[i]}`).digest().readUInt32BE(4) % 10000;
      }
    },
  };
  const seconds: Record<string, number> = {};
  for (let round = 0; round < 3; round++) {
    for (const [name, fn] of Object.entries(cases))
      seconds[name] = Math.min(seconds[name] ?? Infinity, best(fn, 1));
  }
  const perSecond: Record<string, number> = {};
  for (const [name, s] of Object.entries(seconds)) perSecond[name] = (name === 'sha256' ? n / 10 : n) / s;
  const base = perSecond.baseline!;
  log(`subjects: ${n.toLocaleString('en-US')}  (best of 3 interleaved rounds, one core)`);
  for (const [name, rate] of Object.entries(perSecond)) {
    log(
      `  ${name.padEnd(10)} ${(rate / 1e6).toFixed(2).padStart(7)} M/s   ${(base / rate).toFixed(2).padStart(6)}× the baseline's time per subject`,
    );
  }
  const counts = weights.map(() => 0);
  for (const s of subjects) counts[pick(s)]!++;
  const shares = weights.map((w, v) => ({ ...w, sharePct: (100 * counts[v]!) / n }));
  const srm = sampleRatioMismatch(
    counts,
    weights.map((w) => w.weight),
  );
  for (const s of shares) {
    log(
      `  share ${s.name.padEnd(8)} ${s.sharePct.toFixed(3)}% (weight ${s.weight}%, off by ${(s.sharePct - s.weight).toFixed(3)} pp)`,
    );
  }
  log(
    `  SRM chi-square ${srm.chi2.toFixed(3)} on ${srm.df} df, p = ${srm.p_value?.toPrecision(4)}, ok = ${srm.ok}`,
  );
  if (sink === -1) log('');
  const predict = await runPredictWithExperimentBench({ log });
  return { subjects: n, perSecond, shares, srmPValue: srm.p_value, srmOk: srm.ok, predict };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--subjects');
  await runExperimentsBench({ subjects: i > 0 ? Number(process.argv[i + 1]) : undefined });
}
