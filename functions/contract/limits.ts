/**
 * Per-key rate limits: the defaults of the API Gateway usage plan (lib/constructs/api.ts) and of
 * the local runtime's limiter (local/rate-limit.ts), kept in one place so both enforce the same
 * numbers unless configured otherwise.
 *
 * Pure data: no aws-cdk-lib import, so the local runtime can read it cheaply.
 */

export interface ThrottleLimits {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Requests that may arrive at once above the steady rate (the token bucket's size). */
  readonly burstLimit: number;
}

/** The periods an API Gateway usage plan quota can have (the values of CDK's `Period`). */
export type QuotaPeriod = 'DAY' | 'WEEK' | 'MONTH';

export interface QuotaLimits {
  readonly limit: number;
  readonly period: QuotaPeriod;
}

export const DEFAULT_THROTTLE: ThrottleLimits = { rateLimit: 50, burstLimit: 100 };
export const DEFAULT_QUOTA: QuotaLimits = { limit: 100_000, period: 'DAY' };

/**
 * Environment variable carrying the usage plan id to the functions that need it on AWS (key
 * administration enrolls keys; the authorizer names the caller's usage identifier). Unset
 * locally, where local/rate-limit.ts enforces the limits instead.
 */
export const USAGE_PLAN_ENV = 'SERVAL_USAGE_PLAN_ID';

/**
 * The tag, valued with the usage plan id, on every API Gateway key created for a Serval key. Key
 * administration may create keys only with it and delete only keys that carry it (IAM tag
 * conditions, lib/constructs/api.ts), so it cannot touch any other API key in the region.
 */
export const USAGE_PLAN_TAG = 'serval:usagePlanId';

/**
 * How long the authorizer trusts a credential it has checked: each authorizer container keeps
 * the principal for this many seconds (functions/core/auth/credential-cache.ts), so a revoked
 * key, a role change or a rotated-out signing secret takes effect within it. One setting for AWS
 * (the stack prop `authorizerCacheTtlSeconds`, lib/serval-stack.ts) and the local runtime (this
 * variable, passed through to the same authorizer code); 0 turns the cache off. API Gateway's own
 * result cache cannot be used (lib/constructs/api.ts), so it is done in the function.
 */
export const AUTH_CACHE_TTL_ENV = 'SERVAL_AUTH_CACHE_TTL_SECONDS';
export const DEFAULT_AUTH_CACHE_TTL_SECONDS = 60;
/** API Gateway's own ceiling for authorizer caching: a revocation must not wait longer. */
export const MAX_AUTH_CACHE_TTL_SECONDS = 3600;

/** The TTL from its variable: unset means the default; anything but 0..MAX is a misconfiguration. */
export function authCacheTtlSeconds(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_AUTH_CACHE_TTL_SECONDS;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > MAX_AUTH_CACHE_TTL_SECONDS) {
    throw new Error(
      `${AUTH_CACHE_TTL_ENV} must be a whole number of seconds from 0 to ${MAX_AUTH_CACHE_TTL_SECONDS}, not ${JSON.stringify(value)}`,
    );
  }
  return n;
}
