/**
 * functions/core is the pure domain: it must not reach AWS, Lambda, middy, Powertools or the
 * adapters, so its rules run anywhere and are testable without a network.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CORE = 'functions/core';
const FORBIDDEN = [
  /^@aws-sdk\//,
  /^@smithy\//,
  /^aws-lambda$/,
  /^@types\/aws-lambda$/,
  /^@middy\//,
  /^@aws-lambda-powertools\//,
  /^onnxruntime-node$/,
  /(^|\/)adapters(\/|$)/,
  /(^|\/)handlers(\/|$)/,
  /(^|\/)http(\/|$)/,
  /(^|\/)local(\/|$)/,
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

describe('functions/core boundary', () => {
  it('finds imports in every form (so the check below can fail)', () => {
    const sample = `import { a } from '@aws-sdk/client-s3';\nexport * from "../adapters/x.js";\nconst m = await import('aws-lambda');\nimport 'onnxruntime-node';`;
    const bad = specifiers(sample).filter((s) => FORBIDDEN.some((f) => f.test(s)));
    expect(bad).toEqual(['@aws-sdk/client-s3', '../adapters/x.js', 'onnxruntime-node', 'aws-lambda']);
  });

  it('imports no AWS SDK, Lambda types, middleware, runtime or adapter', () => {
    const all = files(CORE);
    expect(all.length).toBeGreaterThan(5);
    const violations = all.flatMap((f) =>
      specifiers(readFileSync(f, 'utf8'))
        .filter((s) => FORBIDDEN.some((re) => re.test(s)))
        .map((s) => `${f} imports ${s}`),
    );
    expect(violations).toEqual([]);
  });
});
