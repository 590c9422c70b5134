/**
 * Assertions on the synthesized Serval stack: the properties that matter for security, data
 * safety and correctness, with expectations derived from functions/contract/resources.ts and the route table
 * wherever those are the source of truth. The stack is synthesized once, with real esbuild
 * bundling, so this file also proves the functions bundle offline.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyMatches } from '../../functions/contract/artifact-keys.js';
import {
  AUTH_CACHE_TTL_ENV,
  DEFAULT_AUTH_CACHE_TTL_SECONDS,
  USAGE_PLAN_ENV,
} from '../../functions/contract/limits.js';
import {
  BUCKETS,
  DELETED_ARTIFACT_RETENTION_DAYS,
  DELETED_ARTIFACT_TAG,
  dlqEnv,
  FUNCTIONS,
  type FunctionId,
  type KeyDef,
  QUEUES,
  SCHEDULES,
  SECRETS,
  SERVING_METRICS,
  TABLES,
  type TableDef,
  TOPICS,
} from '../../functions/contract/resources.js';
import { ROUTES } from '../../functions/contract/routes.js';
import { DEFAULT_QUOTA, DEFAULT_THROTTLE, gatewayErrorTemplate } from '../../lib/constructs/api.js';
import { SAGEMAKER_ENDPOINTS_ENV } from '../../lib/constructs/inference.js';
import { TABLE_ACTIONS, type TableMode } from '../../lib/constructs/serval-function.js';
import {
  CAPTURES_PREFIX,
  DEFAULT_CAPTURE_RETENTION_DAYS,
  type QueueKey,
  type TableKey,
} from '../../lib/constructs/storage.js';
import { ServalStack } from '../../lib/serval-stack.js';
import {
  actionsOf,
  actionsOn,
  logicalId,
  refersTo,
  render,
  resourcesOf,
  type Statement,
  statementsOfRole,
  type TestApp,
  testApp,
} from './support.js';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

const FN_IDS = Object.keys(FUNCTIONS) as FunctionId[];

/** Who may do what: the least-privilege contract of the issue, written out independently. */
const TABLE_ACCESS: Record<FunctionId, Partial<Record<TableKey, TableMode>>> = {
  // The keys and idempotency tables only for the health probe (DescribeTable, no items).
  // Settings holds the operating mode: system changes it (with its audit event), others read it.
  system: {
    registry: 'read',
    // The audit feed (GET /v1/audit), and the mode change's event: never an update or delete.
    audit: 'readAppend',
    keys: 'describe',
    idempotency: 'describe',
    settings: 'readWrite',
    monitoring: 'describe',
    // The serving aggregates behind GET /v1/metrics.
    predictions: 'read',
    experiments: 'describe',
    jobs: 'describe',
  },
  // Monitoring read: the webhook subscriptions its lifecycle events go to. Experiments read: a
  // version a running experiment serves is not deleted.
  registry: {
    registry: 'readWrite',
    audit: 'append',
    idempotency: 'readWrite',
    settings: 'read',
    monitoring: 'read',
    experiments: 'read',
  },
  auth: { keys: 'readWrite', audit: 'append', idempotency: 'readWrite', settings: 'read' },
  authorizer: { keys: 'read' },
  integrityScheduler: { registry: 'read' },
  // A corrupt artifact raises an alert: monitoring read/write.
  integrityWorker: { registry: 'readWrite', audit: 'append', monitoring: 'readWrite' },
  // Predictions: the serving counts prediction volume is judged from, and the online learner's
  // state item (shown, and deleted by a reset).
  monitoring: {
    registry: 'read',
    monitoring: 'readWrite',
    audit: 'append',
    idempotency: 'readWrite',
    settings: 'read',
    predictions: 'readWrite',
    // A manual check evaluates the retraining triggers: a job may be queued.
    jobs: 'readWrite',
  },
  driftScheduler: { registry: 'read', monitoring: 'read' },
  // After a check, the retraining triggers: a job may be queued (audited).
  driftWorker: {
    registry: 'read',
    monitoring: 'readWrite',
    predictions: 'read',
    jobs: 'readWrite',
    audit: 'append',
    // The operating mode, before a trigger requests a job.
    settings: 'read',
  },
  webhookWorker: { monitoring: 'readWrite' },
  // Writes the registry only to mark a version whose artifact fails its checksum or a fallback (and
  // audit it), and then raises the alert (monitoring); writes feedback to the predictions table.
  // Experiments: routes requests to the running experiment's variants; feedback counts into its aggregates.
  inference: {
    registry: 'readWrite',
    audit: 'append',
    predictions: 'readWrite',
    monitoring: 'readWrite',
    experiments: 'readWrite',
  },
  // Counts a running experiment's served requests (exposures, errors, latency) into its aggregates.
  captureWorker: { predictions: 'readWrite', experiments: 'readWrite', monitoring: 'read' },
  // Conclude may promote the winner: the registry (and its audit event); webhook subscriptions read.
  experiments: {
    experiments: 'readWrite',
    registry: 'readWrite',
    audit: 'append',
    idempotency: 'readWrite',
    settings: 'read',
    monitoring: 'read',
  },
  experimentsScheduler: { experiments: 'read' },
  // Advances, rolls back (raising an alert) and promotes canaries.
  experimentsWorker: {
    experiments: 'readWrite',
    registry: 'readWrite',
    audit: 'append',
    monitoring: 'readWrite',
  },
  // Queues a job and takes the model's slot (jobs), audited; reads the model it is asked about.
  retraining: {
    jobs: 'readWrite',
    registry: 'read',
    audit: 'append',
    idempotency: 'readWrite',
    settings: 'read',
    // The model's retraining policy: whether the operating mode allows a request (allowInServing).
    monitoring: 'read',
  },
  // Runs the job: registers the candidate in staging (registry, audit); reads labelled predictions
  // for the dataset; under the policy raises an approval alert, starts a canary or promotes.
  retrainWorker: {
    jobs: 'readWrite',
    registry: 'readWrite',
    audit: 'append',
    monitoring: 'readWrite',
    predictions: 'read',
    experiments: 'readWrite',
  },
  // Schedule and new-label triggers: policies, labelled predictions, the last job; queues a job.
  retrainScheduler: {
    monitoring: 'read',
    jobs: 'readWrite',
    registry: 'read',
    predictions: 'read',
    audit: 'append',
    settings: 'read',
  },
  // One trial: its result put in the jobs table (only if absent), progress on the job.
  trialWorker: { jobs: 'readWrite', registry: 'read', audit: 'append' },
  // Resumes or fails stale running jobs.
  jobSweeper: { jobs: 'readWrite', audit: 'append' },
  // Learner state and sample markers (predictions), the policy, snapshots registered in staging.
  onlineWorker: { predictions: 'readWrite', monitoring: 'read', registry: 'readWrite', audit: 'append' },
};
/**
 * Object actions per key pattern of the artifacts bucket, and whether the function may list it,
 * written out from the keys each function's code builds (functions/adapters/s3-*.ts, core
 * registry and monitoring), independently of BINDINGS.
 */
const GET = 's3:GetObject';
/** Artifacts are read at the object version their SHA-256 was verified on. */
const GET_VERSION = 's3:GetObjectVersion';
const PUT = 's3:PutObject';
const DELETE = 's3:DeleteObject';
const TAG = 's3:PutObjectTagging';
const BUCKET_ACCESS: Record<FunctionId, { objects: Record<string, string[]>; list: boolean } | undefined> = {
  // HeadBucket (health) only.
  system: { objects: {}, list: true },
  registry: {
    objects: {
      'models/*': [DELETE, GET, GET_VERSION, PUT, TAG],
      'uploads/*': [DELETE, GET, GET_VERSION, PUT, TAG],
      'datasets/*': [GET, GET_VERSION],
      // Models trained elsewhere, imported by s3:// URI (docs/import.md).
      'imports/*': [GET, GET_VERSION],
    },
    list: true,
  },
  auth: undefined,
  authorizer: undefined,
  integrityScheduler: undefined,
  // Hashes artifacts; tags an expired upload's object for the lifecycle rule.
  integrityWorker: { objects: { 'models/*': [GET, GET_VERSION, TAG], 'uploads/*': [TAG] }, list: true },
  monitoring: {
    objects: {
      'baselines/*.json': [GET, GET_VERSION, PUT],
      'captures/*': [GET, GET_VERSION],
      'captures/*/_sketches/*.json': [PUT],
      'datasets/*': [GET, GET_VERSION],
      // Enabling online learning reads the production artifact (is it a linear model?).
      'models/*': [GET, GET_VERSION],
    },
    list: true,
  },
  driftScheduler: undefined,
  driftWorker: {
    objects: {
      'baselines/*.json': [GET, GET_VERSION],
      'captures/*': [GET, GET_VERSION],
      'captures/*/_sketches/*.json': [PUT],
    },
    list: true,
  },
  webhookWorker: undefined,
  // Reads model artifacts and baselines (explanations' background); spills capture files when
  // the capture queue fails.
  inference: {
    objects: {
      'models/*': [GET, GET_VERSION],
      'captures/*.jsonl.gz': [PUT],
      'baselines/*.json': [GET, GET_VERSION],
    },
    list: true,
  },
  captureWorker: { objects: { 'captures/*.jsonl.gz': [PUT] }, list: false },
  experiments: undefined,
  experimentsScheduler: undefined,
  experimentsWorker: undefined,
  retraining: undefined,
  // Reads the parent's dataset; writes the candidate's artifact (deleted again if its commit fails);
  // reads artifacts to run the candidate and production on the held-out rows.
  retrainWorker: {
    objects: {
      'models/*': [DELETE, GET, GET_VERSION, PUT],
      // The training rows and their manifest are written next to the datasets users upload.
      'datasets/*': [GET, GET_VERSION, PUT],
      'captures/*.jsonl.gz': [GET, GET_VERSION],
      // The job's checkpoint.
      'jobs/*.json': [GET, GET_VERSION, PUT],
      // A SageMaker training job's train channel (written) and model.tar.gz (read).
      'jobs/*/sagemaker/*': [GET, GET_VERSION, PUT],
    },
    list: true,
  },
  retrainScheduler: undefined,
  trialWorker: {
    objects: { 'datasets/*': [GET, GET_VERSION], 'jobs/*.json': [GET, GET_VERSION] },
    list: true,
  },
  jobSweeper: { objects: { 'jobs/*.json': [GET, GET_VERSION] }, list: true },
  // Reads the production artifact the learner starts from; writes snapshot artifacts.
  onlineWorker: { objects: { 'models/*': [DELETE, GET, GET_VERSION, PUT] }, list: true },
};

/**
 * API Gateway control-plane access (apigateway:<HTTP verb> on arn:…:apigateway:<region>::<path>):
 * only key administration, to give each Serval key its usage identifier in the usage plan.
 * `<plan>` stands for this stack's usage plan id.
 */
const APIGATEWAY_ACCESS: Record<FunctionId, Record<string, string[]>> = {
  system: {},
  registry: {},
  auth: {
    'apigateway:GET': ['/apikeys'],
    'apigateway:POST': ['/apikeys', '/usageplans/<plan>/keys'],
    'apigateway:DELETE': ['/apikeys/*'],
  },
  authorizer: {},
  integrityScheduler: {},
  integrityWorker: {},
  monitoring: {},
  driftScheduler: {},
  driftWorker: {},
  webhookWorker: {},
  inference: {},
  captureWorker: {},
  experiments: {},
  experimentsScheduler: {},
  experimentsWorker: {},
  retraining: {},
  retrainWorker: {},
  retrainScheduler: {},
  trialWorker: {},
  jobSweeper: {},
  onlineWorker: {},
};

/**
 * The condition on each API key grant of the auth function: creation only with the plan's tag,
 * deletion only of keys carrying it, so no other API key in the region can be touched. `<plan>`
 * is the usage plan's id.
 */
const APIGATEWAY_CONDITIONS: Record<string, unknown> = {
  'apigateway:GET /apikeys': undefined,
  'apigateway:POST /apikeys': { StringEquals: { 'aws:RequestTag/serval:usagePlanId': '<plan>' } },
  'apigateway:DELETE /apikeys/*': { StringEquals: { 'aws:ResourceTag/serval:usagePlanId': '<plan>' } },
  'apigateway:POST /usageplans/<plan>/keys': undefined,
};

/** Functions that load onnxruntime-node, and so get the layer (written out independently). */
// The retrain worker runs its candidate and production on held-out rows.
const ONNXRUNTIME_FUNCTIONS: readonly FunctionId[] = ['inference', 'registry', 'retrainWorker'];

/** Functions that receive the usage plan id (SERVAL_USAGE_PLAN_ID). */
const USAGE_PLAN_ENV_FUNCTIONS: readonly FunctionId[] = ['auth', 'authorizer'];

let t: TestApp;
let stack: ServalStack;
let template: Template;
let resources: Record<string, Resource>;
let assemblyDir: string;

beforeAll(() => {
  t = testApp({ bundle: true });
  stack = new ServalStack(t.app, 'ServalTest', { stage: 'test' });
  const assembly = t.app.synth();
  assemblyDir = assembly.directory;
  template = Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template);
  resources = template.toJSON().Resources as Record<string, Resource>;
});

afterAll(() => t?.cleanup());

function ofType(type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function keySchema(pk: KeyDef, sk?: KeyDef) {
  return [
    { AttributeName: pk.name, KeyType: 'HASH' },
    ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' }] : []),
  ];
}

/** Minutes of an EventBridge `rate(...)` expression (CDK writes 60 minutes as `rate(1 hour)`). */
function rateMinutes(expression: string): number | undefined {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!m) return undefined;
  const unit = m[2]!.replace(/s$/, '');
  return Number(m[1]) * (unit === 'minute' ? 1 : unit === 'hour' ? 60 : 1440);
}

function fnStatements(fn: FunctionId): Statement[] {
  return statementsOfRole(resources, logicalId(stack.functions[fn].role!));
}

function fnEnv(fn: FunctionId): Record<string, unknown> {
  const p = resources[logicalId(stack.functions[fn])]!.Properties;
  return (p.Environment as { Variables: Record<string, unknown> }).Variables;
}

/**
 * `arn:<partition>:apigateway:<region>::<path>` as CDK renders it (an Fn::Join), back to `<path>`,
 * with the usage plan's Ref written `<plan>`; undefined for anything else.
 */
function apigatewayPath(resource: unknown): string | undefined {
  const join = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join?.[0] !== '') return undefined;
  const planId = logicalId(stack.api.usagePlan);
  const text = join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = (part as { Ref?: string }).Ref;
      if (ref === 'AWS::Partition') return '<partition>';
      if (ref === 'AWS::Region') return '<region>';
      if (ref === planId) return '<plan>';
      return `<${JSON.stringify(part)}>`;
    })
    .join('');
  const m = /^arn:<partition>:apigateway:<region>::(\/.*)$/.exec(text);
  return m?.[1];
}

describe('artifacts bucket', () => {
  it('is encrypted, versioned, fully non-public and logs access to the log bucket', () => {
    const id = logicalId(stack.storage.buckets.artifacts);
    const bucket = resources[id]!;
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    const logging = bucket.Properties.LoggingConfiguration as Record<string, unknown>;
    expect(refersTo(logging.DestinationBucketName, logicalId(stack.storage.accessLogs))).toBe(true);
  });

  it.each([
    ['artifacts', () => stack.storage.buckets.artifacts],
    ['access logs', () => stack.storage.accessLogs],
  ])('the %s bucket policy denies every request not made over TLS', (_name, bucket) => {
    const id = logicalId(bucket());
    const policies = ofType('AWS::S3::BucketPolicy').filter(([, p]) => refersTo(p.Properties.Bucket, id));
    expect(policies).toHaveLength(1);
    const statements = (policies[0]![1].Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    const tls = statements.find(
      (s) =>
        s.Effect === 'Deny' &&
        JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
    );
    expect(tls, 'a Deny on aws:SecureTransport=false').toBeDefined();
    expect(actionsOf(tls!)).toEqual(['s3:*']);
    // Both the bucket and its objects.
    expect(resourcesOf(tls!)).toHaveLength(2);
  });

  it('the access log bucket is itself encrypted and non-public', () => {
    const bucket = resources[logicalId(stack.storage.accessLogs)]!;
    expect(bucket.Properties.BucketEncryption).toBeDefined();
    expect(Object.values(bucket.Properties.PublicAccessBlockConfiguration as object)).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });
});

describe('tables', () => {
  it('there is exactly one table per definition', () => {
    expect(ofType('AWS::DynamoDB::Table')).toHaveLength(Object.keys(TABLES).length);
  });

  describe.each(Object.entries(TABLES) as [TableKey, TableDef][])('%s', (key, def) => {
    const table = () => resources[logicalId(stack.storage.tables[key])]!;

    it('has the key schema and indexes of functions/contract/resources.ts', () => {
      const p = table().Properties;
      expect(p.KeySchema).toEqual(keySchema(def.partitionKey, def.sortKey));
      const gsis = (p.GlobalSecondaryIndexes ?? []) as Array<Record<string, unknown>>;
      expect(gsis.map((g) => ({ name: g.IndexName, keys: g.KeySchema }))).toEqual(
        def.globalIndexes.map((i) => ({ name: i.name, keys: keySchema(i.partitionKey, i.sortKey) })),
      );
      // Every key attribute is declared once, with the declared type.
      const declared = new Map<string, string>();
      for (const k of [
        def.partitionKey,
        def.sortKey,
        ...def.globalIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
      ]) {
        if (k) declared.set(k.name, k.type);
      }
      expect(p.AttributeDefinitions).toEqual(
        expect.arrayContaining(
          [...declared].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
        ),
      );
      expect(p.AttributeDefinitions).toHaveLength(declared.size);
    });

    it('is on-demand, KMS-encrypted, point-in-time recoverable and protected from deletion', () => {
      const r = table();
      expect(r.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(r.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      // SSEEnabled without a KMSMasterKeyId: KMS encryption under the AWS managed aws/dynamodb key.
      expect(r.Properties.SSESpecification).toEqual({ SSEEnabled: true });
      expect(r.Properties.DeletionProtectionEnabled).toBe(true);
      expect(r.DeletionPolicy).toBe('Retain');
    });

    it('expires items by its TTL attribute only if it declares one', () => {
      const ttl = 'ttlAttribute' in def ? def.ttlAttribute : undefined;
      expect(table().Properties.TimeToLiveSpecification).toEqual(
        ttl ? { AttributeName: ttl, Enabled: true } : undefined,
      );
    });
  });
});

describe('queues', () => {
  it.each(Object.entries(QUEUES) as [QueueKey, (typeof QUEUES)[QueueKey]][])(
    '%s redrives to its own DLQ after maxReceiveCount receives, encrypted and TLS-only',
    (key, def) => {
      const { queue, dlq } = stack.storage.queues[key];
      const q = resources[logicalId(queue)]!;
      expect(q.Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(dlq), 'Arn'] },
        maxReceiveCount: def.maxReceiveCount,
      });
      expect(q.Properties.VisibilityTimeout).toBe(def.visibilityTimeoutSeconds);
      for (const id of [logicalId(queue), logicalId(dlq)]) {
        expect(resources[id]!.Properties.SqsManagedSseEnabled).toBe(true);
        const policy = ofType('AWS::SQS::QueuePolicy').find(([, p]) => refersTo(p.Properties.Queues, id));
        expect(JSON.stringify(policy?.[1].Properties.PolicyDocument)).toContain(
          '"aws:SecureTransport":"false"',
        );
      }
    },
  );

  it("each queue's worker consumes it with partial batch failures and the declared batch size", () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(Object.keys(QUEUES).length);
    for (const [key, def] of Object.entries(QUEUES) as [QueueKey, (typeof QUEUES)[QueueKey]][]) {
      const mapping = mappings.find(([, m]) =>
        refersTo(m.Properties.EventSourceArn, logicalId(stack.storage.queues[key].queue)),
      );
      expect(mapping).toBeDefined();
      const p = mapping![1].Properties;
      expect(p.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(p.BatchSize).toBe(def.batchSize);
      expect(p.MaximumBatchingWindowInSeconds).toBe(
        'maxBatchingWindowSeconds' in def ? def.maxBatchingWindowSeconds : undefined,
      );
      expect(refersTo(p.FunctionName, logicalId(stack.functions[def.worker]))).toBe(true);
      // Lambda refuses a mapping whose function may outlive the message's invisibility.
      const worker = resources[logicalId(stack.functions[def.worker])]!;
      expect(worker.Properties.Timeout as number).toBeLessThanOrEqual(def.visibilityTimeoutSeconds);
    }
  });

  it('an alarm fires on any visible message in each DLQ and notifies the alarm topic', () => {
    const topicId = logicalId(stack.alarms.topic);
    for (const key of Object.keys(QUEUES) as QueueKey[]) {
      const dlqId = logicalId(stack.storage.queues[key].dlq);
      const alarms = ofType('AWS::CloudWatch::Alarm').filter(
        ([, a]) =>
          a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          refersTo(a.Properties.Dimensions, dlqId),
      );
      expect(alarms).toHaveLength(1);
      const p = alarms[0]![1].Properties;
      expect(p).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        Namespace: 'AWS/SQS',
      });
      expect(refersTo(p.AlarmActions, topicId)).toBe(true);
    }
  });
});

describe('functions', () => {
  it.each(FN_IDS)('%s: nodejs22.x on arm64, traced, logging to its own group, bundled as ESM', (fn) => {
    const id = logicalId(stack.functions[fn]);
    const p = resources[id]!.Properties;
    expect(p.Runtime).toBe('nodejs22.x');
    expect(p.Architectures).toEqual(['arm64']);
    expect(p.TracingConfig).toEqual({ Mode: 'Active' });
    expect(p.Handler).toBe('index.handler');
    expect(refersTo(p.LoggingConfig, logicalId(stack.functions[fn].logGroup))).toBe(true);
    const env = (p.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({ SERVAL_STAGE: 'test' });
    // Stacks are mapped when read (functions/handlers/stack-traces.ts), not every map at load.
    expect(env.NODE_OPTIONS).toBeUndefined();
    expect(env.POWERTOOLS_SERVICE_NAME).toBeTruthy();

    const asset = join(assemblyDir, `asset.${(p.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '')}`);
    const bundle = readFileSync(join(asset, 'index.mjs'), 'utf8');
    expect(bundle.startsWith('import { createRequire')).toBe(true);
    expect(existsSync(join(asset, 'index.mjs.map'))).toBe(true);
  });

  it.each(FN_IDS)('%s: the built code loads in Node and exports its handler', (fn) => {
    // The deployed artifact itself (the entry and its chunks, function-bundle.ts), imported in a
    // fresh process with the environment the template gives the function (references replaced
    // by placeholders): a chunk missing, a broken split or an import that runs at init and fails
    // would show here, not at the first cold start on AWS. Nothing at init may reach AWS.
    const p = resources[logicalId(stack.functions[fn])]!.Properties;
    const entry = join(
      assemblyDir,
      `asset.${(p.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '')}`,
      'index.mjs',
    );
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'placeholder',
      AWS_SECRET_ACCESS_KEY: 'placeholder',
    };
    const vars = (p.Environment as { Variables: Record<string, unknown> }).Variables;
    for (const [k, v] of Object.entries(vars))
      env[k] = typeof v === 'string' ? v : `placeholder-${k.toLowerCase()}`;
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(entry)}); console.log(typeof m.handler)`,
      ],
      { env, encoding: 'utf8', timeout: 30_000 },
    );
    expect(out.trim()).toBe('function');
  });

  it('every function has its reserved concurrency, and together they leave the unreserved 100 of a 1000 limit', () => {
    // Written out independently of DEFAULT_RESERVED_CONCURRENCY.
    const expected: Record<FunctionId, number> = {
      system: 10,
      registry: 20,
      auth: 10,
      authorizer: 100,
      integrityScheduler: 1,
      integrityWorker: 5,
      monitoring: 10,
      driftScheduler: 1,
      driftWorker: 5,
      webhookWorker: 10,
      inference: 100,
      captureWorker: 10,
      experiments: 10,
      experimentsScheduler: 1,
      experimentsWorker: 5,
      retraining: 5,
      retrainWorker: 2,
      retrainScheduler: 1,
      trialWorker: 10,
      jobSweeper: 1,
      onlineWorker: 2,
    };
    const actual = Object.fromEntries(
      FN_IDS.map((fn) => [
        fn,
        resources[logicalId(stack.functions[fn])]!.Properties.ReservedConcurrentExecutions,
      ]),
    );
    expect(actual).toEqual(expected);
    expect(Object.values(expected).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(900);
  });

  it("each queue's event source polls with no more concurrency than its worker has reserved", () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    for (const def of Object.values(QUEUES)) {
      const fnId = logicalId(stack.functions[def.worker]);
      const mapping = mappings.find(([, m]) => refersTo(m.Properties.FunctionName, fnId));
      expect(mapping, def.id).toBeDefined();
      expect(mapping![1].Properties.ScalingConfig, def.id).toEqual({
        MaximumConcurrency: resources[fnId]!.Properties.ReservedConcurrentExecutions,
      });
    }
  });

  it('every function log group has a retention', () => {
    for (const fn of FN_IDS) {
      const group = resources[logicalId(stack.functions[fn].logGroup)]!;
      expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });

  it('an alarm watches each function for errors', () => {
    for (const fn of FN_IDS) {
      const alarms = ofType('AWS::CloudWatch::Alarm').filter(
        ([, a]) =>
          a.Properties.MetricName === 'Errors' &&
          refersTo(a.Properties.Dimensions, logicalId(stack.functions[fn])),
      );
      expect(alarms, fn).toHaveLength(1);
      expect(refersTo(alarms[0]![1].Properties.AlarmActions, logicalId(stack.alarms.topic))).toBe(true);
    }
  });

  it('the alarm topic is KMS-encrypted with a rotating key and refuses non-TLS publishers', () => {
    const topic = resources[logicalId(stack.alarms.topic)]!;
    const keyId = Object.entries(resources).find(
      ([id, r]) => r.Type === 'AWS::KMS::Key' && refersTo(topic.Properties.KmsMasterKeyId, id),
    );
    expect(keyId?.[1].Properties.EnableKeyRotation).toBe(true);
    const policy = ofType('AWS::SNS::TopicPolicy').find(([, p]) =>
      refersTo(p.Properties.Topics, logicalId(stack.alarms.topic)),
    );
    expect(JSON.stringify(policy?.[1].Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
  });

  it('each schedule fires its target at the declared rate', () => {
    for (const def of Object.values(SCHEDULES)) {
      const rules = ofType('AWS::Events::Rule').filter(([, r]) =>
        refersTo(r.Properties.Targets, logicalId(stack.functions[def.target])),
      );
      expect(rules).toHaveLength(1);
      expect(rateMinutes(rules[0]![1].Properties.ScheduleExpression as string)).toBe(def.rateMinutes);
    }
  });
});

describe('least privilege', () => {
  it.each(FN_IDS)('%s has exactly the declared access to each table, and its indexes by name', (fn) => {
    const statements = fnStatements(fn);
    for (const [key, def] of Object.entries(TABLES) as [TableKey, TableDef][]) {
      const tableId = logicalId(stack.storage.tables[key]);
      const mode = TABLE_ACCESS[fn][key];
      expect([...actionsOn(statements, tableId)].sort(), `${fn} on ${key}`).toEqual(
        mode ? [...TABLE_ACTIONS[mode]].sort() : [],
      );
      const env = (
        resources[logicalId(stack.functions[fn])]!.Properties.Environment as {
          Variables: Record<string, unknown>;
        }
      ).Variables;
      expect(
        env[def.env] === undefined ? undefined : refersTo(env[def.env], tableId),
        `${fn} env ${def.env}`,
      ).toBe(mode ? true : undefined);
      if (mode && mode !== 'describe') {
        const indexResources = statements
          .flatMap(resourcesOf)
          .filter((r) => refersTo(r, tableId) && JSON.stringify(r).includes('/index/'))
          .map((r) => JSON.stringify(r).match(/\/index\/([^"]+)"/)?.[1]);
        expect(indexResources.sort()).toEqual(def.globalIndexes.map((i) => i.name).sort());
      }
    }
  });

  it('read mode grants no write action, describe mode no item access', () => {
    expect(
      TABLE_ACTIONS.read.every((a) => /^dynamodb:(Get|BatchGet|Query|Scan|ConditionCheck|Describe)/.test(a)),
    ).toBe(true);
    expect(TABLE_ACTIONS.describe).toEqual(['dynamodb:DescribeTable']);
  });

  it('nobody may permanently delete an artifact version or change bucket settings', () => {
    const allowed = [
      's3:GetObject',
      's3:GetObjectVersion',
      's3:PutObject',
      's3:DeleteObject',
      's3:PutObjectTagging',
      's3:ListBucket',
    ];
    for (const fn of FN_IDS) {
      const s3 = fnStatements(fn)
        .flatMap(actionsOf)
        .filter((a) => a.startsWith('s3:'));
      expect(
        s3.filter((a) => !allowed.includes(a)),
        fn,
      ).toEqual([]);
    }
  });

  it('the authorizer may only read the keys table and the JWT secret — nothing else', () => {
    const keysId = logicalId(stack.storage.tables.keys);
    const secretId = logicalId(stack.storage.secrets.jwt);
    const ownLogs = logicalId(stack.functions.authorizer.logGroup);
    for (const s of fnStatements('authorizer')) {
      const actions = actionsOf(s);
      if (actions.every((a) => a.startsWith('xray:'))) continue;
      if (actions.every((a) => a.startsWith('secretsmanager:'))) {
        expect(actions.sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
        expect(resourcesOf(s).every((r) => refersTo(r, secretId))).toBe(true);
        continue;
      }
      if (actions.every((a) => a.startsWith('logs:'))) {
        expect(resourcesOf(s).every((r) => refersTo(r, ownLogs))).toBe(true);
        continue;
      }
      expect(
        actions.every((a) => TABLE_ACTIONS.read.includes(a)),
        JSON.stringify(actions),
      ).toBe(true);
      expect(
        resourcesOf(s).every((r) => refersTo(r, keysId)),
        JSON.stringify(s.Resource),
      ).toBe(true);
    }
    expect(actionsOn(fnStatements('authorizer'), keysId).has('dynamodb:GetItem')).toBe(true);
  });

  it('only the auth function and the authorizer can read the JWT secret, and get its ARN', () => {
    const secretId = logicalId(stack.storage.secrets.jwt);
    for (const fn of FN_IDS) {
      const reads = fnStatements(fn).some((s) => resourcesOf(s).some((r) => refersTo(r, secretId)));
      expect(reads, fn).toBe(fn === 'auth' || fn === 'authorizer');
      const env =
        template.toJSON().Resources[logicalId(stack.functions[fn])].Properties.Environment.Variables;
      if (reads) expect(refersTo(env[SECRETS.jwt.env], secretId), fn).toBe(true);
      else expect(env, fn).not.toHaveProperty(SECRETS.jwt.env);
    }
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'current', PasswordLength: 64 }),
    });
  });

  it('only the functions that raise alerts or lifecycle events publish, to the encrypted alerts topic', () => {
    const topicId = logicalId(stack.storage.topics.alerts);
    for (const fn of FN_IDS) {
      const publishes = fnStatements(fn).some((s) => resourcesOf(s).some((r) => refersTo(r, topicId)));
      expect(publishes, fn).toBe(
        [
          'monitoring',
          'driftWorker',
          'registry',
          'integrityWorker',
          'inference',
          'experiments',
          'experimentsWorker',
          'retrainWorker',
        ].includes(fn),
      );
      const statements = fnStatements(fn).filter((s) => resourcesOf(s).some((r) => refersTo(r, topicId)));
      for (const st of statements) expect(actionsOf(st)).toEqual(['sns:Publish']);
      const env =
        template.toJSON().Resources[logicalId(stack.functions[fn])].Properties.Environment.Variables;
      if (publishes) expect(refersTo(env[TOPICS.alerts.env], topicId), fn).toBe(true);
      else expect(env, fn).not.toHaveProperty(TOPICS.alerts.env);
    }
    template.hasResourceProperties('AWS::SNS::Topic', {
      DisplayName: 'Serval alerts',
      KmsMasterKeyId: Match.anyValue(),
    });
  });

  it('the registry function cannot touch the keys table', () => {
    const keysId = logicalId(stack.storage.tables.keys);
    expect(fnStatements('registry').some((s) => resourcesOf(s).some((r) => refersTo(r, keysId)))).toBe(false);
    expect(
      template.toJSON().Resources[logicalId(stack.functions.registry)].Properties.Environment.Variables,
    ).not.toHaveProperty(TABLES.keys.env);
  });

  /** `<bucket ARN>/<pattern>` as rendered, back to `<pattern>`; undefined for anything else. */
  function objectPattern(resource: unknown, bucketId: string): string | undefined {
    const m = new RegExp(`^<${bucketId}\\.Arn>/(.+)$`).exec(render(resource));
    return m?.[1];
  }

  it.each(FN_IDS)('%s has exactly the declared access to each key pattern of the bucket', (fn) => {
    const bucketId = logicalId(stack.storage.buckets.artifacts);
    const granted: Record<string, string[]> = {};
    let list = false;
    for (const s of fnStatements(fn)) {
      if (s.Effect !== 'Allow') continue;
      for (const r of resourcesOf(s)) {
        if (!refersTo(r, bucketId)) continue;
        if (render(r) === `<${bucketId}.Arn>`) {
          expect(actionsOf(s), `${fn} on the bucket itself`).toEqual(['s3:ListBucket']);
          list = true;
          continue;
        }
        const pattern = objectPattern(r, bucketId);
        expect(pattern, `${fn}: ${render(r)}`).toBeDefined();
        granted[pattern!] = [...new Set([...(granted[pattern!] ?? []), ...actionsOf(s)])].sort();
      }
    }
    const expected = BUCKET_ACCESS[fn];
    expect({ objects: granted, list }, fn).toEqual(
      expected ? { objects: expected.objects, list: expected.list } : { objects: {}, list: false },
    );
    expect(BUCKETS.artifacts.env in fnEnv(fn), `${fn} env`).toBe(expected !== undefined);
  });

  it('model artifacts: only the registry (and the retrain and online workers, registering candidates and snapshots) writes or deletes them; the integrity worker tags them too', () => {
    const bucketId = logicalId(stack.storage.buckets.artifacts);
    for (const fn of FN_IDS) {
      const onModels = fnStatements(fn)
        .filter((s) =>
          resourcesOf(s).some((r) => /\/(models\/\*|\*)$/.test(render(r)) && refersTo(r, bucketId)),
        )
        .flatMap(actionsOf);
      const writes = onModels.filter((a) => a !== GET && a !== GET_VERSION);
      expect([...new Set(writes)].sort(), fn).toEqual(
        fn === 'registry'
          ? [DELETE, PUT, TAG]
          : fn === 'integrityWorker'
            ? [TAG]
            : fn === 'retrainWorker' || fn === 'onlineWorker'
              ? [DELETE, PUT]
              : [],
      );
    }
    // Nobody is granted a pattern that spans the whole bucket.
    for (const fn of FN_IDS) {
      for (const r of fnStatements(fn).flatMap(resourcesOf)) {
        if (refersTo(r, bucketId)) expect(render(r), fn).not.toMatch(/\.Arn>\/\*$/);
      }
    }
  });

  it('the capture worker writes capture files only, and nothing it writes can be a sketch; sketch writers cannot write capture files', () => {
    const bucketId = logicalId(stack.storage.buckets.artifacts);
    const writePatterns = (fn: FunctionId) =>
      fnStatements(fn)
        .filter((s) => actionsOf(s).includes(PUT))
        .flatMap(resourcesOf)
        .filter((r) => refersTo(r, bucketId))
        .map((r) => objectPattern(r, bucketId)!);
    const sketch = 'captures/churn/1.0.0/2024-05-01/13/_sketches/01HBASELINE.json';
    const capture = 'captures/churn/1.0.0/2024-05-01/13/01HMESSAGE.jsonl.gz';
    const planted = 'captures/churn/1.0.0/2024-05-01/13/_sketches/01HFAKE.jsonl.gz';
    expect(writePatterns('captureWorker').some((p) => keyMatches(p, capture))).toBe(true);
    expect(writePatterns('captureWorker').some((p) => keyMatches(p, sketch))).toBe(false);
    expect(writePatterns('captureWorker').some((p) => keyMatches(p, 'models/churn/1.0.0/01HART'))).toBe(
      false,
    );
    for (const fn of ['monitoring', 'driftWorker'] as const) {
      expect(
        writePatterns(fn).some((p) => keyMatches(p, sketch)),
        fn,
      ).toBe(true);
      expect(
        writePatterns(fn).some((p) => keyMatches(p, capture)),
        fn,
      ).toBe(false);
      expect(
        writePatterns(fn).some((p) => keyMatches(p, planted)),
        fn,
      ).toBe(false);
    }
  });

  it('the audit trail is append-only: no function may update, delete or batch-write audit items', () => {
    const auditId = logicalId(stack.storage.tables.audit);
    const writers: FunctionId[] = [];
    for (const fn of FN_IDS) {
      const actions = actionsOn(fnStatements(fn), auditId);
      for (const forbidden of ['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
        expect(actions.has(forbidden), `${fn} ${forbidden}`).toBe(false);
      }
      if (actions.has('dynamodb:PutItem')) writers.push(fn);
    }
    expect(writers.sort()).toEqual(
      [
        'auth',
        'inference',
        'integrityWorker',
        'monitoring',
        'registry',
        'system',
        'experiments',
        'experimentsWorker',
        'retraining',
        'retrainWorker',
        // The retraining triggers audit their decisions.
        'driftWorker',
        'retrainScheduler',
        'trialWorker',
        'jobSweeper',
        'onlineWorker',
      ].sort(),
    );
  });

  it('inference writes only capture objects (its spill), never model artifacts', () => {
    const bucketId = logicalId(stack.storage.buckets.artifacts);
    const puts = fnStatements('inference').filter(
      (s) => actionsOf(s).includes('s3:PutObject') && resourcesOf(s).some((r) => refersTo(r, bucketId)),
    );
    expect(puts.flatMap((s) => resourcesOf(s).map(render))).toEqual([
      `<${bucketId}.Arn>/captures/*.jsonl.gz`,
    ]);
  });

  it('queue access: the scheduler sends, system reads depths, the worker consumes, nobody else', () => {
    const { queue, dlq } = stack.storage.queues.integrity;
    const [qId, dlqId] = [logicalId(queue), logicalId(dlq)];
    const on = (fn: FunctionId, id: string) => [...actionsOn(fnStatements(fn), id)].sort();
    expect(on('integrityScheduler', qId)).toEqual(['sqs:SendMessage']);
    expect(on('system', qId)).toEqual(['sqs:GetQueueAttributes']);
    expect(on('system', dlqId)).toEqual(['sqs:GetQueueAttributes']);
    expect(on('integrityWorker', qId)).toEqual(
      expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']),
    );
    for (const fn of ['registry', 'auth', 'authorizer'] as const) {
      expect(on(fn, qId), fn).toEqual([]);
      expect(on(fn, dlqId), fn).toEqual([]);
    }
    const systemEnv = (
      resources[logicalId(stack.functions.system)]!.Properties.Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;
    expect(refersTo(systemEnv[QUEUES.integrity.env], qId)).toBe(true);
    expect(refersTo(systemEnv[dlqEnv(QUEUES.integrity.env)], dlqId)).toBe(true);
  });

  it.each([
    // queue, who sends, who consumes (written out here, independently of BINDINGS)
    ['drift', ['driftScheduler'], 'driftWorker'],
    [
      'webhooks',
      [
        'monitoring',
        'driftWorker',
        'webhookWorker',
        'registry',
        'integrityWorker',
        'inference',
        'experiments',
        'experimentsWorker',
        'retrainWorker',
      ],
      'webhookWorker',
    ],
    ['captures', ['inference'], 'captureWorker'],
    ['experiments', ['experimentsScheduler'], 'experimentsWorker'],
    [
      'retrain',
      [
        'retraining',
        'monitoring',
        'driftWorker',
        'retrainScheduler',
        'retrainWorker',
        'trialWorker',
        'jobSweeper',
      ],
      'retrainWorker',
    ],
    ['trials', ['retrainWorker'], 'trialWorker'],
  ] as const)(
    'queue access to %s: exactly its senders send, its worker consumes, system reads depths',
    (q, senders, worker) => {
      const { queue, dlq } = stack.storage.queues[q];
      const [qId, dlqId] = [logicalId(queue), logicalId(dlq)];
      const on = (fn: FunctionId, id: string) => [...actionsOn(fnStatements(fn), id)].sort();
      for (const fn of FN_IDS) {
        const actions = on(fn, qId);
        if (fn === 'system') expect(actions, fn).toEqual(['sqs:GetQueueAttributes']);
        else if ((senders as readonly string[]).includes(fn) && fn === worker) {
          expect(actions, fn).toEqual(
            expect.arrayContaining(['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage']),
          );
        } else if ((senders as readonly string[]).includes(fn))
          expect(actions, fn).toEqual(['sqs:SendMessage']);
        else if (fn === worker)
          expect(actions, fn).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']));
        else expect(actions, fn).toEqual([]);
        expect(on(fn, dlqId), fn).toEqual(fn === 'system' ? ['sqs:GetQueueAttributes'] : []);
      }
    },
  );

  it('no function statement uses a wildcard resource except for X-Ray, and no action wildcard at all', () => {
    for (const fn of FN_IDS) {
      for (const s of fnStatements(fn)) {
        expect(
          actionsOf(s).some((a) => a.includes('*')),
          `${fn}: ${actionsOf(s)}`,
        ).toBe(false);
        if (resourcesOf(s).includes('*'))
          expect(
            actionsOf(s).every((a) => a.startsWith('xray:')),
            fn,
          ).toBe(true);
      }
    }
  });
});

describe('usage plan access', () => {
  it.each(FN_IDS)('%s has exactly the declared API Gateway control-plane access', (fn) => {
    const granted: Record<string, string[]> = {};
    for (const s of fnStatements(fn)) {
      const actions = actionsOf(s).filter((a) => a.startsWith('apigateway:'));
      if (actions.length === 0) continue;
      expect(s.Effect).toBe('Allow');
      const planId = logicalId(stack.api.usagePlan);
      const condition =
        s.Condition === undefined
          ? undefined
          : JSON.parse(JSON.stringify(s.Condition).replaceAll(JSON.stringify({ Ref: planId }), '"<plan>"'));
      for (const action of actions) {
        for (const r of resourcesOf(s)) {
          const path = apigatewayPath(r);
          expect(path, `${fn} ${action} on ${JSON.stringify(r)}`).toBeDefined();
          expect(condition, `${fn} ${action} ${path}`).toEqual(APIGATEWAY_CONDITIONS[`${action} ${path}`]);
          granted[action] = [...(granted[action] ?? []), path!].sort();
        }
      }
    }
    expect(granted).toEqual(APIGATEWAY_ACCESS[fn]);
  });

  it.each(FN_IDS)('%s gets SERVAL_USAGE_PLAN_ID exactly when it needs the usage plan', (fn) => {
    const env = fnEnv(fn);
    if (USAGE_PLAN_ENV_FUNCTIONS.includes(fn)) {
      expect(env[USAGE_PLAN_ENV]).toEqual({ Ref: logicalId(stack.api.usagePlan) });
    } else {
      expect(env).not.toHaveProperty(USAGE_PLAN_ENV);
    }
  });

  it('the usage identifier grants are acknowledged for the API key wildcard only', () => {
    // DeleteApiKey needs /apikeys/{id}; nothing else in the stack is granted on a wildcard path.
    const wildcards = FN_IDS.flatMap((fn) =>
      fnStatements(fn).flatMap((s) =>
        resourcesOf(s)
          .map(apigatewayPath)
          .filter((p) => p?.includes('*'))
          .map((p) => `${fn} ${actionsOf(s).join(',')} ${p}`),
      ),
    );
    expect(wildcards).toEqual(['auth apigateway:DELETE /apikeys/*']);
  });
});

describe('HTTP API', () => {
  /** Full path of each API Gateway resource, rebuilt from PathPart/ParentId. */
  function resourcePaths(): Map<string, string> {
    const apiId = logicalId(stack.api.api);
    const parts = new Map(ofType('AWS::ApiGateway::Resource').map(([id, r]) => [id, r.Properties]));
    const paths = new Map<string, string>();
    const pathOf = (id: string): string => {
      const known = paths.get(id);
      if (known) return known;
      const p = parts.get(id)!;
      const parent = p.ParentId as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      const base = parent.Ref ? pathOf(parent.Ref) : '';
      if (!parent.Ref) expect(parent['Fn::GetAtt']).toEqual([apiId, 'RootResourceId']);
      const full = `${base}/${p.PathPart as string}`;
      paths.set(id, full);
      return full;
    };
    for (const id of parts.keys()) pathOf(id);
    return paths;
  }

  it('has exactly one method per route, served by the route’s function, with the route’s authorization', () => {
    const paths = resourcePaths();
    const authorizerId = logicalId(stack.api.authorizer);
    const methods = ofType('AWS::ApiGateway::Method').map(([, m]) => ({
      path: paths.get((m.Properties.ResourceId as { Ref: string }).Ref),
      ...(m.Properties as {
        HttpMethod: string;
        Integration: { Type: string; Uri: unknown };
        AuthorizationType: string;
        AuthorizerId?: unknown;
        ApiKeyRequired?: boolean;
      }),
    }));
    expect(methods).toHaveLength(ROUTES.length);
    for (const route of ROUTES) {
      const found = methods.filter((m) => m.path === route.path && m.HttpMethod === route.method);
      expect(found, `${route.method} ${route.path}`).toHaveLength(1);
      const m = found[0]!;
      const integration = m.Integration;
      expect(integration.Type).toBe('AWS_PROXY');
      expect(
        refersTo(integration.Uri, logicalId(stack.functions[route.fn])),
        `${route.path} → ${route.fn}`,
      ).toBe(true);
      // Authorized methods are metered per key by the usage plan (the key the authorizer names);
      // public ones cannot be: there is no caller to name.
      if (route.role === 'none') {
        expect(m.AuthorizationType).toBe('NONE');
        expect(m.AuthorizerId).toBeUndefined();
        expect(m.ApiKeyRequired ?? false, `${route.method} ${route.path}`).toBe(false);
      } else {
        expect(m.AuthorizationType).toBe('CUSTOM');
        expect(m.AuthorizerId).toEqual({ Ref: authorizerId });
        expect(m.ApiKeyRequired, `${route.method} ${route.path}`).toBe(true);
      }
    }
  });

  it('API keys come from the authorizer (usageIdentifierKey), never from the request', () => {
    const api = resources[logicalId(stack.api.api)]!;
    expect(api.Properties.ApiKeySourceType).toBe('AUTHORIZER');
  });

  it('the authorizer is a REQUEST authorizer without cache or identity source, run by the authorizer function', () => {
    const a = resources[logicalId(stack.api.authorizer)]!.Properties;
    expect(a.Type).toBe('REQUEST');
    expect(a.AuthorizerResultTtlInSeconds).toBe(0);
    // Either x-api-key or authorization may carry the credential: API Gateway must not demand one.
    expect(a).not.toHaveProperty('IdentitySource');
    expect(refersTo(a.AuthorizerUri, logicalId(stack.functions.authorizer))).toBe(true);
  });

  it('the authorizer function caches checked credentials for the default TTL, set in one place', () => {
    const env =
      template.toJSON().Resources[logicalId(stack.functions.authorizer)].Properties.Environment.Variables;
    expect(env[AUTH_CACHE_TTL_ENV]).toBe(String(DEFAULT_AUTH_CACHE_TTL_SECONDS));
  });

  it.each([
    ['UNAUTHORIZED', 'unauthorized', '401'],
    ['ACCESS_DENIED', 'forbidden', '403'],
    ['INVALID_API_KEY', 'forbidden', '403'],
    ['THROTTLED', 'rate_limited', '429'],
    ['QUOTA_EXCEEDED', 'rate_limited', '429'],
    ['AUTHORIZER_FAILURE', 'unavailable', '503'],
    ['MISSING_AUTHENTICATION_TOKEN', 'not_found', '404'],
    ['DEFAULT_4XX', 'validation_failed', undefined],
    ['DEFAULT_5XX', 'unavailable', undefined],
  ])('gateway response %s answers {"error":{"code":"%s",...}}', (type, code, status) => {
    const found = ofType('AWS::ApiGateway::GatewayResponse').filter(
      ([, r]) => r.Properties.ResponseType === type,
    );
    expect(found).toHaveLength(1);
    const p = found[0]![1].Properties;
    expect(p.StatusCode).toBe(status);
    const body = (p.ResponseTemplates as Record<string, string>)['application/json']!;
    expect(body).toBe(gatewayErrorTemplate(code));
    // API Gateway substitutes a JSON string for $context.error.messageString.
    expect(JSON.parse(body.replace('$context.error.messageString', '"Unauthorized"'))).toEqual({
      error: { code, message: 'Unauthorized', details: {} },
    });
    if (code === 'rate_limited' || type === 'AUTHORIZER_FAILURE')
      expect(p.ResponseParameters).toHaveProperty(['gatewayresponse.header.Retry-After']);
  });

  it('the stage is traced, access-logged as JSON, error-logged without bodies, and throttled', () => {
    const stage = ofType('AWS::ApiGateway::Stage');
    expect(stage).toHaveLength(1);
    const p = stage[0]![1].Properties;
    expect(p.StageName).toBe('test');
    expect(p.TracingEnabled).toBe(true);
    const access = p.AccessLogSetting as { DestinationArn: unknown; Format: string };
    expect(refersTo(access.DestinationArn, logicalId(stack.api.accessLogs))).toBe(true);
    expect(JSON.parse(access.Format)).toHaveProperty('requestId', '$context.requestId');
    expect(p.MethodSettings).toEqual([
      expect.objectContaining({
        HttpMethod: '*',
        ResourcePath: '/*',
        LoggingLevel: 'ERROR',
        DataTraceEnabled: false,
        ThrottlingRateLimit: 50,
        ThrottlingBurstLimit: 100,
      }),
    ]);
  });

  it('the usage plan has the configured throttle and quota (defaults: functions/contract/limits.ts)', () => {
    const plans = ofType('AWS::ApiGateway::UsagePlan');
    expect(plans).toHaveLength(1);
    const [planId, plan] = plans[0]!;
    expect(planId).toBe(logicalId(stack.api.usagePlan));
    expect(plan.Properties.Throttle).toEqual({
      RateLimit: DEFAULT_THROTTLE.rateLimit,
      BurstLimit: DEFAULT_THROTTLE.burstLimit,
    });
    expect(plan.Properties.Quota).toEqual({ Limit: DEFAULT_QUOTA.limit, Period: DEFAULT_QUOTA.period });
    expect([DEFAULT_THROTTLE, DEFAULT_QUOTA]).toEqual([
      { rateLimit: 50, burstLimit: 100 },
      { limit: 100_000, period: 'DAY' },
    ]);
    // The stage is added by a custom resource after deployment: in the plan itself it would
    // close the cycle plan → stage → deployment → methods → functions → plan (their env).
    expect(plan.Properties.ApiStages).toBeUndefined();
  });

  it('a custom resource adds the deployed stage to the usage plan, after every plan change, and removes it on delete', () => {
    const [stageId] = ofType('AWS::ApiGateway::Stage')[0]!;
    const planId = logicalId(stack.api.usagePlan);
    const apiId = logicalId(stack.api.api);
    const crs = ofType('Custom::AWS');
    expect(crs).toHaveLength(1);
    const cr = crs[0]![1] as Resource & { DependsOn?: string[] };
    expect(cr.DependsOn).toContain(stageId);
    // Render the SDK call JSON with the Refs spelled out, then read it.
    const call = (json: unknown) => {
      const [, parts] = (json as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
      return JSON.parse(
        parts.map((p) => (typeof p === 'string' ? p : `<${(p as { Ref: string }).Ref}>`)).join(''),
      );
    };
    const apiStage = `<${apiId}>:<${stageId}>`;
    const patch = (op: string) => ({
      service: 'APIGateway',
      action: 'UpdateUsagePlan',
      parameters: {
        usagePlanId: `<${planId}>`,
        patchOperations: [{ op, path: '/apiStages', value: apiStage }],
      },
      physicalResourceId: { id: `<${planId}>/${apiStage}` },
    });
    expect(call(cr.Properties.Create)).toEqual(patch('add'));
    expect(call(cr.Properties.Update)).toEqual({
      ...patch('add'),
      ignoreErrorCodesMatching: 'ConflictException|BadRequestException',
    });
    expect(call(cr.Properties.Delete)).toEqual({
      ...patch('remove'),
      ignoreErrorCodesMatching: 'NotFoundException',
    });
    expect(cr.Properties.UsagePlanFingerprint).toMatch(/^[0-9a-f]{32}$/);

    // Its provider may PATCH this plan and write its own logs, nothing else.
    const roleId = (
      ofType('AWS::Lambda::Function').find(([id]) => refersTo(cr.Properties.ServiceToken, id))![1].Properties
        .Role as { 'Fn::GetAtt': [string, string] }
    )['Fn::GetAtt'][0];
    const role = resources[roleId]!;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const statements = statementsOfRole(resources, roleId);
    const byAction = statements.map((s) => ({
      actions: actionsOf(s).sort(),
      resources: resourcesOf(s).map((r) => apigatewayPath(r) ?? JSON.stringify(r)),
    }));
    expect(byAction).toEqual(
      expect.arrayContaining([{ actions: ['apigateway:PATCH'], resources: ['/usageplans/<plan>'] }]),
    );
    for (const s of statements) {
      const actions = actionsOf(s);
      if (actions.includes('apigateway:PATCH')) continue;
      expect(actions.sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    }
  });

  it('every method validates its declared path parameters', () => {
    for (const [, m] of ofType('AWS::ApiGateway::Method')) {
      expect(m.Properties.RequestValidatorId).toBeDefined();
    }
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      RequestParameters: { 'method.request.path.name': true, 'method.request.path.version': true },
    });
  });
});

describe('inference', () => {
  /** The staged asset directory of a function or layer (its S3Key is `<hash>.zip`). */
  function assetDir(code: unknown): string {
    return join(assemblyDir, `asset.${(code as { S3Key: string }).S3Key.replace(/\.zip$/, '')}`);
  }

  /** Every file under `dir`, relative, `/`-separated. */
  function filesUnder(dir: string): string[] {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
  }

  // An import, or a call with the bare name alone: the adapter's `createRequire` function, which
  // the minifier renames.
  const IMPORTS_ORT = /from\s*"onnxruntime-node"|\(\s*"onnxruntime-node"\s*\)/;

  it('sizing: inference 1 GB with the API timeout, the capture worker 512 MB within its queue', () => {
    const inference = resources[logicalId(stack.functions.inference)]!.Properties;
    expect([inference.MemorySize, inference.Timeout]).toEqual([1769, 29]);
    const worker = resources[logicalId(stack.functions.captureWorker)]!.Properties;
    expect([worker.MemorySize, worker.Timeout]).toEqual([512, QUEUES.captures.visibilityTimeoutSeconds / 6]);
  });

  it('one onnxruntime layer: nodejs22.x on arm64, with the linux/arm64 binaries only', () => {
    // The dashboard's BucketDeployments bring CDK's AWS CLI layer; the functions' own is one.
    const layers = ofType('AWS::Lambda::LayerVersion').filter(([id]) => !id.startsWith('Dashboard'));
    expect(layers).toHaveLength(1);
    const [id, layer] = layers[0]!;
    expect(id).toBe(logicalId(stack.onnxRuntime.layer));
    expect(layer.Properties.CompatibleRuntimes).toEqual(['nodejs22.x']);
    expect(layer.Properties.CompatibleArchitectures).toEqual(['arm64']);
    const files = filesUnder(assetDir(layer.Properties.Content));
    const ort = 'nodejs/node_modules/onnxruntime-node';
    expect(files).toEqual(
      expect.arrayContaining([
        `${ort}/package.json`,
        `${ort}/dist/index.js`,
        `${ort}/bin/napi-v6/linux/arm64/onnxruntime_binding.node`,
        `${ort}/bin/napi-v6/linux/arm64/libonnxruntime.so.1`,
        'nodejs/node_modules/onnxruntime-common/dist/cjs/index.js',
      ]),
    );
    expect(files.filter((f) => f.includes('/bin/') && !f.includes('/bin/napi-v6/linux/arm64/'))).toEqual([]);
    expect(files.filter((f) => f.startsWith(`${ort}/script/`))).toEqual([]);
  });

  it.each(FN_IDS)(
    '%s gets the layer exactly when it loads onnxruntime-node, which is never bundled',
    (fn) => {
      const p = resources[logicalId(stack.functions[fn])]!.Properties;
      const withLayer = ONNXRUNTIME_FUNCTIONS.includes(fn);
      const layers = (p.Layers ?? []) as unknown[];
      expect(layers, fn).toEqual(withLayer ? [{ Ref: logicalId(stack.onnxRuntime.layer) }] : []);

      const asset = assetDir(p.Code);
      const files = filesUnder(asset);
      expect(files.filter((f) => f.includes('node_modules') || f.endsWith('.node'))).toEqual([]);
      // The entry and its chunks (function-bundle.ts splits what import() reaches into files).
      const bundle = files
        .filter((f) => f.endsWith('.mjs'))
        .map((f) => readFileSync(join(asset, f), 'utf8'))
        .join('\n');
      expect(files).toContain('index.mjs');
      // Left to the layer: imported by name, not inlined (the inlined package would carry the
      // path of its native binding).
      expect(IMPORTS_ORT.test(bundle), `${fn} imports onnxruntime-node`).toBe(withLayer);
      expect(bundle.includes('onnxruntime_binding'), fn).toBe(false);
    },
  );

  it('without configured SageMaker endpoints nobody may invoke one, and the inference function knows it', () => {
    for (const fn of FN_IDS) {
      expect(
        fnStatements(fn)
          .flatMap(actionsOf)
          .filter((a) => a.startsWith('sagemaker:')),
        fn,
      ).toEqual([]);
    }
    expect(fnEnv('inference')[SAGEMAKER_ENDPOINTS_ENV]).toBe('');
    for (const fn of FN_IDS.filter((f) => f !== 'inference')) {
      expect(fnEnv(fn), fn).not.toHaveProperty(SAGEMAKER_ENDPOINTS_ENV);
    }
  });

  it(`captured predictions under ${CAPTURES_PREFIX} expire after ${DEFAULT_CAPTURE_RETENTION_DAYS} days, old versions a day later`, () => {
    const bucket = resources[logicalId(stack.storage.buckets.artifacts)]!;
    const rules = (bucket.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toContainEqual({
      Id: 'ExpireCaptures',
      Prefix: 'captures/',
      ExpirationInDays: 400,
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      Status: 'Enabled',
    });
    // Nothing else in the bucket expires but what the registry tagged as deleted (next test):
    // artifacts are kept for as long as the registry needs them.
    expect(
      rules.filter((r) => r.ExpirationInDays !== undefined || r.NoncurrentVersionExpiration),
    ).toHaveLength(2);
  });

  it(`artifacts the registry tags ${DELETED_ARTIFACT_TAG.key}=${DELETED_ARTIFACT_TAG.value} expire after ${DELETED_ARTIFACT_RETENTION_DAYS} days, whatever their prefix`, () => {
    const bucket = resources[logicalId(stack.storage.buckets.artifacts)]!;
    const rules = (bucket.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toContainEqual({
      Id: 'ExpireDeletedArtifacts',
      TagFilters: [{ Key: DELETED_ARTIFACT_TAG.key, Value: DELETED_ARTIFACT_TAG.value }],
      ExpirationInDays: DELETED_ARTIFACT_RETENTION_DAYS,
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      Status: 'Enabled',
    });
  });

  it('the capture DLQ has its own alarm', () => {
    const dlqId = logicalId(stack.storage.queues.captures.dlq);
    const alarm = resources[logicalId(stack.alarms.dlqAlarms.captures)]!;
    expect(alarm.Properties.MetricName).toBe('ApproximateNumberOfMessagesVisible');
    expect(refersTo(alarm.Properties.Dimensions, dlqId)).toBe(true);
    expect(refersTo(alarm.Properties.AlarmActions, logicalId(stack.alarms.topic))).toBe(true);
  });

  it('an alarm fires on any lost capture (the metric the inference publishes when it gives captures up)', () => {
    const alarm = resources[logicalId(stack.alarms.capturesLostAlarm)]!;
    expect(alarm.Properties).toMatchObject({
      Namespace: SERVING_METRICS.namespace,
      MetricName: SERVING_METRICS.capturesLost,
      Dimensions: [{ Name: 'service', Value: SERVING_METRICS.service }],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(refersTo(alarm.Properties.AlarmActions, logicalId(stack.alarms.topic))).toBe(true);
  });

  it('an alarm fires when >= 5% of inference invocations fail in 2 of 3 five-minute periods', () => {
    const fnId = logicalId(stack.functions.inference);
    const alarms = ofType('AWS::CloudWatch::Alarm').filter(([, a]) => Array.isArray(a.Properties.Metrics));
    const found = alarms.filter(([, a]) => refersTo(a.Properties.Metrics, fnId));
    expect(found).toHaveLength(1);
    const p = found[0]![1].Properties;
    expect(p).toMatchObject({
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
    expect(refersTo(p.AlarmActions, logicalId(stack.alarms.topic))).toBe(true);
    type Query = {
      Id: string;
      Expression?: string;
      ReturnData?: boolean;
      MetricStat?: {
        Metric: { MetricName: string; Namespace: string; Dimensions: unknown };
        Period: number;
        Stat: string;
      };
    };
    const queries = p.Metrics as Query[];
    const expression = queries.find((q) => q.Expression);
    expect(expression?.Expression).toBe('100 * FILL(errors, 0) / invocations');
    const stats = Object.fromEntries(queries.filter((q) => q.MetricStat).map((q) => [q.Id, q.MetricStat!]));
    expect(Object.keys(stats).sort()).toEqual(['errors', 'invocations']);
    for (const [id, name] of [
      ['errors', 'Errors'],
      ['invocations', 'Invocations'],
    ] as const) {
      expect(stats[id]).toMatchObject({
        Metric: { MetricName: name, Namespace: 'AWS/Lambda' },
        Period: 300,
        Stat: 'Sum',
      });
      expect(refersTo(stats[id]!.Metric.Dimensions, fnId)).toBe(true);
    }
  });

  it('an alarm fires when >= 5% of API requests answer 5xx in 2 of 3 five-minute periods', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.MetricName === '5XXError');
    expect(alarms).toHaveLength(1);
    const p = alarms[0]![1].Properties;
    expect(p).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      Statistic: 'Average',
      Period: 300,
      Threshold: 0.05,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
    const dims = Object.fromEntries(
      (p.Dimensions as { Name: string; Value: unknown }[]).map((d) => [d.Name, render(d.Value)]),
    );
    const [stageId] = ofType('AWS::ApiGateway::Stage')[0]!;
    expect(dims).toEqual({
      ApiName: resources[logicalId(stack.api.api)]!.Properties.Name,
      Stage: `<${stageId}>`,
    });
    expect(refersTo(p.AlarmActions, logicalId(stack.alarms.topic))).toBe(true);
  });
});
