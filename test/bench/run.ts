/**
 * `npm run bench`: every benchmark, each reporting ratios against a baseline measured in the same
 * run (never absolute timings as pass/fail). SERVAL_BENCH=inference,http,cold,captures,drift,window,experiments,explain,dashboard,training picks some.
 */
import { runCapturesBench } from './captures.bench.js';
import { printDashboardBench, runDashboardBench } from './dashboard.bench.js';
import { runDriftBench } from './drift.bench.js';
import { runDriftWindowBench } from './drift-window.bench.js';
import { runExperimentsBench } from './experiments.bench.js';
import { runExplainBench } from './explain.bench.js';
import { runColdBench, runHttpBench, runInferenceBench } from './inference.bench.js';
import { runTrainingBench } from './training.bench.js';

// Under Node < 22 the SDK warns once per process that its releases after the first week of January
// 2027 need Node 22 (Lambda runs nodejs22.x). The benches start dozens of fresh processes, and the
// warning buried their tables; the processes inherit this.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const only = process.env.SERVAL_BENCH?.split(',').map((s) => s.trim());
const wanted = (name: string) => !only || only.includes(name);

/** Each bench with the heading it prints: a name in SERVAL_BENCH runs only those. */
const BENCHES: [name: string, heading: string, run: () => Promise<unknown>][] = [
  [
    'inference',
    'inference vs its unavoidable minimum (same model, same inputs, same run)',
    runInferenceBench,
  ],
  [
    'http',
    'predict over HTTP to the local runtime vs a bare Node server, authorizer cache on and off (same run)',
    runHttpBench,
  ],
  ['cold', 'the inference cold path alone (also part of inference)', runColdBench],
  [
    'captures',
    'capture path: backlog drain vs bare receive+delete, capture lag and stalls under traffic',
    runCapturesBench,
  ],
  ['drift', 'drift statistics engine vs scipy (same data, same run)', runDriftBench],
  [
    'window',
    'drift check over a captured window (SERVAL_BENCH_WINDOW_ROWS, default 10,000,000)',
    runDriftWindowBench,
  ],
  [
    'experiments',
    'experiment assignment vs string-building baseline and SHA-256, and predict with vs without a running experiment (same run)',
    runExperimentsBench,
  ],
  ['explain', 'Kernel SHAP explanations vs the model run they need, and sampled vs exact', runExplainBench],
  [
    'dashboard',
    'dashboard first load in Chromium with 1,000 models and 200 versions in one model',
    async () => printDashboardBench(await runDashboardBench()),
  ],
  [
    'training',
    'trainers vs scikit-learn: logistic regression 200k × 20, MLP 50k × 20 (same data, same run)',
    runTrainingBench,
  ],
];

let first = true;
for (const [name, heading, run] of BENCHES) {
  if (!wanted(name)) continue;
  console.log(`${first ? '' : '\n'}== ${heading} ==`);
  first = false;
  await run();
}
