/** The real `serval` command in a child process, for the CLI tests. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The environment of every CLI run: never the developer's own settings. A profile saved by
 * `serval login` (~/.config/serval) or SERVAL_URL/SERVAL_API_KEY in the shell would otherwise point
 * the tests at whatever platform the developer last used. A test names its own where it needs one.
 */
function cliEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SERVAL_URL: undefined,
    SERVAL_API_KEY: undefined,
    SERVAL_CONFIG: join(tmpdir(), 'serval-tests-have-no-profile', 'profile.json'),
    ...env,
  };
}

export function serval(...args: string[]) {
  return spawnSync(process.execPath, ['bin/serval.js', ...args], {
    cwd: ROOT,
    env: cliEnv(),
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** A scratch directory for the calling test file, removed after its tests. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The real `serval` command in a child process without blocking the event loop, so a test can
 * answer its HTTP requests from the same process.
 */
export function servalAsync(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/serval.js', ...args], {
      cwd: ROOT,
      env: cliEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
