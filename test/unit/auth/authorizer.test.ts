import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { ApiKeys } from '../../../functions/core/auth/api-keys.js';
import { MAX_TOKEN_TTL_SECONDS, Tokens } from '../../../functions/core/auth/tokens.js';
import { buildAuthorizer, STORE_UNAVAILABLE } from '../../../functions/handlers/authorizer.js';
import { CountingIds, MemoryKeyStore, SteppingClock } from '../../support/memory-stores.js';

const SECRET = 's'.repeat(40);
const root = { id: 'root', name: 'root', role: 'admin' as const, via: 'key' as const };

function setup() {
  const store = new MemoryKeyStore();
  const clock = new SteppingClock();
  const keys = new ApiKeys({ store, clock, ids: new CountingIds() });
  const tokens = new Tokens({
    keys: { signingKeys: async () => ({ current: SECRET }) },
    clock,
    ids: new CountingIds(),
  });
  const authorize = buildAuthorizer(keys, tokens);
  const call = (headers: Record<string, string>) =>
    authorize({
      headers,
      methodArn: 'arn:aws:execute-api:eu-west-1:1:api/prod/GET/v1/models',
    } as unknown as APIGatewayRequestAuthorizerEvent);
  return { store, clock, keys, tokens, call };
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
