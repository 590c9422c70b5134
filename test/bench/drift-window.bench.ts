/**
 * A drift check over a 10,000,000-row window of captured predictions (gzip JSON lines in the
 * local S3), through the real MonitoringService and adapters, with its wall time and peak memory
 * (target: within 5 minutes and 3 GB), against the unavoidable minimum measured in the same run:
 * streaming the same objects from S3, gunzipping them and parsing every line. A second check over
 * the same window shows the stored hour sketches at work (summaries instead of rows).
 *
 * `node --import tsx test/bench/drift-window.bench.ts` (SERVAL_BENCH_WINDOW_ROWS to change the size).
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { documentClient } from '../../functions/adapters/aws-clients.js';
import { DynamoMonitoringStore } from '../../functions/adapters/dynamo-monitoring.js';
import { DynamoRegistryStore } from '../../functions/adapters/dynamo-registry.js';
import { S3ArtifactStore } from '../../functions/adapters/s3-artifacts.js';
import { S3Captures } from '../../functions/adapters/s3-captures.js';
import { ulids } from '../../functions/adapters/system.js';
import { SYSTEM_PRINCIPAL } from '../../functions/core/auth/principal.js';
import { MonitoringService } from '../../functions/core/monitoring/service.js';
import { registryServices } from '../../functions/core/registry/services.js';
import { localS3Client } from '../../local/services/clients.js';
import { profiled } from '../support/cpu-profile.js';
import { tinyOnnxBase64 } from '../support/onnx-fixtures.js';
import { seededRandom } from '../support/random.js';
import { startStandins, useStandinsEnv } from '../support/standins.js';

const HOUR = 3600_000;

const gen = (seed: number) => seededRandom(seed).normal;

function peakRssMb(): number {
  // maxRSS is in kilobytes and covers the whole life of the process.
  return process.resourceUsage().maxRSS / 1024;
}

export async function runDriftWindowBench(log: (line: string) => void = console.log): Promise<void> {
  const total = Number(process.env.SERVAL_BENCH_WINDOW_ROWS ?? 10_000_000);
  const hours = Math.max(1, Math.ceil(total / 250_000));
  const perHour = Math.ceil(total / hours);
  const aws = await startStandins();
  try {
    useStandinsEnv(aws);
    const s3 = localS3Client(aws.endpoints.s3);
    const bucket = aws.resources.buckets.artifacts;
    const db = documentClient();
    const registryStore = new DynamoRegistryStore(db, {
      registry: aws.resources.tables.registry,
      audit: aws.resources.tables.audit,
    });
    const registry = registryServices({
      store: registryStore,
      artifacts: new S3ArtifactStore(s3, bucket),
      clock: { now: () => new Date() },
      ids: ulids,
    });
    await registry.models.create(SYSTEM_PRINCIPAL, { name: 'bench' });
    const features = ['f1', 'f2', 'f3', 'f4', 'f5'];
    await registry.artifacts.register(SYSTEM_PRINCIPAL, 'bench', {
      version: '1.0.0',
      artifact: { base64: tinyOnnxBase64('bench', 5) },
      framework: 'onnx',
      runtime: { type: 'lambda' },
      inputSchema: { features: features.map((name) => ({ name, type: 'float' as const })) },
    });
    const captures = new S3Captures(s3, bucket);
    const monitoring = new MonitoringService({
      store: new DynamoMonitoringStore(db, {
        monitoring: aws.resources.tables.monitoring,
        audit: aws.resources.tables.audit,
      }),
      docs: captures,
      captures,
      datasets: captures.datasets(),
      registry: registryStore,
      clock: { now: () => new Date() },
      ids: ulids,
    });

    const ref = gen(1);
    const reference = Array.from({ length: 20_000 }, () => features.map(() => ref()));
    await monitoring.putBaseline(SYSTEM_PRINCIPAL, 'bench', { rows: reference });

    // The window: `total` rows over whole hours that ended before now, the last feature shifted.
    const end = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
    const start = end - hours * HOUR;
    const genStart = performance.now();
    const cur = gen(2);
    for (let h = 0; h < hours; h++) {
      const n = Math.min(perHour, total - h * perHour);
      const records = Array.from({ length: n }, (_, i) => ({
        at: new Date(start + h * HOUR + Math.floor((i * HOUR) / n)).toISOString(),
        version: '1.0.0',
        instance: features.map((_, j) => Math.round((cur() + (j === 4 ? 0.3 : 0)) * 1e4) / 1e4),
      }));
      await captures.writeCaptures('bench', records, `part-${h}`);
    }
    const genSeconds = (performance.now() - genStart) / 1000;
    const rssBefore = peakRssMb();

    // Baseline: read every object, gunzip, split and JSON.parse every line — nothing else.
    const partitions = await captures.partitions('bench', ['1.0.0'], new Date(start), new Date(end));
    const rawRead = async () => {
      let n = 0;
      for (const p of partitions) {
        for (const key of p.keys) {
          const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          const rl = createInterface({
            input: (res.Body as Readable).pipe(createGunzip()),
            crlfDelay: Number.POSITIVE_INFINITY,
          });
          for await (const line of rl) {
            JSON.parse(line);
            n++;
          }
        }
      }
      return n;
    };
    const window = { from: new Date(start).toISOString(), to: new Date(end).toISOString() };
    // On a shared machine one pair of timings says little: the pair (raw read, first check) runs
    // `repeats` times, each check on a fresh baseline (so on no stored hour sketch), and the
    // medians are reported, with CPU time (this process, its pool threads included) next to wall
    // time, since waiting on a busy machine inflates wall time more than the work.
    const repeats = Math.max(1, Number(process.env.SERVAL_BENCH_WINDOW_REPEATS ?? 1));
    // maxRSS covers the whole process, writing the window included: the step's own peak is
    // sampled while it runs.
    const timed = async <T>(step: () => Promise<T>) => {
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      let rss = process.memoryUsage.rss();
      const sampler = setInterval(() => {
        rss = Math.max(rss, process.memoryUsage.rss());
      }, 25);
      try {
        const value = await step();
        const used = process.cpuUsage(cpu);
        const wall = (performance.now() - t0) / 1000;
        return { value, wall, cpu: (used.user + used.system) / 1e6, rssMb: rss / 2 ** 20 };
      } finally {
        clearInterval(sampler);
      }
    };
    const pairs: { raw: number; rawCpu: number; first: number; firstCpu: number; rssMb: number }[] = [];
    let rawRows = 0;
    let report!: Awaited<ReturnType<MonitoringService['check']>>;
    for (let i = 0; i < repeats; i++) {
      if (i > 0) await monitoring.putBaseline(SYSTEM_PRINCIPAL, 'bench', { rows: reference });
      const raw = await timed(() => (i === 0 ? profiled('window-raw-read', rawRead, log) : rawRead()));
      rawRows = raw.value;
      const check = () => monitoring.check('bench', window, 'manual');
      const first = await timed(() => (i === 0 ? profiled('window-first-check', check, log) : check()));
      report = first.value;
      pairs.push({
        raw: raw.wall,
        rawCpu: raw.cpu,
        first: first.wall,
        firstCpu: first.cpu,
        rssMb: first.rssMb,
      });
      if (repeats > 1) {
        log(
          `pair ${i + 1}/${repeats}: raw ${raw.wall.toFixed(1)} s (cpu ${raw.cpu.toFixed(1)} s), first check ${first.wall.toFixed(1)} s (cpu ${first.cpu.toFixed(1)} s): ${(first.wall / raw.wall).toFixed(2)}× wall, ${(first.cpu / raw.cpu).toFixed(2)}× cpu`,
        );
      }
    }
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      const m = s.length >> 1;
      return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
    };
    const rawSeconds = median(pairs.map((p) => p.raw));
    const firstSeconds = median(pairs.map((p) => p.first));
    const wallRatio = median(pairs.map((p) => p.first / p.raw));
    const cpuRatio = median(pairs.map((p) => p.firstCpu / p.rawCpu));
    const peakAfterFirst = peakRssMb();
    const second = performance.now();
    const again = await monitoring.check('bench', window, 'manual');
    const secondSeconds = (performance.now() - second) / 1000;

    const drifted = (
      report.result as { report?: { features: { name: string; drifted: boolean }[] } }
    ).report?.features
      .filter((f) => f.drifted)
      .map((f) => f.name);
    log(
      `drift check over a captured window: ${total.toLocaleString('en')} rows, ${features.length} features, ${hours} hour partitions`,
    );
    log(
      `(window written in ${genSeconds.toFixed(1)} s; rows read back by the baseline: ${rawRows.toLocaleString('en')})`,
    );
    log('');
    log('step                                              time      vs raw read   peak RSS');
    log('-------------------------------------------------------------------------------------');
    log(
      `raw read: S3 GET + gunzip + JSON.parse (baseline) ${rawSeconds.toFixed(1).padStart(6)} s        1.00×   ${rssBefore.toFixed(0)} MB`,
    );
    log(
      `check, first run (rows → sketches, ${report.mode})       ${firstSeconds.toFixed(1).padStart(6)} s      ${wallRatio.toFixed(2)}×   ${peakAfterFirst.toFixed(0)} MB`,
    );
    log(
      `  (median of ${repeats} pair${repeats > 1 ? 's' : ''}: wall ${wallRatio.toFixed(2)}× the raw read, CPU ${cpuRatio.toFixed(2)}×; RSS during the check ≤ ${Math.max(...pairs.map((p) => p.rssMb)).toFixed(0)} MB)`,
    );
    log(
      `check, again (stored hour sketches, ${again.mode})       ${secondSeconds.toFixed(1).padStart(6)} s      ${(secondSeconds / rawSeconds).toFixed(2)}×   ${peakRssMb().toFixed(0)} MB`,
    );
    log('');
    log(
      `rows checked: ${report.rows.toLocaleString('en')}; drifted features: ${drifted?.join(', ') || 'none'}`,
    );
    log(
      `targets: first check ≤ 300 s (${firstSeconds <= 300 ? 'met' : 'MISSED'}), peak RSS ≤ 3072 MB (${peakAfterFirst <= 3072 ? 'met' : 'MISSED'})`,
    );
    s3.destroy();
  } finally {
    await aws.stop();
  }
}

if (process.argv[1]?.endsWith('drift-window.bench.ts')) await runDriftWindowBench();
