/**
 * Builds the dashboard (web/src) with esbuild: one hashed JS bundle, one hashed CSS file and an
 * index.html that names them. The local runtime builds it in memory at start (a fresh clone
 * needs no build step and nothing built is committed); `npm run build:web` and the CDK stack
 * write it to a directory.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const WEB_DIR = dirname(fileURLToPath(import.meta.url));

export interface DashboardFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** Content-hashed names never change meaning, so they may be cached for good. */
  readonly immutable: boolean;
}

/** path ("/index.html", "/assets/main-HASH.js") → file. */
export type DashboardFiles = ReadonlyMap<string, DashboardFile>;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export function contentTypeOf(path: string): string {
  const dot = path.lastIndexOf('.');
  return TYPES[path.slice(dot)] ?? 'application/octet-stream';
}

/**
 * The page's Content-Security-Policy: scripts and styles only from this origin (uPlot and Preact
 * set styles through the CSSOM, which style-src does not govern), API calls only to this origin
 * (/v1 is served from the same origin locally and through CloudFront), no framing.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Sent with every dashboard file, locally and by CloudFront's response headers policy. */
export const DASHBOARD_SECURITY_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
} as const;

function options(): esbuild.BuildOptions {
  return {
    entryPoints: [join(WEB_DIR, 'src/main.tsx')],
    bundle: true,
    format: 'esm',
    target: ['es2022'],
    // SERVAL_WEB_DEBUG=1 keeps names readable in browser stack traces.
    minify: process.env.SERVAL_WEB_DEBUG !== '1',
    // No source maps in the bundle served to users; `npm run build:web` writes them for debugging.
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: 'assets/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    outdir: '/dashboard',
    write: false,
    metafile: false,
    legalComments: 'none',
    logLevel: 'silent',
  };
}

function assemble(outputs: readonly esbuild.OutputFile[]): Map<string, DashboardFile> {
  const files = new Map<string, DashboardFile>();
  let js = '';
  let css = '';
  for (const out of outputs) {
    const path = out.path.slice('/dashboard'.length);
    if (path.endsWith('.js')) js = path;
    if (path.endsWith('.css')) css = path;
    files.set(path, { body: Buffer.from(out.contents), contentType: contentTypeOf(path), immutable: true });
  }
  if (!js || !css) throw new Error('the dashboard build produced no JS or CSS bundle');
  const html = readFileSync(join(WEB_DIR, 'index.html'), 'utf8').replace('%JS%', js).replace('%CSS%', css);
  files.set('/index.html', { body: Buffer.from(html), contentType: TYPES['.html']!, immutable: false });
  return files;
}

export async function buildDashboard(): Promise<DashboardFiles> {
  const result = await esbuild.build(options());
  return assemble(result.outputFiles ?? []);
}

/** For CDK synth, which is synchronous. */
export function buildDashboardSync(): DashboardFiles {
  const result = esbuild.buildSync(options());
  return assemble(result.outputFiles ?? []);
}

export function writeDashboard(files: DashboardFiles, dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, file] of files) {
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.body);
  }
  return dir;
}

if (process.argv[1] && basename(process.argv[1]) === 'build.ts') {
  const dir = process.argv[2] ?? join(WEB_DIR, '..', '.tmp', 'web');
  const files = await buildDashboard();
  writeDashboard(files, dir);
  for (const [path, f] of files) console.log(`${dir}${path}  ${f.body.length} bytes`);
}
