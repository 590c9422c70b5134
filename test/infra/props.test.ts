/**
 * Stack parameters: CDK context parsing (what `cdk deploy -c serval:...=` accepts) and non-default
 * props reaching the template.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Period } from 'aws-cdk-lib/aws-apigateway';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_CACHE_TTL_ENV } from '../../functions/contract/limits.js';
import { FUNCTIONS } from '../../functions/contract/resources.js';
import { DEFAULT_QUOTA, DEFAULT_THROTTLE } from '../../lib/constructs/api.js';
import { SAGEMAKER_ENDPOINTS_ENV } from '../../lib/constructs/inference.js';
import { ServalStack, type ServalStackProps } from '../../lib/serval-stack.js';
import {
  actionsOf,
  logicalId,
  render,
  resourcesOf,
  type Statement,
  type TestApp,
  testApp,
} from './support.js';

const TRAINING_ROLE = 'arn:aws:iam::111111111111:role/serval-training';

const propsOf = (context: Record<string, unknown>) => ServalStack.propsFromContext(new App({ context }).node);

/** Builds a stack with `props` in an app of its own: for `expect(...).toThrow()`. */
const stackWith = (props: Partial<ServalStackProps>) => () => {
  const t = testApp({ bundle: false });
  try {
    new ServalStack(t.app, 'ServalRefused', { stage: 'dev', ...props });
  } finally {
    t.cleanup();
  }
};

describe('propsFromContext', () => {
  it('defaults: stage prod, default throttle and quota, data retained', () => {
    expect(propsOf({})).toMatchObject({
      stage: 'prod',
      throttle: DEFAULT_THROTTLE,
      quota: DEFAULT_QUOTA,
      alarmEmail: undefined,
      retainData: undefined,
    });
  });

  it('reads -c strings as numbers, booleans and lists', () => {
    expect(
      propsOf({
        'serval:stage': 'dev',
        'serval:throttleRateLimit': '5',
        'serval:throttleBurstLimit': '10',
        'serval:quotaLimit': '1000',
        'serval:quotaPeriod': 'MONTH',
        'serval:alarmEmail': 'ops@example.com',
        'serval:logRetentionDays': '14',
        'serval:retainData': 'false',
        'serval:artifactCorsOrigins': 'https://a.example, https://b.example',
        'serval:sagemakerEndpoints': 'fraud-xl, Churn-GPU',
        'serval:importBuckets': 'ml-out, ,team-models',
        'serval:captureRetentionDays': '30',
        'serval:authorizerCacheTtlSeconds': '0',
      }),
    ).toEqual({
      stage: 'dev',
      throttle: { rateLimit: 5, burstLimit: 10 },
      quota: { limit: 1000, period: Period.MONTH },
      alarmEmail: 'ops@example.com',
      logRetention: RetentionDays.TWO_WEEKS,
      retainData: false,
      webAclArn: undefined,
      artifactCorsOrigins: ['https://a.example', 'https://b.example'],
      sagemakerEndpoints: ['fraud-xl', 'Churn-GPU'],
      importBuckets: ['ml-out', 'team-models'],
      captureRetentionDays: 30,
      authorizerCacheTtlSeconds: 0,
    });
  });

  it.each([
    ['serval:throttleRateLimit', 'fast'],
    ['serval:quotaLimit', '-1'],
    ['serval:quotaPeriod', 'YEAR'],
    ['serval:logRetentionDays', '2'],
    ['serval:captureRetentionDays', '1.5'],
    ['serval:authorizerCacheTtlSeconds', '3601'],
    ['serval:authorizerCacheTtlSeconds', 'soon'],
    ['serval:reservedConcurrency', 'inference'],
    ['serval:reservedConcurrency', 'inference=0'],
    ['serval:reservedConcurrency', 'inference=2.5'],
    ['serval:reservedConcurrency', 'nobody=5'],
    ['serval:provisionedConcurrency', 'inference=none'],
    ['serval:provisionedConcurrency', 'inference=0'],
    ['serval:provisionedConcurrency', 'inference'],
  ])('rejects %s=%s', (key, value) => {
    expect(() => propsOf({ [key]: value })).toThrow(key);
  });

  it('reads reserved concurrency as fn=n pairs, fn=none, or none for every function', () => {
    expect(
      propsOf({ 'serval:reservedConcurrency': 'inference=300, captureWorker=none' }).reservedConcurrency,
    ).toEqual({ inference: 300, captureWorker: null });
    const none = propsOf({ 'serval:reservedConcurrency': 'none' }).reservedConcurrency ?? {};
    expect(Object.keys(none).sort()).toEqual(Object.keys(FUNCTIONS).sort());
    expect(Object.values(none).every((v) => v === null)).toBe(true);
  });
});

describe('provisioned concurrency', () => {
  let t: TestApp;
  let template: Template;
  let stack: ServalStack;

  beforeAll(() => {
    t = testApp({ bundle: false });
    stack = new ServalStack(t.app, 'ServalProvisioned', {
      stage: 'dev',
      provisionedConcurrency: propsOf({ 'serval:provisionedConcurrency': 'inference=2, authorizer=3' })
        .provisionedConcurrency,
    });
    template = Template.fromStack(stack);
  });

  afterAll(() => t?.cleanup());

  /** The `live` alias of a function, by its logical id. */
  function aliasOf(fn: 'inference' | 'authorizer'): string {
    const fnId = logicalId(stack.functions[fn]);
    const found = Object.entries(template.findResources('AWS::Lambda::Alias')).filter(
      ([, r]) => JSON.stringify(r.Properties.FunctionName).includes(fnId) && r.Properties.Name === 'live',
    );
    expect(found).toHaveLength(1);
    return found[0]![0];
  }

  it('gives each function its live alias of the current version, with the environments asked for', () => {
    for (const [fn, count] of [
      ['inference', 2],
      ['authorizer', 3],
    ] as const) {
      const alias = template.findResources('AWS::Lambda::Alias')[aliasOf(fn)]!;
      expect(alias.Properties.ProvisionedConcurrencyConfig).toEqual({
        ProvisionedConcurrentExecutions: count,
      });
      const version = (alias.Properties.FunctionVersion as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]!;
      expect(template.toJSON().Resources[version].Type).toBe('AWS::Lambda::Version');
    }
    expect(Object.keys(template.findResources('AWS::Lambda::Alias'))).toHaveLength(2);
  });

  it('API Gateway invokes the aliases, and every other function as before', () => {
    const inference = aliasOf('inference');
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    const predict = methods.find((m) => m.Properties.OperationName === 'predict')!;
    expect(JSON.stringify(predict.Properties.Integration.Uri)).toContain(inference);
    const listModels = methods.find((m) => m.Properties.OperationName === 'listModels')!;
    expect(JSON.stringify(listModels.Properties.Integration.Uri)).not.toContain('Live');
    const authorizer = Object.values(template.findResources('AWS::ApiGateway::Authorizer'))[0]!;
    expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toContain(aliasOf('authorizer'));
    // API Gateway may invoke the aliases (an unqualified permission does not cover them).
    const permitted = Object.values(template.findResources('AWS::Lambda::Permission'))
      .filter((p) => p.Properties.Principal === 'apigateway.amazonaws.com')
      .map((p) => JSON.stringify(p.Properties.FunctionName));
    for (const fn of ['inference', 'authorizer'] as const) {
      expect(permitted.some((name) => name.includes(aliasOf(fn)))).toBe(true);
    }
  });

  it.each([
    [{ captureWorker: 2 }, 'captureWorker is not one'],
    [{ inference: 101 }, 'cannot exceed its reserved concurrency (100)'],
    [{ inference: 1.5 }, 'whole number'],
  ])('the stack refuses %o', (provisionedConcurrency, message) => {
    expect(stackWith({ provisionedConcurrency: provisionedConcurrency as never })).toThrow(message);
  });
});

it('the stack refuses a queue worker reserved below what its event source polls with', () => {
  expect(stackWith({ reservedConcurrency: { driftWorker: 1 } })).toThrow('driftWorker');
});

it.each([-1, 3601, 1.5])('the stack refuses %s as the authorizer cache TTL', (ttl) => {
  expect(stackWith({ authorizerCacheTtlSeconds: ttl })).toThrow(AUTH_CACHE_TTL_ENV);
});

it.each(['fraud_xl', '-leading', 'a'.repeat(64)])(
  'the stack refuses %s as a SageMaker endpoint name',
  (name) => {
    expect(stackWith({ sagemakerEndpoints: [name] })).toThrow('not a SageMaker endpoint name');
  },
);

describe('non-default props', () => {
  let t: TestApp;
  let template: Template;
  let resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  let inferenceRole: string;
  let registryRole: string;
  let registryFn: string;
  let authorizerFn: string;
  let inferenceFn: string;
  let retrainRole: string;
  let retrainFn: string;

  beforeAll(() => {
    t = testApp({ bundle: false });
    const stack = new ServalStack(t.app, 'ServalProps', {
      stage: 'dev',
      throttle: { rateLimit: 7, burstLimit: 9 },
      quota: { limit: 500, period: Period.WEEK },
      alarmEmail: 'ops@example.com',
      retainData: false,
      webAclArn: 'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/serval/abc',
      artifactCorsOrigins: ['https://dashboard.example'],
      sagemakerEndpoints: ['fraud-xl', 'Churn-GPU'],
      importBuckets: ['ml-out'],
      trainingRoleArn: TRAINING_ROLE,
      captureRetentionDays: 30,
      reservedConcurrency: { inference: 300, captureWorker: null, driftWorker: 2 },
      authorizerCacheTtlSeconds: 0,
    });
    template = Template.fromStack(stack);
    resources = template.toJSON().Resources;
    inferenceRole = logicalId(stack.functions.inference.role!);
    inferenceFn = logicalId(stack.functions.inference);
    registryRole = logicalId(stack.functions.registry.role!);
    registryFn = logicalId(stack.functions.registry);
    authorizerFn = logicalId(stack.functions.authorizer);
    retrainRole = logicalId(stack.functions.retrainWorker.role!);
    retrainFn = logicalId(stack.functions.retrainWorker);
  });

  afterAll(() => t?.cleanup());

  it('throttle and quota reach the usage plan and the stage', () => {
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 7, BurstLimit: 9 },
      Quota: { Limit: 500, Period: 'WEEK' },
    });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0]!;
    expect(stage.Properties.StageName).toBe('dev');
    expect(stage.Properties.MethodSettings[0]).toMatchObject({
      ThrottlingRateLimit: 7,
      ThrottlingBurstLimit: 9,
    });
  });

  it('a change to the usage plan re-runs the custom resource that adds the stage to it', () => {
    // CloudFormation resets the plan's stages whenever it updates the plan; the custom resource
    // runs again only if one of its own properties changes.
    const other = testApp({ bundle: false });
    try {
      const defaults = Template.fromStack(new ServalStack(other.app, 'ServalDefaults', { stage: 'dev' }));
      const fingerprint = (tpl: Template) =>
        (Object.values(tpl.findResources('Custom::AWS'))[0]!.Properties as Record<string, unknown>)
          .UsagePlanFingerprint;
      expect(fingerprint(template)).toMatch(/^[0-9a-f]{32}$/);
      expect(fingerprint(defaults)).toMatch(/^[0-9a-f]{32}$/);
      expect(fingerprint(template)).not.toBe(fingerprint(defaults));
    } finally {
      other.cleanup();
    }
  });

  it('the authorizer cache TTL reaches the authorizer function (0: every request checked)', () => {
    const env = (resources[authorizerFn]!.Properties.Environment as { Variables: Record<string, string> })
      .Variables;
    expect(env[AUTH_CACHE_TTL_ENV]).toBe('0');
  });

  it('the web ACL is associated with the stage', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      WebACLArn: 'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/serval/abc',
    });
  });

  it('the alarm e-mail is subscribed to the alarm topic', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('retainData=false lets tables go with the stack; buckets are retained regardless', () => {
    for (const table of Object.values(template.findResources('AWS::DynamoDB::Table'))) {
      expect(table.DeletionPolicy).toBe('Delete');
      expect(table.Properties.DeletionProtectionEnabled).toBe(false);
      // Recovery stays on: it protects against bad writes, not only against deletion.
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
    for (const bucket of Object.values(template.findResources('AWS::S3::Bucket'))) {
      expect(bucket.DeletionPolicy).toBe('Retain');
    }
  });

  it('CORS on the artifacts bucket allows presigned GET/PUT from the given origins only', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      CorsConfiguration: {
        CorsRules: [
          {
            AllowedOrigins: ['https://dashboard.example'],
            AllowedMethods: ['GET', 'PUT', 'HEAD'],
          },
        ],
      },
    });
  });

  it('the inference function may invoke exactly the configured SageMaker endpoints (ARNs lower-cased), nobody else any', () => {
    const sagemaker = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) =>
        (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement.filter((s) =>
          actionsOf(s).includes('sagemaker:InvokeEndpoint'),
        ).map((s) => ({ roles: r.Properties.Roles, statement: s })),
      );
    expect(sagemaker).toHaveLength(1);
    const [{ roles, statement }] = sagemaker as [(typeof sagemaker)[number]];
    expect(roles).toEqual([{ Ref: inferenceRole }]);
    expect(statement.Effect).toBe('Allow');
    expect(statement.Condition).toBeUndefined();
    expect(actionsOf(statement)).toEqual(['sagemaker:InvokeEndpoint']);
    expect(resourcesOf(statement).map(render).sort()).toEqual([
      'arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:endpoint/churn-gpu',
      'arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:endpoint/fraud-xl',
    ]);
    const env = (resources[inferenceFn]!.Properties.Environment as { Variables: Record<string, unknown> })
      .Variables;
    expect(env[SAGEMAKER_ENDPOINTS_ENV]).toBe('fraud-xl,Churn-GPU');
  });

  it('the retrain worker may run training jobs named serval-* and pass exactly the training role, to SageMaker only', () => {
    const statements = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) =>
        (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement.filter((s) =>
          actionsOf(s).some((a) => /^sagemaker:.*TrainingJob$|^iam:PassRole$/.test(a)),
        ).map((s) => ({ roles: r.Properties.Roles, statement: s })),
      );
    expect(statements.map((s) => s.roles)).toEqual([[{ Ref: retrainRole }], [{ Ref: retrainRole }]]);
    const training = statements.find((s) => actionsOf(s.statement).includes('sagemaker:CreateTrainingJob'))!;
    expect(actionsOf(training.statement).sort()).toEqual([
      'sagemaker:AddTags',
      'sagemaker:CreateTrainingJob',
      'sagemaker:DescribeTrainingJob',
      'sagemaker:StopTrainingJob',
    ]);
    expect(resourcesOf(training.statement).map(render)).toEqual([
      'arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:training-job/serval-*',
    ]);
    const pass = statements.find((s) => actionsOf(s.statement).includes('iam:PassRole'))!;
    expect(resourcesOf(pass.statement)).toEqual([TRAINING_ROLE]);
    expect(pass.statement.Condition).toEqual({
      StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' },
    });
    const env = (resources[retrainFn]!.Properties.Environment as { Variables: Record<string, unknown> })
      .Variables;
    expect(env).toMatchObject({
      SERVAL_TRAINING_ROLE_ARN: TRAINING_ROLE,
      SERVAL_TRAINING_JOB_PREFIX: 'serval',
    });
  });

  it('refuses a training role that is not a role ARN', () => {
    expect(() => propsOf({ 'serval:trainingRoleArn': 'serval-training' })).toThrow(/trainingRoleArn/);
    expect(propsOf({ 'serval:trainingRoleArn': TRAINING_ROLE }).trainingRoleArn).toBe(TRAINING_ROLE);
  });

  it('the registry may read and list exactly the configured import buckets, nobody else any', () => {
    const grants = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) =>
        (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement.filter((s) =>
          resourcesOf(s).some((x) => render(x).includes(':s3:::ml-out')),
        ).map((s) => ({
          roles: r.Properties.Roles,
          actions: actionsOf(s),
          // CDK merges statements with equal actions: only this bucket's resources are asked about.
          on: resourcesOf(s)
            .map(render)
            .filter((x) => x.includes(':s3:::ml-out')),
        })),
      );
    expect(grants.sort((a, b) => a.actions[0]!.localeCompare(b.actions[0]!))).toEqual([
      {
        roles: [{ Ref: registryRole }],
        actions: ['s3:GetObject'],
        on: ['arn:<AWS::Partition>:s3:::ml-out/*'],
      },
      {
        roles: [{ Ref: registryRole }],
        actions: ['s3:ListBucket'],
        on: ['arn:<AWS::Partition>:s3:::ml-out'],
      },
    ]);
    const env = (resources[registryFn]!.Properties.Environment as { Variables: Record<string, unknown> })
      .Variables;
    expect(env.SERVAL_IMPORT_BUCKETS).toBe('ml-out');
  });

  it('reserved concurrency overrides reach the functions and the worker event sources; null reserves none', () => {
    const fns = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    const byDescription = (prefix: string) =>
      fns.find((f) => String(f.Properties.Description).startsWith(`Serval ${prefix}:`))!.Properties;
    expect(byDescription('inference').ReservedConcurrentExecutions).toBe(300);
    expect(byDescription('captureWorker')).not.toHaveProperty('ReservedConcurrentExecutions');
    expect(byDescription('driftWorker').ReservedConcurrentExecutions).toBe(2);
    // Defaults stay for the others.
    expect(byDescription('registry').ReservedConcurrentExecutions).toBe(20);
    const scaling = Object.values(resources)
      .filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping')
      .map((m) => m.Properties.ScalingConfig);
    expect(scaling).toContainEqual({ MaximumConcurrency: 2 });
    // The capture worker, unreserved, polls without a cap.
    expect(scaling.filter((c) => c === undefined)).toHaveLength(1);
  });

  it('captures expire after the configured number of days', () => {
    const rules = Object.values(template.findResources('AWS::S3::Bucket')).flatMap(
      (b) => (b.Properties.LifecycleConfiguration?.Rules ?? []) as Record<string, unknown>[],
    );
    expect(rules.filter((r) => r.Id === 'ExpireCaptures')).toEqual([
      expect.objectContaining({ Prefix: 'captures/', ExpirationInDays: 30 }),
    ]);
  });
});
