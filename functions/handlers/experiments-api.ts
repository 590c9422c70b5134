/** Lambda entry for experiments: definitions and state, assignment, outcome events, results. */
import { createApiHandler, operation, type ProxyHandler } from '../http/api.js';
import { CONTRACT } from '../http/contract.js';
import { experimentView, resultsView } from '../http/views.js';
import { apiEntry, lambdaHandler } from './entry.js';
import { experimentService } from './experiments-wiring.js';
import { idempotencyLayer } from './idempotency.js';
import { type Env, makeLogger, modes } from './shared.js';

const logger = makeLogger('experiments');

export function buildExperimentsApi(env: Env = process.env): ProxyHandler {
  const experiments = experimentService(env, logger);
  return createApiHandler(
    'experiments',
    {
      createExperiment: operation({
        ...CONTRACT.createExperiment,
        handle: async ({ principal, body }) => experimentView(await experiments.create(principal, body)),
      }),
      listExperiments: operation({
        ...CONTRACT.listExperiments,
        handle: async ({ query }) => {
          const page = await experiments.list(query);
          return { items: page.items.map(experimentView), nextCursor: page.nextCursor ?? null };
        },
      }),
      getExperiment: operation({
        ...CONTRACT.getExperiment,
        handle: async ({ params }) => experimentView(await experiments.get(params.experimentId)),
      }),
      setExperimentWeights: operation({
        ...CONTRACT.setExperimentWeights,
        handle: async ({ principal, params, body }) =>
          experimentView(
            await experiments.setWeights(principal, params.experimentId, body.weights, body.comment),
          ),
      }),
      startExperiment: operation({
        ...CONTRACT.startExperiment,
        handle: async ({ principal, params, body }) =>
          experimentView(await experiments.start(principal, params.experimentId, body.comment)),
      }),
      pauseExperiment: operation({
        ...CONTRACT.pauseExperiment,
        handle: async ({ principal, params, body }) =>
          experimentView(await experiments.pause(principal, params.experimentId, body.comment)),
      }),
      concludeExperiment: operation({
        ...CONTRACT.concludeExperiment,
        handle: async ({ principal, params, body }) => {
          const { experiment, results } = await experiments.conclude(principal, params.experimentId, body);
          return { experiment: experimentView(experiment), results: resultsView(results) };
        },
      }),
      recordExperimentEvents: operation({
        ...CONTRACT.recordExperimentEvents,
        handle: ({ params, body }) => experiments.recordEvents(params.experimentId, body),
      }),
      getExperimentAssignment: operation({
        ...CONTRACT.getExperimentAssignment,
        handle: ({ params, query }) => experiments.assignment(params.experimentId, query.subject),
      }),
      getExperimentResults: operation({
        ...CONTRACT.getExperimentResults,
        handle: async ({ params }) => resultsView(await experiments.results(params.experimentId)),
      }),
      listExperimentSnapshots: operation({
        ...CONTRACT.listExperimentSnapshots,
        handle: async ({ params, query }) => {
          const page = await experiments.history(params.experimentId, query);
          return {
            items: page.items.map((s) => ({ ...s, results: resultsView(s.results) })),
            nextCursor: page.nextCursor ?? null,
          };
        },
      }),
    },
    { logger, idempotency: idempotencyLayer(env), writeGate: modes(env) },
  );
}

/** The Lambda entry for a given environment (the local runtime passes each function its own). */
export function createHandler(env: Env = process.env) {
  return apiEntry(logger, buildExperimentsApi(env));
}

export const handler = await lambdaHandler(createHandler);
