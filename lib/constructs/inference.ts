/**
 * What serving models needs beyond the house function: the onnxruntime-node layer (native code,
 * which esbuild cannot bundle, for one architecture only) and InvokeEndpoint on the SageMaker
 * endpoints the operator names (endpoints are not Serval resources, so they are configured, not
 * created).
 */
import { Stack, Token, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type Architecture, Code, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  buildOnnxRuntimeLayer,
  DEFAULT_OUT_DIR,
  LAYER_PACKAGES,
  type LayerArchitecture,
  type OnnxRuntimeLayerBuild,
} from '../../layers/onnxruntime/build.js';
import type { ModuleLayer, ServalFunction } from './serval-function.js';

export interface OnnxRuntimeLayerProps {
  /** The functions' architecture: the layer carries that architecture's binaries only. */
  readonly architecture: Architecture;
  /** Where the layer is assembled (default layers/onnxruntime/build, git-ignored). */
  readonly buildDir?: string;
}

/**
 * onnxruntime-node and onnxruntime-common as a Lambda layer (`/opt/nodejs/node_modules`),
 * assembled at synth time from the installed packages by layers/onnxruntime/build.ts: plain file
 * copies, nothing downloaded, and nothing copied when the build directory is already current.
 * Give it to a function as a ModuleLayer: the function's bundle then leaves the packages out.
 */
export class OnnxRuntimeLayer extends Construct implements ModuleLayer {
  readonly layer: LayerVersion;
  readonly packages: readonly string[] = LAYER_PACKAGES;
  readonly build: OnnxRuntimeLayerBuild;

  constructor(scope: Construct, id: string, props: OnnxRuntimeLayerProps) {
    super(scope, id);
    const architecture = props.architecture.name as LayerArchitecture;
    this.build = buildOnnxRuntimeLayer({ architecture, outDir: props.buildDir ?? DEFAULT_OUT_DIR });
    const version = this.build.versions['onnxruntime-node'];
    this.layer = new LayerVersion(this, 'Layer', {
      code: Code.fromAsset(this.build.dir),
      compatibleRuntimes: [Runtime.NODEJS_22_X],
      compatibleArchitectures: [props.architecture],
      description: `Serval: onnxruntime-node ${version} (CPU, linux ${architecture} binaries only)`,
      license: 'MIT',
    });
  }
}

/** SageMaker endpoint names: `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}` (CreateEndpoint's pattern). */
const ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** Variable through which the inference function learns the endpoints it may invoke. */
export const SAGEMAKER_ENDPOINTS_ENV = 'SERVAL_SAGEMAKER_ENDPOINTS';

/** Throws unless every name is a valid SageMaker endpoint name. */
export function checkSageMakerEndpointNames(endpoints: readonly string[]): void {
  for (const name of endpoints) {
    if (!ENDPOINT_NAME.test(name)) {
      throw new Error(`"${name}" is not a SageMaker endpoint name (letters, digits and hyphens, at most 63)`);
    }
  }
}

/**
 * Lets the function call sagemaker:InvokeEndpoint on exactly these endpoints of the stack's
 * account and region, and sets SERVAL_SAGEMAKER_ENDPOINTS to their comma-joined names (empty:
 * none). Endpoint ARNs are lower-case whatever the case of the name, so the ARN uses the
 * lower-cased name. No statement at all when there are no endpoints.
 */
export function bindSageMakerEndpoints(fn: ServalFunction, endpoints: readonly string[]): void {
  checkSageMakerEndpointNames(endpoints);
  fn.addEnvironment(SAGEMAKER_ENDPOINTS_ENV, endpoints.join(','));
  if (endpoints.length === 0) return;
  const stack = Stack.of(fn);
  const arns = [...new Set(endpoints.map((name) => name.toLowerCase()))].map(
    (name) => `arn:${stack.partition}:sagemaker:${stack.region}:${stack.account}:endpoint/${name}`,
  );
  fn.addToRolePolicy(
    new PolicyStatement({ effect: Effect.ALLOW, actions: ['sagemaker:InvokeEndpoint'], resources: arns }),
  );
}

/**
 * Buckets outside Serval the registry function may import models from (docs/import.md): read on
 * their objects and listing (an MLflow directory is listed), nothing else. Serval's own bucket
 * needs no entry: its `imports/` prefix is granted by BINDINGS.
 */
export function bindImportBuckets(fn: ServalFunction, buckets: readonly string[]): void {
  fn.addEnvironment('SERVAL_IMPORT_BUCKETS', buckets.join(','));
  if (buckets.length === 0) return;
  const stack = Stack.of(fn);
  const arn = (b: string) => `arn:${stack.partition}:s3:::${b}`;
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['s3:GetObject'],
      resources: buckets.map((b) => `${arn(b)}/*`),
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:ListBucket'], resources: buckets.map(arn) }),
  );
}

/** Training job names start with this; the worker's SageMaker grant covers `training-job/<it>-*`. */
export const TRAINING_JOB_PREFIX = 'serval';

/**
 * SageMaker training for the retrain worker (docs/retraining.md "SageMaker training"), only when
 * the deployment names the execution role training jobs run as (context
 * serval:trainingRoleArn): Create/Describe/Stop on Serval's own training job names, AddTags for
 * the tag CreateTrainingJob sets, and iam:PassRole on that role alone, to SageMaker alone. The
 * role itself (read of `jobs/*\/sagemaker/train/*`, write of `jobs/*\/sagemaker/output/*` in the
 * artifacts bucket, ECR pull, logs) is the operator's, documented there.
 */
export function bindSageMakerTraining(fn: ServalFunction, roleArn: string | undefined): void {
  if (!roleArn) return;
  const stack = Stack.of(fn);
  fn.addEnvironment('SERVAL_TRAINING_ROLE_ARN', roleArn);
  fn.addEnvironment('SERVAL_TRAINING_JOB_PREFIX', TRAINING_JOB_PREFIX);
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: [
        'sagemaker:CreateTrainingJob',
        'sagemaker:DescribeTrainingJob',
        'sagemaker:StopTrainingJob',
        'sagemaker:AddTags',
      ],
      resources: [
        `arn:${stack.partition}:sagemaker:${stack.region}:${stack.account}:training-job/${TRAINING_JOB_PREFIX}-*`,
      ],
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['iam:PassRole'],
      resources: [roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    }),
  );
  // cdk-nag names the resource as rendered: tokens without an environment, literals with one.
  const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  Validations.of(fn.role!).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:${partition}:sagemaker:${region}:${account}:training-job/${TRAINING_JOB_PREFIX}-*]`,
    reason:
      'Training job names are made at runtime from the retraining job id and attempt, so they are ' +
      `not known at deploy time; the statement covers only names with Serval's own "${TRAINING_JOB_PREFIX}-" ` +
      'prefix and only Create, Describe, Stop and AddTags on training jobs.',
  });
}
