/**
 * The request schemas of every operation in the route table. Handlers take their validation from
 * here and the OpenAPI document is generated from here, so the two cannot disagree.
 */
import * as z from 'zod';
import type { OperationId } from '../contract/routes.js';
import { CreateExperimentBody } from '../core/experiments/definition.js';
import { MonitoringPolicy } from '../core/monitoring/policy.js';
import { ValidationRequest } from '../core/registry/validation-report.js';
import { INFERENCE_CONTRACT } from './inference-contract.js';
import {
  AckBody,
  AlertParams,
  AlertsQuery,
  AliasBody,
  AliasParams,
  ApprovalBody,
  AssignmentQuery,
  AuditQuery,
  BaselineBody,
  CompareQuery,
  ConcludeBody,
  CreateKeyBody,
  CreateModelBody,
  DriftCheckBody,
  ExperimentParams,
  ExperimentStateBody,
  ExperimentsQuery,
  FairnessQuery,
  HealthDetailedQuery,
  JobParams,
  JobsQuery,
  KeyParams,
  ListModelsQuery,
  ListVersionsQuery,
  ModeBody,
  NameParams,
  OnlineResetBody,
  OutcomeEventsBody,
  PageQuery,
  PerformanceQuery,
  RegisterVersionBody,
  RetrainBody,
  RollbackBody,
  TokenBody,
  TransitionBody,
  UpdateModelBody,
  UpdateVersionBody,
  Version,
  VersionFairnessBody,
  VersionParams,
  WebhookBody,
  WebhookParams,
  WeightsBody,
} from './schemas.js';

export interface OperationSchemas {
  readonly params?: z.core.$ZodType;
  readonly query?: z.core.$ZodType;
  readonly body?: z.core.$ZodType;
  /** Status of a successful answer. */
  readonly status?: number;
  /** Content type of a successful answer when it is not JSON. */
  readonly produces?: string;
  /**
   * Top-level answer fields holding a secret shown once (an API key, a token, a signing secret).
   * They are never written to the idempotency table, and a replay of the request answers 409
   * instead of handing the secret out again (functions/http/api.ts).
   */
  readonly secretFields?: readonly string[];
}

export const CONTRACT = {
  health: {},
  healthDetailed: { query: HealthDetailedQuery },
  openapi: {},
  getMode: {},
  setMode: { body: ModeBody },
  listAudit: { query: AuditQuery },
  issueToken: { body: TokenBody, secretFields: ['token'] },
  createKey: { body: CreateKeyBody, status: 201, secretFields: ['key'] },
  listKeys: { query: PageQuery },
  revokeKey: { params: KeyParams },
  createModel: { body: CreateModelBody, status: 201 },
  listModels: { query: ListModelsQuery },
  getModel: { params: NameParams },
  updateModel: { params: NameParams, body: UpdateModelBody },
  registerVersion: { params: NameParams, body: RegisterVersionBody, status: 201 },
  listVersions: { params: NameParams, query: ListVersionsQuery },
  getVersion: { params: VersionParams },
  updateVersion: { params: VersionParams, body: UpdateVersionBody },
  deleteModel: { params: NameParams },
  deleteVersion: { params: VersionParams },
  newUploadUrl: { params: VersionParams },
  completeUpload: { params: VersionParams },
  getArtifactUrl: { params: VersionParams },
  verifyArtifact: { params: VersionParams },
  validateVersion: { params: VersionParams, body: ValidationRequest },
  versionFairness: { params: VersionParams, body: VersionFairnessBody },
  transitionVersion: { params: VersionParams, body: TransitionBody },
  decideApproval: { params: VersionParams, body: ApprovalBody },
  setAlias: { params: AliasParams, body: AliasBody },
  deleteAlias: { params: AliasParams },
  rollback: { params: NameParams, body: RollbackBody },
  productionHistory: { params: NameParams, query: PageQuery },
  compareVersions: { params: NameParams, query: CompareQuery },
  putBaseline: { params: NameParams, body: BaselineBody },
  getBaseline: { params: NameParams, query: z.object({ version: z.optional(Version) }) },
  checkDrift: { params: NameParams, body: DriftCheckBody },
  listDriftReports: { params: NameParams, query: PageQuery },
  listQualityReports: { params: NameParams, query: PageQuery },
  getPerformance: { params: NameParams, query: PerformanceQuery },
  getFairness: { params: NameParams, query: FairnessQuery },
  putPolicy: { params: NameParams, body: MonitoringPolicy },
  getPolicy: { params: NameParams },
  getOnline: { params: NameParams },
  resetOnline: { params: NameParams, body: OnlineResetBody },
  listAlerts: { query: AlertsQuery },
  ackAlert: { params: AlertParams, body: AckBody },
  createWebhook: { body: WebhookBody, status: 201, secretFields: ['secret'] },
  listWebhooks: { query: PageQuery },
  deleteWebhook: { params: WebhookParams },
  metrics: { produces: 'text/plain; version=0.0.4' },
  ...INFERENCE_CONTRACT,
  createExperiment: { body: CreateExperimentBody, status: 201 },
  listExperiments: { query: ExperimentsQuery },
  getExperiment: { params: ExperimentParams },
  setExperimentWeights: { params: ExperimentParams, body: WeightsBody },
  startExperiment: { params: ExperimentParams, body: ExperimentStateBody },
  pauseExperiment: { params: ExperimentParams, body: ExperimentStateBody },
  concludeExperiment: { params: ExperimentParams, body: ConcludeBody },
  recordExperimentEvents: { params: ExperimentParams, body: OutcomeEventsBody },
  getExperimentAssignment: { params: ExperimentParams, query: AssignmentQuery },
  getExperimentResults: { params: ExperimentParams },
  listExperimentSnapshots: { params: ExperimentParams, query: PageQuery },
  retrainModel: { params: NameParams, body: RetrainBody, status: 202 },
  listJobs: { query: JobsQuery },
  getJob: { params: JobParams },
  cancelJob: { params: JobParams },
} as const satisfies Record<OperationId, OperationSchemas>;
