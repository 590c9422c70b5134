/**
 * cdk-nag's AwsSolutions pack over the Serval stack, registered exactly as bin/serval-app.ts does.
 * Zero unacknowledged errors and warnings, and no acknowledgment that no longer matches a finding
 * (a stale one would silently excuse a future regression).
 *
 * cdk-nag 3 is a CDK validation plugin rather than an Aspect, and acknowledgments are
 * `Validations.of(construct).acknowledge({ id, reason })` (v2's NagSuppressions is gone), so the
 * findings are read from the pack's report instead of from stack annotations.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicyValidationPluginReport } from 'aws-cdk-lib';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServalStack } from '../../lib/serval-stack.js';
import { type TestApp, testApp } from './support.js';

interface Ack {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

let t: TestApp;
let stack: ServalStack;
let report: PolicyValidationPluginReport;
let raw: PolicyValidationPluginReport;
let synthReport: { pluginReports: Array<{ pluginName: string; violations: unknown[] }> };

function acknowledgments(root: IConstruct): Ack[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

function describeViolations(r: PolicyValidationPluginReport): string {
  return r.violations
    .map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((x) => x.constructPath).join(', ')}`)
    .join('\n');
}

beforeAll(() => {
  // As `cdk synth` runs it (schema validation included), except bundling, which changes nothing
  // either check looks at.
  t = testApp({ bundle: false, validate: true });
  stack = new ServalStack(t.app, 'ServalNag', { stage: 'prod' });
  Validations.of(t.app).addPlugins(new AwsSolutionsChecks(t.app));
  // Synthesis runs both plugins and throws on any unacknowledged nag error or template error.
  synthReport = JSON.parse(readFileSync(join(t.app.synth().directory, 'validation-report.json'), 'utf8'));
  report = new AwsSolutionsChecks().validateScope(stack);
  // The same pack with acknowledgments ignored: what every acknowledgment is answering.
  const blind = new AwsSolutionsChecks();
  (blind as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  raw = blind.validateScope(stack);
});

afterAll(() => t?.cleanup());

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged error', () => {
    const errors = report.violations.filter((v) => v.severity === 'error');
    expect(errors, describeViolations(report)).toEqual([]);
  });

  it('reports no unacknowledged warning', () => {
    const warnings = report.violations.filter((v) => v.severity !== 'error');
    expect(warnings, describeViolations(report)).toEqual([]);
  });

  it('synthesis itself reported nothing: no CloudFormation schema finding, no nag finding', () => {
    expect(synthReport.pluginReports).toEqual([]);
  });

  it('the pack did run: without acknowledgments it has findings', () => {
    expect(raw.violations.length).toBeGreaterThan(0);
  });

  it('every acknowledgment answers a finding on that construct or below it', () => {
    const acks = acknowledgments(stack);
    expect(acks.length).toBeGreaterThan(0);
    const stale = acks.filter(
      (ack) =>
        !raw.violations.some(
          (v) =>
            v.ruleName === ack.id &&
            v.violatingResources.some(
              (r) => r.constructPath === ack.path || r.constructPath?.startsWith(`${ack.path}/`),
            ),
        ),
    );
    expect(stale).toEqual([]);
  });

  it('every acknowledgment gives a real reason', () => {
    for (const ack of acknowledgments(stack)) {
      expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThanOrEqual(40);
    }
  });
});

/**
 * Props that add resources or render ARNs differently: each stack must still be clean or
 * acknowledged. A concrete environment: `cdk synth` without any AWS configuration passes region
 * us-east-1, so ARNs render with literal values instead of tokens, and acknowledgments must still
 * match them. Provisioned concurrency: the live aliases and their invoke permissions. A training
 * role: the retrain worker's SageMaker grants (training-job/serval-* and PassRole on that role).
 */
describe.each([
  ['a concrete environment', { env: { account: '123456789012', region: 'us-east-1' } }],
  ['provisioned concurrency', { provisionedConcurrency: { inference: 2, authorizer: 2 } }],
  [
    'SageMaker training enabled',
    {
      env: { account: '123456789012', region: 'us-east-1' },
      trainingRoleArn: 'arn:aws:iam::123456789012:role/serval-training',
    },
  ],
] as const)('cdk-nag AwsSolutions with %s', (_, props) => {
  it('reports no unacknowledged finding', () => {
    const app = testApp({ bundle: false });
    try {
      const stack = new ServalStack(app.app, 'ServalNagVariant', { stage: 'prod', ...props });
      const r = new AwsSolutionsChecks().validateScope(stack);
      expect(r.violations, describeViolations(r)).toEqual([]);
    } finally {
      app.cleanup();
    }
  });
});
