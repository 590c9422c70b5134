/**
 * Wiring shared by the handlers' composition roots: clients, stores and services, each built from
 * the environment it is given, so the same module serves on AWS, in the local runtime and in
 * tests (which pass their own environment).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { documentClient, s3Client } from '../adapters/aws-clients.js';
import { DynamoKeyStore } from '../adapters/dynamo-keys.js';
import { DynamoPredictionStore } from '../adapters/dynamo-predictions.js';
import { DynamoRegistryStore } from '../adapters/dynamo-registry.js';
import { DynamoModeStore } from '../adapters/dynamo-settings.js';
import { S3ArtifactStore } from '../adapters/s3-artifacts.js';
import { signingKeySource } from '../adapters/signing-keys.js';
import { systemClock, ulids } from '../adapters/system.js';
import { usagePlanFromEnv } from '../adapters/usage-plans.js';
import { BUCKETS, SECRETS, TABLES } from '../contract/resources.js';
import { ApiKeys } from '../core/auth/api-keys.js';
import { Tokens } from '../core/auth/tokens.js';
import { Modes } from '../core/system/modes.js';

export type Env = Readonly<Record<string, string | undefined>>;

export function envValue(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set; the function is misconfigured`);
  return value;
}

export function makeLogger(service: string): Logger {
  return new Logger({ serviceName: `serval-${service}` });
}

export function registryStore(env: Env): DynamoRegistryStore {
  return new DynamoRegistryStore(documentClient(), {
    registry: envValue(env, TABLES.registry.env),
    audit: envValue(env, TABLES.audit.env),
  });
}

/** For functions bound to the registry table alone (reads only). */
export function registryReader(env: Env): DynamoRegistryStore {
  return new DynamoRegistryStore(documentClient(), { registry: envValue(env, TABLES.registry.env) });
}

export function artifactStore(env: Env): S3ArtifactStore {
  return new S3ArtifactStore(s3Client(), envValue(env, BUCKETS.artifacts.env));
}

/** The predictions table: captures, feedback and serving aggregates. */
export function predictionStore(env: Env): DynamoPredictionStore {
  return new DynamoPredictionStore(documentClient(), envValue(env, TABLES.predictions.env));
}

export function keyStore(env: Env): DynamoKeyStore {
  return new DynamoKeyStore(documentClient(), {
    keys: envValue(env, TABLES.keys.env),
    audit: envValue(env, TABLES.audit.env),
  });
}

export function apiKeys(env: Env): ApiKeys {
  // Usage plans on AWS only: locally SERVAL_USAGE_PLAN_ID is unset and the gateway limits instead.
  return new ApiKeys({
    store: keyStore(env),
    usagePlan: usagePlanFromEnv(env),
    clock: systemClock,
    ids: ulids,
  });
}

/** The keys table alone, as the authorizer reads it. */
export function keyReadStore(env: Env): DynamoKeyStore {
  return new DynamoKeyStore(documentClient(), { keys: envValue(env, TABLES.keys.env) });
}

/** For the authorizer: bound to the keys table alone, it can authenticate but not write. */
export function keyReader(env: Env, store: DynamoKeyStore = keyReadStore(env)): ApiKeys {
  return new ApiKeys({ store, clock: systemClock, ids: ulids });
}

export function tokens(env: Env): Tokens {
  return new Tokens({
    keys: signingKeySource(envValue(env, SECRETS.jwt.env)),
    clock: systemClock,
    ids: ulids,
  });
}

/** The operating mode; `audit` is only needed (and only bound) where the mode is changed. */
export function modes(env: Env): Modes {
  const store = new DynamoModeStore(documentClient(), {
    settings: envValue(env, TABLES.settings.env),
    audit: env[TABLES.audit.env],
  });
  return new Modes({ store, clock: systemClock, ids: ulids });
}
