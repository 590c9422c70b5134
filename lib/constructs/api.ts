/**
 * The public HTTP API: an API Gateway REST API whose resources and methods are generated from
 * the route table (functions/contract/routes.ts), so every route on AWS exists locally too and carries
 * the role declared for it.
 */
import { createHash } from 'node:crypto';
import { type CfnResource, Duration, Lazy, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiKeySourceType,
  AuthorizationType,
  type CfnAuthorizer,
  type CfnUsagePlan,
  EndpointType,
  type IResource,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  Period,
  RequestAuthorizer,
  type RequestValidator,
  ResponseType,
  RestApi,
  type UsagePlan,
} from 'aws-cdk-lib/aws-apigateway';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import * as limits from '../../functions/contract/limits.js';
import type { FunctionId } from '../../functions/contract/resources.js';
import { ROUTES } from '../../functions/contract/routes.js';
import type { ServalFunction } from './serval-function.js';

export interface ThrottleProps {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Requests that may arrive at once above the steady rate. */
  readonly burstLimit: number;
}

export interface QuotaProps {
  readonly limit: number;
  readonly period: Period;
}

// The numbers live in functions/contract/limits.ts, which the local runtime's limiter reads too.
export const DEFAULT_THROTTLE: ThrottleProps = { ...limits.DEFAULT_THROTTLE };
export const DEFAULT_QUOTA: QuotaProps = {
  limit: limits.DEFAULT_QUOTA.limit,
  period: Period[limits.DEFAULT_QUOTA.period],
};

/**
 * The API Gateway control-plane actions the key administration function needs to give each
 * Serval key its usage identifier (functions/adapters/usage-plans.ts), by resource path:
 * CreateUsagePlanKey on this plan's keys only; CreateApiKey only with this plan's tag, and
 * DeleteApiKey only on a key carrying it (ids are assigned by API Gateway at runtime, so the path
 * is a wildcard and the tag is what scopes it); GetApiKeys on the collection, which IAM cannot
 * narrow: a listing is one request on `/apikeys`, and it returns names and ids (the values only on
 * request, and they are derived from Serval key ids, not secrets).
 */
export function usagePlanEnrollmentGrants(usagePlanId: string): ReadonlyArray<{
  action: string;
  path: string;
  condition?: Record<string, Record<string, string>>;
}> {
  return [
    { action: 'apigateway:GET', path: '/apikeys' },
    {
      action: 'apigateway:POST',
      path: '/apikeys',
      condition: { StringEquals: { [`aws:RequestTag/${limits.USAGE_PLAN_TAG}`]: usagePlanId } },
    },
    {
      action: 'apigateway:DELETE',
      path: '/apikeys/*',
      condition: { StringEquals: { [`aws:ResourceTag/${limits.USAGE_PLAN_TAG}`]: usagePlanId } },
    },
    { action: 'apigateway:POST', path: `/usageplans/${usagePlanId}/keys` },
  ];
}

export interface ServalApiProps {
  /** The functions serving routes, and the `authorizer`. */
  readonly functions: Readonly<Record<FunctionId, ServalFunction>>;
  /**
   * What API Gateway invokes instead of a function itself: the `live` alias of a function with
   * provisioned concurrency (ServalStack). Default: the function.
   */
  readonly invokeTargets?: Readonly<Partial<Record<FunctionId, IFunction>>>;
  /** API Gateway stage name (the first path segment of the URL). */
  readonly stageName: string;
  readonly throttle?: ThrottleProps;
  readonly quota?: QuotaProps;
  readonly logRetention?: RetentionDays;
  /** ARN of an existing regional WAFv2 web ACL to associate with the stage. */
  readonly webAclArn?: string;
}

/**
 * Gateway responses (errors API Gateway produces itself, before or instead of a function) in the
 * error shape of API.md, so a client parses one shape whoever answered.
 */
const GATEWAY_ERRORS: ReadonlyArray<{
  type: ResponseType;
  code: string;
  status?: string;
  retryAfter?: boolean;
}> = [
  { type: ResponseType.UNAUTHORIZED, status: '401', code: 'unauthorized' },
  { type: ResponseType.ACCESS_DENIED, status: '403', code: 'forbidden' },
  // A key without its usage identifier in the plan (see docs/deploy.md, "Rate limits").
  { type: ResponseType.INVALID_API_KEY, status: '403', code: 'forbidden' },
  { type: ResponseType.THROTTLED, status: '429', code: 'rate_limited', retryAfter: true },
  { type: ResponseType.QUOTA_EXCEEDED, status: '429', code: 'rate_limited', retryAfter: true },
  // The authorizer failed rather than refused (the key store unreachable): a client should retry,
  // not conclude its key is bad, so not 401, and not a bare 500 either.
  { type: ResponseType.AUTHORIZER_FAILURE, status: '503', code: 'unavailable', retryAfter: true },
  // API Gateway answers an unknown path or method with 403 "Missing Authentication Token";
  // clients should see a plain 404.
  { type: ResponseType.MISSING_AUTHENTICATION_TOKEN, status: '404', code: 'not_found' },
  { type: ResponseType.RESOURCE_NOT_FOUND, status: '404', code: 'not_found' },
  { type: ResponseType.BAD_REQUEST_BODY, status: '400', code: 'validation_failed' },
  { type: ResponseType.BAD_REQUEST_PARAMETERS, status: '400', code: 'validation_failed' },
  { type: ResponseType.REQUEST_TOO_LARGE, status: '413', code: 'payload_too_large' },
  // The catch-alls keep each underlying response's own status (415, 504, ...): no statusCode.
  { type: ResponseType.DEFAULT_4XX, code: 'validation_failed' },
  { type: ResponseType.DEFAULT_5XX, code: 'unavailable' },
];

/** The body template of a gateway response; `$context.error.messageString` is already JSON-quoted. */
export function gatewayErrorTemplate(code: string): string {
  return `{"error":{"code":"${code}","message":$context.error.messageString,"details":{}}}`;
}

export class ServalApi extends Construct {
  readonly api: RestApi;
  readonly authorizer: RequestAuthorizer;
  readonly usagePlan: UsagePlan;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: ServalApiProps) {
    super(scope, id);
    const throttle = props.throttle ?? DEFAULT_THROTTLE;
    const quota = props.quota ?? DEFAULT_QUOTA;

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.api = new RestApi(this, 'Api', {
      description: 'Serval HTTP API (routes from functions/contract/routes.ts)',
      endpointTypes: [EndpointType.REGIONAL],
      // Usage plans meter the API key the authorizer names (`usageIdentifierKey`), never one
      // sent by the caller: Serval's own key or token is the credential.
      apiKeySourceType: ApiKeySourceType.AUTHORIZER,
      // Access and execution logging both need API Gateway's account-level CloudWatch role.
      cloudWatchRole: true,
      // That role is one per account and region, shared with every other API there: removing
      // it with this stack would break their logging.
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: props.stageName,
        tracingEnabled: true,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            requestTime: '$context.requestTimeEpoch',
            method: '$context.httpMethod',
            resource: '$context.resourcePath',
            path: '$context.path',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integration.latency',
            principal: '$context.authorizer.principalId',
            keyId: '$context.authorizer.keyId',
            role: '$context.authorizer.role',
            authorizerError: '$context.authorizer.error',
            error: '$context.error.message',
            xrayTraceId: '$context.xrayTraceId',
          }),
        ),
        // ERROR, not INFO, and never data tracing: execution logs would otherwise contain
        // request headers, i.e. API keys and bearer tokens.
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        // A cap on the stage as a whole, on top of the usage plan's per-key limits below.
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
      },
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        "API Gateway's account-level logging role is shared by every REST API in the account and " +
        'region and writes to log groups the service names itself; AWS maintains this policy for it.',
    });

    // The authorizer accepts `x-api-key: <serval key>` OR `authorization: Bearer <jwt>`. With an
    // identity source API Gateway rejects (401) any request missing that one header before the
    // authorizer runs, so a caller using the other credential could never get in. With caching
    // off, identity sources are optional; CDK still writes an empty IdentitySource string, so the
    // property is removed outright. The authorizer runs on every request, so it caches checked
    // credentials itself (functions/core/auth/credential-cache.ts, stack prop
    // authorizerCacheTtlSeconds) and a request costs a key-store read only once per TTL.
    this.authorizer = new RequestAuthorizer(this, 'Authorizer', {
      handler: props.invokeTargets?.authorizer ?? props.functions.authorizer,
      identitySources: [],
      resultsCacheTtl: Duration.seconds(0),
    });
    (this.authorizer.node.defaultChild as CfnAuthorizer).addPropertyDeletionOverride('IdentitySource');

    // Body shapes are checked by zod in the handlers (one schema for AWS and local); the
    // validator enforces the declared request parameters at the edge, where it costs nothing.
    const validator: RequestValidator = this.api.addRequestValidator('Validator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    // One integration per function, with a single API-scoped invoke permission each instead of
    // two per method: 22 routes would otherwise put 44 statements in three resource policies.
    const integrations = new Map<FunctionId, LambdaIntegration>();
    const integrationFor = (fn: FunctionId): LambdaIntegration => {
      let integration = integrations.get(fn);
      if (!integration) {
        integration = new LambdaIntegration(props.invokeTargets?.[fn] ?? props.functions[fn], {
          scopePermissionToMethod: false,
        });
        integrations.set(fn, integration);
      }
      return integration;
    };

    for (const route of ROUTES) {
      const resource: IResource = this.api.root.resourceForPath(route.path);
      const requestParameters = Object.fromEntries(
        pathParameters(route.path).map((name) => [`method.request.path.${name}`, true]),
      );
      const method = resource.addMethod(route.method, integrationFor(route.fn), {
        operationName: route.operationId,
        requestValidator: validator,
        requestParameters,
        // Authorized methods are metered per key by the usage plan; public ones by the stage only.
        ...(route.role === 'none'
          ? { authorizationType: AuthorizationType.NONE }
          : {
              authorizationType: AuthorizationType.CUSTOM,
              authorizer: this.authorizer,
              apiKeyRequired: true,
            }),
      });
      if (route.role === 'none') {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${route.method} ${route.path} is public by contract (API.md, role 'none' in routes.ts): ${route.summary}.`,
        });
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-COG4',
          reason: `${route.method} ${route.path} is public by contract (API.md, role 'none' in routes.ts).`,
        });
      } else {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-COG4',
          reason:
            'Serval authenticates with its own API keys and JWTs (functions/core/auth), checked by the Lambda REQUEST authorizer; there is no Cognito user pool.',
        });
      }
    }

    for (const error of GATEWAY_ERRORS) {
      this.api.addGatewayResponse(`Error${error.type.responseType}`, {
        type: error.type,
        statusCode: error.status,
        responseHeaders: error.retryAfter ? { 'Retry-After': "'1'" } : undefined,
        templates: { 'application/json': gatewayErrorTemplate(error.code) },
      });
    }

    // Per-key limits: each Serval key gets an API Gateway API key in this plan (created by the
    // auth function, functions/adapters/usage-plans.ts), which the authorizer names as the
    // request's `usageIdentifierKey`.
    this.usagePlan = this.api.addUsagePlan('UsagePlan', {
      description: 'Per-key throttle and quota for Serval API keys',
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      quota: { limit: quota.limit, period: quota.period },
    });
    this.attachUsagePlanToStage(props.logRetention);

    if (props.webAclArn) {
      new CfnWebACLAssociation(this, 'WebAcl', {
        resourceArn: this.api.deploymentStage.stageArn,
        webAclArn: props.webAclArn,
      });
    } else {
      Validations.of(this.api).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'A WAF web ACL is opt-in (stack prop webAclArn): every method but health and the OpenAPI ' +
          'document needs a credential checked by the authorizer, and the stage is throttled; a ' +
          'web ACL adds a fixed monthly cost that small deployments should not pay by default.',
      });
    }
  }

  /**
   * Gives a function the usage plan id (env SERVAL_USAGE_PLAN_ID): the authorizer needs only to
   * know that usage plans are on ('identify'); key administration also creates, enrolls and
   * deletes API keys ('enroll'), with exactly the grants of usagePlanEnrollmentGrants.
   */
  bindUsagePlan(fn: ServalFunction, mode: 'identify' | 'enroll'): void {
    fn.addEnvironment(limits.USAGE_PLAN_ENV, this.usagePlan.usagePlanId);
    if (mode !== 'enroll') return;
    for (const { action, path, condition } of usagePlanEnrollmentGrants(this.usagePlan.usagePlanId)) {
      fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: [action],
          resources: [apigatewayArn(this, path)],
          conditions: condition,
        }),
      );
    }
    // cdk-nag names the resource as rendered: tokens in an environment-agnostic stack, literal
    // values when the CLI supplies a region (it defaults to us-east-1 without any configuration).
    const stack = Stack.of(this);
    const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    Validations.of(fn.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${partition}:apigateway:${region}::/apikeys/*]`,
      reason:
        'Revoking a Serval key deletes its API Gateway usage identifier, whose id API Gateway assigns ' +
        'when the key is created at runtime; the statement allows apigateway:DELETE only, on API keys ' +
        'only, and only on those tagged with this usage plan.',
    });
  }

  /**
   * Adds the deployed stage to the usage plan after both exist. Declaring the stage in the plan
   * itself (UsagePlan apiStages) makes the plan depend on the stage, hence on the deployment,
   * the methods and their functions; and the functions need the plan's id in their environment,
   * which would close a dependency cycle CloudFormation refuses.
   */
  private attachUsagePlanToStage(logRetention: RetentionDays | undefined): void {
    const stage = this.api.deploymentStage;
    // Own role and log group for CDK's provider function, as for Serval's functions: the default
    // role carries the managed AWSLambdaBasicExecutionRole (logs:* on every log group).
    const logGroup = new LogGroup(this, 'UsagePlanStageLogs', {
      retention: logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(this, 'UsagePlanStageRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Serval: adds the API stage to its usage plan (deployment-time custom resource)',
    });
    logGroup.grantWrite(role);
    const planId = this.usagePlan.usagePlanId;
    const apiStage = `${this.api.restApiId}:${stage.stageName}`;
    const patch = (op: 'add' | 'remove') => ({
      service: 'APIGateway',
      action: 'UpdateUsagePlan',
      parameters: { usagePlanId: planId, patchOperations: [{ op, path: '/apiStages', value: apiStage }] },
      physicalResourceId: PhysicalResourceId.of(`${planId}/${apiStage}`),
    });
    const attach = new AwsCustomResource(this, 'UsagePlanStage', {
      onCreate: patch('add'),
      // Runs after every change to the plan (see usagePlanFingerprint): CloudFormation resets a
      // plan's stages to the template's, i.e. none, whenever it updates the plan
      // (aws/aws-cdk#32544). Should the stage have survived, API Gateway may refuse to add it
      // again; that refusal means it is in the plan, which is all this is for.
      onUpdate: { ...patch('add'), ignoreErrorCodesMatching: 'ConflictException|BadRequestException' },
      // The stage or plan may already be gone when the stack is being deleted.
      onDelete: { ...patch('remove'), ignoreErrorCodesMatching: 'NotFoundException' },
      policy: AwsCustomResourcePolicy.fromStatements([
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['apigateway:PATCH'],
          resources: [apigatewayArn(this, `/usageplans/${planId}`)],
        }),
      ]),
      installLatestAwsSdk: false,
      role,
      logGroup,
    });
    attach.node.addDependency(stage);
    (attach.node.findChild('Resource').node.defaultChild as CfnResource).addPropertyOverride(
      'UsagePlanFingerprint',
      this.usagePlanFingerprint(),
    );
  }

  /** A hash of the plan's template properties: any change to the plan changes it. */
  private usagePlanFingerprint(): string {
    const plan = this.usagePlan.node.defaultChild as CfnUsagePlan;
    const stack = Stack.of(this);
    // Lazy: tags are applied to the plan after this construct is built.
    return Lazy.string({
      produce: () => {
        const properties = stack.resolve({
          name: plan.usagePlanName,
          description: plan.description,
          throttle: plan.throttle,
          quota: plan.quota,
          apiStages: plan.apiStages,
          tags: plan.tags.renderTags(),
        });
        return createHash('sha256').update(JSON.stringify(properties)).digest('hex').slice(0, 32);
      },
    });
  }
}

/** `arn:<partition>:apigateway:<region>::<path>`: API Gateway control-plane resources. */
function apigatewayArn(scope: Construct, path: string): string {
  const stack = Stack.of(scope);
  return `arn:${stack.partition}:apigateway:${stack.region}::${path}`;
}

/** `{name}` segments of an API Gateway resource template. */
export function pathParameters(path: string): string[] {
  return [...path.matchAll(/\{([^}/+]+)\+?\}/g)].map((m) => m[1]!);
}
