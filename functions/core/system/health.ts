/**
 * The detailed health check (GET /v1/health/detailed): every store and queue reachable, and —
 * only then, since each check reads S3 — every production artifact still matching its checksum.
 * A production pointer whose artifact fails (corrupt, or already marked unusable by the sweep)
 * comes with the rollback to run, naming the version.
 */

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

/** The registry's side: production versions, and a read-only checksum check of one. */
export interface ArtifactChecks {
  productionVersions(): AsyncIterable<{ model: string; version: string }>;
  check(model: string, version: string): Promise<{ ok: boolean } & Record<string, unknown>>;
  /** The version a rollback should take production to (core/registry/lifecycle.ts rollbackCandidate). */
  rollbackTarget?(model: string): Promise<string | undefined>;
}

export interface HealthReport {
  readonly status: 'ok' | 'degraded';
  readonly stores: readonly ProbeResult[];
  readonly queues: readonly ProbeResult[];
  readonly productionArtifacts: readonly Record<string, unknown>[];
  readonly checkedAt: string;
}

export class Health {
  constructor(
    private readonly deps: {
      readonly probes: HealthProbes;
      readonly artifacts: ArtifactChecks;
      readonly clock: { now(): Date };
    },
  ) {}

  async detailed(): Promise<HealthReport> {
    const probes = await this.deps.probes.probeAll();
    const reachable = probes.every((p) => p.ok);
    const artifacts: Record<string, unknown>[] = [];
    if (reachable) {
      for await (const { model, version } of this.deps.artifacts.productionVersions()) {
        const check = await this.deps.artifacts.check(model, version);
        artifacts.push({ model, version, ...check, ...(check.ok ? {} : await this.rollback(model)) });
      }
    }
    const healthy = reachable && artifacts.every((a) => a.ok === true);
    return {
      status: healthy ? 'ok' : 'degraded',
      stores: probes.filter((p) => p.kind !== 'sqs'),
      queues: probes.filter((p) => p.kind === 'sqs'),
      productionArtifacts: artifacts,
      checkedAt: this.deps.clock.now().toISOString(),
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
