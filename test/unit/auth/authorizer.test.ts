import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  AUTH_CACHE_TTL_ENV,
  authCacheTtlSeconds,
  DEFAULT_AUTH_CACHE_TTL_SECONDS,
} from '../../../functions/contract/limits.js';
import { ApiKeys } from '../../../functions/core/auth/api-keys.js';
import { CredentialCache, REFUSAL_TTL_MS } from '../../../functions/core/auth/credential-cache.js';
import { MAX_TOKEN_TTL_SECONDS, Tokens } from '../../../functions/core/auth/tokens.js';
import { unauthorized } from '../../../functions/core/kernel/errors.js';
import { buildAuthorizer, STORE_UNAVAILABLE } from '../../../functions/handlers/authorizer.js';
import { CountingIds, MemoryKeyStore, SteppingClock } from '../../support/memory-stores.js';

const SECRET = 's'.repeat(40);
const root = { id: 'root', name: 'root', role: 'admin' as const, via: 'key' as const };

function setup(cacheTtlSeconds = 0) {
  const store = new MemoryKeyStore();
  const clock = new SteppingClock();
  const keys = new ApiKeys({ store, clock, ids: new CountingIds() });
  const tokens = new Tokens({
    keys: { signingKeys: async () => ({ current: SECRET }) },
    clock,
    ids: new CountingIds(),
  });
  // The key store's reads, counted: what the cache is for.
  const reads: string[] = [];
  const get = store.get.bind(store);
  store.get = (keyId: string) => {
    reads.push(keyId);
    return get(keyId);
  };
  const authorize = buildAuthorizer(keys, tokens, () => clock.now().getTime(), cacheTtlSeconds);
  const call = (
    headers: Record<string, string>,
    methodArn = 'arn:aws:execute-api:eu-west-1:1:api/prod/GET/v1/models',
  ) => authorize({ headers, methodArn } as unknown as APIGatewayRequestAuthorizerEvent);
  return { store, clock, keys, tokens, call, reads };
}

/** A correctly signed token with claims chosen by the test (what a leaked secret or a bug would give). */
function signed(claims: { sub: string; role: string; iat: number; exp: number }) {
  return new SignJWT({ role: claims.role, name: 'x' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('serval')
    .setAudience('serval-api')
    .setSubject(claims.sub)
    .setJti('j')
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .sign(new TextEncoder().encode(SECRET));
}

describe('authorizer', () => {
  it("takes the role from the key's current record, not from the token", async () => {
    const { store, clock, keys, tokens, call } = setup();
    const { record } = await keys.create(root, { name: 'ops', role: 'admin' });
    const principal = { id: record.keyId, name: 'ops', role: 'admin' as const, via: 'key' as const };
    const { token } = await tokens.issue(principal, 3600);
    expect((await call({ authorization: `Bearer ${token}` })).context).toMatchObject({
      role: 'admin',
      via: 'jwt',
    });
    // The key is demoted (an operator edits the record): its tokens lose the old role at once.
    store.keys.set(record.keyId, { ...store.keys.get(record.keyId)!, role: 'viewer' });
    expect((await call({ authorization: `Bearer ${token}` })).context).toMatchObject({
      role: 'viewer',
      via: 'jwt',
    });
    // A token claiming more than its key holds is worth only the key's role.
    const now = Math.floor(clock.now().getTime() / 1000);
    const inflated = await signed({ sub: record.keyId, role: 'admin', iat: now, exp: now + 600 });
    expect((await call({ authorization: `Bearer ${inflated}` })).context).toMatchObject({ role: 'viewer' });
  });

  it('refuses a correctly signed token whose lifetime exceeds the maximum', async () => {
    const { clock, keys, call } = setup();
    const { record } = await keys.create(root, { name: 'ci', role: 'scientist' });
    const now = Math.floor(clock.now().getTime() / 1000);
    const ok = await signed({
      sub: record.keyId,
      role: 'scientist',
      iat: now,
      exp: now + MAX_TOKEN_TTL_SECONDS,
    });
    expect((await call({ authorization: `Bearer ${ok}` })).context).toMatchObject({ role: 'scientist' });
    const long = await signed({ sub: record.keyId, role: 'scientist', iat: now, exp: now + 365 * 86400 });
    await expect(call({ authorization: `Bearer ${long}` })).rejects.toThrow('Unauthorized');
  });

  it('ends tokens of revoked keys', async () => {
    const { keys, tokens, call } = setup();
    const { record } = await keys.create(root, { name: 'ci', role: 'scientist' });
    const { token } = await tokens.issue({ id: record.keyId, name: 'ci', role: 'scientist', via: 'key' });
    await keys.revoke(root, record.keyId);
    await expect(call({ authorization: `Bearer ${token}` })).rejects.toThrow('Unauthorized');
  });

  it('says the store is unreachable, not that the key is bad, when the key store fails', async () => {
    const { store, keys, call } = setup();
    const { key } = await keys.create(root, { name: 'ops', role: 'admin' });
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { name: 'TimeoutError' });
    store.get = async () => {
      throw down;
    };
    const failure = await call({ 'x-api-key': key }).catch((err: Error) => err);
    expect(failure).toBeInstanceOf(Error);
    // Anything but exactly 'Unauthorized' is AUTHORIZER_FAILURE (503), not a 401.
    expect((failure as Error).message).toBe(STORE_UNAVAILABLE);
    expect((failure as Error).message).not.toBe('Unauthorized');
    // A malformed key is refused before the store is asked: still a plain 401.
    await expect(call({ 'x-api-key': 'nonsense' })).rejects.toThrow(/^Unauthorized$/);
  });
});

describe('authorizer result cache', () => {
  const TTL = 60;

  it('reads the key store once per credential per TTL, for keys and for tokens', async () => {
    const { clock, keys, tokens, call, reads } = setup(TTL);
    const { key, record } = await keys.create(root, { name: 'svc', role: 'predictor' });
    const { token } = await tokens.issue(
      { id: record.keyId, name: 'svc', role: 'predictor', via: 'key' },
      3600,
    );
    for (let i = 0; i < 100; i++) {
      expect((await call({ 'x-api-key': key })).context).toMatchObject({ role: 'predictor', via: 'key' });
      expect((await call({ authorization: `Bearer ${token}` })).context).toMatchObject({ via: 'jwt' });
    }
    expect(reads).toHaveLength(2);
    clock.advance(TTL * 1000);
    await call({ 'x-api-key': key });
    await call({ authorization: `Bearer ${token}` });
    expect(reads).toHaveLength(4);
  });

  it('checks every request when the TTL is 0', async () => {
    const { keys, call, reads } = setup(0);
    const { key } = await keys.create(root, { name: 'svc', role: 'viewer' });
    for (let i = 0; i < 10; i++) await call({ 'x-api-key': key });
    expect(reads).toHaveLength(10);
  });

  it('ends a revoked key and its tokens within the TTL, not before the cached answer expires', async () => {
    const { clock, keys, tokens, call } = setup(TTL);
    const { key, record } = await keys.create(root, { name: 'temp', role: 'viewer' });
    const { token } = await tokens.issue(
      { id: record.keyId, name: 'temp', role: 'viewer', via: 'key' },
      3600,
    );
    await call({ 'x-api-key': key });
    await call({ authorization: `Bearer ${token}` });
    await keys.revoke(root, record.keyId);
    // Within the TTL the remembered answer stands (the documented price of the cache) ...
    clock.advance(TTL * 1000 - 100);
    await expect(call({ 'x-api-key': key })).resolves.toMatchObject({ principalId: record.keyId });
    // ... and once it has passed, the revocation holds for both credentials.
    clock.advance(100);
    await expect(call({ 'x-api-key': key })).rejects.toThrow(/^Unauthorized$/);
    await expect(call({ authorization: `Bearer ${token}` })).rejects.toThrow(/^Unauthorized$/);
  });

  it('never answers one credential from another: a wrong secret for a cached key id is refused', async () => {
    const { keys, call, reads } = setup(TTL);
    const a = await keys.create(root, { name: 'a', role: 'admin' });
    const b = await keys.create(root, { name: 'b', role: 'viewer' });
    expect((await call({ 'x-api-key': a.key })).context).toMatchObject({ role: 'admin' });
    // Same key id, another secret: a cache keyed by the key id would let it in as admin.
    const forged = `svl_${a.record.keyId}_${'x'.repeat(43)}`;
    await expect(call({ 'x-api-key': forged })).rejects.toThrow(/^Unauthorized$/);
    expect((await call({ 'x-api-key': b.key })).context).toMatchObject({
      role: 'viewer',
      keyId: b.record.keyId,
    });
    // A bearer header carrying a key is not the key: it is refused, not served from the key's entry.
    await expect(call({ authorization: a.key })).rejects.toThrow(/^Unauthorized$/);
    expect(reads).toEqual([a.record.keyId, a.record.keyId, b.record.keyId]);
  });

  it('builds each answer for the request that asked: the policy follows its methodArn', async () => {
    const { keys, call, reads } = setup(TTL);
    const { key } = await keys.create(root, { name: 'svc', role: 'predictor' });
    const first = await call({ 'x-api-key': key }, 'arn:aws:execute-api:eu-west-1:1:api/prod/GET/v1/models');
    const second = await call(
      { 'x-api-key': key },
      'arn:aws:execute-api:eu-west-1:1:api/beta/POST/v1/models/iris/predict',
    );
    expect(reads).toHaveLength(1);
    expect(first.policyDocument.Statement[0]).toMatchObject({
      Resource: 'arn:aws:execute-api:eu-west-1:1:api/prod/*',
    });
    expect(second.policyDocument.Statement[0]).toMatchObject({
      Resource: 'arn:aws:execute-api:eu-west-1:1:api/beta/*',
    });
  });

  it("never trusts a credential past its own end: the key's expiresAt and the token's exp", async () => {
    // A TTL far longer than either credential lives: only their own ends can end the entries.
    const { clock, keys, call } = setup(3600);
    const expiresAt = new Date(clock.now().getTime() + 10_000).toISOString();
    const expiring = await keys.create(root, { name: 'e', role: 'viewer', expiresAt });
    await call({ 'x-api-key': expiring.key });
    const lasting = await keys.create(root, { name: 'l', role: 'viewer' });
    const now = Math.floor(clock.now().getTime() / 1000);
    const short = await signed({ sub: lasting.record.keyId, role: 'viewer', iat: now, exp: now + 61 });
    await call({ authorization: `Bearer ${short}` });
    clock.advance(10_000);
    await expect(call({ 'x-api-key': expiring.key })).rejects.toThrow(/^Unauthorized$/);
    // Past exp and the verifier's clock tolerance (30 s).
    clock.advance(51_000 + 31_000);
    await expect(call({ authorization: `Bearer ${short}` })).rejects.toThrow(/^Unauthorized$/);
  });

  it('remembers a refusal only briefly, and a store failure not at all', async () => {
    const { store, clock, keys, call, reads } = setup(TTL);
    const { key, record } = await keys.create(root, { name: 'ops', role: 'admin' });
    const wrong = `svl_${record.keyId}_${'x'.repeat(43)}`;
    await expect(call({ 'x-api-key': wrong })).rejects.toThrow(/^Unauthorized$/);
    await expect(call({ 'x-api-key': wrong })).rejects.toThrow(/^Unauthorized$/);
    expect(reads).toHaveLength(1);
    clock.advance(REFUSAL_TTL_MS);
    await expect(call({ 'x-api-key': wrong })).rejects.toThrow(/^Unauthorized$/);
    expect(reads).toHaveLength(2);

    const get = store.get;
    store.get = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    await expect(call({ 'x-api-key': key })).rejects.toThrow(STORE_UNAVAILABLE);
    store.get = get;
    expect((await call({ 'x-api-key': key })).context).toMatchObject({ role: 'admin' });
  });
});

describe('credential cache', () => {
  it('holds at most its bound, dropping the oldest entry first', async () => {
    const cache = new CredentialCache(60_000, () => 0, 2);
    const checks: string[] = [];
    const check = (c: string) => () => {
      checks.push(c);
      return Promise.resolve({ principal: { id: c, name: c, role: 'viewer' as const }, notAfter: Infinity });
    };
    for (const c of ['a', 'b', 'c', 'b', 'a']) await cache.resolve(c, check(c));
    expect(cache.size).toBe(2);
    // a was dropped when c came, b stayed; then a came back and pushed out c.
    expect(checks).toEqual(['a', 'b', 'c', 'a']);
  });

  it('does not remember errors other than refusals', async () => {
    const cache = new CredentialCache(60_000, () => 0);
    await expect(cache.resolve('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(cache.size).toBe(0);
    await expect(cache.resolve('k', () => Promise.reject(unauthorized()))).rejects.toThrow();
    expect(cache.size).toBe(1);
  });
});

describe(AUTH_CACHE_TTL_ENV, () => {
  it('defaults when unset, accepts 0..3600 and refuses anything else', () => {
    expect(authCacheTtlSeconds(undefined)).toBe(DEFAULT_AUTH_CACHE_TTL_SECONDS);
    expect(authCacheTtlSeconds('0')).toBe(0);
    expect(authCacheTtlSeconds('3600')).toBe(3600);
    for (const bad of ['-1', '3601', '1.5', 'sixty', ' ']) {
      expect(() => authCacheTtlSeconds(bad), bad).toThrow(AUTH_CACHE_TTL_ENV);
    }
  });
});
