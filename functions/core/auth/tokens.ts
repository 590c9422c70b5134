/**
 * Short-lived JWTs exchanged for an API key. HS256: the only party that signs and the only party
 * that verifies is Serval itself (auth function and authorizer), so a shared secret is the
 * simplest sound choice — no key distribution, and rotation is two values (current, previous).
 * The algorithm is pinned on verification, and exp/iat/iss/aud are required.
 */
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Clock, IdGenerator } from '../kernel/clock.js';
import { forbidden, unauthorized } from '../kernel/errors.js';
import type { Authenticated } from './credential-cache.js';
import type { Principal } from './principal.js';
import { isRole, type Role } from './roles.js';

export const TOKEN_ISSUER = 'serval';
export const TOKEN_AUDIENCE = 'serval-api';
export const DEFAULT_TOKEN_TTL_SECONDS = 15 * 60;
export const MAX_TOKEN_TTL_SECONDS = 60 * 60;
/** Bound on clock disagreement between the signer and a verifier. */
export const CLOCK_SKEW_SECONDS = 30;

/** The signing secrets: `previous` keeps tokens signed before a rotation valid until they expire. */
export interface SigningKeys {
  readonly current: string;
  readonly previous?: string;
}

export interface SigningKeySource {
  signingKeys(): Promise<SigningKeys>;
}

export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: string;
  readonly role: Role;
}

const MIN_SECRET_LENGTH = 32;

function keyBytes(secret: string): Uint8Array {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`the JWT signing secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  return new TextEncoder().encode(secret);
}

export class Tokens {
  constructor(
    private readonly deps: {
      readonly keys: SigningKeySource;
      readonly clock: Clock;
      readonly ids: IdGenerator;
    },
  ) {}

  async issue(principal: Principal, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS): Promise<IssuedToken> {
    if (principal.via === 'jwt') {
      // Otherwise a token could renew itself forever, outliving the revocation of its key.
      throw forbidden('tokens are issued in exchange for an API key, not for another token');
    }
    const ttl = Math.min(Math.max(Math.floor(ttlSeconds), 60), MAX_TOKEN_TTL_SECONDS);
    const { current } = await this.deps.keys.signingKeys();
    const now = Math.floor(this.deps.clock.now().getTime() / 1000);
    const token = await new SignJWT({ role: principal.role, name: principal.name })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(principal.id)
      .setJti(this.deps.ids.next())
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .sign(keyBytes(current));
    return { token, expiresAt: new Date((now + ttl) * 1000).toISOString(), role: principal.role };
  }

  /** The principal a token names; unauthorized for anything not signed by us, expired or malformed. */
  async verify(token: string): Promise<Principal> {
    return (await this.verifyUntil(token)).principal;
  }

  /** As verify, with the instant the token expires (for the authorizer's cache). */
  async verifyUntil(token: string): Promise<Authenticated> {
    const { current, previous } = await this.deps.keys.signingKeys();
    const now = this.deps.clock.now();
    for (const secret of previous ? [current, previous] : [current]) {
      try {
        const { payload } = await jwtVerify(token, keyBytes(secret), {
          algorithms: ['HS256'],
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          clockTolerance: CLOCK_SKEW_SECONDS,
          maxTokenAge: MAX_TOKEN_TTL_SECONDS + CLOCK_SKEW_SECONDS,
          requiredClaims: ['exp', 'iat', 'sub', 'jti'],
          currentDate: now,
        });
        if ((payload.iat ?? 0) > now.getTime() / 1000 + CLOCK_SKEW_SECONDS)
          throw unauthorized('token issued in the future');
        // issue() never signs a longer lifetime, so such a token was made with a leaked secret or
        // by a bug: refuse it outright rather than honour it until maxTokenAge catches up.
        if ((payload.exp ?? 0) - (payload.iat ?? 0) > MAX_TOKEN_TTL_SECONDS)
          throw unauthorized('token lifetime exceeds the maximum');
        if (typeof payload.sub !== 'string' || !isRole(payload.role)) throw unauthorized();
        return {
          principal: {
            id: payload.sub,
            name: typeof payload.name === 'string' ? payload.name : payload.sub,
            role: payload.role,
            via: 'jwt',
          },
          // exp is required above; without the clock tolerance, so a cached token ends no later.
          notAfter: (payload.exp ?? 0) * 1000,
        };
      } catch (err) {
        // A bad signature may be a token from before a rotation: try the previous secret.
        if (err instanceof errors.JWSSignatureVerificationFailed) continue;
        throw unauthorized();
      }
    }
    throw unauthorized();
  }
}
