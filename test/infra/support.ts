/**
 * Shared by the infrastructure tests: an App configured like `cdk synth` (cdk.json's context and
 * feature flags), and helpers to follow references through a synthesized template.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { PROJECT_ROOT } from '../../lib/constructs/serval-function.js';

export interface TestApp {
  readonly app: App;
  readonly outdir: string;
  cleanup(): void;
}

/**
 * `bundle: false` skips esbuild (CDK's `aws:cdk:bundling-stacks` context) for tests that only
 * read the template. `validate` runs CDK's built-in CloudFormation schema validation (what
 * CDK_VALIDATION=false switches off): it costs about 9 s of CPU per synth in aws-cdk-lib 2.276,
 * so only the test that mirrors `cdk synth` pays for it.
 */
export function testApp(opts: { bundle: boolean; validate?: boolean }): TestApp {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const outdir = mkdtempSync(join(tmpdir(), 'serval-cdk-'));
  const app = new App({
    outdir,
    context: { ...cdkJson.context, ...(opts.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
    builtinCloudFormationValidation: opts.validate ?? false,
  });
  return { app, outdir, cleanup: () => rmSync(outdir, { recursive: true, force: true }) };
}

/** Logical id of an L2 construct's CloudFormation resource. */
export function logicalId(construct: IConstruct): string {
  const child = construct.node.defaultChild;
  if (!child) throw new Error(`${construct.node.path} has no default child`);
  return Stack.of(construct).getLogicalId(child as CfnElement);
}

/** True when `value` contains a Ref or Fn::GetAtt to `id` anywhere inside it. */
export function refersTo(value: unknown, id: string): boolean {
  if (Array.isArray(value)) return value.some((v) => refersTo(v, id));
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o.Ref === id) return true;
    const getAtt = o['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt[0] === id) return true;
    return Object.values(o).some((v) => refersTo(v, id));
  }
  return false;
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** Every statement of every IAM policy attached to the role. */
export function statementsOfRole(resources: Resources, roleId: string): Statement[] {
  const out: Statement[] = [];
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const roles = (r.Properties?.Roles ?? []) as unknown[];
    if (!roles.some((role) => refersTo(role, roleId))) continue;
    const doc = r.Properties?.PolicyDocument as { Statement: Statement[] };
    out.push(...doc.Statement);
  }
  return out;
}

export function actionsOf(s: Statement): string[] {
  return Array.isArray(s.Action) ? s.Action : [s.Action];
}

export function resourcesOf(s: Statement): unknown[] {
  return Array.isArray(s.Resource) ? s.Resource : [s.Resource];
}

/** Actions the statements allow on a resource entry that refers to `id` (the table, its indexes, ...). */
export function actionsOn(statements: Statement[], id: string): Set<string> {
  const out = new Set<string>();
  for (const s of statements) {
    if (s.Effect !== 'Allow') continue;
    if (resourcesOf(s).some((r) => refersTo(r, id))) for (const a of actionsOf(s)) out.add(a);
  }
  return out;
}

/**
 * A template value as text: strings as they are, `Fn::Join` joined, `Ref` as `<Name>` and
 * `Fn::GetAtt` as `<Id.Attr>` (e.g. `arn:<AWS::Partition>:sagemaker:<AWS::Region>:…`).
 */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const o = (value ?? {}) as Record<string, unknown>;
  const join = o['Fn::Join'] as [string, unknown[]] | undefined;
  if (join) return join[1].map(render).join(join[0]);
  if (typeof o.Ref === 'string') return `<${o.Ref}>`;
  const getAtt = o['Fn::GetAtt'] as [string, string] | undefined;
  if (getAtt) return `<${getAtt.join('.')}>`;
  return JSON.stringify(value);
}
