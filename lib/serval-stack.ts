/**
 * Serval on AWS in one stack: storage, the functions with exactly the access each needs, the
 * HTTP API, the background workers and the alarms.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Period } from 'aws-cdk-lib/aws-apigateway';
import { Alias, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct, Node } from 'constructs';
import {
  AUTH_CACHE_TTL_ENV,
  authCacheTtlSeconds,
  DEFAULT_AUTH_CACHE_TTL_SECONDS,
} from '../functions/contract/limits.js';
import {
  BINDINGS,
  BUCKETS,
  dlqEnv,
  FUNCTIONS,
  type FunctionBindings,
  type FunctionId,
  QUEUES,
  SECRETS,
  TABLES,
  TOPICS,
} from '../functions/contract/resources.js';
import { ROUTES } from '../functions/contract/routes.js';
import { Alarms } from './constructs/alarms.js';
import {
  DEFAULT_QUOTA,
  DEFAULT_THROTTLE,
  type QuotaProps,
  ServalApi,
  type ThrottleProps,
} from './constructs/api.js';
import { Dashboard } from './constructs/dashboard.js';
import {
  bindImportBuckets,
  bindSageMakerEndpoints,
  bindSageMakerTraining,
  checkSageMakerEndpointNames,
  OnnxRuntimeLayer,
} from './constructs/inference.js';
import {
  bindBucket,
  bindQueue,
  bindSecret,
  bindTable,
  bindTopic,
  FUNCTION_ARCHITECTURE,
  ServalFunction,
} from './constructs/serval-function.js';
import { Storage } from './constructs/storage.js';
import { Workers, workerTimeout } from './constructs/workers.js';

export interface ServalStackProps extends StackProps {
  /** Deployment stage: SERVAL_STAGE of every function and the API Gateway stage name. */
  readonly stage: string;
  /** Steady rate and burst, per key in the usage plan and for the API stage as a whole. */
  readonly throttle?: ThrottleProps;
  /** Requests per key per period in the usage plan. */
  readonly quota?: QuotaProps;
  /** E-mail subscribed to the alarm topic (confirmation mail is sent on deploy). */
  readonly alarmEmail?: string;
  /** Retention of function and API access logs (default one month). */
  readonly logRetention?: RetentionDays;
  /** Keep tables (with deletion protection) and logs when the stack is deleted (default true). */
  readonly retainData?: boolean;
  /** Existing regional WAFv2 web ACL to put in front of the API. */
  readonly webAclArn?: string;
  /** Browser origins allowed to use presigned artifact URLs (e.g. the dashboard's). */
  readonly artifactCorsOrigins?: readonly string[];
  /**
   * SageMaker endpoints (names, in this account and region) the inference function may invoke,
   * for versions served with `runtime.type = "sagemaker"`. Default none: no InvokeEndpoint at all.
   */
  readonly sagemakerEndpoints?: readonly string[];
  /** Buckets the registry may import models from by s3:// URI (docs/import.md). Default none. */
  readonly importBuckets?: readonly string[];
  /**
   * The execution role SageMaker training jobs run as (docs/retraining.md "SageMaker training").
   * Default none: the retrain worker has no SageMaker permission, and a policy that trains there
   * fails its jobs with AccessDenied.
   */
  readonly trainingRoleArn?: string;
  /** Days captured predictions are kept under `captures/` in the artifacts bucket (default 400). */
  readonly captureRetentionDays?: number;
  /**
   * Webhook receivers on private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7)
   * accepted: for receivers inside the VPC. Default false (docs/security.md).
   */
  readonly webhookAllowPrivate?: boolean;
  /**
   * Reserved concurrency per function, over DEFAULT_RESERVED_CONCURRENCY; `null` leaves a
   * function unreserved (it then shares the account's unreserved pool).
   */
  readonly reservedConcurrency?: Partial<Record<FunctionId, number | null>>;
  /**
   * Provisioned concurrency per function API Gateway invokes (a route's function or the
   * authorizer): that many environments are initialised ahead of traffic, so their requests never
   * wait for a cold start, and API Gateway invokes a `live` alias of the function's current
   * version. Billed while deployed, used or not. Default none (docs/deploy.md, "Cold starts").
   */
  readonly provisionedConcurrency?: Partial<Record<FunctionId, number>>;
  /**
   * How long (seconds, 0..3600) the authorizer trusts a credential it has checked: a revoked key
   * or a role change takes effect within it (docs/security.md). Default 60; 0 checks every
   * request. The local runtime reads the same setting as SERVAL_AUTH_CACHE_TTL_SECONDS.
   */
  readonly authorizerCacheTtlSeconds?: number;
}

const API_TIMEOUT = Duration.seconds(29); // API Gateway's integration timeout: longer is wasted.

/** Memory and timeout per function; keyed by FunctionId so a new function cannot be forgotten. */
const SIZING: Record<FunctionId, { memorySize: number; timeout: Duration }> = {
  system: { memorySize: 512, timeout: API_TIMEOUT },
  registry: { memorySize: 1024, timeout: API_TIMEOUT },
  auth: { memorySize: 512, timeout: API_TIMEOUT },
  // Runs before every authenticated request, a key-store read only on a cache miss: small and quick.
  authorizer: { memorySize: 256, timeout: Duration.seconds(10) },
  integrityScheduler: { memorySize: 512, timeout: Duration.minutes(2) },
  // Hashing artifacts is CPU-bound, and Lambda's CPU share grows with memory.
  integrityWorker: { memorySize: 1024, timeout: workerTimeout(QUEUES.integrity.visibilityTimeoutSeconds) },
  monitoring: { memorySize: 1024, timeout: API_TIMEOUT },
  driftScheduler: { memorySize: 512, timeout: Duration.minutes(2) },
  // A 10M-row window streams through sketches in minutes; 3 GB is the memory budget measured.
  driftWorker: { memorySize: 3008, timeout: workerTimeout(QUEUES.drift.visibilityTimeoutSeconds) },
  webhookWorker: { memorySize: 256, timeout: workerTimeout(QUEUES.webhooks.visibilityTimeoutSeconds) },
  // Measured (npm run bench, cold path): the handler with an MLP session loaded holds 112 MB
  // RSS, so memory is not the constraint; CPU is. Lambda's CPU share grows with memory and
  // reaches one full vCPU at 1769 MB; onnxruntime runs each session on one intra-op thread
  // (functions/adapters/onnx-runner.ts), so a second vCPU would sit idle.
  inference: { memorySize: 1769, timeout: API_TIMEOUT },
  captureWorker: { memorySize: 512, timeout: workerTimeout(QUEUES.captures.visibilityTimeoutSeconds) },
  experiments: { memorySize: 1024, timeout: API_TIMEOUT },
  experimentsScheduler: { memorySize: 256, timeout: Duration.minutes(2) },
  experimentsWorker: { memorySize: 512, timeout: workerTimeout(QUEUES.experiments.visibilityTimeoutSeconds) },
  retraining: { memorySize: 512, timeout: API_TIMEOUT },
  // Training is CPU-bound in one thread: one full vCPU (1769 MB) and up to 15 minutes a job.
  retrainWorker: { memorySize: 1769, timeout: workerTimeout(QUEUES.retrain.visibilityTimeoutSeconds) },
  retrainScheduler: { memorySize: 256, timeout: Duration.minutes(2) },
  // One candidate's cross-validation: CPU-bound in one thread, as the retrain worker.
  trialWorker: { memorySize: 1769, timeout: workerTimeout(QUEUES.trials.visibilityTimeoutSeconds) },
  jobSweeper: { memorySize: 256, timeout: Duration.minutes(2) },
  // A message is a few hundred SGD steps on one small state item: light, but the snapshot's
  // registration parses and writes an ONNX file.
  onlineWorker: { memorySize: 512, timeout: workerTimeout(QUEUES.online.visibilityTimeoutSeconds) },
};

/**
 * Reserved concurrency per function: a ceiling, so one runaway function (a retry storm, a flood
 * of captures, a loop of webhooks) cannot take the account's whole concurrency from the others,
 * and a floor, as the same amount is kept for it. The API functions follow the stage's default
 * throttle (100 requests in a burst): the authorizer runs before each of them and inference is
 * the hot path; the others are far lighter. Workers are capped lower, and their SQS event source
 * mappings never poll with more concurrency than is reserved (lib/constructs/workers.ts), so a
 * throttled batch is not counted as a failed receive. Schedulers run one sweep at a time. The sum
 * (312) leaves the 100 AWS keeps unreserved under the default limit of 1000 per region.
 */
export const DEFAULT_RESERVED_CONCURRENCY: Record<FunctionId, number> = {
  system: 10,
  registry: 20,
  auth: 10,
  authorizer: 100,
  integrityScheduler: 1,
  integrityWorker: 5,
  monitoring: 10,
  driftScheduler: 1,
  // 3 GB each: five windows at once is already 15 GB of drift checks.
  driftWorker: 5,
  webhookWorker: 10,
  inference: 100,
  captureWorker: 10,
  experiments: 10,
  experimentsScheduler: 1,
  experimentsWorker: 5,
  retraining: 5,
  // One job per model at a time anyway; two workers keep a long job from blocking every other model.
  retrainWorker: 2,
  retrainScheduler: 1,
  // A fanned-out search runs this many trials at once.
  trialWorker: 10,
  jobSweeper: 1,
  // Writers of one model serialise on its learner's revision: more workers mostly add conflicts.
  onlineWorker: 2,
};

/** SQS event source mappings refuse a maximum concurrency below 2. */
const MIN_EVENT_SOURCE_CONCURRENCY = 2;

/**
 * Functions that load onnxruntime-node, which comes from the layer (native, so not bundled):
 * inference serves ONNX models, the registry runs validation gates on them.
 */
// The retrain worker runs the candidate and production on the held-out rows.
const ONNXRUNTIME_FUNCTIONS: readonly FunctionId[] = ['inference', 'registry', 'retrainWorker'];

export class ServalStack extends Stack {
  readonly storage: Storage;
  readonly onnxRuntime: OnnxRuntimeLayer;
  readonly functions: Record<FunctionId, ServalFunction>;
  readonly api: ServalApi;
  readonly workers: Workers;
  readonly alarms: Alarms;
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ServalStackProps) {
    super(scope, id, {
      description: 'Serval: serverless MLOps — model registry, API keys, artifact integrity checks',
      ...props,
    });
    const retainData = props.retainData ?? true;
    checkSageMakerEndpointNames(props.sagemakerEndpoints ?? []);

    this.storage = new Storage(this, 'Storage', {
      retainData,
      artifactCorsOrigins: props.artifactCorsOrigins,
      captureRetentionDays: props.captureRetentionDays,
    });
    this.onnxRuntime = new OnnxRuntimeLayer(this, 'OnnxRuntime', { architecture: FUNCTION_ARCHITECTURE });

    const reserved = { ...DEFAULT_RESERVED_CONCURRENCY, ...props.reservedConcurrency };
    const functions = {} as Record<FunctionId, ServalFunction>;
    for (const fnId of Object.keys(FUNCTIONS) as FunctionId[]) {
      const concurrency = reserved[fnId];
      const worker = Object.values(QUEUES).some((q) => q.worker === fnId);
      if (concurrency !== null && worker && concurrency < MIN_EVENT_SOURCE_CONCURRENCY) {
        throw new Error(
          `reserved concurrency of ${fnId} must be at least ${MIN_EVENT_SOURCE_CONCURRENCY} (its queue's event source polls with at least that), got ${concurrency}`,
        );
      }
      functions[fnId] = new ServalFunction(this, pascal(fnId), {
        fn: fnId,
        stage: props.stage,
        ...SIZING[fnId],
        reservedConcurrentExecutions: concurrency ?? undefined,
        logRetention: props.logRetention,
        retainLogs: retainData,
        moduleLayers: ONNXRUNTIME_FUNCTIONS.includes(fnId) ? [this.onnxRuntime] : undefined,
      });
    }
    this.functions = functions;
    this.wire();
    bindSageMakerEndpoints(functions.inference, props.sagemakerEndpoints ?? []);
    bindImportBuckets(functions.registry, props.importBuckets ?? []);
    bindSageMakerTraining(functions.retrainWorker, props.trainingRoleArn);
    // Validated here so a bad value fails the synth, not every request of the deployed authorizer.
    const authTtl = authCacheTtlSeconds(
      String(props.authorizerCacheTtlSeconds ?? DEFAULT_AUTH_CACHE_TTL_SECONDS),
    );
    functions.authorizer.addEnvironment(AUTH_CACHE_TTL_ENV, String(authTtl));
    if (props.webhookAllowPrivate) {
      // Both places that judge a webhook URL: registration (monitoring) and delivery (worker).
      functions.monitoring.addEnvironment('SERVAL_WEBHOOK_ALLOW_PRIVATE', 'true');
      functions.webhookWorker.addEnvironment('SERVAL_WEBHOOK_ALLOW_PRIVATE', 'true');
    }

    this.api = new ServalApi(this, 'Http', {
      functions,
      invokeTargets: provisionedAliases(functions, props.provisionedConcurrency ?? {}, reserved),
      stageName: props.stage,
      throttle: props.throttle,
      quota: props.quota,
      logRetention: props.logRetention,
      webAclArn: props.webAclArn,
    });
    // Per-key usage plans: the authorizer names the caller's usage identifier, key
    // administration gives each key one (SERVAL_USAGE_PLAN_ID; docs/deploy.md, "Rate limits").
    this.api.bindUsagePlan(functions.authorizer, 'identify');
    this.api.bindUsagePlan(functions.auth, 'enroll');
    this.workers = new Workers(this, 'Workers', { functions, queues: this.storage.queues, reserved });
    this.alarms = new Alarms(this, 'Alarms', {
      functions,
      queues: this.storage.queues,
      alarmEmail: props.alarmEmail,
      errorRateFunctions: ['inference'],
      apiStage: this.api.api.deploymentStage,
    });

    // The dashboard and the API on one CloudFront origin (lib/constructs/dashboard.ts).
    this.dashboard = new Dashboard(this, 'Dashboard', {
      api: this.api.api,
      accessLogs: this.storage.accessLogs,
    });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${this.dashboard.distribution.distributionDomainName}/`,
      description: 'The dashboard; its /v1 is the API on the same origin',
    });
    new CfnOutput(this, 'ApiUrl', {
      value: this.api.api.url,
      description: 'Base URL; routes start with v1/',
    });
    new CfnOutput(this, 'ArtifactsBucket', { value: this.storage.buckets.artifacts.bucketName });
    new CfnOutput(this, 'AlarmTopic', { value: this.alarms.topic.topicArn });
    new CfnOutput(this, 'AlertsTopic', { value: this.storage.topics.alerts.topicArn });
    // What `npx serval admin-key` needs to create the first admin key.
    new CfnOutput(this, 'KeysTable', { value: this.storage.tables.keys.tableName });
    new CfnOutput(this, 'AuditTable', { value: this.storage.tables.audit.tableName });
    new CfnOutput(this, 'UsagePlanId', { value: this.api.usagePlan.usagePlanId });
  }

  /** Least privilege: each function gets exactly its BINDINGS from functions/contract/resources.ts. */
  private wire(): void {
    const { tables, buckets, queues, secrets, topics } = this.storage;
    for (const [fnId, b] of Object.entries(BINDINGS) as [FunctionId, FunctionBindings][]) {
      const fn = this.functions[fnId];
      for (const [id, mode] of entries(b.tables)) bindTable(fn, tables[id], TABLES[id], mode);
      for (const [id, mode] of entries(b.buckets)) bindBucket(fn, buckets[id], BUCKETS[id], mode);
      for (const [id, modes] of entries(b.queues)) {
        if (modes.queue) bindQueue(fn, queues[id].queue, QUEUES[id], modes.queue);
        if (modes.dlq) bindQueue(fn, queues[id].dlq, QUEUES[id], modes.dlq, dlqEnv(QUEUES[id].env));
      }
      for (const [id] of entries(b.secrets)) bindSecret(fn, secrets[id], SECRETS[id]);
      for (const [id] of entries(b.topics)) bindTopic(fn, topics[id], TOPICS[id]);
    }
  }

  /** Stack props from CDK context (`cdk.json` or `-c key=value`), for bin/serval-app.ts. */
  static propsFromContext(node: Node): ServalStackProps {
    const str = (key: string): string | undefined => {
      const value: unknown = node.tryGetContext(`serval:${key}`);
      return value === undefined || value === null || value === '' ? undefined : String(value);
    };
    const num = (key: string): number | undefined => {
      const value = str(key);
      if (value === undefined) return undefined;
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0)
        throw new Error(`context serval:${key} must be a positive number, got ${value}`);
      return n;
    };
    const bool = (key: string): boolean | undefined => {
      const value = str(key);
      return value === undefined ? undefined : value === 'true';
    };
    const period = str('quotaPeriod');
    if (period !== undefined && !['DAY', 'WEEK', 'MONTH'].includes(period)) {
      throw new Error(`context serval:quotaPeriod must be DAY, WEEK or MONTH, got ${period}`);
    }
    const retention = num('logRetentionDays');
    if (retention !== undefined && !Object.values(RetentionDays).includes(retention)) {
      throw new Error(
        `context serval:logRetentionDays must be a CloudWatch retention (1, 3, 5, 7, 14, 30, ...)`,
      );
    }
    const origins = str('artifactCorsOrigins');
    const endpoints = str('sagemakerEndpoints');
    const imports = str('importBuckets');
    const trainingRole = str('trainingRoleArn');
    if (trainingRole !== undefined && !/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(trainingRole)) {
      throw new Error(`context serval:trainingRoleArn must be an IAM role ARN, got ${trainingRole}`);
    }
    const captureDays = num('captureRetentionDays');
    const concurrency = str('reservedConcurrency');
    const provisioned = str('provisionedConcurrency');
    const authTtl = str('authorizerCacheTtlSeconds');
    let authorizerCacheTtlSeconds: number | undefined;
    try {
      authorizerCacheTtlSeconds = authTtl === undefined ? undefined : authCacheTtlSeconds(authTtl);
    } catch (err) {
      throw new Error(`context serval:authorizerCacheTtlSeconds: ${(err as Error).message}`);
    }
    if (captureDays !== undefined && !Number.isInteger(captureDays)) {
      throw new Error(
        `context serval:captureRetentionDays must be a whole number of days, got ${captureDays}`,
      );
    }
    return {
      stage: str('stage') ?? 'prod',
      throttle: {
        rateLimit: num('throttleRateLimit') ?? DEFAULT_THROTTLE.rateLimit,
        burstLimit: num('throttleBurstLimit') ?? DEFAULT_THROTTLE.burstLimit,
      },
      quota: {
        limit: num('quotaLimit') ?? DEFAULT_QUOTA.limit,
        period: (period as Period | undefined) ?? DEFAULT_QUOTA.period,
      },
      alarmEmail: str('alarmEmail'),
      logRetention: retention as RetentionDays | undefined,
      retainData: bool('retainData'),
      webAclArn: str('webAclArn'),
      artifactCorsOrigins: origins?.split(',').map((o) => o.trim()),
      sagemakerEndpoints: endpoints
        ?.split(',')
        .map((e) => e.trim())
        .filter((e) => e !== ''),
      captureRetentionDays: captureDays,
      trainingRoleArn: trainingRole,
      importBuckets: imports
        ?.split(',')
        .map((b) => b.trim())
        .filter((b) => b !== ''),
      webhookAllowPrivate: bool('webhookAllowPrivate'),
      reservedConcurrency: concurrency === undefined ? undefined : parseReservedConcurrency(concurrency),
      provisionedConcurrency:
        provisioned === undefined ? undefined : parseProvisionedConcurrency(provisioned),
      authorizerCacheTtlSeconds,
    };
  }
}

/**
 * `serval:reservedConcurrency`: `fn=n` pairs, comma-separated (`inference=200,captureWorker=20`);
 * `fn=none` leaves a function unreserved, and `none` alone every function (accounts whose
 * concurrency limit is too small to reserve anything).
 */
export function parseReservedConcurrency(value: string): Partial<Record<FunctionId, number | null>> {
  if (value.trim() === 'none') {
    const out: Partial<Record<FunctionId, number | null>> = {};
    for (const fn of Object.keys(FUNCTIONS) as FunctionId[]) out[fn] = null;
    return out;
  }
  return parseCounts('reservedConcurrency', value, 'fn=n,fn=none,... or none', true);
}

/** `serval:provisionedConcurrency`: `fn=n` pairs, comma-separated (`inference=2,authorizer=2`). */
export function parseProvisionedConcurrency(value: string): Partial<Record<FunctionId, number>> {
  return parseCounts('provisionedConcurrency', value, 'fn=n,...', false) as Partial<
    Record<FunctionId, number>
  >;
}

function parseCounts(
  key: string,
  value: string,
  expected: string,
  noneAllowed: boolean,
): Partial<Record<FunctionId, number | null>> {
  const fail = (why: string): never => {
    throw new Error(`context serval:${key}: ${why} (expected ${expected})`);
  };
  const out: Partial<Record<FunctionId, number | null>> = {};
  for (const pair of value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const [fn, n, extra] = pair.split('=').map((p) => p.trim());
    if (fn === undefined || n === undefined || extra !== undefined) fail(`"${pair}" is not fn=n`);
    if (!Object.hasOwn(FUNCTIONS, fn!)) fail(`unknown function "${fn}"`);
    if (n === 'none' && noneAllowed) {
      out[fn as FunctionId] = null;
      continue;
    }
    const count = Number(n);
    if (!Number.isInteger(count) || count < 1) fail(`${fn}=${n} is not a whole number of at least 1`);
    out[fn as FunctionId] = count;
  }
  return out;
}

/** The functions API Gateway invokes: each route's, and the authorizer. */
const API_FUNCTIONS: ReadonlySet<FunctionId> = new Set<FunctionId>([
  ...ROUTES.map((r) => r.fn),
  'authorizer',
]);

/**
 * A `live` alias with provisioned concurrency for each function given one, which API Gateway then
 * invokes instead of the function (an unqualified invoke never reaches provisioned environments).
 * Refused at synth where AWS would refuse at deploy, or where nothing would invoke the alias.
 */
function provisionedAliases(
  functions: Record<FunctionId, ServalFunction>,
  provisioned: Partial<Record<FunctionId, number>>,
  reserved: Partial<Record<FunctionId, number | null>>,
): Partial<Record<FunctionId, IFunction>> {
  const targets: Partial<Record<FunctionId, IFunction>> = {};
  for (const [fn, count] of entries(provisioned)) {
    if (!API_FUNCTIONS.has(fn)) {
      throw new Error(
        `provisioned concurrency is for functions API Gateway invokes (${[...API_FUNCTIONS].join(', ')}); ${fn} is not one`,
      );
    }
    if (!Number.isInteger(count) || count < 1) {
      throw new Error(`provisioned concurrency of ${fn} must be a whole number of at least 1, got ${count}`);
    }
    const limit = reserved[fn];
    if (limit !== undefined && limit !== null && count > limit) {
      throw new Error(
        `provisioned concurrency of ${fn} (${count}) cannot exceed its reserved concurrency (${limit}); raise serval:reservedConcurrency too`,
      );
    }
    targets[fn] = new Alias(functions[fn], 'Live', {
      aliasName: 'live',
      version: functions[fn].currentVersion,
      provisionedConcurrentExecutions: count,
    });
  }
  return targets;
}

function entries<K extends string, V>(record: Partial<Record<K, V>> | undefined): [K, V][] {
  return Object.entries(record ?? {}) as [K, V][];
}

function pascal(id: string): string {
  return id.charAt(0).toUpperCase() + id.slice(1);
}
