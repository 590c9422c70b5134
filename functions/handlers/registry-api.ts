/** Lambda entry for the model registry routes: parse → call a registry service → map. */

import { s3Client } from '../adapters/aws-clients.js';
import { IMPORT_BUCKETS_ENV, importBuckets, S3ImportObjects } from '../adapters/s3-imports.js';
import { BUCKETS } from '../contract/resources.js';
import type { ModelRunner } from '../core/kernel/runner.js';
import { datasetFairness } from '../core/monitoring/fairness-report.js';
import { createApiHandler, operation, type ProxyHandler } from '../http/api.js';
import { CONTRACT } from '../http/contract.js';
import { modelView, versionView } from '../http/views.js';
import { apiEntry, lambdaHandler } from './entry.js';
import { experimentDeletionGuard } from './experiments-wiring.js';
import { idempotencyLayer } from './idempotency.js';
import { openAlertsReader } from './monitoring-wiring.js';
import { lifecycleEvents } from './registry-events.js';
import { registryServices } from './registry-wiring.js';
import { type Env, envValue, makeLogger, modes } from './shared.js';

const logger = makeLogger('registry');

export function buildRegistryApi(env: Env = process.env): ProxyHandler {
  let runner: ModelRunner | undefined;
  // Loaded on first use: only validation and imports run models (onnxruntime is a Lambda layer).
  const loadRunner = async () =>
    (runner ??= new (await import('../adapters/onnx-runner.js')).OnnxRuntimeRunner());
  const registry = registryServices(env, undefined, undefined, {
    ...lifecycleEvents(env, logger),
    deletionGuards: [experimentDeletionGuard(env)],
    imports: new S3ImportObjects(
      s3Client(),
      envValue(env, BUCKETS.artifacts.env),
      importBuckets(env[IMPORT_BUCKETS_ENV]),
    ),
    runner: loadRunner,
    alerts: openAlertsReader(env),
  });

  return createApiHandler(
    'registry',
    {
      createModel: operation({
        ...CONTRACT.createModel,
        handle: async ({ principal, body }) => modelView(await registry.models.create(principal, body)),
      }),
      listModels: operation({
        ...CONTRACT.listModels,
        handle: async ({ query }) => {
          const { tag, ...rest } = query;
          const page = await registry.models.list({ ...rest, tags: tag });
          return { items: page.items.map(modelView), nextCursor: page.nextCursor ?? null };
        },
      }),
      getModel: operation({
        ...CONTRACT.getModel,
        handle: async ({ params }) => {
          const { model, versionsByStage, aliases } = await registry.models.overview(params.name);
          return { ...modelView(model), versionsByStage, aliases };
        },
      }),
      updateModel: operation({
        ...CONTRACT.updateModel,
        handle: async ({ principal, params, body }) =>
          modelView(await registry.models.update(principal, params.name, body)),
      }),
      registerVersion: operation({
        ...CONTRACT.registerVersion,
        handle: async ({ principal, params, body }) => {
          const { version, upload } = await registry.artifacts.register(principal, params.name, body);
          return { ...versionView(version), upload: upload ?? null };
        },
      }),
      listVersions: operation({
        ...CONTRACT.listVersions,
        handle: async ({ params, query }) => {
          const page = await registry.models.listVersions(params.name, query);
          return { items: page.items.map(versionView), nextCursor: page.nextCursor ?? null };
        },
      }),
      getVersion: operation({
        ...CONTRACT.getVersion,
        handle: async ({ params }) =>
          versionView(await registry.models.getVersion(params.name, params.version)),
      }),
      updateVersion: operation({
        ...CONTRACT.updateVersion,
        handle: async ({ principal, params, body }) =>
          versionView(await registry.models.updateVersion(principal, params.name, params.version, body)),
      }),
      deleteModel: operation({
        ...CONTRACT.deleteModel,
        handle: ({ principal, params }) => registry.deletions.deleteModel(principal, params.name),
      }),
      deleteVersion: operation({
        ...CONTRACT.deleteVersion,
        handle: ({ principal, params }) =>
          registry.deletions.deleteVersion(principal, params.name, params.version),
      }),
      newUploadUrl: operation({
        ...CONTRACT.newUploadUrl,
        handle: async ({ principal, params }) => {
          const { version, upload } = await registry.artifacts.uploadUrl(
            principal,
            params.name,
            params.version,
          );
          return { ...versionView(version), upload };
        },
      }),
      completeUpload: operation({
        ...CONTRACT.completeUpload,
        handle: async ({ principal, params }) =>
          versionView(await registry.artifacts.completeUpload(principal, params.name, params.version)),
      }),
      getArtifactUrl: operation({
        ...CONTRACT.getArtifactUrl,
        handle: ({ params }) => registry.artifacts.downloadUrl(params.name, params.version),
      }),
      verifyArtifact: operation({
        ...CONTRACT.verifyArtifact,
        handle: ({ principal, params }) => registry.artifacts.verify(principal, params.name, params.version),
      }),
      validateVersion: operation({
        ...CONTRACT.validateVersion,
        handle: async ({ principal, params, body }) => {
          return registry.validation.validate(
            principal,
            params.name,
            params.version,
            body,
            await loadRunner(),
          );
        },
      }),
      versionFairness: operation({
        ...CONTRACT.versionFairness,
        handle: async ({ principal, params, body }) => {
          return datasetFairness(
            registry.validation,
            principal,
            params.name,
            params.version,
            body,
            await loadRunner(),
          );
        },
      }),
      transitionVersion: operation({
        ...CONTRACT.transitionVersion,
        handle: async ({ principal, params: { name, version }, body: { stage, comment } }) =>
          versionView(await registry.lifecycle.transition(principal, name, version, stage, comment)),
      }),
      decideApproval: operation({
        ...CONTRACT.decideApproval,
        handle: async ({ principal, params: { name, version }, body: { decision, comment } }) =>
          versionView(await registry.lifecycle.decideApproval(principal, name, version, decision, comment)),
      }),
      rollback: operation({
        ...CONTRACT.rollback,
        handle: async ({ principal, params, body }) =>
          versionView(
            await registry.lifecycle.rollback(principal, params.name, body.toVersion, body.comment),
          ),
      }),
      setAlias: operation({
        ...CONTRACT.setAlias,
        handle: async ({ principal, params, body }) => ({
          model: params.name,
          aliases: await registry.aliases.set(principal, params.name, params.alias, body.version),
        }),
      }),
      deleteAlias: operation({
        ...CONTRACT.deleteAlias,
        handle: async ({ principal, params }) => ({
          model: params.name,
          aliases: await registry.aliases.remove(principal, params.name, params.alias),
        }),
      }),
      productionHistory: operation({
        ...CONTRACT.productionHistory,
        handle: async ({ params, query }) => {
          const page = await registry.lifecycle.productionHistory(params.name, query);
          return { items: page.items, nextCursor: page.nextCursor ?? null };
        },
      }),
      compareVersions: operation({
        ...CONTRACT.compareVersions,
        handle: ({ params, query }) => registry.comparison.compare(params.name, query.a, query.b),
      }),
    },
    { logger, idempotency: idempotencyLayer(env), writeGate: modes(env) },
  );
}

/** The Lambda entry for a given environment (the local runtime passes each function its own). */
export function createHandler(env: Env = process.env) {
  return apiEntry(logger, buildRegistryApi(env));
}

export const handler = await lambdaHandler(createHandler);
