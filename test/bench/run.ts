/**
 * `npm run bench`: every benchmark, each reporting ratios against a baseline measured in the same
 * run (never absolute timings as pass/fail).
 */
import { runDriftBench } from './drift.bench.js';

await runDriftBench();
