/**
 * The authorizer's memory of credentials it has checked, per container. API Gateway's own result
 * cache cannot serve Serval (lib/constructs/api.ts: it would need one header every caller sends),
 * so without this every authenticated request pays a key-store read before its handler runs.
 *
 * Entries are keyed by SHA-256 of the credential, never the credential itself: a heap dump or a
 * debug print of the cache gives nothing to replay. An entry lives at most `ttlMs`, and never past
 * the credential's own end (the key's expiresAt, the token's exp), so revocation, a role change or
 * a dropped signing secret takes effect within the TTL and expiry exactly on time. A refusal is
 * remembered only briefly (a client retrying a revoked key in a loop then costs one read per
 * interval); a failure to check (the store unreachable) is never remembered.
 */
import { createHash } from 'node:crypto';
import { isDomainError } from '../kernel/errors.js';
import type { Principal } from './principal.js';

/** A checked credential: who it is, and the instant (epoch ms) it stops being valid by itself. */
export interface Authenticated {
  readonly principal: Principal;
  readonly notAfter: number;
}

/** Refusals are remembered at most this long, whatever the TTL. */
export const REFUSAL_TTL_MS = 5_000;
/** Bounds the cache's memory under a flood of distinct credentials: the oldest entry goes first. */
export const MAX_CACHED_CREDENTIALS = 10_000;

interface Entry {
  readonly until: number;
  /** The principal, or the refusal to throw again. */
  readonly principal?: Principal;
  readonly refusal?: unknown;
}

export class CredentialCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = MAX_CACHED_CREDENTIALS,
  ) {}

  /**
   * The principal behind `credential`: remembered, or checked by `check` and then remembered.
   * `credential` must be everything the decision depends on (the header it came in included).
   */
  async resolve(credential: string, check: () => Promise<Authenticated>): Promise<Principal> {
    if (this.ttlMs <= 0) return (await check()).principal;
    const id = createHash('sha256').update(credential, 'utf8').digest('base64url');
    const now = this.now();
    const hit = this.entries.get(id);
    if (hit && hit.until > now) {
      if (hit.principal) return hit.principal;
      throw hit.refusal;
    }
    if (hit) this.entries.delete(id);
    try {
      const { principal, notAfter } = await check();
      const until = Math.min(now + this.ttlMs, notAfter);
      if (until > now) this.remember(id, { until, principal });
      return principal;
    } catch (err) {
      if (isDomainError(err))
        this.remember(id, { until: now + Math.min(this.ttlMs, REFUSAL_TTL_MS), refusal: err });
      throw err;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private remember(id: string, entry: Entry): void {
    this.entries.delete(id);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    this.entries.set(id, entry);
  }
}
