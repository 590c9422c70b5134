/**
 * The house Lambda function: every Serval function is built the same way (runtime, architecture,
 * bundling, logs, tracing), and resources are bound to it with one call that both grants the
 * permission and sets the environment variable the handler reads — so a handler can never be
 * given a name without the right to use it, or the right without the name.
 */

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type ILayerVersion, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  type BucketDef,
  type BucketMode,
  FUNCTIONS,
  type FunctionId,
  type QueueDef,
  type QueueMode,
  type SecretDef,
  type TableDef,
  type TableMode,
  type TopicDef,
} from '../../functions/contract/resources.js';

export type { BucketMode, QueueMode, TableMode };

/** Repository root: entries in FUNCTIONS and the lock file are relative to it. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// ESM output cannot call `require`, but CommonJS dependencies bundled into it still do; this
// gives them one. The alias avoids clashing with any `createRequire` import in the bundle.
const ESM_REQUIRE_BANNER =
  "import { createRequire as __servalCreateRequire } from 'node:module';" +
  'const require = __servalCreateRequire(import.meta.url);';

/** Every Serval function's architecture (layers with native code must be built for it). */
export const FUNCTION_ARCHITECTURE = Architecture.ARM_64;

/** A layer and the packages it provides: a function given it leaves them out of its bundle. */
export interface ModuleLayer {
  readonly layer: ILayerVersion;
  readonly packages: readonly string[];
}

export interface ServalFunctionProps {
  /** Which entry of FUNCTIONS this is. */
  readonly fn: FunctionId;
  /** Deployment stage name, given to the handler as SERVAL_STAGE. */
  readonly stage: string;
  readonly memorySize?: number;
  readonly timeout?: Duration;
  readonly logRetention?: RetentionDays;
  /** Whether the log group outlives the stack. */
  readonly retainLogs?: boolean;
  /** Layers whose packages the handler imports (e.g. native onnxruntime-node); none by default. */
  readonly moduleLayers?: readonly ModuleLayer[];
}

export class ServalFunction extends NodejsFunction {
  readonly fnId: FunctionId;

  constructor(scope: Construct, id: string, props: ServalFunctionProps) {
    const def = FUNCTIONS[props.fn];
    // Log group and role are created beside the function (not inside it) because both must exist
    // before NodejsFunction's constructor runs.
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.retainLogs === false ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    // An own role instead of the default one: the default attaches the AWS managed
    // AWSLambdaBasicExecutionRole (logs:* on every log group); this one may write to its own
    // log group only.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Serval ${props.fn}: ${def.description}`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      entry: join(PROJECT_ROOT, def.entry),
      handler: 'handler',
      description: `Serval ${props.fn}: ${def.description}`,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: FUNCTION_ARCHITECTURE,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role,
      logGroup,
      tracing: Tracing.ACTIVE,
      layers: props.moduleLayers?.map((m) => m.layer),
      environment: {
        SERVAL_STAGE: props.stage,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'serval',
        POWERTOOLS_METRICS_NAMESPACE: 'Serval',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        // Prefer packages' ESM builds so tree-shaking works on them.
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        // Stack traces need the mappings, not the sources: keeps the artifact small.
        sourcesContent: false,
        // esbuild is a local dependency; never fall back to a Docker image (synth runs offline).
        forceDockerBundling: false,
        tsconfig: join(PROJECT_ROOT, 'tsconfig.json'),
        // Listing externals (even none) replaces CDK's default of leaving @aws-sdk/* to the
        // runtime, so the SDK is bundled: the deployed code runs the SDK version the tests ran,
        // not whatever the Lambda runtime ships. Only what a layer provides stays out
        // (onnxruntime-node is native: esbuild cannot bundle it).
        externalModules: props.moduleLayers?.flatMap((m) => m.packages) ?? [],
        // Belt and braces: onnxruntime-node's install script downloads CUDA libraries.
        environment: { ONNXRUNTIME_NODE_INSTALL: 'skip' },
      },
    });
    this.fnId = props.fn;

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which ' +
        'support no resource-level permissions (the statement CDK adds for Tracing.ACTIVE).',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is deliberate (DESIGN.md): the code is developed and tested on Node 20 and must ' +
        'run on 20 and 22; nodejs24.x would allow APIs nothing here is tested against.',
    });
  }
}

/**
 * 'describe' is table metadata only (DescribeTable: status, size, item count), for reachability
 * probes; it reads no item.
 */

const TABLE_READ = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
];
const TABLE_WRITE = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

/** The actions each table mode grants (exported so tests can pin them). */
export const TABLE_ACTIONS: Record<TableMode, readonly string[]> = {
  describe: ['dynamodb:DescribeTable'],
  read: TABLE_READ,
  readWrite: [...TABLE_READ, ...TABLE_WRITE],
};

/**
 * Grants `mode` on the table and its declared indexes and sets `def.env` to the table name.
 * Index ARNs are listed from the definition instead of `index/*`, so the grant covers exactly the
 * indexes that exist. TransactWriteItems is authorised per item through the actions above.
 */
export function bindTable(fn: ServalFunction, table: ITable, def: TableDef, mode: TableMode): void {
  fn.addEnvironment(def.env, table.tableName);
  allow(
    fn,
    [...TABLE_ACTIONS[mode]],
    [table.tableArn, ...def.globalIndexes.map((index) => `${table.tableArn}/index/${index.name}`)],
  );
}

/** The object actions each bucket mode grants (exported so tests can pin them). */
export const BUCKET_OBJECT_ACTIONS: Record<BucketMode, readonly string[]> = {
  read: ['s3:GetObject'],
  // DeleteObject lets the registry remove bytes it stored for a registration that then failed to
  // commit. The bucket is versioned, so a delete only adds a delete marker; permanently removing a
  // version (s3:DeleteObjectVersion) is not granted to anyone.
  readWrite: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
  // Writes go to CAPTURE_OBJECTS only (bindBucket): model artifacts stay read-only.
  readWriteCaptures: ['s3:GetObject'],
};

/** What 'readWriteCaptures' may write: the capture objects of the artifacts bucket. */
export const CAPTURE_OBJECTS = 'captures/*';

/**
 * Grants object access to the bucket and sets `def.env` to its name. Presigned URLs are signed
 * with the function's credentials, so 'readWrite' is also what lets a browser PUT to a URL the
 * registry hands out. Explicit actions rather than bucket.grantRead*, whose `s3:GetObject*`,
 * `s3:List*`, `s3:DeleteObject*` would grant more than Serval uses.
 */
export function bindBucket(fn: ServalFunction, bucket: IBucket, def: BucketDef, mode: BucketMode): void {
  fn.addEnvironment(def.env, bucket.bucketName);
  allow(fn, [...BUCKET_OBJECT_ACTIONS[mode]], [bucket.arnForObjects('*')]);
  if (mode === 'readWriteCaptures') allow(fn, ['s3:PutObject'], [bucket.arnForObjects(CAPTURE_OBJECTS)]);
  // ListBucket turns a missing object into 404 (NoSuchKey) instead of 403, which the handlers
  // need to tell "not uploaded yet" from "not allowed"; HeadBucket (health probe) needs it too.
  allow(fn, ['s3:ListBucket'], [bucket.bucketArn]);
  Validations.of(fn.role!).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(bucket)}.Arn>/*]`,
    reason:
      'Object keys of the artifacts bucket are model/version paths chosen at runtime; the grant is ' +
      'limited to objects of this one bucket and to the actions listed.',
  });
}

/**
 * 'send': sqs:SendMessage; 'depth': sqs:GetQueueAttributes (ApproximateNumberOfMessages for
 * health checks). Sets `env` (default `def.env`) to the queue URL. Consumption is granted by the
 * SQS event source, not here. Queues use SQS-managed encryption, so no KMS grant is needed.
 */
export function bindQueue(
  fn: ServalFunction,
  queue: IQueue,
  def: QueueDef,
  mode: QueueMode,
  env = def.env,
): void {
  fn.addEnvironment(env, queue.queueUrl);
  allow(fn, mode === 'send' ? ['sqs:SendMessage'] : ['sqs:GetQueueAttributes'], [queue.queueArn]);
}

/** Adds an Allow statement for `actions` on `resources` to the function's role. */
function allow(fn: ServalFunction, actions: string[], resources: string[]): void {
  fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions, resources }));
}

/** The logical id cdk-nag prints inside `<...>` for a resource's attributes. */
function logicalIdOf(resource: IBucket | ITable | IQueue): string {
  const child = resource.node.defaultChild;
  if (!child) throw new Error(`${resource.node.path} has no default child to name in a nag acknowledgment`);
  return Stack.of(resource).getLogicalId(child as CfnElement);
}

/** Lets the function read the secret's value and sets `def.env` to its ARN. */
export function bindSecret(fn: ServalFunction, secret: ISecret, def: SecretDef): void {
  fn.addEnvironment(def.env, secret.secretArn);
  allow(fn, ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], [secret.secretArn]);
}

/** Lets the function publish to the topic and sets `def.env` to its ARN. */
export function bindTopic(fn: ServalFunction, topic: ITopic, def: TopicDef): void {
  fn.addEnvironment(def.env, topic.topicArn);
  allow(fn, ['sns:Publish'], [topic.topicArn]);
}
