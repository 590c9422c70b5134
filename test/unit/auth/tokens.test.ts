import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../functions/core/auth/principal.js';
import { type SigningKeys, Tokens } from '../../../functions/core/auth/tokens.js';
import type { DomainError } from '../../../functions/core/kernel/errors.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const alice: Principal = { id: '01J000000000000000000000AA', name: 'alice', role: 'scientist', via: 'key' };

function service(keys: SigningKeys, at = Date.parse('2026-06-01T12:00:00Z')) {
  const clock = {
    t: at,
    now() {
      return new Date(this.t);
    },
  };
  let n = 0;
  const tokens = new Tokens({
    keys: { signingKeys: async () => keys },
    clock,
    ids: { next: () => `jti-${++n}` },
  });
  return { tokens, clock };
}

async function code(p: Promise<unknown>) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  return (e as DomainError | undefined)?.code;
}

/** A token made by hand, so each claim can be wrong on its own. */
function forge(secret: string, claims: Record<string, unknown>, alg = 'HS256') {
  const now = Math.floor(Date.parse('2026-06-01T12:00:00Z') / 1000);
  return new SignJWT({ role: 'admin', name: 'mallory', ...claims })
    .setProtectedHeader({ alg })
    .setIssuer((claims.iss as string) ?? 'serval')
    .setAudience((claims.aud as string) ?? 'serval-api')
    .setSubject('01J000000000000000000000MM')
    .setJti('x')
    .setIssuedAt((claims.iat as number) ?? now)
    .setExpirationTime((claims.exp as number) ?? now + 600)
    .sign(new TextEncoder().encode(secret));
}

describe('Tokens', () => {
  it('issues a token that verifies to the same principal, marked as a token', async () => {
    const { tokens } = service({ current: A });
    const issued = await tokens.issue(alice, 600);
    expect(issued.expiresAt).toBe('2026-06-01T12:10:00.000Z');
    expect(await tokens.verify(issued.token)).toEqual({ ...alice, via: 'jwt' });
  });

  it('never issues a token for a token', async () => {
    const { tokens } = service({ current: A });
    expect(await code(tokens.issue({ ...alice, via: 'jwt' }))).toBe('forbidden');
  });

  it('expires tokens, allowing only the bounded clock skew', async () => {
    const { tokens, clock } = service({ current: A });
    const { token } = await tokens.issue(alice, 60);
    clock.t += 60_000 + 29_000;
    expect((await tokens.verify(token)).id).toBe(alice.id);
    clock.t += 2_000;
    expect(await code(tokens.verify(token))).toBe('unauthorized');
  });

  it('keeps tokens signed before a rotation valid, and refuses unknown secrets', async () => {
    const before = await service({ current: A }).tokens.issue(alice);
    const rotated = service({ current: B, previous: A }).tokens;
    expect((await rotated.verify(before.token)).id).toBe(alice.id);
    const after = service({ current: B }).tokens;
    expect(await code(after.verify(before.token))).toBe('unauthorized');
  });

  it('pins HS256 and checks issuer, audience, iat and claims', async () => {
    const { tokens } = service({ current: A });
    const now = Math.floor(Date.parse('2026-06-01T12:00:00Z') / 1000);
    expect((await tokens.verify(await forge(A, {}))).role).toBe('admin'); // the forge itself is sound
    const bad = [
      await forge(A, {}, 'HS512'),
      await forge(B, {}),
      await forge(A, { iss: 'someone-else' }),
      await forge(A, { aud: 'another-api' }),
      await forge(A, { iat: now + 3600 }),
      await forge(A, { exp: now - 120 }),
      await forge(A, { role: 'root' }),
      new UnsecuredJWT({ role: 'admin', sub: 'x' }).setIssuer('serval').setAudience('serval-api').encode(),
      'not.a.token',
      '',
    ];
    for (const t of bad) expect(await code(tokens.verify(t)), t.slice(0, 40)).toBe('unauthorized');
  });

  it('refuses a correctly signed token whose exp − iat exceeds the maximum lifetime', async () => {
    const { tokens } = service({ current: A });
    const now = Math.floor(Date.parse('2026-06-01T12:00:00Z') / 1000);
    expect((await tokens.verify(await forge(A, { exp: now + 3600 }))).id).toBeTruthy();
    expect(await code(tokens.verify(await forge(A, { exp: now + 3601 })))).toBe('unauthorized');
    expect(await code(tokens.verify(await forge(A, { exp: now + 10 * 365 * 86400 })))).toBe('unauthorized');
  });
});
