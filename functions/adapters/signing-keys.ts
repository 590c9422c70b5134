/**
 * Where the JWT signing secrets come from. The variable names a location: a Secrets Manager ARN
 * on AWS, a `file://` path in the local runtime. Either holds JSON `{"current": "...",
 * "previous": "..."}`. Values are cached per container for a short time, so a rotation reaches
 * every function within that time without a redeploy.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
// zod/mini: every function evaluates this module at init (see functions/http/inference-schemas.ts).
import * as z from 'zod/mini';
import type { SigningKeySource, SigningKeys } from '../core/auth/tokens.js';

export const SIGNING_KEYS_CACHE_MS = 60_000;

const Stored = z.object({
  current: z.string().check(z.minLength(32)),
  previous: z.optional(z.string().check(z.minLength(32))),
});

function parse(text: string, where: string): SigningKeys {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`the JWT signing secret at ${where} is not JSON`);
  }
  const parsed = Stored.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `the JWT signing secret at ${where} needs "current" (and optionally "previous"), 32+ characters each`,
    );
  }
  return parsed.data;
}

export function signingKeySource(location: string, cacheMs = SIGNING_KEYS_CACHE_MS): SigningKeySource {
  let load: () => Promise<SigningKeys>;
  if (location.startsWith('arn:aws:secretsmanager:')) {
    const client = new SecretsManagerClient({});
    load = async () => {
      const res = await client.send(new GetSecretValueCommand({ SecretId: location }));
      return parse(res.SecretString ?? '', 'Secrets Manager');
    };
  } else if (location.startsWith('file://')) {
    const path = fileURLToPath(location);
    load = async () => parse(await readFile(path, 'utf8'), path);
  } else {
    throw new Error('the JWT signing secret location must be a Secrets Manager ARN or a file:// URL');
  }
  let cached: { keys: SigningKeys; at: number } | undefined;
  return {
    async signingKeys() {
      if (cached && Date.now() - cached.at < cacheMs) return cached.keys;
      const keys = await load();
      cached = { keys, at: Date.now() };
      return keys;
    },
  };
}
