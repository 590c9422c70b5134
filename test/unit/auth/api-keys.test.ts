import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiKeys } from '../../../functions/core/auth/api-keys.js';
import { hasRole, ROLES } from '../../../functions/core/auth/roles.js';
import type { DomainError } from '../../../functions/core/kernel/errors.js';
import { CountingIds, MemoryKeyStore, SteppingClock } from '../../support/memory-stores.js';

const admin = { id: 'root', name: 'root', role: 'admin' as const };

async function code(p: Promise<unknown>) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  return (e as DomainError | undefined)?.code;
}

describe('roles', () => {
  it('order viewer < predictor < scientist < approver < admin, each including the ones before', () => {
    expect(ROLES).toEqual(['viewer', 'predictor', 'scientist', 'approver', 'admin']);
    for (const [i, held] of ROLES.entries()) {
      for (const [j, needed] of ROLES.entries()) expect(hasRole(held, needed)).toBe(i >= j);
    }
  });
});

describe('ApiKeys', () => {
  it('shows the key once, stores only the SHA-256 of its secret, and authenticates it', async () => {
    const store = new MemoryKeyStore();
    const keys = new ApiKeys({ store, clock: new SteppingClock(), ids: new CountingIds() });
    const { key, record } = await keys.create(admin, { name: 'ci', role: 'scientist' });
    expect(key).toMatch(/^svl_[0-9A-Z]{26}_[A-Za-z0-9_-]{43}$/);
    const secret = key.slice(31);
    const stored = store.keys.get(record.keyId)!;
    expect(stored.hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(JSON.stringify(record)).not.toContain(stored.hash);
    expect(await keys.authenticate(key)).toEqual({
      id: record.keyId,
      name: 'ci',
      role: 'scientist',
      via: 'key',
    });
    expect(store.audits.map((a) => a.action)).toEqual(['key.create']);
  });

  it('keeps an expiry written with an offset as the same instant in UTC', async () => {
    const keys = new ApiKeys({
      store: new MemoryKeyStore(),
      clock: new SteppingClock(),
      ids: new CountingIds(),
    });
    const { record } = await keys.create(admin, {
      name: 'a',
      role: 'viewer',
      expiresAt: '2099-03-01T01:30:00+02:00',
    });
    expect(record.expiresAt).toBe('2099-02-28T23:30:00.000Z');
  });

  it('refuses malformed, unknown, wrong-secret, expired and revoked keys alike', async () => {
    const clock = new SteppingClock();
    const keys = new ApiKeys({ store: new MemoryKeyStore(), clock, ids: new CountingIds() });
    const { key } = await keys.create(admin, { name: 'a', role: 'viewer' });
    const expiring = await keys.create(admin, {
      name: 'b',
      role: 'viewer',
      expiresAt: new Date(clock.now().getTime() + 60_000).toISOString(),
    });
    const revoked = await keys.create(admin, { name: 'c', role: 'viewer' });
    await keys.revoke(admin, revoked.record.keyId);
    const wrongSecret = key.slice(0, 31) + 'x'.repeat(43);
    const unknownId = `svl_${'7'.repeat(26)}_${key.slice(31)}`;
    for (const k of [
      undefined,
      '',
      'svl_',
      key.toLowerCase(),
      `${key}x`,
      wrongSecret,
      unknownId,
      revoked.key,
    ]) {
      expect(await code(keys.authenticate(k))).toBe('unauthorized');
    }
    expect((await keys.authenticate(expiring.key)).name).toBe('b');
    clock.advance(120_000);
    expect(await code(keys.authenticate(expiring.key))).toBe('unauthorized');
    expect((await keys.list({ limit: 10 })).items.map((k) => k.status)).toEqual([
      'active',
      'expired',
      'revoked',
    ]);
  });

  it('enrolls each key in the usage plan on creation and withdraws it on revocation', async () => {
    const calls: string[] = [];
    const usagePlan = {
      enroll: async (id: string) => void calls.push(`enroll ${id}`),
      withdraw: async (id: string) => void calls.push(`withdraw ${id}`),
    };
    const keys = new ApiKeys({
      store: new MemoryKeyStore(),
      clock: new SteppingClock(),
      ids: new CountingIds(),
      usagePlan,
    });
    const { record } = await keys.create(admin, { name: 'a', role: 'viewer' });
    await keys.revoke(admin, record.keyId);
    expect(calls).toEqual([`enroll ${record.keyId}`, `withdraw ${record.keyId}`]);
  });

  it('revokes once and refuses unknown ids and past expiry dates', async () => {
    const clock = new SteppingClock();
    const keys = new ApiKeys({ store: new MemoryKeyStore(), clock, ids: new CountingIds() });
    const { record } = await keys.create(admin, { name: 'a', role: 'viewer' });
    expect((await keys.revoke(admin, record.keyId)).status).toBe('revoked');
    expect(await code(keys.revoke(admin, record.keyId))).toBe('conflict');
    expect(await code(keys.revoke(admin, '7'.repeat(26)))).toBe('not_found');
    expect(
      await code(keys.create(admin, { name: 'x', role: 'viewer', expiresAt: '2000-01-01T00:00:00Z' })),
    ).toBe('validation_failed');
  });
});
