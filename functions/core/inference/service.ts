/**
 * Serving predictions: which version answers (explicit version, alias, or production), running
 * it (onnxruntime in-process, or a SageMaker endpoint), falling back to the previous production
 * version when production's artifact fails its checksum or cannot be loaded, and leaving a
 * capture record and serving metrics behind without waiting on them.
 *
 * Routing reads the registry through a short cache (ROUTE_CACHE_MS): a DynamoDB read per
 * prediction would cost far more than the prediction itself. A promotion is therefore served by
 * the first request after the cache expires, at most ROUTE_CACHE_MS later (docs/inference.md).
 */
import type { Principal } from '../auth/principal.js';
import type { Clock } from '../kernel/clock.js';
import { encodeInstances } from '../kernel/encode.js';
import {
  conflict,
  integrityFailed,
  isDomainError,
  modelFailed,
  notFound,
  unavailable,
  unsupported,
  validationFailed,
} from '../kernel/errors.js';
import type { InputSchema, OutputSchema } from '../kernel/model-io.js';
import { classLabel, decodeOutputs, OutputShapeError } from '../kernel/outputs.js';
import { ModelLoadError, ModelRunError } from '../kernel/runner.js';
import type { RegistryStore } from '../registry/ports.js';
import type { Model, ModelVersion } from '../registry/types.js';
import { type Explanation, explainRows, featureMeans, type LinearForm, linearForm } from './explain.js';
import type { IdBlockSource } from './ids.js';
import {
  type CaptureMessage,
  type EndpointAnswer,
  type EndpointInvoker,
  EndpointModelError,
  EndpointUnavailable,
  type PredictionStore,
  type ServingMetrics,
} from './ports.js';
import { ArtifactIntegrityError, type ModelCache, type ServingModel, sessionKey } from './sessions.js';
import { type StatsReport, summarize } from './stats.js';

/** How long routing trusts its last read of a model and its versions. */
export const ROUTE_CACHE_MS = 1_000;
/** How long a version that failed to load is not tried again (its failure is already recorded). */
export const BROKEN_RETRY_MS = 60_000;
export const MAX_INSTANCES = 10_000;
export const ALIASES = ['production', 'latest'] as const;
export type Alias = (typeof ALIASES)[number];

/** The principal under which serving records integrity failures in the registry and audit log. */
export const SERVING_PRINCIPAL: Principal = { id: 'system:inference', name: 'inference', role: 'admin' };

export interface PredictInput {
  readonly instances: readonly unknown[];
  readonly version?: string;
  readonly alias?: Alias;
  /** Sticky-assignment key for experiments; until experiments exist, routing ignores it. */
  readonly subject?: string;
  readonly explain?: boolean;
}

export interface PredictOutput {
  readonly model: string;
  readonly modelVersion: string;
  readonly runtime: 'lambda' | 'sagemaker';
  readonly predictions: (string | number)[];
  readonly probabilities?: number[][];
  readonly predictionIds: string[];
  readonly explanations?: Explanation[];
  /** Set when the routed version failed and this one answered instead. */
  readonly fallbackFrom?: string;
}

export interface InferenceDeps {
  readonly store: Pick<RegistryStore, 'getModel' | 'getVersion' | 'listProductionChanges'>;
  /** Records failures: verifying makes a mismatching version unusable, with its audit event. */
  readonly registry: {
    readonly artifacts: { verify(principal: Principal, name: string, version: string): Promise<unknown> };
    readonly lifecycle: {
      recordServingFailure(
        principal: Principal,
        name: string,
        version: string,
        reason: string,
        servedBy?: string,
      ): Promise<void>;
    };
  };
  readonly models: ModelCache;
  readonly endpoints?: EndpointInvoker;
  readonly capture: { add(message: CaptureMessage): void };
  readonly metrics: ServingMetrics;
  readonly ids: IdBlockSource;
  readonly clock: Clock;
  /** Monotonic milliseconds (performance.now). */
  readonly timer?: () => number;
  readonly routeCacheMs?: number;
  readonly log?: { warn(message: string, extra?: Record<string, unknown>): void };
}

interface Cached<T> {
  readonly value: T;
  readonly at: number;
}

interface Route {
  readonly model: Model;
  readonly version: ModelVersion;
  /** The caller named the version: no fallback to another one. */
  readonly pinned: boolean;
}

/** A version that cannot serve, and why (mapped to integrity_failed when nothing can replace it). */
class ServingFailure extends Error {
  constructor(
    message: string,
    readonly version: ModelVersion,
    readonly kind: 'integrity' | 'load',
  ) {
    super(message);
  }
}

export class InferenceService {
  private readonly models = new Map<string, Cached<Model | undefined>>();
  private readonly versions = new Map<string, Cached<ModelVersion | undefined>>();
  private readonly fallbacks = new Map<string, Cached<ModelVersion | undefined>>();
  private readonly broken = new Map<string, number>();
  private readonly forms = new WeakMap<ServingModel, LinearForm>();
  private readonly featureNames = new WeakMap<object, readonly string[]>();
  private readonly timer: () => number;
  private readonly ttl: number;

  constructor(private readonly deps: InferenceDeps) {
    this.timer = deps.timer ?? (() => performance.now());
    this.ttl = deps.routeCacheMs ?? ROUTE_CACHE_MS;
  }

  async predict(name: string, input: PredictInput): Promise<PredictOutput> {
    const started = this.timer();
    checkSize(input.instances.length);
    const route = await this.route(name, input);
    let version = route.version;
    try {
      const served = await this.serveWithFallback(route, input);
      version = served.version;
      const latencyMs = this.timer() - started;
      this.record(served.output, input.instances, latencyMs, served.version, served.schema);
      return served.output;
    } catch (err) {
      if (isServerSide(err)) {
        const code = errorCode(err);
        this.deps.metrics.served({
          model: name,
          version: version.version,
          outcome: 'error',
          errorCode: code,
          latencyMs: this.timer() - started,
          rows: input.instances.length,
          runtime: version.runtime.type,
          fallback: false,
        });
        this.deps.capture.add({
          v: 1,
          id: this.deps.ids.block().id(0),
          model: name,
          version: version.version,
          at: this.deps.clock.now().toISOString(),
          latencyMs: this.timer() - started,
          outcome: 'error',
          errorCode: code,
        });
      }
      throw err;
    }
  }

  async explain(
    name: string,
    input: Omit<PredictInput, 'explain'>,
  ): Promise<{ model: string; modelVersion: string; explanations: Explanation[] }> {
    checkSize(input.instances.length);
    const route = await this.route(name, input);
    const v = route.version;
    if (v.runtime.type !== 'lambda') {
      throw unsupported(
        `version ${v.version} runs on a SageMaker endpoint; exact explanations need the model's weights, which only ONNX versions served here expose`,
        { runtime: v.runtime.type },
      );
    }
    // Instances are checked before anything is loaded: a malformed request changes nothing.
    const batch = encodeInstances(input.instances, requireSchemas(v).inputSchema);
    let sm: ServingModel;
    try {
      this.assertServable(v, route.pinned);
      sm = this.deps.models.peek(v) ?? (await this.session(v));
    } catch (err) {
      if (err instanceof ServingFailure) {
        throw integrityFailed(`${err.message}; explanations come from the named version only`, {
          model: name,
          version: v.version,
        });
      }
      throw err;
    }
    return {
      model: name,
      modelVersion: v.version,
      explanations: this.explanations(v, sm, batch, input.instances.length),
    };
  }

  /**
   * Serving statistics of a model over [from, to) (default: the last 24 hours), per version and in
   * total, from the hourly aggregates the capture worker keeps. Hours are whole UTC hours.
   */
  async stats(
    name: string,
    store: Pick<PredictionStore, 'aggregates'>,
    query: { from?: string; to?: string; version?: string },
  ): Promise<StatsReport & { model: string }> {
    const model = await this.model(name);
    const to = query.to ? new Date(query.to) : this.deps.clock.now();
    const from = query.from ? new Date(query.from) : new Date(to.getTime() - 24 * 3600_000);
    if (from.getTime() >= to.getTime()) {
      throw validationFailed('from must be before to (to defaults to now)', {
        from: from.toISOString(),
        to: to.toISOString(),
      });
    }
    let aggregates = await store.aggregates(name, from, to);
    if (query.version) aggregates = aggregates.filter((a) => a.version === query.version);
    // Binary metrics are about the positive class: the second class of the schema, as the
    // probabilities' second column is.
    const reference = query.version ?? model.productionVersion ?? model.latestVersion;
    const schema = reference ? (await this.version(name, reference))?.outputSchema : undefined;
    const positiveLabel = schema?.kind === 'binary' ? schema.classes?.[1] : undefined;
    const report = summarize(aggregates, {
      groupByVersion: true,
      from: from.toISOString(),
      to: to.toISOString(),
      ...(positiveLabel !== undefined ? { positiveLabel } : {}),
    });
    return { model: name, ...report };
  }

  // ---- routing --------------------------------------------------------------------------

  private async route(name: string, input: PredictInput): Promise<Route> {
    if (input.version !== undefined && input.alias !== undefined) {
      throw validationFailed('give either version or alias, not both', { fields: ['version', 'alias'] });
    }
    const model = await this.model(name);
    let target: string | undefined;
    if (input.version !== undefined) target = input.version;
    else if (input.alias === 'latest') target = model.latestVersion;
    else target = model.productionVersion;
    if (target === undefined) {
      const alias = input.alias ?? 'production';
      throw conflict(
        alias === 'production'
          ? `model ${name} has no production version; name a version or promote one`
          : `model ${name} has no versions yet`,
        { model: name, alias },
      );
    }
    const version = await this.version(name, target);
    if (!version) throw notFound(`model ${name} has no version ${target}`, { model: name, version: target });
    return { model, version, pinned: input.version !== undefined };
  }

  private async model(name: string): Promise<Model> {
    const model = await this.cached(this.models, name, () => this.deps.store.getModel(name));
    if (!model) throw notFound(`model ${name} does not exist`, { model: name });
    return model;
  }

  private version(name: string, version: string): Promise<ModelVersion | undefined> {
    return this.cached(this.versions, `${name}@${version}`, () => this.deps.store.getVersion(name, version));
  }

  private async cached<T>(cache: Map<string, Cached<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const now = this.deps.clock.now().getTime();
    const hit = cache.get(key);
    if (hit && now - hit.at < this.ttl) return hit.value;
    const value = await load();
    cache.set(key, { value, at: now });
    return value;
  }

  /** Whether the version may serve at all; unusable ones go to the fallback path. */
  private assertServable(v: ModelVersion, pinned: boolean): void {
    if (v.status === 'pending') {
      throw conflict(`version ${v.version} has no completed upload yet`, {
        version: v.version,
        status: v.status,
      });
    }
    if (pinned && v.stage === 'archived') {
      throw conflict(`version ${v.version} is archived; restore it to staging to serve it`, {
        version: v.version,
        stage: v.stage,
      });
    }
    if (v.status === 'unusable') {
      throw new ServingFailure(
        `version ${v.version} is unusable: ${v.unusableReason ?? 'its artifact failed a checksum check'}`,
        v,
        'integrity',
      );
    }
  }

  // ---- serving --------------------------------------------------------------------------

  private async serveWithFallback(
    route: Route,
    input: PredictInput,
  ): Promise<{ output: PredictOutput; version: ModelVersion; schema: OutputSchema }> {
    try {
      this.assertServable(route.version, route.pinned);
      return await this.serve(route.model.name, route.version, input);
    } catch (err) {
      if (!(err instanceof ServingFailure)) throw err;
      const failing = route.version;
      const allowed = !route.pinned && route.model.fallback !== false;
      const replacement = allowed ? await this.fallbackFor(route.model, failing) : undefined;
      if (!replacement) {
        throw integrityFailed(
          `${err.message}; ${
            route.pinned
              ? 'the request named this version, so no other version answers'
              : route.model.fallback === false
                ? "the model's policy does not allow a fallback"
                : 'no earlier production version can answer instead'
          }`,
          { model: route.model.name, version: failing.version, fallback: null },
        );
      }
      this.deps.log?.warn('serving a fallback version', {
        model: route.model.name,
        failed: failing.version,
        servedBy: replacement.version,
      });
      const served = await this.serve(route.model.name, replacement, input);
      return { ...served, output: { ...served.output, fallbackFrom: failing.version } };
    }
  }

  /** The newest earlier production version that is ready, other than the failing one. */
  private async fallbackFor(model: Model, failing: ModelVersion): Promise<ModelVersion | undefined> {
    return this.cached(this.fallbacks, sessionKey(failing), async () => {
      const page = await this.deps.store.listProductionChanges(model.name, { limit: 25 });
      const seen = new Set<string>([failing.version]);
      for (const change of page.items) {
        for (const candidate of [change.previous, change.version]) {
          if (candidate === undefined || seen.has(candidate)) continue;
          seen.add(candidate);
          const v = await this.deps.store.getVersion(model.name, candidate);
          if (v && v.status === 'ready' && v.stage !== 'archived' && !this.isBroken(v)) return v;
        }
      }
      return undefined;
    });
  }

  private isBroken(v: ModelVersion): boolean {
    const until = this.broken.get(sessionKey(v));
    return until !== undefined && until > this.deps.clock.now().getTime();
  }

  private async serve(
    name: string,
    v: ModelVersion,
    input: PredictInput,
  ): Promise<{ output: PredictOutput; version: ModelVersion; schema: OutputSchema }> {
    if (v.runtime.type === 'sagemaker') return this.serveRemote(name, v, v.runtime.endpointName, input);
    // Instances are checked before anything is loaded: a malformed request changes nothing.
    const batch = encodeInstances(input.instances, requireSchemas(v).inputSchema);
    const sm = this.deps.models.peek(v) ?? (await this.session(v));
    const rows = input.instances.length;
    let outputs: Awaited<ReturnType<typeof sm.model.run>>;
    try {
      outputs = await sm.model.run(
        batch,
        rows,
        sm.inputSchema.features.length,
        sm.inputSchema.tensor,
        sm.fetch,
      );
    } catch (err) {
      if (err instanceof ModelRunError) {
        throw modelFailed(`the model failed on this batch: ${err.message}`, { version: v.version });
      }
      throw err;
    }
    let predictions: (string | number)[];
    let probabilities: number[][] | undefined;
    try {
      const decoded = decodeOutputs(outputs, sm.plan, rows);
      if (decoded.kind === 'regression') predictions = decoded.values;
      else {
        predictions = decoded.classIndex.map((i) => classLabel(sm.outputSchema, i));
        probabilities = decoded.probabilities;
      }
    } catch (err) {
      if (err instanceof OutputShapeError) {
        throw modelFailed(`the model answered in a shape its schema does not describe: ${err.message}`, {
          version: v.version,
        });
      }
      throw err;
    }
    const ids = this.deps.ids.block().ids(rows);
    const output: PredictOutput = {
      model: name,
      modelVersion: v.version,
      runtime: 'lambda',
      predictions,
      ...(probabilities ? { probabilities } : {}),
      predictionIds: ids,
      ...(input.explain ? { explanations: this.explanations(v, sm, batch, rows) } : {}),
    };
    return { output, version: v, schema: sm.outputSchema };
  }

  private async serveRemote(
    name: string,
    v: ModelVersion,
    endpoint: string,
    input: PredictInput,
  ): Promise<{ output: PredictOutput; version: ModelVersion; schema: OutputSchema }> {
    const { inputSchema, outputSchema: schema } = requireSchemas(v);
    if (input.explain) {
      throw unsupported(
        `version ${v.version} runs on a SageMaker endpoint; explanations need an ONNX version`,
      );
    }
    if (!this.deps.endpoints) throw unavailable('SageMaker delegation is not configured here');
    const f = inputSchema.features.length;
    const rows = input.instances.length;
    const batch = encodeInstances(input.instances, inputSchema);
    const matrix: number[][] = new Array(rows);
    for (let r = 0; r < rows; r++) matrix[r] = Array.from(batch.subarray(r * f, (r + 1) * f));
    let answer: EndpointAnswer;
    try {
      answer = await this.deps.endpoints.invoke(endpoint, matrix);
    } catch (err) {
      if (err instanceof EndpointModelError) {
        throw modelFailed(`endpoint ${endpoint} failed: ${err.message}`, {
          ...err.details,
          version: v.version,
        });
      }
      if (err instanceof EndpointUnavailable) {
        throw unavailable(`endpoint ${endpoint} is unavailable (${err.reason}): ${err.message}`, {
          ...err.details,
          reason: err.reason,
          version: v.version,
          ...(err.retryAfterSeconds !== undefined ? { retryAfterSeconds: err.retryAfterSeconds } : {}),
        });
      }
      throw err;
    }
    let predictions: (string | number)[];
    let probabilities: number[][] | undefined;
    if (answer.probabilities) {
      probabilities = answer.probabilities;
      predictions = answer.probabilities.map((p) => {
        let best = 0;
        for (let c = 1; c < p.length; c++) if ((p[c] as number) > (p[best] as number)) best = c;
        return schema.kind === 'regression' ? (p[0] as number) : classLabel(schema, best);
      });
      if (schema.kind === 'regression') probabilities = undefined;
    } else {
      predictions =
        schema.kind === 'regression'
          ? answer.values
          : answer.values.map((x) => classLabel(schema, Math.round(x)));
    }
    const output: PredictOutput = {
      model: name,
      modelVersion: v.version,
      runtime: 'sagemaker',
      predictions,
      ...(probabilities ? { probabilities } : {}),
      predictionIds: this.deps.ids.block().ids(rows),
    };
    return { output, version: v, schema };
  }

  /** The loaded model, or a ServingFailure once the failure is recorded in the registry. */
  private async session(v: ModelVersion): Promise<ServingModel> {
    if (this.isBroken(v)) {
      throw new ServingFailure(`version ${v.version} could not be loaded; retried after a pause`, v, 'load');
    }
    try {
      return await this.deps.models.get(v);
    } catch (err) {
      if (err instanceof ArtifactIntegrityError) {
        this.deps.metrics.integrityFailure(v.model, v.version);
        // verify re-reads the object, marks the version unusable and writes the audit event; it
        // throws integrity_failed, which is the expected outcome here.
        await this.deps.registry.artifacts
          .verify(SERVING_PRINCIPAL, v.model, v.version)
          .catch(() => undefined);
        this.versions.delete(`${v.model}@${v.version}`);
        this.broken.set(sessionKey(v), this.deps.clock.now().getTime() + BROKEN_RETRY_MS);
        throw new ServingFailure(
          `version ${v.version} failed its integrity check: ${err.message}`,
          v,
          'integrity',
        );
      }
      if (err instanceof ModelLoadError) {
        this.broken.set(sessionKey(v), this.deps.clock.now().getTime() + BROKEN_RETRY_MS);
        await this.deps.registry.lifecycle
          .recordServingFailure(SERVING_PRINCIPAL, v.model, v.version, err.message)
          .catch(() => undefined);
        throw new ServingFailure(`version ${v.version} could not be loaded: ${err.message}`, v, 'load');
      }
      throw err;
    }
  }

  private explanations(v: ModelVersion, sm: ServingModel, batch: Float32Array, rows: number): Explanation[] {
    let form = this.forms.get(sm);
    if (!form) {
      form = linearForm(sm.bytes, sm.inputSchema.features.length);
      this.forms.set(sm, form);
    }
    const means = featureMeans(v, sm.inputSchema);
    return explainRows(form, batch, rows, this.names(sm.inputSchema), means);
  }

  private names(schema: { features: readonly { name: string }[] }): readonly string[] {
    let names = this.featureNames.get(schema);
    if (!names) {
      names = schema.features.map((f) => f.name);
      this.featureNames.set(schema, names);
    }
    return names;
  }

  // ---- capture and metrics --------------------------------------------------------------

  private record(
    out: PredictOutput,
    instances: readonly unknown[],
    latencyMs: number,
    v: ModelVersion,
    schema: OutputSchema,
  ): void {
    this.deps.metrics.served({
      model: out.model,
      version: out.modelVersion,
      outcome: 'ok',
      latencyMs,
      rows: instances.length,
      runtime: out.runtime,
      fallback: out.fallbackFrom !== undefined,
    });
    // References only: the buffer serialises later, off the response path.
    this.deps.capture.add({
      v: 1,
      id: out.predictionIds[0] as string,
      model: out.model,
      version: out.modelVersion,
      at: this.deps.clock.now().toISOString(),
      latencyMs,
      outcome: 'ok',
      kind: schema.kind,
      features: v.inputSchema ? this.names(v.inputSchema) : undefined,
      predictionIds: out.predictionIds,
      instances,
      predictions: out.predictions,
      ...(out.probabilities ? { probabilities: out.probabilities } : {}),
    });
  }
}

function requireSchemas(v: ModelVersion): { inputSchema: InputSchema; outputSchema: OutputSchema } {
  if (!v.inputSchema || !v.outputSchema) {
    throw validationFailed(
      `version ${v.version} of ${v.model} has no input and output schema, so it cannot serve predictions`,
      { model: v.model, version: v.version },
    );
  }
  return { inputSchema: v.inputSchema, outputSchema: v.outputSchema };
}

function checkSize(n: number): void {
  if (n === 0) throw validationFailed('instances must hold at least one instance', { field: 'instances' });
  if (n > MAX_INSTANCES) {
    throw validationFailed(`at most ${MAX_INSTANCES} instances per request; split the batch`, {
      field: 'instances',
      limit: MAX_INSTANCES,
      given: n,
    });
  }
}

/** Failures of ours or of the model, counted as serving errors (client mistakes are not). */
function isServerSide(err: unknown): boolean {
  return (
    isDomainError(err, 'model_error') ||
    isDomainError(err, 'integrity_failed') ||
    isDomainError(err, 'unavailable') ||
    // Anything that is not a domain error is a fault of ours (an SDK or network error carries a
    // `code` of its own, which must not pass for a client mistake).
    !isDomainError(err)
  );
}

function errorCode(err: unknown): string {
  return isDomainError(err) ? err.code : 'internal';
}
