/**
 * The CLI's HTTP client of a Serval API: the base URL from SERVAL_URL (the API URL `npm start`
 * prints, with or without its /v1, or the stack's ApiUrl output) and the key from SERVAL_API_KEY
 * (sent as x-api-key); either falls back to the profile `serval login` saved. An answer that is
 * not 2xx becomes a CliError carrying the API's own `{error: {code, message}}`.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const URL_ENV = 'SERVAL_URL';
export const KEY_ENV = 'SERVAL_API_KEY';
/** Where the profile lives; default ~/.config/serval/profile.json. */
export const CONFIG_ENV = 'SERVAL_CONFIG';

export interface Profile {
  readonly url: string;
  readonly apiKey?: string;
}

export function profilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env[CONFIG_ENV] || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'serval', 'profile.json');
}

export function readProfile(env: NodeJS.ProcessEnv = process.env): Partial<Profile> {
  let text: string;
  try {
    text = readFileSync(profilePath(env), 'utf8');
  } catch {
    return {};
  }
  try {
    const p = JSON.parse(text) as Partial<Profile>;
    return {
      ...(typeof p.url === 'string' ? { url: p.url } : {}),
      ...(typeof p.apiKey === 'string' ? { apiKey: p.apiKey } : {}),
    };
  } catch {
    throw new CliError(`${profilePath(env)} is not valid JSON: run serval login again`, 2);
  }
}

/** Writes the profile readable by its owner only: it holds an API key. */
export function writeProfile(profile: Profile, env: NodeJS.ProcessEnv = process.env): string {
  const path = profilePath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync's mode applies only to a new file; an older profile may have been wider.
  chmodSync(path, 0o600);
  return path;
}

/** A failure the CLI reports on one line of stderr (never a stack trace). */
export class CliError extends Error {
  constructor(
    message: string,
    /** 1: the API or the network refused; 2: the command line itself is wrong. */
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

export interface ApiClient {
  request(method: string, path: string, body?: unknown): Promise<unknown>;
}

export function apiClient(env: NodeJS.ProcessEnv = process.env): ApiClient {
  const profile = env[URL_ENV] && env[KEY_ENV] ? {} : readProfile(env);
  const base = env[URL_ENV] || profile.url;
  if (!base)
    throw new CliError(
      `${URL_ENV} is not set and there is no profile: run serval login, or set ${URL_ENV} (e.g. http://127.0.0.1:3000)`,
      2,
    );
  let root: URL;
  try {
    root = new URL(base);
  } catch {
    throw new CliError(`${URL_ENV} is not a URL: ${base}`, 2);
  }
  // `npm start` prints the API as …/v1, the stack's ApiUrl output stops before v1/: take either.
  root.pathname = `${root.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}/`;
  // The profile's key goes only to the profile's URL, never to another server named by SERVAL_URL.
  const key = env[KEY_ENV] || (profile.url === base ? profile.apiKey : undefined);
  return {
    async request(method, path, body) {
      const url = new URL(path.replace(/^\//, ''), root);
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: {
            accept: 'application/json',
            ...(key ? { 'x-api-key': key } : {}),
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new CliError(
          `cannot reach ${root.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        );
      }
      const text = await res.text();
      let data: unknown;
      try {
        data = text === '' ? undefined : JSON.parse(text);
      } catch {
        data = undefined;
      }
      if (!res.ok) {
        const error = (data as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
        const message =
          typeof error?.message === 'string' ? error.message : text.trim().slice(0, 200) || res.statusText;
        const code = typeof error?.code === 'string' ? `${error.code}, ` : '';
        throw new CliError(`${message.replace(/\s+/g, ' ')} (${code}HTTP ${res.status})`);
      }
      return data;
    },
  };
}

/**
 * An action against the API, for every CLI command: prints the text (or, with --json or without a renderer, the JSON),
 * and turns a CliError into one line on stderr and its exit code.
 */
// biome-ignore lint/suspicious/noExplicitAny: commander passes the action's arguments untyped.
export function apiAction<A extends any[]>(
  label: string,
  run: (client: ApiClient, ...args: A) => Promise<unknown>,
) {
  return async (...args: A): Promise<void> => {
    try {
      // Built on first use: `serval login` runs before there is anything to build it from.
      let client: ApiClient | undefined;
      const lazy: ApiClient = {
        request: (...a) => {
          client ??= apiClient();
          return client.request(...a);
        },
      };
      const out = await run(lazy, ...args);
      if (out !== undefined) {
        process.stdout.write(typeof out === 'string' ? `${out}\n` : `${JSON.stringify(out, null, 2)}\n`);
      }
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      process.stderr.write(`serval ${label}: ${err.message}\n`);
      process.exitCode = err.exitCode;
    }
  };
}

/** The query of a list command: `?model=…&state=…&limit=…&cursor=…` with what was given, or ''. */
export function listQuery(opts: {
  readonly model?: string;
  readonly state?: string;
  readonly limit?: number;
  readonly cursor?: string;
}): string {
  const q = new URLSearchParams();
  for (const k of ['model', 'state', 'limit', 'cursor'] as const) {
    if (opts[k] !== undefined) q.set(k, String(opts[k]));
  }
  return q.size ? `?${q}` : '';
}
