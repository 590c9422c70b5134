/**
 * The import rules of functions/: the core is the pure domain (no AWS, Lambda, middleware,
 * Powertools, native runtime or outer layer), its modules form one order in which imports only
 * point down, the kernel depends on no other core module, the contract depends on nothing
 * outside itself, and nothing in functions/ reaches into the CDK app (lib/) or the local
 * runtime (local/).
 *
 * The order of the core modules, lowest first. kernel: types and ports everyone shares; stats,
 * onnx, net: self-contained engines on the kernel; training builds ONNX models; auth: principals
 * and keys; registry: models and versions, guarded by roles; experiments: the statistics and
 * assignment that split traffic between versions; inference serves registry versions;
 * monitoring watches what inference captured; retraining trains and registers new versions
 * (training, registry); online updates a production linear model from feedback and registers
 * its snapshots (monitoring's policy, registry); webhooks tell the outside world about all of it;
 * system (operating modes) sits on top.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const CORE_ORDER = [
  'kernel',
  'stats',
  'onnx',
  'net',
  'training',
  'auth',
  'registry',
  'experiments',
  'inference',
  'monitoring',
  'retraining',
  'online',
  'webhooks',
  'system',
] as const;

/**
 * The contract modules the core may read: the role ladder, the platform's limits and the queue
 * message schemas are domain facts (a webhook event's shape is part of the product). Resources
 * and routes are deployment wiring the core must not know.
 */
const CONTRACT_FOR_CORE = [
  // The artifacts bucket's key layout: users upload datasets under it and read captures by it.
  'functions/contract/artifact-keys.ts',
  'functions/contract/roles.ts',
  'functions/contract/limits.ts',
  'functions/contract/messages.ts',
];

/**
 * Packages the contract may use: schemas are declared with zod, the validation library of the
 * edges, classic or its zod/mini entry (what the inference function builds at init).
 */
const CONTRACT_PACKAGES = ['zod', 'zod/mini'];

/** Packages the core must never import. */
const CORE_FORBIDDEN_PACKAGES = [
  /^@aws-sdk\//,
  /^@smithy\//,
  /^aws-lambda$/,
  /^@types\/aws-lambda$/,
  /^@middy\//,
  /^@aws-lambda-powertools\//,
  /^onnxruntime-node$/,
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every module specifier: static imports/exports, dynamic import() and require(). */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const p of patterns) for (const m of source.matchAll(p)) found.push(m[1]!);
  return found;
}

/** The repository path a relative specifier names (with .ts for .js), or undefined for a package. */
function target(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return normalize(join(dirname(file), spec))
    .split('\\')
    .join('/')
    .replace(/\.js$/, '.ts');
}

/** The core module a path belongs to (functions/core/<module>/…), if any. */
function coreModule(path: string): string | undefined {
  const m = /^functions\/core\/([^/]+)\//.exec(path);
  return m?.[1];
}

/** Why `file` may not import `spec`, or undefined when it may. */
function violation(file: string, spec: string): string | undefined {
  const to = target(file, spec);
  if (to !== undefined && /^(lib|local)\//.test(to)) return 'functions/ imports lib/ or local/';
  if (file.startsWith('functions/contract/')) {
    if (to === undefined) {
      return CONTRACT_PACKAGES.includes(spec) ? undefined : 'the contract imports outside itself';
    }
    if (!to.startsWith('functions/contract/')) return 'the contract imports outside itself';
    return undefined;
  }
  const from = coreModule(file);
  if (from === undefined) return undefined;
  if (to === undefined) {
    return CORE_FORBIDDEN_PACKAGES.some((re) => re.test(spec))
      ? 'the core imports an AWS/runtime package'
      : undefined;
  }
  if (to.startsWith('functions/contract/')) {
    return CONTRACT_FOR_CORE.includes(to) ? undefined : 'the core imports contract wiring';
  }
  const into = coreModule(to);
  if (into === undefined) return 'the core imports outside functions/core';
  if (into === from) return undefined;
  if (from === 'kernel') return 'the kernel imports another core module';
  const a = CORE_ORDER.indexOf(from as (typeof CORE_ORDER)[number]);
  const b = CORE_ORDER.indexOf(into as (typeof CORE_ORDER)[number]);
  if (a < 0 || b < 0) return `core module ${a < 0 ? from : into} is missing from CORE_ORDER`;
  return b > a ? `core/${from} imports core/${into}, which is later in the order` : undefined;
}

describe('architecture', () => {
  it('finds imports in every form (so the checks below can fail)', () => {
    const sample = `import { a } from '@aws-sdk/client-s3';\nexport * from "../adapters/x.js";\nconst m = await import('aws-lambda');\nimport 'onnxruntime-node';`;
    const bad = specifiers(sample).filter((s) => violation('functions/core/registry/models.ts', s));
    expect(bad).toEqual(['@aws-sdk/client-s3', '../adapters/x.js', 'onnxruntime-node', 'aws-lambda']);
  });

  it('names each kind of violation', () => {
    const core = 'functions/core/registry/models.ts';
    expect(violation(core, '@aws-sdk/client-s3')).toMatch(/AWS/);
    expect(violation(core, '@aws-lambda-powertools/logger')).toMatch(/AWS/);
    expect(violation(core, '@middy/core')).toMatch(/AWS/);
    for (const outer of ['adapters/s3.js', 'handlers/shared.js', 'http/errors.js']) {
      expect(violation(core, `../../${outer}`)).toMatch(/outside functions\/core/);
    }
    expect(violation(core, '../../../lib/stack.js')).toMatch(/lib\/ or local/);
    expect(violation(core, '../../../local/runtime.js')).toMatch(/lib\/ or local/);
    expect(violation(core, '../../contract/routes.js')).toMatch(/contract wiring/);
    expect(violation(core, '../../contract/roles.js')).toBeUndefined();
    expect(violation('functions/core/kernel/audit.ts', '../auth/principal.js')).toMatch(/kernel/);
    expect(violation('functions/core/auth/api-keys.ts', '../registry/types.js')).toMatch(
      /later in the order/,
    );
    expect(violation('functions/core/registry/lifecycle.ts', '../auth/roles.js')).toBeUndefined();
    expect(violation('functions/core/registry/lifecycle.ts', './records.js')).toBeUndefined();
    expect(violation('functions/core/registry/models.ts', 'zod')).toBeUndefined();
    expect(violation('functions/contract/routes.ts', '../core/auth/roles.js')).toMatch(/contract/);
    expect(violation('functions/contract/messages.ts', 'zod')).toBeUndefined();
    expect(violation('functions/contract/prediction-context.ts', 'zod/mini')).toBeUndefined();
    expect(violation('functions/contract/routes.ts', 'aws-cdk-lib')).toMatch(/contract/);
    expect(violation(core, '../../contract/messages.js')).toBeUndefined();
    expect(violation('functions/contract/routes.ts', './roles.js')).toBeUndefined();
    expect(violation('functions/handlers/shared.ts', '../../local/runtime.js')).toMatch(/lib\/ or local/);
    expect(violation('functions/handlers/shared.ts', '@aws-sdk/client-s3')).toBeUndefined();
  });

  it('orders every core module', () => {
    const modules = readdirSync('functions/core').filter((e) =>
      statSync(join('functions/core', e)).isDirectory(),
    );
    expect([...modules].sort()).toEqual([...CORE_ORDER].sort());
  });

  it('builds the answer schemas only for the OpenAPI document: every other file imports them as types', () => {
    // A type-only statement is erased from the bundle; any other (`import { type X }` included,
    // which verbatimModuleSyntax keeps as a bare import) would build them in a function's init.
    const statement = /^\s*(import|export)\s+([^;]*?)\s*from\s*['"]([^'"]+)['"]/gm;
    const runtimeImports = (file: string, source: string) =>
      [...source.matchAll(statement)]
        .filter((m) => !/^type\s/.test(m[2]!))
        .map((m) => target(file, m[3]!))
        .filter((to) => to?.startsWith('functions/http/answers/'));
    expect(
      runtimeImports('functions/http/x.ts', "import { type A } from './answers/index.js';"),
    ).toHaveLength(1);
    expect(
      runtimeImports('functions/http/x.ts', "import type { A } from './answers/index.js';"),
    ).toHaveLength(0);
    const offenders = files('functions')
      .map((f) => f.split('\\').join('/'))
      .filter((f) => !f.startsWith('functions/http/answers/') && f !== 'functions/http/openapi.ts')
      .filter((f) => runtimeImports(f, readFileSync(f, 'utf8')).length > 0);
    expect(offenders).toEqual([]);
  });

  it('holds for every file under functions/', () => {
    const all = files('functions');
    expect(all.length).toBeGreaterThan(50);
    const violations = all.flatMap((f) => {
      const file = f.split('\\').join('/');
      return specifiers(readFileSync(f, 'utf8')).flatMap((s) => {
        const why = violation(file, s);
        return why ? [`${file} imports ${s}: ${why}`] : [];
      });
    });
    expect(violations).toEqual([]);
  });
});
