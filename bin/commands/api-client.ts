/**
 * The CLI's HTTP client of a Serval API: the base URL from SERVAL_URL (the API URL `npm start`
 * prints, with or without its /v1, or the stack's ApiUrl output) and the key from SERVAL_API_KEY (sent as x-api-key). An answer that
 * is not 2xx becomes an ApiError carrying the API's own `{error: {code, message}}`.
 */

export const URL_ENV = 'SERVAL_URL';
export const KEY_ENV = 'SERVAL_API_KEY';

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
  const base = env[URL_ENV];
  if (!base)
    throw new CliError(`${URL_ENV} is not set: give the API's base URL (e.g. http://127.0.0.1:3000)`, 2);
  let root: URL;
  try {
    root = new URL(base);
  } catch {
    throw new CliError(`${URL_ENV} is not a URL: ${base}`, 2);
  }
  // `npm start` prints the API as …/v1, the stack's ApiUrl output stops before v1/: take either.
  root.pathname = `${root.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}/`;
  const key = env[KEY_ENV];
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
