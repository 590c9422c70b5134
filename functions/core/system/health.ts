/**
 * The detailed health check (GET /v1/health/detailed): every store and queue reachable, and —
 * only then — every production artifact's integrity.
 *
 * The artifacts' part is what the integrity sweep last found (each verification records
 * `lastVerifiedAt`, and a mismatch marks the version unusable), with its age: re-hashing every
 * production artifact on each call would let any viewer make Serval read the whole production
 * set from S3 as often as they like. An admin may force a re-check, at most once a minute.
 * A production pointer whose artifact fails (corrupt, marked unusable, or not verified lately)
 * comes with the rollback to run, naming the version.
 */

import type { Principal } from '../auth/principal.js';
import { hasRole } from '../auth/roles.js';
import type { Clock } from '../kernel/clock.js';
import { forbidden, rateLimited } from '../kernel/errors.js';

/** One store or queue's answer to a probe. */
export interface ProbeResult {
  readonly name: string;
  readonly kind: 'dynamodb' | 's3' | 'sqs';
  readonly ok: boolean;
  readonly latencyMs: number;
  /** The error's name only (e.g. ResourceNotFoundException): enough for operators, nothing secret. */
  readonly error?: string;
  /** Messages waiting (queues). */
  readonly depth?: number;
}

/** Probes every store and queue of the deployment (functions/adapters/health.ts). */
export interface HealthProbes {
  probeAll(): Promise<readonly ProbeResult[]>;
}

/** The registry's side: production versions, their recorded verification, and a fresh check. */
export interface ArtifactChecks {
  productionVersions(): AsyncIterable<{ model: string; version: string }>;
  /** Read-only: recomputes the checksum now. */
  check(model: string, version: string): Promise<{ ok: boolean } & Record<string, unknown>>;
  /** What the last verification (sweep, upload or verify call) left on the version. */
  lastVerification(model: string, version: string): Promise<{ status: string; lastVerifiedAt?: string }>;
  /** The version a rollback should take production to (core/registry/lifecycle.ts rollbackCandidate). */
  rollbackTarget?(model: string): Promise<string | undefined>;
}

export interface HealthReport {
  readonly status: 'ok' | 'degraded';
  readonly stores: readonly ProbeResult[];
  readonly queues: readonly ProbeResult[];
  /** `sweep`: the recorded results of the integrity sweep; `recheck`: recomputed for this answer. */
  readonly artifactsFrom: 'sweep' | 'recheck';
  readonly productionArtifacts: readonly Record<string, unknown>[];
  readonly checkedAt: string;
}

/** Forced re-checks, per function instance: each one reads every production artifact. */
export const RECHECK_INTERVAL_MS = 60_000;

export class Health {
  private lastRecheck = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly deps: {
      readonly probes: HealthProbes;
      readonly artifacts: ArtifactChecks;
      readonly clock: Clock;
      /** A verification older than this counts as stale and makes the answer degraded. */
      readonly maxVerificationAgeMs: number;
    },
  ) {}

  async detailed(principal: Principal, options: { recheck?: boolean } = {}): Promise<HealthReport> {
    const now = this.deps.clock.now();
    if (options.recheck) {
      if (!hasRole(principal.role, 'admin')) {
        throw forbidden('only admins may force a re-check of the production artifacts', {
          required: 'admin',
        });
      }
      const wait = this.lastRecheck + RECHECK_INTERVAL_MS - now.getTime();
      if (wait > 0) {
        throw rateLimited('a re-check ran less than a minute ago; the sweep results are served meanwhile', {
          retryAfterSeconds: Math.ceil(wait / 1000),
        });
      }
      this.lastRecheck = now.getTime();
    }
    const probes = await this.deps.probes.probeAll();
    const reachable = probes.every((p) => p.ok);
    const artifacts: Record<string, unknown>[] = [];
    if (reachable) {
      for await (const { model, version } of this.deps.artifacts.productionVersions()) {
        const found = options.recheck
          ? await this.deps.artifacts.check(model, version)
          : await this.recorded(model, version, now);
        artifacts.push({ model, version, ...found, ...(found.ok ? {} : await this.rollback(model)) });
      }
    }
    const healthy = reachable && artifacts.every((a) => a.ok === true);
    return {
      status: healthy ? 'ok' : 'degraded',
      stores: probes.filter((p) => p.kind !== 'sqs'),
      queues: probes.filter((p) => p.kind === 'sqs'),
      artifactsFrom: options.recheck ? 'recheck' : 'sweep',
      productionArtifacts: artifacts,
      checkedAt: now.toISOString(),
    };
  }

  private async recorded(model: string, version: string, now: Date): Promise<Record<string, unknown>> {
    const { status, lastVerifiedAt } = await this.deps.artifacts.lastVerification(model, version);
    const ageMs = lastVerifiedAt ? now.getTime() - Date.parse(lastVerifiedAt) : undefined;
    // A sweep that stopped running is itself a fault: old results are not vouched for.
    const stale = ageMs === undefined || ageMs > this.deps.maxVerificationAgeMs;
    return {
      ok: status === 'ready' && !stale,
      status,
      lastVerifiedAt: lastVerifiedAt ?? null,
      ageSeconds: ageMs === undefined ? null : Math.max(0, Math.round(ageMs / 1000)),
      stale,
    };
  }

  /** What to do about a corrupt production artifact: roll back, to a named version, if one can serve. */
  private async rollback(model: string): Promise<{ suggestedRollback: Record<string, unknown> | null }> {
    const to = await this.deps.artifacts.rollbackTarget?.(model);
    return {
      suggestedRollback: to
        ? { method: 'POST', path: `/v1/models/${model}/rollback`, body: { toVersion: to } }
        : null,
    };
  }
}
