/**
 * Drift statistics: our engine vs numpy/scipy on the same data, measured in the same run.
 *
 *   node --import tsx test/bench/drift.bench.ts [--runs N]
 *
 * Data (seeded, generated here, handed to Python as raw float64 files):
 *   - one feature, 1,000,000 vs 1,000,000 rows: reference N(0,1), current N(0.05,1);
 *   - 50 features × 100,000 vs 100,000 rows: reference N(0,1), current N(0.02, 1.05²).
 * Timed per call on unsorted Float64Arrays (scipy gets the same unsorted numpy arrays): KS with
 * the asymptotic p-value, Wasserstein-1, PSI over 10 quantile bins, and all metrics of a
 * feature together (we sort once and share; scipy's functions each sort on their own).
 * Both sides' values are compared so a fast wrong answer cannot pass as a win.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ksAsympPValue, ksStatistic } from '../../functions/core/stats/ks.js';
import {
  binnedNumericalMetrics,
  numericalMetrics,
  wassersteinSorted,
} from '../../functions/core/stats/numerical.js';
import { prepareNumeric } from '../../functions/core/stats/samples.js';

export interface DriftBenchRow {
  readonly group: string;
  readonly metric: string;
  readonly scipySeconds: number | null;
  readonly oursSeconds: number;
  /** ours / scipy; < 1 means we are faster. */
  readonly ratio: number | null;
  /** Whether both implementations produced the same values (null: scipy unavailable). */
  readonly agree: boolean | null;
}

export interface DriftBenchResult {
  readonly rows: DriftBenchRow[];
  readonly scipy: string;
  readonly runs: number;
}

export interface DriftBenchOptions {
  readonly runs?: number;
  readonly log?: (line: string) => void;
  readonly singleRows?: number;
  readonly tableFeatures?: number;
  readonly tableRows?: number;
}

// xoshiro128** — small, fast, seedable; Box–Muller for normals.
function normalGenerator(seed: number): (mean: number, sd: number) => number {
  let a = seed >>> 0 || 1;
  let b = 0x9e3779b9;
  let c = 0x243f6a88;
  let d = 0xb7e15162;
  const next = (): number => {
    const m = Math.imul(b, 5);
    const r = Math.imul((m << 7) | (m >>> 25), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    return (r >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  let spare: number | null = null;
  return (mean, sd) => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return mean + sd * s;
    }
    let u = 0;
    while (u === 0) u = next();
    const v = next();
    const radius = Math.sqrt(-2 * Math.log(u));
    spare = radius * Math.sin(2 * Math.PI * v);
    return mean + sd * radius * Math.cos(2 * Math.PI * v);
  };
}

function normals(n: number, mean: number, sd: number, seed: number): Float64Array {
  const g = normalGenerator(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = g(mean, sd);
  return out;
}

function medianSeconds<T>(runs: number, fn: () => T): { seconds: number; value: T } {
  const times: number[] = [];
  let value!: T;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    value = fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((x, y) => x - y);
  return { seconds: times[Math.floor(times.length / 2)]!, value };
}

type Ours = (r: Float64Array, c: Float64Array) => number[];

const OURS: Record<string, Ours> = {
  ks_asymp: (r, c) => {
    const ks = ksStatistic(prepareNumeric(r, 'reference').sorted, prepareNumeric(c, 'current').sorted);
    return [ks.d, ksAsympPValue(ks.n1, ks.n2, ks.d)];
  },
  wasserstein: (r, c) => [
    wassersteinSorted(prepareNumeric(r, 'reference').sorted, prepareNumeric(c, 'current').sorted),
  ],
  psi: (r, c) => [binnedNumericalMetrics(r, c).psi],
  all: (r, c) => {
    const m = numericalMetrics(r, c);
    return [m.ksStatistic, m.ksPValueAsymp, m.wasserstein, m.psi, m.jsDistance];
  },
};

const LABELS: Record<string, string> = {
  ks_asymp: 'KS statistic + asymp p-value',
  wasserstein: 'Wasserstein-1',
  psi: 'PSI (10 quantile bins)',
  all: 'all metrics of the feature',
};

function close(a: number, b: number, rtol: number, atol: number): boolean {
  return Math.abs(a - b) <= atol || Math.abs(a - b) <= rtol * Math.abs(b);
}

/** Compare our values with scipy's for one metric (scipy's shapes: see drift_scipy.py). */
function sameValues(metric: string, ours: number[], scipy: unknown): boolean {
  const flat = [scipy].flat(3) as number[];
  if (metric === 'all') {
    // scipy: [[D, p], W, PSI, JS]
    return (
      close(ours[0]!, flat[0]!, 0, 1e-12) &&
      close(ours[1]!, flat[1]!, 1e-6, 1e-9) &&
      close(ours[2]!, flat[2]!, 1e-9, 1e-12) &&
      close(ours[3]!, flat[3]!, 1e-9, 1e-9) &&
      close(ours[4]!, flat[4]!, 1e-9, 1e-9)
    );
  }
  if (metric === 'ks_asymp')
    return close(ours[0]!, flat[0]!, 0, 1e-12) && close(ours[1]!, flat[1]!, 1e-6, 1e-9);
  return close(ours[0]!, flat[0]!, 1e-9, 1e-12);
}

interface ScipyOutput {
  versions: { python: string; numpy: string; scipy: string };
  single: Record<string, { seconds: number; value: unknown }>;
  table: Record<string, { seconds: number; value: unknown }>;
}

function runScipy(dir: string, runs: number): ScipyOutput | string {
  const python = process.env.SERVAL_BENCH_PYTHON ?? 'python3';
  const script = fileURLToPath(new URL('./drift_scipy.py', import.meta.url));
  const res = spawnSync(python, [script, dir, String(runs)], { encoding: 'utf8', timeout: 600_000 });
  if (res.error) return `${python}: ${res.error.message}`;
  if (res.status !== 0) return `${python} exited ${res.status}: ${res.stderr.trim().split('\n').pop() ?? ''}`;
  return JSON.parse(res.stdout) as ScipyOutput;
}

function fmt(seconds: number | null): string {
  if (seconds === null) return 'n/a';
  if (seconds < 1) return `${(seconds * 1000).toFixed(1)} ms`;
  return `${seconds.toFixed(3)} s`;
}

export async function runDriftBench(options: DriftBenchOptions = {}): Promise<DriftBenchResult> {
  const runs = options.runs ?? 3;
  const log = options.log ?? ((line: string) => console.log(line));
  const singleN = options.singleRows ?? 1_000_000;
  const nf = options.tableFeatures ?? 50;
  const nr = options.tableRows ?? 100_000;

  const singleRef = normals(singleN, 0, 1, 1);
  const singleCur = normals(singleN, 0.05, 1, 2);
  const tableRef = normals(nf * nr, 0, 1, 3);
  const tableCur = normals(nf * nr, 0.02, 1.05, 4);
  const feature = (t: Float64Array, j: number) => t.subarray(j * nr, (j + 1) * nr);

  const dir = mkdtempSync(join(tmpdir(), 'serval-drift-bench-'));
  let scipy: ScipyOutput | string;
  try {
    const bytes = (x: Float64Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    writeFileSync(join(dir, 'single_ref.f64'), bytes(singleRef));
    writeFileSync(join(dir, 'single_cur.f64'), bytes(singleCur));
    writeFileSync(join(dir, 'table_ref.f64'), bytes(tableRef));
    writeFileSync(join(dir, 'table_cur.f64'), bytes(tableCur));
    writeFileSync(
      join(dir, 'meta.json'),
      JSON.stringify({ single_n: singleN, table_features: nf, table_rows: nr }),
    );
    scipy = runScipy(dir, runs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // Warm up the JIT on a slice before timing.
  for (const fn of Object.values(OURS)) fn(singleRef.subarray(0, 20_000), singleCur.subarray(0, 20_000));

  const rows: DriftBenchRow[] = [];
  const groups = [
    {
      key: 'single' as const,
      title: `1 feature, ${singleN.toLocaleString('en')} vs ${singleN.toLocaleString('en')} rows`,
    },
    {
      key: 'table' as const,
      title: `${nf} features x ${nr.toLocaleString('en')} vs ${nr.toLocaleString('en')} rows`,
    },
  ];
  for (const g of groups) {
    for (const [metric, fn] of Object.entries(OURS)) {
      const { seconds, value } =
        g.key === 'single'
          ? medianSeconds(runs, () => fn(singleRef, singleCur))
          : medianSeconds(runs, () => {
              let first: number[] = [];
              for (let j = 0; j < nf; j++) {
                const v = fn(feature(tableRef, j), feature(tableCur, j));
                if (j === 0) first = v;
              }
              return first;
            });
      const s = typeof scipy === 'string' ? undefined : scipy[g.key][metric];
      rows.push({
        group: g.title,
        metric: LABELS[metric]!,
        scipySeconds: s?.seconds ?? null,
        oursSeconds: seconds,
        ratio: s ? seconds / s.seconds : null,
        agree: s ? sameValues(metric, value, s.value) : null,
      });
    }
  }

  const scipyInfo =
    typeof scipy === 'string'
      ? `scipy unavailable (${scipy})`
      : `python ${scipy.versions.python}, numpy ${scipy.versions.numpy}, scipy ${scipy.versions.scipy}`;
  log(`drift statistics: ours vs scipy, median of ${runs} runs on the same data`);
  log(`node ${process.version}; ${scipyInfo}`);
  const header = `${'metric'.padEnd(32)}${'scipy'.padStart(12)}${'ours'.padStart(12)}${'ours/scipy'.padStart(12)}  values`;
  let lastGroup = '';
  for (const r of rows) {
    if (r.group !== lastGroup) {
      log('');
      log(r.group);
      log(header);
      log('-'.repeat(header.length));
      lastGroup = r.group;
    }
    const ratio = r.ratio === null ? 'n/a' : r.ratio.toFixed(2);
    const agree = r.agree === null ? '-' : r.agree ? 'agree' : 'DIFFER';
    log(
      `${r.metric.padEnd(32)}${fmt(r.scipySeconds).padStart(12)}${fmt(r.oursSeconds).padStart(12)}${ratio.padStart(12)}  ${agree}`,
    );
  }
  return { rows, scipy: scipyInfo, runs };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : undefined;
  await runDriftBench(runs ? { runs } : {});
}
