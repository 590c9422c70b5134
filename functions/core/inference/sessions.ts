/**
 * Loaded models, cached per container and keyed by model, version and artifact SHA-256: the
 * bytes are fetched once, their SHA-256 checked BEFORE the runtime sees them, and the session
 * kept for later requests. A different checksum for the same version (a re-upload completed
 * elsewhere) is a different key, so a stale session can never answer for new bytes.
 */
import { createHash } from 'node:crypto';
import { validationFailed } from '../kernel/errors.js';
import type { InputSchema, OutputSchema } from '../kernel/model-io.js';
import { type OutputPlan, planOutputs } from '../kernel/outputs.js';
import { type LoadedModel, ModelLoadError, type ModelRunner } from '../kernel/runner.js';
import { servableBytes } from '../onnx/servable.js';
import type { ArtifactStore } from '../registry/ports.js';
import type { ModelVersion } from '../registry/types.js';

export interface ServingModel {
  readonly key: string;
  readonly model: LoadedModel;
  readonly plan: OutputPlan;
  /** The one output the plan reads: the only one fetched on the hot path. */
  readonly fetch: readonly string[];
  readonly inputSchema: InputSchema;
  readonly outputSchema: OutputSchema;
  /** Bytes of the verified artifact (for explanations that read the graph's weights). */
  readonly bytes: Uint8Array;
}

/** The artifact is missing or its bytes do not hash to the recorded SHA-256. */
export class ArtifactIntegrityError extends Error {
  override readonly name = 'ArtifactIntegrityError';
  constructor(
    message: string,
    readonly expected: string,
    readonly actual: string | null,
  ) {
    super(message);
  }
}

export function sessionKey(v: Pick<ModelVersion, 'model' | 'version' | 'artifact'>): string {
  return `${v.model}@${v.version}#${v.artifact.sha256}`;
}

export class ModelCache {
  private readonly entries = new Map<string, Promise<ServingModel>>();
  /** Loaded models by key, for callers that can skip a promise tick on the hot path. */
  private readonly ready = new Map<string, ServingModel>();
  private readonly keys = new WeakMap<ModelVersion, string>();

  constructor(
    private readonly deps: { readonly artifacts: ArtifactStore; readonly runner: ModelRunner },
    /** Sessions kept; the least recently used is released beyond this. */
    private readonly capacity = 16,
  ) {}

  /**
   * The session for a version. Concurrent callers share one load; a failed load is not cached,
   * so the next request tries again (after the registry has been told). Rejects with
   * ArtifactIntegrityError, ModelLoadError or validation_failed (no usable schema).
   */
  get(v: ModelVersion): Promise<ServingModel> {
    const key = sessionKey(v);
    const hit = this.entries.get(key);
    if (hit) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const loading = this.load(key, v);
    this.entries.set(key, loading);
    loading.then(
      (m) => {
        if (this.entries.get(key) === loading) this.ready.set(key, m);
      },
      () => {
        if (this.entries.get(key) === loading) this.entries.delete(key);
      },
    );
    this.evict();
    return loading;
  }

  /** The loaded model if it is ready now (no promise), else undefined. */
  peek(v: ModelVersion): ServingModel | undefined {
    // Per version object (the router keeps one per version while it is cached): building and
    // hashing the key, checksum included, on every request cost more than the lookup itself.
    let key = this.keys.get(v);
    if (key === undefined) {
      key = sessionKey(v);
      this.keys.set(v, key);
    }
    return this.ready.get(key);
  }

  private async load(key: string, v: ModelVersion): Promise<ServingModel> {
    if (!v.inputSchema || !v.outputSchema) {
      throw validationFailed(
        `version ${v.version} of ${v.model} has no input and output schema, so it cannot serve predictions`,
        { model: v.model, version: v.version },
      );
    }
    const bytes = await this.deps.artifacts.get(v.artifact.key, v.artifact.versionId);
    if (!bytes) throw new ArtifactIntegrityError('the stored artifact is missing', v.artifact.sha256, null);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== v.artifact.sha256) {
      throw new ArtifactIntegrityError(
        'the stored artifact does not match its recorded sha256',
        v.artifact.sha256,
        actual,
      );
    }
    const model = await this.deps.runner.load(servableBytes(bytes));
    const planned = planOutputs(model.outputs, v.outputSchema);
    if (!planned.ok) {
      await model.release().catch(() => undefined);
      throw new ModelLoadError(`the model's outputs do not fit its output schema: ${planned.reason}`);
    }
    return {
      key,
      model,
      plan: planned.plan,
      fetch: [planned.plan.kind === 'regression' ? planned.plan.output : planned.plan.probabilities],
      inputSchema: v.inputSchema,
      outputSchema: v.outputSchema,
      bytes,
    };
  }

  private evict(): void {
    while (this.entries.size > this.capacity) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Promise<ServingModel>];
      this.entries.delete(oldest);
      this.ready.delete(oldest);
      // A request may still be running on it: release once it has surely finished.
      entry
        .then((m) => setTimeout(() => void m.model.release().catch(() => undefined), 30_000).unref())
        .catch(() => undefined);
    }
  }
}
