/** Lambda entry for retraining: requests (queue a job), jobs (list, show with log lines, cancel). */
import { jobView } from '../core/retraining/jobs.js';
import { createApiHandler, operation, type ProxyHandler } from '../http/api.js';
import { CONTRACT } from '../http/contract.js';
import { apiEntry, lambdaHandler } from './entry.js';
import { idempotencyLayer } from './idempotency.js';
import { retrainService } from './retraining-wiring.js';
import { type Env, makeLogger, modes } from './shared.js';

const logger = makeLogger('retraining');

export function buildRetrainingApi(env: Env = process.env): ProxyHandler {
  const jobs = retrainService(env);
  return createApiHandler(
    'retraining',
    {
      retrainModel: operation({
        ...CONTRACT.retrainModel,
        handle: async ({ principal, params, body }) =>
          jobView(await jobs.request(principal, params.name, body)),
      }),
      listJobs: operation({
        ...CONTRACT.listJobs,
        handle: async ({ query }) => {
          const page = await jobs.list(query);
          return { items: page.items.map((j) => jobView(j, false)), nextCursor: page.nextCursor ?? null };
        },
      }),
      getJob: operation({
        ...CONTRACT.getJob,
        handle: async ({ params }) => jobView(await jobs.get(params.jobId)),
      }),
      cancelJob: operation({
        ...CONTRACT.cancelJob,
        handle: async ({ principal, params }) => jobView(await jobs.cancel(principal, params.jobId)),
      }),
    },
    { logger, idempotency: idempotencyLayer(env), writeGate: modes(env) },
  );
}

/** The Lambda entry for a given environment (the local runtime passes each function its own). */
export function createHandler(env: Env = process.env) {
  return apiEntry(logger, buildRetrainingApi(env));
}

export const handler = await lambdaHandler(createHandler);
