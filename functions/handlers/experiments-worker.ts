/**
 * SQS worker: one analysis of a running experiment per message (ExperimentService.analyzeRun):
 * a results snapshot, and for a canary its step (advance, roll back, promote). The logic is in
 * experiments-analysis.ts.
 */
import { lambdaHandler } from './entry.js';
import { analysisWorker } from './experiments-analysis.js';
import { experimentService } from './experiments-wiring.js';
import { type Env, makeLogger } from './shared.js';

const logger = makeLogger('experiments-worker');

export function createHandler(env: Env = process.env) {
  return analysisWorker(experimentService(env), logger);
}

export const handler = await lambdaHandler(createHandler);
