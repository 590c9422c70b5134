/**
 * Every HTTP route Serval serves, with the minimum role it needs and the function that serves it.
 * API Gateway resources (lib/constructs/api.ts), the local gateway (local/gateway.ts), the role
 * check and the OpenAPI document are all generated from this table, so a route cannot exist
 * without a declared role.
 */
import type { FunctionId } from './resources.js';
import type { Role } from './roles.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteDef {
  readonly method: HttpMethod;
  /** API Gateway resource template, e.g. /v1/models/{name}. */
  readonly path: string;
  /** Minimum role; 'none' means no credential is needed. */
  readonly role: Role | 'none';
  readonly fn: FunctionId;
  readonly operationId: string;
  readonly summary: string;
  /** A change that stays allowed in maintenance mode (the way out of it, and token exchange). */
  readonly duringMaintenance?: true;
}

export const ROUTES = [
  // System
  {
    method: 'GET',
    path: '/v1/health',
    role: 'none',
    fn: 'system',
    operationId: 'health',
    summary: 'Liveness',
  },
  {
    method: 'GET',
    path: '/v1/health/detailed',
    role: 'viewer',
    fn: 'system',
    operationId: 'healthDetailed',
    summary:
      "Each store reachable, queue depths, and the integrity sweep's last result per production artifact (admins: ?recheck=true)",
  },
  {
    method: 'GET',
    path: '/v1/openapi.json',
    role: 'none',
    fn: 'system',
    operationId: 'openapi',
    summary: 'This OpenAPI document',
  },
  {
    method: 'GET',
    path: '/v1/mode',
    role: 'viewer',
    fn: 'system',
    operationId: 'getMode',
    summary:
      'The operating mode (serving, training or maintenance) and what it means: changes accepted, retraining always / if the model policy allows / never',
  },
  {
    method: 'PUT',
    path: '/v1/mode',
    role: 'admin',
    fn: 'system',
    operationId: 'setMode',
    summary:
      'Change the operating mode (maintenance refuses every change with 503; reads and predictions go on)',
    duringMaintenance: true,
  },
  {
    method: 'GET',
    path: '/v1/audit',
    role: 'viewer',
    fn: 'system',
    operationId: 'listAudit',
    summary: 'Audit events, filtered by model, actor and time',
  },
  {
    method: 'GET',
    path: '/v1/metrics',
    role: 'viewer',
    fn: 'system',
    operationId: 'metrics',
    summary: 'Serving metrics in Prometheus text format (hourly aggregates; live histograms locally)',
  },
  // Auth
  {
    method: 'POST',
    path: '/v1/auth/token',
    role: 'viewer',
    fn: 'auth',
    operationId: 'issueToken',
    summary: 'Exchange an API key for a short-lived JWT (any role; not with a token)',
    duringMaintenance: true,
  },
  {
    method: 'POST',
    path: '/v1/auth/keys',
    role: 'admin',
    fn: 'auth',
    operationId: 'createKey',
    summary: 'Create an API key (shown once, stored hashed)',
  },
  {
    method: 'GET',
    path: '/v1/auth/keys',
    role: 'admin',
    fn: 'auth',
    operationId: 'listKeys',
    summary: 'List API keys',
  },
  {
    method: 'DELETE',
    path: '/v1/auth/keys/{keyId}',
    role: 'admin',
    fn: 'auth',
    operationId: 'revokeKey',
    summary: 'Revoke an API key',
  },
  // Registry
  {
    method: 'POST',
    path: '/v1/models',
    role: 'scientist',
    fn: 'registry',
    operationId: 'createModel',
    summary: 'Create a model',
  },
  {
    method: 'GET',
    path: '/v1/models',
    role: 'viewer',
    fn: 'registry',
    operationId: 'listModels',
    summary: 'List models, filtered by ?q= (name or description) and ?tag=key:value',
  },
  {
    method: 'GET',
    path: '/v1/models/{name}',
    role: 'viewer',
    fn: 'registry',
    operationId: 'getModel',
    summary: 'Model details: versions by stage, production version',
  },
  {
    method: 'PATCH',
    path: '/v1/models/{name}',
    role: 'scientist',
    fn: 'registry',
    operationId: 'updateModel',
    summary:
      'Update description, tags and fallback; the promotion gates (requireValidation, allowUnservableProduction, minValidationRows, requiredThresholds, promotionGate) need the admin role',
  },
  {
    method: 'DELETE',
    path: '/v1/models/{name}',
    role: 'admin',
    fn: 'registry',
    operationId: 'deleteModel',
    summary:
      'Soft-delete a model (refused while it has a production version); audit kept, artifacts removed after the retention period',
  },
  {
    method: 'POST',
    path: '/v1/models/{name}/versions',
    role: 'scientist',
    fn: 'registry',
    operationId: 'registerVersion',
    summary: 'Register a version (inline base64 artifact or presigned upload)',
  },
  {
    method: 'GET',
    path: '/v1/models/{name}/versions',
    role: 'viewer',
    fn: 'registry',
    operationId: 'listVersions',
    summary: 'List versions',
  },
  {
    method: 'GET',
    path: '/v1/models/{name}/versions/{version}',
    role: 'viewer',
    fn: 'registry',
    operationId: 'getVersion',
    summary: 'One version with metadata, stage, approval, checksum',
  },
  {
    method: 'PATCH',
    path: '/v1/models/{name}/versions/{version}',
    role: 'scientist',
    fn: 'registry',
    operationId: 'updateVersion',
    summary: "Change a version's description and tags (everything else about a version is immutable)",
  },
  {
    method: 'DELETE',
    path: '/v1/models/{name}/versions/{version}',
    role: 'admin',
    fn: 'registry',
    operationId: 'deleteVersion',
    summary:
      'Soft-delete a version (refused while in production); audit kept, artifact removed after the retention period',
  },
  {
    method: 'POST',
    path: '/v1/models/{name}/versions/{version}/upload-url',
    role: 'scientist',
    fn: 'registry',
    operationId: 'newUploadUrl',
    summary: 'A fresh presigned upload URL for a pending version (e.g. after a failed completion)',
  },
  {
    method: 'POST',
    path: '/v1/models/{name}/versions/{version}/complete',
    role: 'scientist',
    fn: 'registry',
    operationId: 'completeUpload',
    summary: 'Verify an uploaded artifact against its declared SHA-256',
  },
  {
    method: 'GET',
    path: '/v1/models/{name}/versions/{version}/artifact',
    role: 'viewer',
    fn: 'registry',
    operationId: 'getArtifactUrl',
    summary: 'Presigned download URL',
  },
  {
    method: 'POST',
    path: '/v1/models/{name}/versions/{version}/verify',
    role: 'viewer',
    fn: 'registry',
    operationId: 'verifyArtifact',
    summary: 'Recompute the SHA-256 of the stored artifact',
  },
  {
    method: 'POST',
    path: '/v1/models/{name}/versions/{version}/validate',
    role: 'scientist',
    fn: 'registry',
    operationId: 'validateVersion',
    summary:
      'Validation report: loads, schema matches, metrics on a validation set meet thresholds, latency budget',
  },
  {
    method: 'POST',
    path: '/v1/models/{name}/versions/{version}/fairness',
    role: 'scientist',
    fn: 'registry',
    operationId: 'versionFairness',
    summary:
      'Fairness of the version on a dataset (instances, labels, attribute values), stored on the version for the promotion gate',
  },
  {
    method: 'POST',
    path: '/v1/models/{name}/versions/{version}/transition',
    role: 'scientist',
    fn: 'registry',
    operationId: 'transitionVersion',
    summary: 'Move a version between stages (production needs approver and an approval)',
  },
  {
    method: 'POST',
    path: '/v1/models/{name}/versions/{version}/approval',
    role: 'approver',
    fn: 'registry',
    operationId: 'decideApproval',
    summary: 'Approve or reject a version (never by the principal that registered it)',
  },
  {
    method: 'POST',
    path: '/v1/models/{name}/rollback',
    role: 'approver',
    fn: 'registry',
    operationId: 'rollback',
    summary: 'Re-promote the previous production version, or a named one that has been in production before',
  },
  {
    method: 'PUT',
    path: '/v1/models/{name}/aliases/{alias}',
    role: 'scientist',
    fn: 'registry',
    operationId: 'setAlias',
    summary: 'Point a named alias (champion, challenger…) at a version; production and latest are managed',
  },
  {
    method: 'DELETE',
    path: '/v1/models/{name}/aliases/{alias}',
    role: 'scientist',
    fn: 'registry',
    operationId: 'deleteAlias',
    summary: 'Remove a named alias',
  },
  {
    method: 'GET',
    path: '/v1/models/{name}/production-history',
    role: 'viewer',
    fn: 'registry',
    operationId: 'productionHistory',
    summary: 'Every change of the production version, newest first',
  },
  {
    method: 'GET',
    path: '/v1/models/{name}/compare',
    role: 'viewer',
    fn: 'registry',
    operationId: 'compareVersions',
    summary: 'Metrics, params, schema and lineage of two versions side by side',
  },
  // Monitoring
  {
    method: 'PUT',
    path: '/v1/models/{name}/baseline',
    role: 'scientist',
    fn: 'monitoring',
    operationId: 'putBaseline',
    summary: 'Build the reference profile of a version from rows or a dataset file in S3',
  },
  {
    method: 'GET',
    path: '/v1/models/{name}/baseline',
    role: 'viewer',
    fn: 'monitoring',
    operationId: 'getBaseline',
    summary: 'The reference profile (per feature: type, summary, sketch)',
  },
  {
    method: 'POST',
    path: '/v1/models/{name}/drift/check',
    role: 'scientist',
    fn: 'monitoring',
    operationId: 'checkDrift',
    summary: 'Run a drift check now over a window of captured predictions',
  },
  {
    method: 'GET',
    path: '/v1/models/{name}/drift',
    role: 'viewer',
    fn: 'monitoring',
    operationId: 'listDriftReports',
    summary: 'Drift reports, the latest window first (reports of one window: newest first)',
  },
  {
    method: 'GET',
    path: '/v1/models/{name}/quality',
    role: 'viewer',
    fn: 'monitoring',
    operationId: 'listQualityReports',
    summary:
      "Data-quality reports per window (missing values, types, ranges, new categories, columns) with the hour's prediction volume",
  },
  {
    method: 'GET',
    path: '/v1/models/{name}/performance',
    role: 'viewer',
    fn: 'monitoring',
    operationId: 'getPerformance',
    summary:
      'Metrics from ground truth over a window of prediction time (late labels count in their prediction’s window), with label coverage',
  },
  {
    method: 'GET',
    path: '/v1/models/{name}/fairness',
    role: 'viewer',
    fn: 'monitoring',
    operationId: 'getFairness',
    summary:
      'Group fairness of served decisions by a context attribute: per-group rates, parity and odds differences with bootstrap intervals',
  },
  {
    method: 'PUT',
    path: '/v1/models/{name}/policy',
    role: 'admin',
    fn: 'monitoring',
    operationId: 'putPolicy',
    summary: 'Monitoring schedule, window, per-feature tests and thresholds, correction, dataset drift share',
  },
  {
    method: 'GET',
    path: '/v1/models/{name}/policy',
    role: 'viewer',
    fn: 'monitoring',
    operationId: 'getPolicy',
    summary: 'The monitoring policy (defaults filled in)',
  },
  {
    method: 'GET',
    path: '/v1/models/{name}/online',
    role: 'viewer',
    fn: 'monitoring',
    operationId: 'getOnline',
    summary:
      'The online learner: strategy, samples seen and skipped, updates, rolling accuracy, detector, last snapshot',
  },
  {
    method: 'POST',
    path: '/v1/models/{name}/online/reset',
    role: 'scientist',
    fn: 'monitoring',
    operationId: 'resetOnline',
    summary: 'Discards the online learner (audited); the next labelled sample starts one from production',
  },
  {
    method: 'GET',
    path: '/v1/alerts',
    role: 'viewer',
    fn: 'monitoring',
    operationId: 'listAlerts',
    summary: 'Alerts, newest first',
  },
  {
    method: 'POST',
    path: '/v1/alerts/{alertId}/ack',
    role: 'scientist',
    fn: 'monitoring',
    operationId: 'ackAlert',
    summary: 'Acknowledge an alert',
  },
  {
    method: 'POST',
    path: '/v1/webhooks',
    role: 'admin',
    fn: 'monitoring',
    operationId: 'createWebhook',
    summary: 'Register an HTTPS endpoint for alert and lifecycle events (signing secret shown once)',
  },
  {
    method: 'GET',
    path: '/v1/webhooks',
    role: 'admin',
    fn: 'monitoring',
    operationId: 'listWebhooks',
    summary: 'List webhooks',
  },
  {
    method: 'DELETE',
    path: '/v1/webhooks/{webhookId}',
    role: 'admin',
    fn: 'monitoring',
    operationId: 'deleteWebhook',
    summary: 'Remove a webhook',
  },
  // Inference: predictions are served in maintenance mode too (it freezes changes, not serving).
  {
    method: 'POST',
    path: '/v1/models/{name}/predict',
    role: 'predictor',
    fn: 'inference',
    operationId: 'predict',
    summary:
      'Predict a batch of instances with an explicit version, an alias or production (falls back to the previous production version if production fails its checksum)',
    duringMaintenance: true,
  },
  {
    method: 'POST',
    path: '/v1/models/{name}/explain',
    role: 'predictor',
    fn: 'inference',
    operationId: 'explain',
    summary:
      'Shapley-value attributions of any ONNX version (exact when every coalition fits the sample budget, else Kernel SHAP); the closed form for linear and logistic versions with training means',
    duringMaintenance: true,
  },
  {
    method: 'POST',
    path: '/v1/predictions/feedback',
    role: 'predictor',
    fn: 'inference',
    operationId: 'feedback',
    summary: 'Ground truth for served predictions, joined to them by prediction id',
    duringMaintenance: true,
  },
  {
    method: 'GET',
    path: '/v1/models/{name}/stats',
    role: 'viewer',
    fn: 'inference',
    operationId: 'stats',
    summary:
      'Serving statistics per version over a window: requests, error rate, latency percentiles, confidence, and accuracy/precision/recall/F1 from feedback',
  },
  // Experiments
  {
    method: 'POST',
    path: '/v1/experiments',
    role: 'scientist',
    fn: 'experiments',
    operationId: 'createExperiment',
    summary: 'Create an A/B/n, canary or shadow experiment over registered versions (state draft)',
  },
  {
    method: 'GET',
    path: '/v1/experiments',
    role: 'viewer',
    fn: 'experiments',
    operationId: 'listExperiments',
    summary: 'Experiments, newest first; ?model=&state=',
  },
  {
    method: 'GET',
    path: '/v1/experiments/{experimentId}',
    role: 'viewer',
    fn: 'experiments',
    operationId: 'getExperiment',
    summary: 'Definition, state, current weights (slot table) and outcome',
  },
  {
    method: 'PATCH',
    path: '/v1/experiments/{experimentId}',
    role: 'scientist',
    fn: 'experiments',
    operationId: 'setExperimentWeights',
    summary: 'New weights of an A/B experiment, moving as few subjects as possible',
  },
  {
    method: 'POST',
    path: '/v1/experiments/{experimentId}/start',
    role: 'scientist',
    fn: 'experiments',
    operationId: 'startExperiment',
    summary:
      'Start or resume: predictions for the model are served by the variants (one running experiment per model)',
  },
  {
    method: 'POST',
    path: '/v1/experiments/{experimentId}/pause',
    role: 'scientist',
    fn: 'experiments',
    operationId: 'pauseExperiment',
    summary: 'Pause: production serves again; results and events are kept',
  },
  {
    method: 'POST',
    path: '/v1/experiments/{experimentId}/conclude',
    role: 'scientist',
    fn: 'experiments',
    operationId: 'concludeExperiment',
    summary: 'Conclude; with promote, the winner (or a named variant) is promoted under the registry rules',
  },
  {
    method: 'POST',
    path: '/v1/experiments/{experimentId}/events',
    role: 'predictor',
    fn: 'experiments',
    operationId: 'recordExperimentEvents',
    summary: 'Outcome events [{eventId, subject, metric, value}]; a replayed eventId counts once',
  },
  {
    method: 'GET',
    path: '/v1/experiments/{experimentId}/assignment',
    role: 'viewer',
    fn: 'experiments',
    operationId: 'getExperimentAssignment',
    summary: 'The variant of a subject (?subject=), computed without enrolling it',
  },
  {
    method: 'GET',
    path: '/v1/experiments/{experimentId}/results',
    role: 'viewer',
    fn: 'experiments',
    operationId: 'getExperimentResults',
    summary:
      'Per variant n, mean, CI; per comparison diff, lift, p-values (fixed, always-valid, adjusted); SRM; decision',
  },
  {
    method: 'GET',
    path: '/v1/experiments/{experimentId}/history',
    role: 'viewer',
    fn: 'experiments',
    operationId: 'listExperimentSnapshots',
    summary: 'Results kept by each scheduled analysis, oldest first',
  },
  // Retraining
  {
    method: 'POST',
    path: '/v1/models/{name}/retrain',
    role: 'scientist',
    fn: 'retraining',
    operationId: 'retrainModel',
    summary:
      'Queue a retraining job (one active per model, a cooldown after the last; a repeat while one is active is recorded on it and answered 409)',
  },
  {
    method: 'GET',
    path: '/v1/jobs',
    role: 'viewer',
    fn: 'retraining',
    operationId: 'listJobs',
    summary: 'Retraining jobs, newest first; ?model=&state=',
  },
  {
    method: 'GET',
    path: '/v1/jobs/{jobId}',
    role: 'viewer',
    fn: 'retraining',
    operationId: 'getJob',
    summary: 'A retraining job: state, progress (trial of trials), result version, error, recent log lines',
  },
  {
    method: 'POST',
    path: '/v1/jobs/{jobId}/cancel',
    role: 'scientist',
    fn: 'retraining',
    operationId: 'cancelJob',
    summary: 'Cancel a queued job, or stop a running one at its next trial',
  },
] as const satisfies readonly RouteDef[];

export type Route = (typeof ROUTES)[number];
export type OperationId = Route['operationId'];
