/**
 * Starts the real `npm start` entry (bin/serval-local.ts) as a child process on a free port with
 * its own data directory, and talks to it over HTTP like any client would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../local/ports.js';
import { checkAnswer } from './answers.js';

export interface ServalProcess {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly adminKey: string;
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM, then wait for exit. */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  readonly dataDir?: string;
  readonly port?: number;
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  /** `npm`: through `npm start`, as a user runs it (npm, then whatever its script runs). */
  readonly via?: 'node' | 'npm';
  /** Node's own flags, e.g. --cpu-prof (which NODE_OPTIONS refuses); `node` only. */
  readonly nodeArgs?: readonly string[];
}

export function startProcess(options: StartOptions & { port: number; dataDir: string }): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const [command, args] =
    options.via === 'npm'
      ? ['npm', ['start']]
      : [process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'bin/serval-local.ts']];
  const child = spawn(command, args, {
    cwd: process.cwd(),
    env: {
      ...process.env,
      SERVAL_PORT: String(options.port),
      SERVAL_DATA_DIR: options.dataDir,
      npm_config_update_notifier: 'false',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/**
 * For files that revoke keys: the authorizer remembers a checked credential for this TTL
 * (SERVAL_AUTH_CACHE_TTL_SECONDS, docs/security.md), so revocation holds within it, not at once.
 */
export const SHORT_AUTH_CACHE: Record<string, string> = { SERVAL_AUTH_CACHE_TTL_SECONDS: '1' };

/**
 * Waits until an answer the authorizer remembered before `since` (epoch ms) has expired under
 * SHORT_AUTH_CACHE, with a margin for timer slack.
 */
export async function pastAuthCache(since: number): Promise<void> {
  const until = since + Number(SHORT_AUTH_CACHE.SERVAL_AUTH_CACHE_TTL_SECONDS) * 1000 + 200;
  await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())));
}

export async function startServal(options: StartOptions = {}): Promise<ServalProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'serval-e2e-'));
  const port = options.port ?? (await freePort());
  const { child, output, exited } = startProcess({ ...options, port, dataDir });
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  // The last line of the ready block: stdout may deliver 'Serval is ready' before the key line.
  while (!output().includes('Press Ctrl-C to stop.')) {
    if (child.exitCode !== null) throw new Error(`serval exited with ${child.exitCode}:\n${output()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serval did not become ready:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const adminKey = readFileSync(join(dataDir, 'admin-key'), 'utf8').trim();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    adminKey,
    child,
    output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface ApiResponse<T = any> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
  readonly text: string;
}

/** A small JSON client for the Serval API; every answer is checked against the contract (answers.ts). */
export function apiClient(baseUrl: string, key?: string) {
  return async function call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(key ? { 'x-api-key': key } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    let isJson = false;
    try {
      parsed = JSON.parse(text);
      isJson = true;
    } catch {
      // leave as text: some assertions look at non-JSON answers
    }
    checkAnswer(method, `${baseUrl}${path}`, res.status, parsed, isJson);
    return { status: res.status, body: parsed as T, headers: res.headers, text };
  };
}

/** An S3 client for the stand-in of a started runtime, from its endpoints.json, and the bucket. */
export function localS3(dataDir: string): { s3: S3Client; bucket: string } {
  const endpoints = JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8'));
  const s3 = new S3Client({
    endpoint: endpoints.endpoints.s3,
    region: endpoints.region,
    credentials: endpoints.credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { s3, bucket: endpoints.buckets.artifacts };
}

/**
 * Polls `probe` until it returns something other than undefined; on timeout, fails with the
 * runtime's recent output, which is where the reason usually is.
 */
export async function waitFor<T>(
  serval: Pick<ServalProcess, 'output'>,
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 250 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}\n${serval.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
