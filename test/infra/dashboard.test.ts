/**
 * The dashboard's CloudFront distribution: the app from a private bucket through origin access
 * control, `/v1/*` to the REST API uncached with every viewer header, the page's CSP, and the
 * edge rewrite that serves index.html for app routes but never touches files or the API.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPA_REWRITE } from '../../lib/constructs/dashboard.js';
import { ServalStack } from '../../lib/serval-stack.js';
import { DASHBOARD_CSP } from '../../web/build.js';
import { type TestApp, testApp } from './support.js';

// AWS managed policies (the same ids in every account).
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
const ALL_VIEWER_EXCEPT_HOST = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

let t: TestApp;
let template: Template;
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, read field by field
type Cfn = Record<string, any>;
let config: Cfn;

beforeAll(() => {
  t = testApp({ bundle: false });
  const stack = new ServalStack(t.app, 'ServalDashboard', { stage: 'prod' });
  template = Template.fromStack(stack);
  const dists = template.findResources('AWS::CloudFront::Distribution');
  expect(Object.keys(dists)).toHaveLength(1);
  config = Object.values(dists)[0]!.Properties.DistributionConfig;
});

afterAll(() => t?.cleanup());

describe('the dashboard distribution', () => {
  it('routes /v1/* to the REST API stage, uncached, with every method and viewer header', () => {
    const behaviors = config.CacheBehaviors as Cfn[];
    expect(behaviors.map((b) => b.PathPattern)).toEqual(['/v1/*']);
    const api = behaviors[0]!;
    expect(api.CachePolicyId).toBe(CACHING_DISABLED);
    expect(api.OriginRequestPolicyId).toBe(ALL_VIEWER_EXCEPT_HOST);
    expect(api.AllowedMethods).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']));
    expect(api.ViewerProtocolPolicy).toBe('https-only');
    expect(api.FunctionAssociations).toBeUndefined();
    const origin = (config.Origins as Cfn[]).find((o) => o.Id === api.TargetOriginId)!;
    // The origin path is the API's deployment stage (/prod), taken from the API's URL.
    const stageId = Object.keys(
      template.findResources('AWS::ApiGateway::Stage', { Properties: { StageName: 'prod' } }),
    )[0]!;
    expect(origin.OriginPath['Fn::Join'][1][0]).toBe('/');
    expect(JSON.stringify(origin.OriginPath)).toContain(`{"Ref":"${stageId}"}`);
    expect(JSON.stringify(origin.DomainName)).toContain('execute-api');
    expect(origin.CustomOriginConfig.OriginProtocolPolicy).toBe('https-only');
  });

  it('serves everything else from the private bucket through origin access control, with the CSP', () => {
    const def = config.DefaultCacheBehavior;
    expect(def.CachePolicyId).toBe(CACHING_OPTIMIZED);
    expect(def.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(def.Compress).toBe(true);
    const origin = (config.Origins as Cfn[]).find((o) => o.Id === def.TargetOriginId)!;
    expect(origin.OriginAccessControlId).toBeDefined();
    expect(origin.S3OriginConfig.OriginAccessIdentity).toBe('');
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.Logging).toBeDefined();
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
      }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 's3:GetObject',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
          }),
        ]),
      }),
    });
    template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({
        SecurityHeadersConfig: Match.objectLike({
          ContentSecurityPolicy: { ContentSecurityPolicy: DASHBOARD_CSP, Override: true },
        }),
      }),
    });
  });

  it('deploys the build: hashed assets immutable, index.html revalidated and invalidated', () => {
    const deployments = Object.values(template.findResources('Custom::CDKBucketDeployment'));
    expect(deployments).toHaveLength(2);
    const cache = deployments.map((d) => d.Properties.SystemMetadata?.['cache-control']).sort();
    expect(cache).toEqual(['no-cache', 'public, max-age=31536000, immutable']);
    expect(deployments.filter((d) => d.Properties.DistributionPaths)).toHaveLength(1);
  });

  it('rewrites app routes to index.html at the edge and leaves files alone', () => {
    const handler = new Function(`${SPA_REWRITE}; return handler;`)() as (e: unknown) => { uri: string };
    const at = (uri: string) => handler({ request: { uri } }).uri;
    expect(at('/')).toBe('/index.html');
    expect(at('/models/iris-demo')).toBe('/index.html');
    expect(at('/experiments/01J0')).toBe('/index.html');
    expect(at('/assets/main-ABC123.js')).toBe('/assets/main-ABC123.js');
    expect(at('/index.html')).toBe('/index.html');
    template.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionCode: SPA_REWRITE,
      FunctionConfig: Match.objectLike({ Runtime: 'cloudfront-js-2.0' }),
    });
  });
});
