/**
 * `npm run bench`: every benchmark, each reporting ratios against a baseline measured in the same
 * run (never absolute timings as pass/fail).
 */
import { runDriftBench } from './drift.bench.js';
import { runDriftWindowBench } from './drift-window.bench.js';

console.log('== drift statistics engine vs scipy (same data, same run) ==');
await runDriftBench();
console.log('\n== drift check over a captured window (SERVAL_BENCH_WINDOW_ROWS, default 10,000,000) ==');
await runDriftWindowBench();
