/**
 * The experiments table as serving and the capture worker use it: a small module of its own so
 * the capture worker's bundle does not pull in the inference wiring (onnxruntime).
 */
import { documentClient } from '../adapters/aws-clients.js';
import { DynamoExperimentStore } from '../adapters/dynamo-experiments.js';
import { TABLES } from '../contract/resources.js';
import type { ExperimentStore } from '../core/experiments/ports.js';
import { servingView } from '../core/experiments/serving.js';
import type { ExperimentReader } from '../core/inference/ports.js';
import { type Env, envValue } from './shared.js';

/**
 * What serving and the capture path need of the experiments table: the running experiment of a
 * model, and observe() to count requests and feedback into it.
 */
export function experimentStoreFor(env: Env): Pick<ExperimentStore, 'running' | 'observe'> {
  return new DynamoExperimentStore(documentClient(), envValue(env, TABLES.experiments.env));
}

/** The running experiment of a model as serving sees it (only while it is running). */
export function experimentReader(store: Pick<ExperimentStore, 'running'>): ExperimentReader {
  return {
    running: async (model) => {
      const e = await store.running(model);
      return e?.state === 'running' ? servingView(e) : undefined;
    },
  };
}
