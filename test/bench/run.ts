/**
 * `npm run bench`: every benchmark, each reporting ratios against a baseline measured in the same
 * run (never absolute timings as pass/fail). SERVAL_BENCH=inference,captures,drift,window,experiments picks some.
 */
import { runCapturesBench } from './captures.bench.js';
import { runDriftBench } from './drift.bench.js';
import { runDriftWindowBench } from './drift-window.bench.js';
import { runExperimentsBench } from './experiments.bench.js';
import { runInferenceBench } from './inference.bench.js';

const only = process.env.SERVAL_BENCH?.split(',').map((s) => s.trim());
const wanted = (name: string) => !only || only.includes(name);

if (wanted('inference')) {
  console.log('== inference vs its unavoidable minimum (same model, same inputs, same run) ==');
  await runInferenceBench();
}
if (wanted('captures')) {
  console.log(
    '\n== capture path: backlog drain vs bare receive+delete, capture lag and stalls under traffic ==',
  );
  await runCapturesBench();
}
if (wanted('drift')) {
  console.log('\n== drift statistics engine vs scipy (same data, same run) ==');
  await runDriftBench();
}
if (wanted('window')) {
  console.log('\n== drift check over a captured window (SERVAL_BENCH_WINDOW_ROWS, default 10,000,000) ==');
  await runDriftWindowBench();
}
if (wanted('experiments')) {
  console.log(
    '\n== experiment assignment vs string-building baseline and SHA-256 (same subjects, same run) ==',
  );
  await runExperimentsBench();
}
