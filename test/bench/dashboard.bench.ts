/**
 * The dashboard's first load at scale: a started runtime (`npm start`'s entry) seeded with 1,000
 * models and 200 versions in one model, then a cold Chromium (no cache) signed in:
 *   - models page: bytes transferred (everything, compressed as sent) and time from navigation
 *     to the models table's first page rendered;
 *   - model page of the 200-version model: the same, to its versions table rendered.
 * Each is measured `rounds` times in fresh browser contexts; the median is reported.
 *
 *   node --import tsx test/bench/dashboard.bench.ts
 */
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { tinyOnnxBase64 } from '../support/onnx-fixtures.js';
import { apiClient, startServal } from '../support/serval-process.js';

export interface FirstLoad {
  readonly bytes: number;
  readonly requests: number;
  readonly ms: number;
}

export interface DashboardBenchResult {
  readonly models: number;
  readonly versions: number;
  readonly seedSeconds: number;
  readonly modelsPage: FirstLoad;
  readonly modelPage: FirstLoad;
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function measure(browser: Browser, session: string, url: string, ready: string): Promise<FirstLoad> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(`sessionStorage.setItem('serval.session', ${JSON.stringify(session)})`);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  let bytes = 0;
  let requests = 0;
  cdp.on('Network.loadingFinished', (e) => {
    bytes += e.encodedDataLength;
    requests += 1;
  });
  const started = performance.now();
  await page.goto(url);
  await page.locator(ready).first().waitFor({ timeout: 30_000 });
  const ms = performance.now() - started;
  // Requests still in flight when the page became usable (health, alerts) count too.
  await page.waitForLoadState('networkidle');
  await context.close();
  return { bytes, requests, ms };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runDashboardBench(
  opts: { models?: number; versions?: number; rounds?: number } = {},
): Promise<DashboardBenchResult> {
  const models = opts.models ?? 1000;
  const versions = opts.versions ?? 200;
  const rounds = opts.rounds ?? 5;
  const serval = await startServal({ env: { SERVAL_RATE_LIMIT: 'off', SERVAL_QUOTA_PER_DAY: 'off' } });
  const browser = await launchChromium();
  try {
    const admin = apiClient(serval.url, serval.adminKey);
    const seedStart = performance.now();
    const names = Array.from({ length: models - 1 }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
    await pool(names, 8, async (name) => {
      const res = await admin('POST', '/v1/models', { name, description: `bench model ${name}` });
      if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${res.text}`);
    });
    // iris-demo is the 1,000th model; the big one gets 200 versions.
    await admin('POST', '/v1/models', { name: 'big-model', description: '200 versions' });
    const vs = Array.from({ length: versions }, (_, i) => `1.${Math.floor(i / 100)}.${i % 100}`);
    // One writer: registrations of one model update its record, and concurrent ones are refused (409).
    await pool(vs, 1, async (version) => {
      const res = await admin('POST', '/v1/models/big-model/versions', {
        version,
        artifact: { base64: tinyOnnxBase64(version) },
      });
      if (res.status !== 201) throw new Error(`register ${version}: ${res.status} ${res.text}`);
    });
    const seedSeconds = (performance.now() - seedStart) / 1000;

    const token = await admin('POST', '/v1/auth/token', { ttlSeconds: 3600 });
    const session = JSON.stringify({ ...token.body, name: 'bench' });
    const run = async (path: string, ready: string) => {
      const loads: FirstLoad[] = [];
      for (let i = 0; i < rounds; i++)
        loads.push(await measure(browser, session, `${serval.url}${path}`, ready));
      return {
        bytes: median(loads.map((l) => l.bytes)),
        requests: median(loads.map((l) => l.requests)),
        ms: median(loads.map((l) => l.ms)),
      };
    };
    const modelsPage = await run('/', 'table.models tbody tr >> nth=49');
    const modelPage = await run('/models/big-model', 'section.card table tbody tr >> nth=24');
    return { models, versions, seedSeconds, modelsPage, modelPage };
  } finally {
    await browser.close();
    await serval.stop();
  }
}

export function printDashboardBench(r: DashboardBenchResult): void {
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  console.log(
    `seeded ${r.models} models and ${r.versions} versions of one model in ${r.seedSeconds.toFixed(1)} s`,
  );
  console.log(
    `models page (first 50 of ${r.models}): ${kb(r.modelsPage.bytes)} in ${r.modelsPage.requests} requests, table rendered in ${r.modelsPage.ms.toFixed(0)} ms (median, cold cache)`,
  );
  console.log(
    `model page (${r.versions} versions): ${kb(r.modelPage.bytes)} in ${r.modelPage.requests} requests, versions table rendered in ${r.modelPage.ms.toFixed(0)} ms (median, cold cache)`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printDashboardBench(await runDashboardBench());
}
