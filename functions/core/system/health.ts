/**
 * The detailed health check (GET /v1/health/detailed): every store and queue reachable, and —
 * only then, since each check reads S3 — every production artifact still matching its checksum.
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
        artifacts.push({ model, version, ...(await this.deps.artifacts.check(model, version)) });
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
}
