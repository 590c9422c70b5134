/**
 * Default background rows of explanations: a sample of the model's baseline (the version's own,
 * else the model's latest), read from the monitoring table and the profile in S3. Loaded on the
 * first explanation only, so predictions do not pay for it at cold start.
 */

import { s3Client } from '../adapters/aws-clients.js';
import { S3Captures } from '../adapters/s3-captures.js';
import { BUCKETS } from '../contract/resources.js';
import type { BackgroundSource } from '../core/inference/ports.js';
import { backgroundRows } from '../core/monitoring/baseline.js';
import { parseBaselineProfile } from '../core/monitoring/profile-schema.js';
import { monitoringStore } from './monitoring-wiring.js';
import { type Env, envValue } from './shared.js';

export function baselineBackgrounds(env: Env): BackgroundSource {
  const store = monitoringStore(env);
  const docs = new S3Captures(s3Client(), envValue(env, BUCKETS.artifacts.env));
  return {
    async rows(model, version, limit) {
      const ref = (await store.latestBaseline(model, version)) ?? (await store.latestBaseline(model));
      if (!ref) return undefined;
      const json = await docs.getJson(ref.profileKey);
      if (json === undefined) return undefined;
      return backgroundRows(parseBaselineProfile(json), limit);
    },
  };
}
