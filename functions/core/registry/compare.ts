/** Side-by-side comparison of two versions of a model: metrics, params, schemas and lineage. */
import type { RegistryRecords } from './records.js';
import type { ModelVersion, Stage, VersionStatus } from './types.js';

export interface CompareResult {
  readonly a: VersionSummary;
  readonly b: VersionSummary;
  readonly metrics: Record<string, { a?: number; b?: number; delta?: number; relativeDelta?: number }>;
  readonly params: {
    readonly added: Record<string, unknown>;
    readonly removed: Record<string, unknown>;
    readonly changed: Record<string, { a: unknown; b: unknown }>;
    readonly unchanged: string[];
  };
  readonly schema: {
    readonly addedFeatures: string[];
    readonly removedFeatures: string[];
    readonly changedFeatures: Record<string, { a: unknown; b: unknown }>;
    readonly outputChanged: boolean;
  };
  readonly lineage: { readonly a: string[]; readonly b: string[]; readonly commonAncestor?: string };
}

interface VersionSummary {
  readonly version: string;
  readonly stage: Stage;
  readonly status: VersionStatus;
  readonly createdAt: string;
  readonly sha256: string;
}

export class Comparison {
  constructor(private readonly records: RegistryRecords) {}

  async compare(name: string, a: string, b: string): Promise<CompareResult> {
    const [va, vb] = await Promise.all([this.records.getVersion(name, a), this.records.getVersion(name, b)]);
    const [la, lb] = await Promise.all([this.records.lineage(name, va), this.records.lineage(name, vb)]);
    return {
      a: summary(va),
      b: summary(vb),
      metrics: compareMetrics(va.metrics, vb.metrics),
      params: compareParams(va.params, vb.params),
      schema: compareSchemas(va, vb),
      lineage: { a: la, b: lb, commonAncestor: la.find((x) => lb.includes(x)) },
    };
  }
}

function summary(v: ModelVersion): VersionSummary {
  return {
    version: v.version,
    stage: v.stage,
    status: v.status,
    createdAt: v.createdAt,
    sha256: v.artifact.sha256,
  };
}

export function compareMetrics(
  a: Record<string, number>,
  b: Record<string, number>,
): CompareResult['metrics'] {
  const out: CompareResult['metrics'] = {};
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[k];
    const y = b[k];
    if (x !== undefined && y !== undefined) {
      // Only what JSON can carry: a difference that overflows (huge metrics, or a relative change
      // from a near-zero `a`) would be written as null, which no client reads as a number.
      const delta = y - x;
      const relativeDelta = x !== 0 ? delta / Math.abs(x) : undefined;
      out[k] = {
        a: x,
        b: y,
        delta: Number.isFinite(delta) ? delta : undefined,
        relativeDelta:
          relativeDelta !== undefined && Number.isFinite(relativeDelta) ? relativeDelta : undefined,
      };
    } else out[k] = { a: x, b: y };
  }
  return out;
}

export function compareParams(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): CompareResult['params'] {
  const added: Record<string, unknown> = {};
  const removed: Record<string, unknown> = {};
  const changed: Record<string, { a: unknown; b: unknown }> = {};
  const unchanged: string[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (!(k in a)) added[k] = b[k];
    else if (!(k in b)) removed[k] = a[k];
    else if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) changed[k] = { a: a[k], b: b[k] };
    else unchanged.push(k);
  }
  return { added, removed, changed, unchanged };
}

function compareSchemas(a: ModelVersion, b: ModelVersion): CompareResult['schema'] {
  const fa = new Map((a.inputSchema?.features ?? []).map((f) => [f.name, f]));
  const fb = new Map((b.inputSchema?.features ?? []).map((f) => [f.name, f]));
  const changedFeatures: Record<string, { a: unknown; b: unknown }> = {};
  for (const [n, f] of fa) {
    const g = fb.get(n);
    if (g && JSON.stringify(f) !== JSON.stringify(g)) changedFeatures[n] = { a: f, b: g };
  }
  return {
    addedFeatures: [...fb.keys()].filter((n) => !fa.has(n)),
    removedFeatures: [...fa.keys()].filter((n) => !fb.has(n)),
    changedFeatures,
    outputChanged: JSON.stringify(a.outputSchema ?? null) !== JSON.stringify(b.outputSchema ?? null),
  };
}
