/**
 * The house Lambda function: every Serval function is built the same way (runtime, architecture,
 * bundling, logs, tracing), and resources are bound to it with one call that both grants the
 * permission and sets the environment variable the handler reads — so a handler can never be
 * given a name without the right to use it, or the right without the name.
 */

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AssetHashType,
  type CfnElement,
  DockerImage,
  Duration,
  RemovalPolicy,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  Architecture,
  Code,
  type ILayerVersion,
  Function as LambdaFunction,
  Runtime,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  type BucketBinding,
  type BucketDef,
  FUNCTIONS,
  type FunctionId,
  type ObjectAccess,
  type QueueDef,
  type QueueMode,
  type SecretDef,
  type TableDef,
  type TableMode,
  type TopicDef,
} from '../../functions/contract/resources.js';
import { bundleFunctionSync } from './function-bundle.js';

export type { BucketBinding, ObjectAccess, QueueMode, TableMode };

/** Repository root: entries in FUNCTIONS and the lock file are relative to it. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

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
  /** Reserved concurrency; none (the account's unreserved pool) by default. */
  readonly reservedConcurrentExecutions?: number;
}

export class ServalFunction extends LambdaFunction {
  readonly fnId: FunctionId;

  constructor(scope: Construct, id: string, props: ServalFunctionProps) {
    const def = FUNCTIONS[props.fn];
    // Log group and role are created beside the function (not inside it) because both must exist
    // before the function's constructor runs.
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

    const external = props.moduleLayers?.flatMap((m) => m.packages) ?? [];
    super(scope, id, {
      // Built by bundleFunction (function-bundle.ts says how and why), on this machine: esbuild is
      // a local dependency, and synth never falls back to a Docker image (it runs offline).
      code: Code.fromAsset(join(PROJECT_ROOT, 'functions'), {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          image: DockerImage.fromRegistry('serval-bundles-locally'),
          // Never run: names the build, so that CDK's asset cache keeps one per function.
          command: ['bundle', def.entry, ...external],
          local: {
            tryBundle(outputDir) {
              bundleFunctionSync({
                entry: join(PROJECT_ROOT, def.entry),
                outdir: outputDir,
                // Only what a layer provides stays out; the AWS SDK is bundled (function-bundle.ts).
                external,
                tsconfig: join(PROJECT_ROOT, 'tsconfig.json'),
              });
              return true;
            },
          },
        },
      }),
      handler: 'index.handler',
      description: `Serval ${props.fn}: ${def.description}`,
      runtime: Runtime.NODEJS_22_X,
      architecture: FUNCTION_ARCHITECTURE,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role,
      logGroup,
      tracing: Tracing.ACTIVE,
      layers: props.moduleLayers?.map((m) => m.layer),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        SERVAL_STAGE: props.stage,
        // No --enable-source-maps: it parses every file's map as the file loads (8-9 ms of the
        // inference function's cold start). The bundles map a stack when it is read instead
        // (functions/handlers/stack-traces.ts), from the maps shipped beside the code.
        POWERTOOLS_SERVICE_NAME: 'serval',
        POWERTOOLS_METRICS_NAMESPACE: 'Serval',
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

/**
 * The actions each table mode grants (exported so tests can pin them). 'append' is PutItem
 * alone: no UpdateItem or DeleteItem, and no BatchWriteItem either, whose DeleteRequests would
 * remove items. IAM cannot require the put's `attribute_not_exists` condition (no condition key
 * sees a ConditionExpression), so a PutItem could still replace an item whose key it knows; the
 * code always sends the condition (docs/security.md, "Least privilege").
 */
export const TABLE_ACTIONS: Record<TableMode, readonly string[]> = {
  describe: ['dynamodb:DescribeTable'],
  read: TABLE_READ,
  append: ['dynamodb:PutItem'],
  readAppend: [...TABLE_READ, 'dynamodb:PutItem'],
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

/**
 * The S3 actions of each object access (exported so tests can pin them). Presigned URLs are
 * signed with the function's credentials, so 'write' is also what lets a browser PUT to a URL the
 * registry hands out, and 'read' a GET. 'delete' lets the registry remove bytes it stored for a
 * registration that then failed to commit: the bucket is versioned, so a delete only adds a
 * delete marker; permanently removing a version (s3:DeleteObjectVersion) is granted to no one.
 */
export const OBJECT_ACTIONS: Record<ObjectAccess, readonly string[]> = {
  // GetObjectVersion: artifacts are read at the object version their SHA-256 was verified on.
  read: ['s3:GetObject', 's3:GetObjectVersion'],
  write: ['s3:PutObject'],
  delete: ['s3:DeleteObject'],
  tag: ['s3:PutObjectTagging'],
};

/**
 * Grants object access per key pattern of the binding, and ListBucket when asked, and sets
 * `def.env` to the bucket name. Explicit actions rather than bucket.grantRead*, whose
 * `s3:GetObject*`, `s3:List*`, `s3:DeleteObject*` on every object would grant more than Serval
 * uses, and where Serval uses it.
 */
export function bindBucket(
  fn: ServalFunction,
  bucket: IBucket,
  def: BucketDef,
  binding: BucketBinding,
): void {
  fn.addEnvironment(def.env, bucket.bucketName);
  const patternsByActions = new Map<string, string[]>();
  for (const [pattern, accesses] of Object.entries(binding.objects)) {
    const actions = [...new Set(accesses.flatMap((a) => OBJECT_ACTIONS[a]))].sort().join(',');
    patternsByActions.set(actions, [...(patternsByActions.get(actions) ?? []), pattern]);
  }
  for (const [actions, patterns] of patternsByActions) {
    allow(
      fn,
      actions.split(','),
      patterns.map((p) => bucket.arnForObjects(p)),
    );
  }
  if (binding.list) allow(fn, ['s3:ListBucket'], [bucket.bucketArn]);
  const patterns = Object.keys(binding.objects);
  if (patterns.length === 0) return;
  const role = Validations.of(fn.role!);
  for (const pattern of patterns) {
    role.acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(bucket)}.Arn>/${pattern}]`,
      reason:
        'Object keys under this prefix are model/version/time paths chosen at runtime; the grant is ' +
        'limited to this key pattern of the one bucket (functions/contract/artifact-keys.ts) and ' +
        'to the actions listed.',
    });
  }
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
