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
 */
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { assign, assigner, initialAllocation } from '../../functions/core/experiments/assignment.js';
import { sampleRatioMismatch } from '../../functions/core/experiments/srm.js';

export interface ExperimentsBenchResult {
  readonly subjects: number;
  readonly perSecond: Record<string, number>;
  readonly shares: { name: string; weight: number; sharePct: number }[];
  readonly srmPValue: number | null;
  readonly srmOk: boolean;
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
  return { subjects: n, perSecond, shares, srmPValue: srm.p_value, srmOk: srm.ok };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--subjects');
  await runExperimentsBench({ subjects: i > 0 ? Number(process.argv[i + 1]) : undefined });
}
