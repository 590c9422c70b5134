/**
 * The public HTTP API: an API Gateway REST API whose resources and methods are generated from
 * the route table (functions/http/routes.ts), so every route on AWS exists locally too and carries
 * the role declared for it.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  type CfnAuthorizer,
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
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { ROUTES } from '../../functions/http/routes.js';
import type { FunctionId } from '../definitions.js';
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

export const DEFAULT_THROTTLE: ThrottleProps = { rateLimit: 50, burstLimit: 100 };
export const DEFAULT_QUOTA: QuotaProps = { limit: 100_000, period: Period.DAY };

export interface ServalApiProps {
  /** The functions serving routes, and the `authorizer`. */
  readonly functions: Readonly<Record<FunctionId, ServalFunction>>;
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
  { type: ResponseType.THROTTLED, status: '429', code: 'rate_limited', retryAfter: true },
  { type: ResponseType.QUOTA_EXCEEDED, status: '429', code: 'rate_limited', retryAfter: true },
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
      description: 'Serval HTTP API (routes from functions/http/routes.ts)',
      endpointTypes: [EndpointType.REGIONAL],
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
        // Until usage plan keys exist (see the usage plan below) the plan meters nobody, so the
        // stage-wide default is what actually limits traffic.
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
    // property is removed outright. The price: the authorizer runs on every request.
    this.authorizer = new RequestAuthorizer(this, 'Authorizer', {
      handler: props.functions.authorizer,
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
        integration = new LambdaIntegration(props.functions[fn], { scopePermissionToMethod: false });
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
        ...(route.role === 'none'
          ? { authorizationType: AuthorizationType.NONE }
          : { authorizationType: AuthorizationType.CUSTOM, authorizer: this.authorizer }),
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

    // Per-key limits need API Gateway API keys attached to this plan, with the authorizer
    // returning the caller's key as `usageIdentifierKey` (apiKeySourceType AUTHORIZER), because
    // Serval's own keys are not API Gateway keys. That wiring is a later issue; until then the
    // plan is attached to the stage but meters no requests, and methods are not apiKeyRequired.
    this.usagePlan = this.api.addUsagePlan('UsagePlan', {
      description: 'Per-key throttle and quota for Serval API keys',
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      quota: { limit: quota.limit, period: quota.period },
    });
    this.usagePlan.addApiStage({ stage: this.api.deploymentStage });

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
}

/** `{name}` segments of an API Gateway resource template. */
export function pathParameters(path: string): string[] {
  return [...path.matchAll(/\{([^}/+]+)\+?\}/g)].map((m) => m[1]!);
}
