/**
 * The API client: every call carries the session's JWT (never the API key, which is exchanged
 * once at sign-in and dropped). Errors keep the API's {code, message, details} so pages can say
 * what to do.
 */
import type { Role } from './types';

const SESSION_KEY = 'serval.session';

export interface Session {
  readonly token: string;
  readonly role: Role;
  readonly expiresAt: string;
  readonly name: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    return Date.parse(s.expiresAt) > Date.now() ? s : null;
  } catch {
    return null;
  }
}

let listeners: ((s: Session | null) => void)[] = [];
export function onSessionChange(fn: (s: Session | null) => void): () => void {
  listeners.push(fn);
  return () => {
    listeners = listeners.filter((l) => l !== fn);
  };
}

function setSession(s: Session | null) {
  if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(SESSION_KEY);
  for (const l of listeners) l(s);
}

/** The JWT's `name` claim, for the header; the server never trusts anything read here. */
function claimName(token: string): string {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    return String((JSON.parse(json) as { name?: unknown }).name ?? '');
  } catch {
    return '';
  }
}

/** Exchanges the key for a token at once; the key lives only in this call's arguments. */
export async function signIn(apiKey: string): Promise<Session> {
  const res = await fetch('/v1/auth/token', {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({ ttlSeconds: 3600 }),
  });
  const body = await readJson(res);
  if (!res.ok) throw toError(res.status, body);
  const { token, role, expiresAt } = body as { token: string; role: Role; expiresAt: string };
  const session: Session = { token, role, expiresAt, name: claimName(token) };
  setSession(session);
  return session;
}

export function signOut(): void {
  setSession(null);
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { error: { code: 'bad_response', message: text.slice(0, 200) } };
  }
}

function toError(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: string; message?: string; details?: Record<string, unknown> } })
    ?.error;
  return new ApiError(status, e?.code ?? 'http_error', e?.message ?? `HTTP ${status}`, e?.details ?? {});
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const session = loadSession();
  if (!session) {
    signOut();
    throw new ApiError(401, 'unauthorized', 'your session has ended; sign in again');
  }
  const headers: Record<string, string> = { authorization: `Bearer ${session.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await readJson(res);
  if (res.status === 401) {
    // An expired or revoked token: back to the sign-in form, which says why.
    signOut();
  }
  if (!res.ok) throw toError(res.status, json);
  return json as T;
}

export const get = <T>(path: string, query?: Query) => api<T>('GET', withQuery(path, query));
export const post = <T>(path: string, body: unknown = {}) => api<T>('POST', path, body);

const RANK: Record<Role, number> = { viewer: 0, predictor: 1, scientist: 2, approver: 3, admin: 4 };
/** Whether the signed-in role includes `min` (roles include every role before them). */
export function can(session: Session | null, min: Role): boolean {
  return !!session && RANK[session.role] >= RANK[min];
}
