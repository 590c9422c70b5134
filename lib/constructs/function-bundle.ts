/**
 * How every Serval function's code is built, in one place: the CDK construct (ServalFunction),
 * the cold-start benchmark and the cold-start test all bundle through bundleFunction, so what is
 * measured is what is deployed.
 *
 * ESM, minified, packages' ESM builds first (tree-shaking works on them), source maps without
 * sources, and the AWS SDK inside the bundle (the code runs the SDK version the tests ran, not
 * whatever the Lambda runtime ships). Code splitting: a module reached only through import() is
 * its own file, which the runtime reads and compiles on that import's first call, not at init.
 * In one file it was parsed at every cold start all the same (about a third of the inference
 * bundle: failure records, feedback, SageMaker, imports, idempotency), which cost about a third of
 * the import time (issue 13). What init does read comes in two files, the entry and one chunk
 * (initInOneChunk, below), not one per set of importers. NodejsFunction cannot split (its esbuild
 * call has a fixed --outfile), hence this build.
 *
 * Two things in the AWS SDK's published code keep esbuild from dropping what no function uses,
 * and zod's re-exports put its JSON Schema code (the OpenAPI document's) at every function's init;
 * dependencyTrim (below) rewrites these files as they are read, meaning unchanged.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  type BuildOptions,
  build,
  type Metafile,
  type OnResolveArgs,
  type Plugin,
  type PluginBuild,
} from 'esbuild';

/** What the Lambda runtime loads: `index.handler` in `index.mjs`. */
export const ENTRY_FILE = 'index.mjs';

// ESM output cannot call `require`, but CommonJS dependencies bundled into it still do; this
// gives them one. The alias avoids clashing with any `createRequire` import in the bundle.
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __servalCreateRequire } from 'node:module';" +
  'const require = __servalCreateRequire(import.meta.url);';

export interface FunctionBundle {
  /** The handler's module, relative to projectRoot or absolute. */
  readonly entry: string;
  readonly outdir: string;
  /** Packages a layer provides (onnxruntime-node is native: esbuild cannot bundle it). */
  readonly external?: readonly string[];
  /** Source maps beside the code (default true). */
  readonly sourcemap?: boolean;
  readonly tsconfig?: string;
  readonly target?: string;
  /** Also returns esbuild's metafile (which input went to which output file). */
  readonly metafile?: boolean;
}

/**
 * Computed keys naming a module's string constants, `{ [_e]: _c }`, as literal keys. A client's
 * schemas (`dist-es/schemas/schemas_0.js`: every shape and operation of the service) are written
 * that way, and esbuild counts a computed key as a possible side effect (it may call toString), so
 * it kept most of them whether used or not: 65 KiB of S3's at the inference function's init, which
 * sends one S3 command. With a literal key an unused schema is an unused array and is dropped.
 * Only `[name]:` after `{` or `,` is touched, where it can only be a key, and only for names the
 * module declares `const name = "…"`; anything else is left as written.
 */
export function literalSchemaKeys(source: string): string {
  const strings = new Map<string, string>();
  for (const m of source.matchAll(/^const ([\w$]+) = ("(?:[^"\\\n]|\\.)*");$/gm)) {
    strings.set(m[1] as string, m[2] as string);
  }
  return source.replace(/([{,]\s*)\[([\w$]+)\]:/g, (all, before: string, name: string) => {
    const literal = strings.get(name);
    return literal === undefined ? all : `${before}${literal}:`;
  });
}

/**
 * Drops the re-exports of zod's JSON Schema modules (to-json-schema.js, json-schema-processors.js,
 * json-schema-generator.js, json-schema.js) from the module that makes them. Only the OpenAPI
 * document converts schemas, through classic zod, which imports those modules itself. But with
 * code splitting a module goes whole into the chunk that every importer reaches, and zod/mini
 * (which every function validates with at init) reached them through these re-exports: 17 KiB
 * read and evaluated at the inference function's init for nothing. An import of a dropped name
 * fails the build ("No matching export"), so nothing can quietly lose them.
 */
export function withoutJsonSchemaReexports(source: string): string {
  return source.replace(
    /^export [^\n]* from "\.{1,2}\/(?:core\/)?(?:to-json-schema|json-schema-processors|json-schema-generator|json-schema)\.js";\n/gm,
    '',
  );
}

/** A published file rewritten as it is read: the same meaning, less for esbuild to keep. */
interface Rewrite {
  readonly filter: RegExp;
  readonly loader: 'js' | 'json';
  readonly rewrite: (source: string) => string;
}

const REWRITES: readonly Rewrite[] = [
  {
    // A client's schemas: see literalSchemaKeys.
    filter: /[\\/]node_modules[\\/]@aws-sdk[\\/].+[\\/]dist-es[\\/](.+[\\/])?schemas[\\/]schemas_\d+\.js$/,
    loader: 'js',
    rewrite: literalSchemaKeys,
  },
  {
    // Each AWS SDK package imports its package.json whole for one field, its version (the user
    // agent's).
    filter: /[\\/]node_modules[\\/]@aws-sdk[\\/][^\\/]+[\\/]package\.json$/,
    loader: 'json',
    rewrite: (source) => JSON.stringify({ version: (JSON.parse(source) as { version: string }).version }),
  },
  {
    // zod's core index and zod/mini, which re-export the JSON Schema converter: see
    // withoutJsonSchemaReexports.
    filter: /[\\/]node_modules[\\/]zod[\\/]v4[\\/](core[\\/]index|mini[\\/]external)\.js$/,
    loader: 'js',
    rewrite: withoutJsonSchemaReexports,
  },
];

/** The rewrites above, applied as esbuild reads the files. */
export const dependencyTrim: Plugin = {
  name: 'serval-dependency-trim',
  setup(b) {
    for (const { filter, loader, rewrite } of REWRITES) {
      // Files only: initInOneChunk's loaders of import() targets have paths of their own.
      b.onLoad({ filter, namespace: 'file' }, async (args) => ({
        contents: rewrite(await readFile(args.path, 'utf8')),
        loader,
      }));
    }
  },
};

export function functionBundleOptions(b: FunctionBundle): BuildOptions {
  return {
    entryPoints: { index: b.entry },
    outdir: b.outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: b.target ?? 'node22',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    minify: true,
    sourcemap: b.sourcemap ?? true,
    // Stack traces need the mappings, not the sources: keeps the artifact small.
    sourcesContent: false,
    external: [...(b.external ?? [])],
    tsconfig: b.tsconfig,
    metafile: b.metafile,
    logLevel: 'error',
    plugins: [dependencyTrim],
  };
}

/** Resolves an import as the build would without the calling plugin (whose marker is `inner`). */
function resolveAsBuilt(b: PluginBuild, args: OnResolveArgs, inner: symbol) {
  return b.resolve(args.path, {
    kind: args.kind,
    importer: args.importer,
    resolveDir: args.resolveDir,
    pluginData: inner,
  });
}

/**
 * The modules the entry imports statically, as the build resolves them: a build that reads only
 * the entry (every import external) and records each import's resolved path. Imports TypeScript
 * only uses as types are dropped by the parser before resolution, here as in the real build.
 */
async function entryImports(options: BuildOptions): Promise<string[]> {
  const found: string[] = [];
  const inner = Symbol('resolving for entryImports');
  await build({
    ...options,
    splitting: false,
    write: false,
    metafile: false,
    sourcemap: false,
    plugins: [
      {
        name: 'serval-entry-imports',
        setup(b) {
          b.onResolve({ filter: /.*/ }, async (args) => {
            if (args.kind === 'entry-point' || args.pluginData === inner) return undefined;
            if (args.kind === 'import-statement') {
              const r = await resolveAsBuilt(b, args, inner);
              if (r.errors.length === 0 && !r.external) found.push(r.path);
            }
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  return found;
}

/**
 * Puts every module the entry reaches at init into one chunk, so that an environment's init reads
 * two files (the entry and that chunk) instead of one per chunk. esbuild's splitting makes a chunk
 * for each set of entry points that reach a module, and each import() target is an entry point:
 * the inference function's init read 22 files, and Node 20's ES module loader costs about 0.3 ms
 * a file (resolve, read, compile, link), more than the code in most of them. Each import() target
 * is loaded through a small module that first imports what the entry imports, which makes every
 * module of init reachable from every entry point: one set, one chunk. At run time those imports
 * are of modules init has already evaluated, so they do nothing. Not the entry itself: it awaits
 * at its top level (lambdaHandler), and an import() made meanwhile would wait for it.
 *
 * Only ES modules are wrapped (`export *` leaves a CommonJS module's exports to esbuild's interop,
 * which the wrapper would change); a target's default export is re-exported when it declares one.
 */
function initInOneChunk(entryDeps: readonly string[]): Plugin {
  const inner = Symbol('resolving for initInOneChunk');
  const prelude = entryDeps.map((d) => `import ${JSON.stringify(d)};\n`).join('');
  return {
    name: 'serval-init-in-one-chunk',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== 'dynamic-import' || args.pluginData === inner) return undefined;
        const r = await resolveAsBuilt(b, args, inner);
        if (r.errors.length > 0 || r.external || r.namespace !== 'file') return r;
        const source = await readFile(r.path, 'utf8');
        const esm = /\.(ts|mts|mjs)$/.test(r.path) || /^\s*export\b/m.test(source);
        if (!esm) return r;
        return {
          path: r.path,
          namespace: 'serval-lazy',
          pluginData: { hasDefault: /\bexport\s+default\b|\bas\s+default\b/.test(source) },
        };
      });
      b.onLoad({ filter: /.*/, namespace: 'serval-lazy' }, (args) => {
        const target = JSON.stringify(args.path);
        const { hasDefault } = args.pluginData as { hasDefault: boolean };
        return {
          contents: `${prelude}export * from ${target};\n${hasDefault ? `export { default } from ${target};\n` : ''}`,
          resolveDir: dirname(args.path),
          loader: 'js',
        };
      });
    },
  };
}

/** Builds a function's code into outdir: ENTRY_FILE and the chunks it imports. */
export async function bundleFunction(b: FunctionBundle) {
  const options = functionBundleOptions(b);
  const deps = await entryImports(options);
  const result = await build({
    ...options,
    metafile: true,
    plugins: [...(options.plugins ?? []), initInOneChunk(deps)],
  });
  assertEntryInItsFile(result.metafile, resolve(b.entry));
  return result;
}

/**
 * The entry's own code must stay in ENTRY_FILE: were it in the shared chunk (a module it imports
 * importing it back), the import() targets would import it too, and one made during its top-level
 * await would wait for that await to end.
 */
function assertEntryInItsFile(meta: Metafile, entry: string): void {
  const path = entryOutput(meta);
  const inputs = path === undefined ? [] : Object.keys(meta.outputs[path]?.inputs ?? {});
  if (!inputs.some((input) => resolve(input) === entry)) {
    throw new Error(
      `${entry}: its code is not in ${path ?? ENTRY_FILE}; a module it imports imports it back, which the one-chunk init (initInOneChunk) cannot take`,
    );
  }
}

/** The output path of ENTRY_FILE (not `entryPoint`: with splitting, every import() target is one too). */
function entryOutput(meta: Metafile): string | undefined {
  return Object.keys(meta.outputs).find((p) => p === ENTRY_FILE || p.endsWith(`/${ENTRY_FILE}`));
}

/**
 * The same build for a caller that cannot wait, CDK's local bundling: esbuild runs plugins only in
 * its asynchronous API, so a child process runs it.
 */
export function bundleFunctionSync(b: FunctionBundle): void {
  const script = `import { bundleFunction } from ${JSON.stringify(import.meta.url)};
    await bundleFunction(JSON.parse(process.argv[1]));`;
  execFileSync(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script, JSON.stringify(b)],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
}

/** The path of the entry file of a bundle built into outdir. */
export const entryFileIn = (outdir: string) => join(outdir, ENTRY_FILE);

/**
 * Bytes of the JavaScript files the runtime reads when it imports the entry (the entry and the
 * chunks it imports statically, not those only import() reaches), how many files those are, and
 * the bytes of all of them.
 */
export function loadedAtInit(meta: Metafile): { atInit: number; files: number; total: number } {
  const js = Object.keys(meta.outputs).filter((path) => path.endsWith('.mjs'));
  const entry = entryOutput(meta);
  if (!entry) throw new Error('the bundle has no entry file');
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const path = stack.pop() as string;
    if (seen.has(path)) continue;
    seen.add(path);
    for (const imp of meta.outputs[path]?.imports ?? []) {
      if (imp.kind === 'import-statement' && !imp.external) stack.push(imp.path);
    }
  }
  const size = (paths: Iterable<string>) => [...paths].reduce((n, p) => n + (meta.outputs[p]?.bytes ?? 0), 0);
  return { atInit: size(seen), files: seen.size, total: size(js) };
}
