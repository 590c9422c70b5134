/**
 * The rewrite function-bundle.ts applies to the AWS SDK's schema modules as it bundles them: a
 * computed key naming one of the module's string constants becomes that string as a literal key,
 * and nothing else changes. (bundled-sdk.test.ts runs the rewritten SDK against the stand-ins.)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import {
  bundleFunction,
  functionBundleOptions,
  literalSchemaKeys,
  loadedAtInit,
  withoutJsonSchemaReexports,
} from '../../lib/constructs/function-bundle.js';

/** What the module exports, as JSON (a schema's lazy reference, `() => A$`, by what it returns). */
const evaluate = (source: string): string => {
  const cjs = buildSync({ stdin: { contents: source }, format: 'cjs', write: false }).outputFiles[0]!.text;
  const exports = new Function('module', `${cjs}; return module.exports;`)({ exports: {} });
  return JSON.stringify(exports, (_k, v) => (typeof v === 'function' ? v() : v));
};

describe('literalSchemaKeys', () => {
  const source = `const _e = "error";
const _hE = "httpError";
const _q = "say \\"hi\\"";
let _mutable = "m";
export var A$ = [-3, "n", "A", { [_e]: "client", [_hE]: 404 }, [], []];
export var B$ = [9, "n", "B", {
    [_q]: 1 }, () => A$];
export var C$ = { [_mutable]: 1, [unknown]: 2 };
export var D$ = cond ? [_e]: [_hE];
`;
  const out = literalSchemaKeys(source);

  it('turns a computed key that names a string constant into that literal', () => {
    expect(out).toContain('{ "error": "client", "httpError": 404 }');
    expect(out).toContain('{\n    "say \\"hi\\"": 1 }');
  });

  it('leaves other computed keys and anything that is not a key as written', () => {
    expect(out).toContain('{ [_mutable]: 1, [unknown]: 2 }');
    expect(out).toContain('cond ? [_e]: [_hE]');
    expect(
      out
        .replace(/\{ "error": "client", "httpError": 404 \}/, '{ [_e]: "client", [_hE]: 404 }')
        .replace('"say \\"hi\\"": 1', '[_q]: 1'),
    ).toBe(source);
  });

  it('means the same: the module exports equal values', () => {
    const prelude = 'var cond = true, unknown = "u";\n';
    expect(evaluate(prelude + out)).toBe(evaluate(prelude + source));
    expect(evaluate(prelude + out)).toContain('{"error":"client","httpError":404}');
  });

  it('lets esbuild drop a schema nothing uses, which it keeps when the key is computed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'serval-schema-keys-'));
    try {
      const schemas = `const _e = "error";
const _unused = "OnlyTheUnusedSchemaSaysThis";
export var Used$ = [-3, "n", "Used", { [_e]: "client" }];
export var Unused$ = [-3, "n", _unused, { [_e]: "server" }];
`;
      const kept = (module: string) => {
        writeFileSync(join(dir, 'schemas.js'), module);
        writeFileSync(join(dir, 'entry.js'), "import { Used$ } from './schemas.js'; console.log(Used$);");
        const built = buildSync({
          entryPoints: [join(dir, 'entry.js')],
          bundle: true,
          minify: true,
          write: false,
        });
        return built.outputFiles[0]!.text;
      };
      expect(kept(schemas)).toContain('OnlyTheUnusedSchemaSaysThis');
      expect(kept(literalSchemaKeys(schemas))).not.toContain('OnlyTheUnusedSchemaSaysThis');
      expect(kept(literalSchemaKeys(schemas))).toContain('Used');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('withoutJsonSchemaReexports', () => {
  const zod = (file: string) => readFileSync(join('node_modules/zod/v4', file), 'utf8');
  const dropped = (source: string) => {
    const kept = new Set(withoutJsonSchemaReexports(source).split('\n'));
    return source.split('\n').filter((line) => !kept.has(line));
  };

  it("drops the JSON Schema re-exports of zod's core index and of zod/mini, and nothing else", () => {
    expect(dropped(zod('core/index.js'))).toEqual([
      'export * from "./to-json-schema.js";',
      'export { toJSONSchema } from "./json-schema-processors.js";',
      'export { JSONSchemaGenerator } from "./json-schema-generator.js";',
      'export * as JSONSchema from "./json-schema.js";',
    ]);
    expect(dropped(zod('mini/external.js'))).toEqual([
      'export { toJSONSchema } from "../core/json-schema-processors.js";',
    ]);
  });

  it('leaves the OpenAPI document, built from a bundle, equal to the one built from source', async () => {
    // Classic zod, which builds it, imports the converter itself; a bundle of the module that
    // builds the document must answer what the source does.
    const dir = mkdtempSync(join(tmpdir(), 'serval-openapi-bundle-'));
    try {
      await bundleFunction({ entry: 'functions/http/openapi.ts', outdir: dir, sourcemap: false });
      const script = `const { openApiDocument } = await import(${JSON.stringify(join(dir, 'index.mjs'))});
        process.stdout.write(JSON.stringify(openApiDocument()));`;
      const bundled = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
      });
      const { openApiDocument } = await import('../../functions/http/openapi.js');
      expect(JSON.parse(bundled)).toEqual(openApiDocument());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("a function's init in one chunk", () => {
  /** A small function: its entry awaits at top level, as every handler does (lambdaHandler). */
  const FILES: Record<string, string> = {
    'entry.ts': `import { shared } from './shared.js';
import { answer } from './init.js';
// An import() during the entry's own top-level await: it must not wait for that await.
const early = await import('./lazy.js');
export const handler = async () => ({
  early: early.named(),
  lazy: (await import('./lazy.js')).default(),
  other: (await import('./other.js')).other(),
  shared: shared === (await import('./lazy.js')).sharedSeen,
  answer,
});`,
    'shared.ts': 'export const shared = { made: Date.now() };',
    'init.ts': `import { shared } from './shared.js';
export const answer = shared ? 42 : 0;`,
    'lazy.ts': `import { shared } from './shared.js';
export const sharedSeen = shared;
export function named() { return 'named'; }
export default function () { return 'default'; }`,
    'other.ts': `import { answer } from './init.js';
export function other() { return answer + 1; }`,
  };

  function project(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'serval-one-chunk-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  it('reads two files at init, where plain splitting reads one per set of importers', async () => {
    const dir = project(FILES);
    try {
      const out = join(dir, 'out');
      const built = await bundleFunction({
        entry: join(dir, 'entry.ts'),
        outdir: out,
        sourcemap: false,
        metafile: true,
      });
      expect(loadedAtInit(built.metafile!).files).toBe(2);
      // Without the wrappers, shared.ts (entry, lazy) and init.ts (entry, other) are chunks apart.
      const plain = await build(
        functionBundleOptions({
          entry: join(dir, 'entry.ts'),
          outdir: join(dir, 'plain'),
          sourcemap: false,
          metafile: true,
        }),
      );
      expect(loadedAtInit(plain.metafile!).files).toBe(3);

      // Every import() answers as before: named and default exports, one instance of a module.
      const script = `const { handler } = await import(${JSON.stringify(join(out, 'index.mjs'))});
        process.stdout.write(JSON.stringify(await handler()));`;
      const answer = JSON.parse(
        execFileSync(process.execPath, ['--input-type=module', '-e', script], {
          encoding: 'utf8',
          timeout: 20_000,
        }),
      );
      expect(answer).toEqual({
        early: 'named',
        lazy: 'default',
        other: 43,
        shared: true,
        answer: 42,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('leaves the import() of a CommonJS module as esbuild makes it', async () => {
    const dir = project({
      'entry.ts': `export const handler = async () => (await import('./legacy.cjs')).default.legacy;`,
      'legacy.cjs': 'module.exports = { legacy: "cjs" };',
    });
    try {
      const out = join(dir, 'out');
      await bundleFunction({ entry: join(dir, 'entry.ts'), outdir: out, sourcemap: false });
      const script = `const { handler } = await import(${JSON.stringify(join(out, 'index.mjs'))});
        process.stdout.write(JSON.stringify(await handler()));`;
      expect(
        execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
      ).toBe('"cjs"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('wraps an import() target that a rewrite of dependencyTrim also matches', async () => {
    // A client's schemas module is rewritten as it is read; loaded by import(), its wrapper has
    // the same path in a namespace of its own, which the rewrite must leave alone.
    const schemas = 'node_modules/@aws-sdk/client-fake/dist-es/schemas';
    const dir = project({
      'entry.ts': `export const handler = async () => (await import('./${schemas}/schemas_0.js')).Used$;`,
    });
    try {
      mkdirSync(join(dir, schemas), { recursive: true });
      writeFileSync(join(dir, schemas, 'names.js'), 'export const _e = "error";\n');
      writeFileSync(
        join(dir, schemas, 'schemas_0.js'),
        'import { _e } from "./names.js";\nexport var Used$ = [-3, "n", "Used", { [_e]: "client" }];\n',
      );
      const out = join(dir, 'out');
      await bundleFunction({ entry: join(dir, 'entry.ts'), outdir: out, sourcemap: false });
      const script = `const { handler } = await import(${JSON.stringify(join(out, 'index.mjs'))});
        process.stdout.write(JSON.stringify(await handler()));`;
      expect(
        JSON.parse(
          execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
        ),
      ).toEqual([-3, 'n', 'Used', { error: 'client' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses an entry that a module it imports imports back', async () => {
    const dir = project({
      'entry.ts': `import { helper } from './helper.js';
export const name = 'entry';
export const handler = async () => helper() + (await import('./lazy.js')).x;`,
      'helper.ts': `import { name } from './entry.js';
export const helper = () => name;`,
      'lazy.ts': 'export const x = 1;',
    });
    try {
      await expect(
        bundleFunction({ entry: join(dir, 'entry.ts'), outdir: join(dir, 'out'), sourcemap: false }),
      ).rejects.toThrow(/imports it back/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
