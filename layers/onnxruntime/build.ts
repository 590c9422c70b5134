/**
 * The onnxruntime-node Lambda layer: `<outDir>/nodejs/node_modules/{onnxruntime-node,
 * onnxruntime-common}`, copied from the installed packages with only what one Linux architecture
 * needs at runtime. The npm package carries the binaries of every platform (~290 MB, over Lambda's
 * 250 MB unzipped limit); one architecture's is 26 MB (arm64) or 46 MB (x86_64).
 *
 * Plain file copies from node_modules: nothing is downloaded (onnxruntime-node's install script,
 * which fetches CUDA libraries, is never run — install with ONNXRUNTIME_NODE_INSTALL=skip), so the
 * CDK app calls this at synth time. Run by hand:
 *
 *   node --import tsx layers/onnxruntime/build.ts [--arch arm64|x86_64] [--out <dir>]
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** Lambda's names for the two architectures. */
export type LayerArchitecture = 'arm64' | 'x86_64';

/** The packages the layer provides (what a function using it must leave out of its bundle). */
export const LAYER_PACKAGES = ['onnxruntime-node', 'onnxruntime-common'] as const;

/** Where a layer's Node.js packages go: Lambda puts `/opt/nodejs/node_modules` on the path. */
export const LAYER_MODULES_DIR = join('nodejs', 'node_modules');

const HERE = dirname(fileURLToPath(import.meta.url));
const DEFAULT_PROJECT_ROOT = resolve(HERE, '..', '..');
export const DEFAULT_OUT_DIR = join(HERE, 'build');

/** process.arch of each Lambda architecture: the directory onnxruntime-node loads its binary from. */
const NODE_ARCH: Record<LayerArchitecture, string> = { arm64: 'arm64', x86_64: 'x64' };

export interface BuildOnnxRuntimeLayerOptions {
  readonly architecture: LayerArchitecture;
  /** The layer root (what is zipped): receives `nodejs/node_modules/...`. */
  readonly outDir: string;
  /** Where package-lock.json and node_modules are (default: this repository). */
  readonly projectRoot?: string;
}

export interface OnnxRuntimeLayerBuild {
  /** The layer root: `dir/nodejs/node_modules/onnxruntime-node`, ... */
  readonly dir: string;
  /** Sum of the file sizes (what counts against Lambda's 250 MB unzipped limit). */
  readonly unzippedBytes: number;
  /** The layer's files, relative to `dir`, with `/` separators, sorted. */
  readonly files: readonly string[];
  /** Versions copied (those of package-lock.json). */
  readonly versions: Readonly<Record<(typeof LAYER_PACKAGES)[number], string>>;
  /** True when `dir` already held exactly this layer and nothing was copied. */
  readonly reused: boolean;
}

interface PlannedFile {
  /** Relative to the layer root, `/`-separated. */
  readonly path: string;
  readonly source: string;
  readonly size: number;
}

/**
 * Builds the layer into `outDir` and describes it. When `outDir` already holds exactly the
 * planned files (same paths and sizes, same package.json files) it is left alone, so repeated
 * synths copy nothing. A fresh build is assembled beside `outDir` and renamed into place, so a
 * concurrent reader (another synth) never sees a half-built directory.
 */
export function buildOnnxRuntimeLayer(options: BuildOnnxRuntimeLayerOptions): OnnxRuntimeLayerBuild {
  const outDir = resolve(options.outDir);
  const { files, versions } = planOnnxRuntimeLayer(options.architecture, options.projectRoot);
  const result = (reused: boolean): OnnxRuntimeLayerBuild => ({
    dir: outDir,
    unzippedBytes: files.reduce((sum, f) => sum + f.size, 0),
    files: files.map((f) => f.path),
    versions,
    reused,
  });
  if (matches(outDir, files)) return result(true);

  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const staging = `${outDir}.tmp-${suffix}`;
  try {
    for (const f of files) {
      const target = join(staging, ...f.path.split('/'));
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(f.source, target);
    }
    mkdirSync(dirname(outDir), { recursive: true });
    if (!tryRename(staging, outDir)) {
      // Someone else's build got there first; keep theirs if it is this layer.
      if (matches(outDir, files)) return result(true);
      const old = `${outDir}.old-${suffix}`;
      renameSync(outDir, old);
      if (!tryRename(staging, outDir) && !matches(outDir, files)) {
        throw new Error(`could not put the onnxruntime layer in place at ${outDir}`);
      }
      rmSync(old, { recursive: true, force: true });
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return result(false);
}

/** The files of the layer, from the installed packages, after checking them against the lock file. */
export function planOnnxRuntimeLayer(
  architecture: LayerArchitecture,
  projectRoot = DEFAULT_PROJECT_ROOT,
): { files: PlannedFile[]; versions: Record<(typeof LAYER_PACKAGES)[number], string> } {
  const nodeArch = NODE_ARCH[architecture];
  if (!nodeArch) throw new Error(`unknown Lambda architecture ${String(architecture)} (arm64 or x86_64)`);
  const lock = readLock(projectRoot);

  const nodeDir = packageDir('onnxruntime-node', projectRoot);
  // onnxruntime-common is resolved from onnxruntime-node, as its require() does at runtime.
  const commonDir = packageDir('onnxruntime-common', nodeDir);
  const versions = {
    'onnxruntime-node': checkLocked(nodeDir, projectRoot, lock),
    'onnxruntime-common': checkLocked(commonDir, projectRoot, lock),
  };

  // onnxruntime-node: package.json (main: dist/index.js), the compiled dist/*.js, and the one
  // binary directory dist/binding.js requires: bin/napi-v<N>/<platform>/<arch>/ — the N-API
  // addon and the libonnxruntime.so.1 it links ($ORIGIN runpath). Left out: the other platforms'
  // and architecture's binaries, script/ (the install-time downloader), lib/ (TypeScript
  // sources), type declarations and source maps, and the install script's dependencies
  // (adm-zip, global-agent), which nothing loads at runtime.
  const binDir = bindingDir(nodeDir, nodeArch);
  const nodeFiles = [
    'package.json',
    ...listFiles(join(nodeDir, 'dist'))
      .filter(isRuntimeJs)
      .map((f) => `dist/${f}`),
    ...listFiles(join(nodeDir, binDir)).map((f) => `${binDir}/${f}`),
  ];
  if (!nodeFiles.some((f) => f.endsWith('/onnxruntime_binding.node'))) {
    throw new Error(`onnxruntime-node ${versions['onnxruntime-node']} has no binding in ${binDir}`);
  }

  // onnxruntime-common: package.json and both builds its `exports` map points at (dist/cjs is
  // what onnxruntime-node requires; dist/esm answers `import`), each with the package.json that
  // sets its module type.
  const commonFiles = [
    'package.json',
    ...listFiles(join(commonDir, 'dist'))
      .filter((f) => isRuntimeJs(f) || f.endsWith('/package.json'))
      .map((f) => `dist/${f}`),
  ];

  const files: PlannedFile[] = [];
  for (const [name, dir, list] of [
    ['onnxruntime-node', nodeDir, nodeFiles],
    ['onnxruntime-common', commonDir, commonFiles],
  ] as const) {
    for (const f of list) {
      const source = join(dir, ...f.split('/'));
      files.push({ path: `nodejs/node_modules/${name}/${f}`, source, size: statSync(source).size });
    }
    checkEntryPoints(name, dir, new Set(list));
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, versions };
}

/** `bin/napi-v<N>/linux/<arch>`, with N read from the require in dist/binding.js. */
function bindingDir(nodeDir: string, nodeArch: string): string {
  const binding = readFileSync(join(nodeDir, 'dist', 'binding.js'), 'utf8');
  const m =
    /require\(`\.\.\/(bin\/napi-v\d+)\/\$\{process\.platform\}\/\$\{process\.arch\}\/onnxruntime_binding\.node`\)/.exec(
      binding,
    );
  if (!m) {
    throw new Error(
      'onnxruntime-node dist/binding.js no longer loads bin/napi-v<N>/<platform>/<arch>/onnxruntime_binding.node: ' +
        'review the layer pruning (layers/onnxruntime/build.ts)',
    );
  }
  return `${m[1]}/linux/${nodeArch}`;
}

/** Every file `main` and `exports` name must be in the layer, or the pruned package cannot load. */
function checkEntryPoints(name: string, dir: string, kept: ReadonlySet<string>): void {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    main?: string;
    exports?: unknown;
  };
  const targets: string[] = [];
  if (pkg.main) targets.push(pkg.main);
  const collect = (value: unknown): void => {
    if (typeof value === 'string') targets.push(value);
    else if (value && typeof value === 'object') for (const v of Object.values(value)) collect(v);
  };
  collect(pkg.exports);
  for (const target of targets) {
    const path = target.replace(/^\.\//, '');
    if (path.includes('*')) continue;
    if (!kept.has(path)) throw new Error(`the pruned ${name} would lack ${path}, named by its package.json`);
  }
}

function isRuntimeJs(file: string): boolean {
  return /\.(c|m)?js$/.test(file);
}

/** Files under `dir`, relative, `/`-separated, sorted. */
function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/** The installed package's directory, found as Node would from `from`. */
function packageDir(name: string, from: string): string {
  const require = createRequire(join(from, 'package.json'));
  for (const base of require.resolve.paths(name) ?? []) {
    const dir = join(base, name);
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(
    `${name} is not installed (from ${from}): run \`ONNXRUNTIME_NODE_INSTALL=skip npm ci\` first`,
  );
}

type Lock = { packages?: Record<string, { version?: string }> };

function readLock(projectRoot: string): Lock {
  return JSON.parse(readFileSync(join(projectRoot, 'package-lock.json'), 'utf8')) as Lock;
}

/** The installed version, which must be the one package-lock.json pins. */
function checkLocked(dir: string, projectRoot: string, lock: Lock): string {
  const { name, version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  const key = relative(projectRoot, dir).split(sep).join('/');
  const locked = lock.packages?.[key]?.version;
  if (locked === undefined) throw new Error(`package-lock.json has no entry ${key} for ${name}`);
  if (locked !== version) {
    throw new Error(`${name} ${version} is installed but package-lock.json pins ${locked}: run npm ci`);
  }
  return version;
}

/** Whether `dir` holds exactly the planned files (paths and sizes; package.json byte for byte). */
function matches(dir: string, files: readonly PlannedFile[]): boolean {
  if (!existsSync(dir)) return false;
  const present = listFiles(dir);
  if (present.length !== files.length) return false;
  return files.every((f, i) => {
    if (present[i] !== f.path) return false;
    const target = join(dir, ...f.path.split('/'));
    if (statSync(target).size !== f.size) return false;
    return !f.path.endsWith('/package.json') || readFileSync(target).equals(readFileSync(f.source));
  });
}

function tryRename(from: string, to: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EISDIR') return false;
    throw err;
  }
}

/** ELF e_machine of a file (0xB7 AArch64, 0x3E x86-64), or undefined for a non-ELF file. */
export function elfMachine(file: string): number | undefined {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(20);
    if (readSync(fd, header, 0, 20, 0) < 20) return undefined;
    if (header.readUInt32BE(0) !== 0x7f454c46) return undefined;
    // EI_DATA 1 = little-endian.
    return header[5] === 1 ? header.readUInt16LE(18) : header.readUInt16BE(18);
  } finally {
    closeSync(fd);
  }
}

export const ELF_MACHINE: Record<LayerArchitecture, number> = { arm64: 0xb7, x86_64: 0x3e };

function main(): void {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: 'arm64' },
      out: { type: 'string', default: DEFAULT_OUT_DIR },
    },
  });
  const architecture = values.arch as LayerArchitecture;
  if (!(architecture in NODE_ARCH)) throw new Error(`--arch must be arm64 or x86_64, got ${values.arch}`);
  const started = performance.now();
  const build = buildOnnxRuntimeLayer({ architecture, outDir: values.out });
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  console.log(
    `onnxruntime layer (${architecture}): onnxruntime-node ${build.versions['onnxruntime-node']}, ` +
      `${build.files.length} files, ${mb(build.unzippedBytes)} MiB unzipped, ` +
      `${build.reused ? 'already up to date' : 'built'} in ${Math.round(performance.now() - started)} ms\n` +
      `  ${join(build.dir, LAYER_MODULES_DIR)}`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
