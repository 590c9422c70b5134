/**
 * The dashboard on AWS: the built single-page app in a private S3 bucket read by CloudFront
 * through origin access control, and `/v1/*` on the same distribution routed to the REST API, so
 * the browser talks to one origin (no CORS) and the page's CSP can say connect-src 'self'.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CfnElement, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  AllowedMethods,
  CachePolicy,
  Function as CfFunction,
  Distribution,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginRequestPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { RestApiOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { buildDashboardSync, DASHBOARD_CSP, writeDashboard } from '../../web/build.js';

export interface DashboardProps {
  readonly api: RestApi;
  /** Where the bucket's server access logs go (the stack's access-log bucket). */
  readonly accessLogs: Bucket;
  /** A directory with a built dashboard; default: built now with esbuild. */
  readonly assetDir?: string;
}

/**
 * Any path that does not name a file (no dot in its last segment) is the app's own route and
 * gets index.html; done at the edge rather than with custom error responses, which would also
 * rewrite the API's 403s and 404s.
 */
export const SPA_REWRITE = `function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (last.indexOf('.') === -1) request.uri = '/index.html';
  return request;
}`;

export class Dashboard extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Site', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'dashboard/',
      // Retained like every bucket of the stack (only build output lives here, but a deleted
      // stack must not take a bucket with it that an operator may have pointed other things at).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudFront's standard logs are delivered with ACLs, which the stack's access-log bucket
    // (bucket-owner-enforced) refuses: they get a bucket of their own.
    const cdnLogs = new Bucket(this, 'CdnLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'dashboard-cdn-logs/',
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const headers = new ResponseHeadersPolicy(this, 'Headers', {
      comment: 'Serval dashboard: CSP and security headers (as the local runtime sends them)',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: DASHBOARD_CSP, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
      },
    });
    const rewrite = new CfFunction(this, 'SpaRewrite', {
      code: FunctionCode.fromInline(SPA_REWRITE),
      runtime: FunctionRuntime.JS_2_0,
      comment: 'Serval dashboard: app routes get index.html',
    });

    this.distribution = new Distribution(this, 'Cdn', {
      comment: 'Serval dashboard and API',
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: cdnLogs,
      logFilePrefix: 'cdn/',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
        functionAssociations: [{ function: rewrite, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: {
        // The API is never cached, and gets every viewer header (Authorization, x-api-key,
        // idempotency-key), query string and method; Host is API Gateway's own.
        '/v1/*': {
          origin: new RestApiOrigin(props.api),
          viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: AllowedMethods.ALLOW_ALL,
          cachePolicy: CachePolicy.CACHING_DISABLED,
          originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          compress: true,
        },
      },
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'The dashboard and API serve their own users wherever they are; access is controlled by API keys and roles, not by country.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'The API behind /v1 has its own WAF web ACL when one is configured (serval:webAclArn); a second ACL on CloudFront needs us-east-1 and is left to the operator.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'Without a custom domain CloudFront serves its default *.cloudfront.net certificate, whose security policy cannot be set; set minimumProtocolVersion TLSv1.2_2021 together with a domain and ACM certificate (docs/dashboard.md).',
      },
    );

    const assetDir =
      props.assetDir ??
      writeDashboard(buildDashboardSync(), join(mkdtempSync(join(tmpdir(), 'serval-web-')), 'dist'));
    // Hashed assets are cached for good; index.html is revalidated so a deploy shows at once.
    // Neither prunes: a tab still open on the previous index.html keeps finding its bundles.
    const assets = new BucketDeployment(this, 'DeployAssets', {
      sources: [Source.asset(assetDir, { exclude: ['index.html'] })],
      destinationBucket: this.bucket,
      cacheControl: [CacheControl.fromString('public, max-age=31536000, immutable')],
      prune: false,
      memoryLimit: 256,
    });
    const index = new BucketDeployment(this, 'DeployIndex', {
      sources: [Source.asset(assetDir, { exclude: ['assets', 'assets/*'] })],
      destinationBucket: this.bucket,
      cacheControl: [CacheControl.noCache()],
      prune: false,
      distribution: this.distribution,
      distributionPaths: ['/index.html'],
      memoryLimit: 256,
    });
    index.node.addDependency(assets);
    acknowledgeDeploymentHandler(this, this.bucket);
  }
}

/**
 * BucketDeployment runs one CDK-provided Lambda per stack (a singleton at the stack's root) whose
 * role, policy and runtime CDK fixes; nothing of it is configurable from here, so its findings
 * are acknowledged, each with what the permission is for.
 */
function acknowledgeDeploymentHandler(scope: Construct, bucket: Bucket): void {
  const stack = Stack.of(scope);
  const handler = stack.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
  if (!handler) throw new Error('BucketDeployment created no handler at the stack root');
  const lit = (v: string, token: string) => (Token.isUnresolved(v) ? token : v);
  const partition = lit(stack.partition, '<AWS::Partition>');
  const account = lit(stack.account, '<AWS::AccountId>');
  const region = lit(stack.region, '<AWS::Region>');
  const siteArn = `<${stack.getLogicalId(bucket.node.defaultChild as CfnElement)}.Arn>`;
  const copy =
    'the deployment handler copies the build from the CDK asset bucket into the dashboard bucket ' +
    '(CDK grants read on the asset and read/write on the destination with these wildcard actions)';
  const acks = [
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "CDK's BucketDeployment handler role writes its own CloudWatch logs with this AWS managed policy.",
    },
    ...['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*', 's3:DeleteObject*'].map((a) => ({
      id: `AwsSolutions-IAM5[Action::${a}]`,
      reason: copy,
    })),
    {
      id: `AwsSolutions-IAM5[Resource::arn:${partition}:s3:::cdk-hnb659fds-assets-${account}-${region}/*]`,
      reason: `${copy}; the asset object key is a hash known only at publish time`,
    },
    { id: `AwsSolutions-IAM5[Resource::${siteArn}/*]`, reason: `${copy}; it writes every file of the build` },
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudfront:CreateInvalidation and GetInvalidation (to invalidate index.html after a deploy) take no resource-level ARN in CDK’s handler policy.',
    },
  ];
  for (const ack of acks) Validations.of(handler).acknowledge(ack);
  Validations.of(handler).acknowledge({
    id: 'AwsSolutions-L1',
    reason: "The BucketDeployment handler's runtime is chosen by the CDK version in use, not by this stack.",
  });
}
