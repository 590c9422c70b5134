/**
 * API keys: `svl_<keyId>_<secret>`. Only SHA-256(secret) is stored; the key id in the clear makes
 * lookup one GetItem, and the hash comparison is constant-time. The secret has 256 bits of
 * entropy, so a fast hash is enough (no password-stretching needed).
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuditEvent } from '../kernel/audit.js';
import { auditEvent } from '../kernel/audit.js';
import type { Clock, IdGenerator } from '../kernel/clock.js';
import { conflict, notFound, unauthorized, validationFailed } from '../kernel/errors.js';
import type { Page, PageRequest } from '../kernel/paging.js';
import type { Authenticated } from './credential-cache.js';
import type { Principal } from './principal.js';
import type { Role } from './roles.js';

export interface ApiKeyRecord {
  readonly keyId: string;
  readonly name: string;
  readonly role: Role;
  readonly hash: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly expiresAt?: string;
  readonly revokedAt?: string;
  readonly revokedBy?: string;
}

export type ApiKeyView = Omit<ApiKeyRecord, 'hash'> & { readonly status: 'active' | 'expired' | 'revoked' };

export interface KeyStore {
  /** Stores a new key and its audit event atomically. */
  create(record: ApiKeyRecord, audit: AuditEvent): Promise<void>;
  get(keyId: string): Promise<ApiKeyRecord | undefined>;
  list(page: PageRequest): Promise<Page<ApiKeyRecord>>;
  /** Marks a key revoked (only if it exists and is not revoked yet) with its audit event, atomically. */
  revoke(keyId: string, revokedAt: string, revokedBy: string, audit: AuditEvent): Promise<boolean>;
}

/**
 * Per-key throttling and quota outside Serval (API Gateway usage plans on AWS): each Serval key
 * gets a usage identifier enrolled in the plan when created and removed when revoked.
 */
export interface UsagePlanPort {
  enroll(keyId: string): Promise<void>;
  withdraw(keyId: string): Promise<void>;
}

export interface KeyDeps {
  readonly store: KeyStore;
  readonly usagePlan?: UsagePlanPort;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

const KEY_PATTERN = /^svl_([0-9A-HJKMNP-TV-Z]{26})_([A-Za-z0-9_-]{43})$/;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export class ApiKeys {
  constructor(private readonly deps: KeyDeps) {}

  async create(
    principal: Principal,
    input: { name: string; role: Role; expiresAt?: string },
  ): Promise<{ key: string; record: ApiKeyView }> {
    const now = this.deps.clock.now();
    if (input.expiresAt !== undefined && Date.parse(input.expiresAt) <= now.getTime()) {
      throw validationFailed('expiresAt must be in the future', { field: 'expiresAt' });
    }
    const keyId = this.deps.ids.next();
    // Enrolled before the key is stored, so a stored key always has its usage identifier; a
    // leftover identifier after a failed store is harmless (it is a meter, not a credential).
    await this.deps.usagePlan?.enroll(keyId);
    const secret = randomBytes(32).toString('base64url');
    const record: ApiKeyRecord = {
      keyId,
      name: input.name,
      role: input.role,
      hash: hashSecret(secret),
      createdAt: now.toISOString(),
      createdBy: principal.id,
      // In UTC like every other time Serval answers, whatever offset the caller wrote it with.
      ...(input.expiresAt !== undefined ? { expiresAt: new Date(input.expiresAt).toISOString() } : {}),
    };
    await this.deps.store.create(
      record,
      this.audit(principal, 'key.create', keyId, { name: input.name, role: input.role }),
    );
    return { key: `svl_${keyId}_${secret}`, record: this.view(record) };
  }

  /** Resolves a presented key to its principal, or throws unauthorized without saying why. */
  async authenticate(presented: string | undefined): Promise<Principal> {
    return (await this.authenticateUntil(presented)).principal;
  }

  /** As authenticate, with the instant the key expires by itself (for the authorizer's cache). */
  async authenticateUntil(presented: string | undefined): Promise<Authenticated> {
    const m = presented ? KEY_PATTERN.exec(presented.trim()) : null;
    if (!m) throw unauthorized();
    const record = await this.deps.store.get(m[1]!);
    const expected = Buffer.from(record?.hash ?? '0'.repeat(64), 'hex');
    const actual = Buffer.from(hashSecret(m[2]!), 'hex');
    const match = timingSafeEqual(expected, actual);
    if (!record || !match || this.status(record) !== 'active') throw unauthorized();
    return {
      principal: { id: record.keyId, name: record.name, role: record.role, via: 'key' },
      notAfter: this.notAfter(record),
    };
  }

  /**
   * The principal behind a verified token, as its key stands now: a revoked or expired key ends
   * the token, and the role is the key's current one, never the one written into the token (a
   * token is a cache of the key, not a grant of its own).
   */
  async principalOf(keyId: string): Promise<Principal> {
    return (await this.principalUntil(keyId)).principal;
  }

  /** As principalOf, with the instant the key expires by itself (for the authorizer's cache). */
  async principalUntil(keyId: string): Promise<Authenticated> {
    const record = await this.deps.store.get(keyId);
    if (!record || this.status(record) !== 'active') throw unauthorized();
    return {
      principal: { id: record.keyId, name: record.name, role: record.role, via: 'jwt' },
      notAfter: this.notAfter(record),
    };
  }

  async list(page: PageRequest): Promise<Page<ApiKeyView>> {
    const res = await this.deps.store.list(page);
    return { items: res.items.map((r) => this.view(r)), nextCursor: res.nextCursor };
  }

  async revoke(principal: Principal, keyId: string): Promise<ApiKeyView> {
    const record = await this.deps.store.get(keyId);
    if (!record) throw notFound(`API key ${keyId} does not exist`, { keyId });
    if (record.revokedAt) throw conflict(`API key ${keyId} is already revoked`, { keyId });
    const at = this.deps.clock.now().toISOString();
    const done = await this.deps.store.revoke(
      keyId,
      at,
      principal.id,
      this.audit(principal, 'key.revoke', keyId, {}),
    );
    if (!done) throw conflict(`API key ${keyId} is already revoked`, { keyId });
    await this.deps.usagePlan?.withdraw(keyId);
    return this.view({ ...record, revokedAt: at, revokedBy: principal.id });
  }

  private status(r: ApiKeyRecord): ApiKeyView['status'] {
    if (r.revokedAt) return 'revoked';
    if (r.expiresAt && Date.parse(r.expiresAt) <= this.deps.clock.now().getTime()) return 'expired';
    return 'active';
  }

  private notAfter(r: ApiKeyRecord): number {
    return r.expiresAt ? Date.parse(r.expiresAt) : Number.POSITIVE_INFINITY;
  }

  private view(r: ApiKeyRecord): ApiKeyView {
    const { hash: _hash, ...rest } = r;
    return { ...rest, status: this.status(r) };
  }

  private audit(
    principal: Principal,
    action: string,
    keyId: string,
    after: Record<string, unknown>,
  ): AuditEvent {
    return auditEvent(this.deps, principal, action, `key/${keyId}`, { after });
  }
}
