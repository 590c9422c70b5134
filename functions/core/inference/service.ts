/**
 * Serving predictions: which version answers (routing.ts, or the running experiment's variant:
 * experiment-routing.ts), running it (onnxruntime in-process, or a SageMaker endpoint), falling
 * back to the previous production version when production's artifact fails its checksum or cannot
 * be loaded, and leaving a capture record and serving metrics behind without waiting on them.
 * A shadow experiment's variant runs on a copy of the request after the answer is out.
 */
import type { Principal } from '../auth/principal.js';
import type { Clock } from '../kernel/clock.js';
import { encodeInstances } from '../kernel/encode.js';
import {
  integrityFailed,
  isDomainError,
  modelFailed,
  unsupported,
  validationFailed,
} from '../kernel/errors.js';
import { isoTime } from '../kernel/iso-time.js';
import type { InputSchema, OutputSchema } from '../kernel/model-io.js';
import { classLabel, decodeOutputs, OutputShapeError } from '../kernel/outputs.js';
import { ModelLoadError, type ModelOutputs, ModelRunError } from '../kernel/runner.js';
import { holdsSharedJson, shareJson, worthSharing } from '../kernel/shared-json.js';
import type { RegistryStore } from '../registry/ports.js';
import type { ModelVersion } from '../registry/types.js';
import { DeferredWork } from './deferred.js';
import { serveOnEndpoint } from './endpoint-serving.js';
import { type ExperimentRoute, ExperimentRouter } from './experiment-routing.js';
import type { Explanation, LinearForm } from './explain.js';
import type { IdBlockSource } from './ids.js';
import type {
  BackgroundSource,
  CaptureMessage,
  EndpointInvoker,
  ExperimentReader,
  PredictionStore,
  ServingMetrics,
} from './ports.js';
import {
  checkContext,
  checkSize,
  type PredictInput,
  type PredictOutput,
  requireSchemas,
  type Served,
} from './predict-request.js';
import { type Route, VersionRouter } from './routing.js';
import { assertServable, ServingFailure } from './serving-failure.js';
import { ArtifactIntegrityError, type ModelCache, type ServingModel, sessionKey } from './sessions.js';
import type { ShapExplanation, ShapOutput } from './shap-explain.js';
import type { StatsReport } from './stats.js';

/**
 * The closed-form explanations' code, imported by the first request that asks for an explanation
 * (as Kernel SHAP's and the statistics' are, where they are used): predict's cold start does not
 * load what only explain and stats run, as it does not load feedback's (issue 13). Held once
 * loaded, so that a prediction with `explain: true` is still answered without an await after that.
 */
let closedForm: typeof import('./explain.js') | undefined;
async function loadClosedForm(): Promise<void> {
  closedForm ??= await import('./explain.js');
}
/** The closed form's code, which predict() and explain() load before anything uses it. */
function loadedClosedForm(): typeof import('./explain.js') {
  if (!closedForm) throw new Error('the closed form is used before it is loaded');
  return closedForm;
}

/** How long a version that failed to load is not tried again (its failure is already recorded). */
export const BROKEN_RETRY_MS = 60_000;

/** The principal under which serving records integrity failures in the registry and audit log. */
export const SERVING_PRINCIPAL: Principal = { id: 'system:inference', name: 'inference', role: 'admin' };

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
  /** The running experiments; without it, every request is served as if none ran. */
  readonly experiments?: ExperimentReader;
  /** Uniform in [0, 1): assigns requests without a subject (tests make it deterministic). */
  readonly random?: () => number;
  /**
   * Where shadow runs wait for the answer to be out; flushDeferred() runs them. Default: a
   * DeferredWork that also runs them by itself 10 ms later.
   */
  readonly deferred?: DeferredWork;
  readonly log?: { warn(message: string, extra?: Record<string, unknown>): void };
  /** Default background rows of explanations: a sample of the model's baseline. */
  readonly backgrounds?: BackgroundSource;
}

/** Model rows one explain request may run (instances × coalitions × background rows). */
export const MAX_EXPLAIN_ROWS = 5_000_000;
/** Input values of that one batch (rows × features float32s: 200 MB). */
export const MAX_EXPLAIN_VALUES = 50_000_000;

export interface ExplainInput extends Omit<PredictInput, 'explain'> {
  readonly background?: readonly unknown[];
  readonly nsamples?: number;
  readonly output?: ShapOutput;
  readonly seed?: number;
}

export class InferenceService {
  private readonly router: VersionRouter;
  private readonly experimentRouter: ExperimentRouter | undefined;
  private readonly deferred: DeferredWork;
  private readonly broken = new Map<string, number>();
  private readonly fallbacksRecorded = new Set<string>();
  private readonly forms = new WeakMap<ServingModel, LinearForm | null>();
  private readonly featureNames = new WeakMap<object, readonly string[]>();
  private readonly timer: () => number;

  constructor(private readonly deps: InferenceDeps) {
    this.timer = deps.timer ?? (() => performance.now());
    this.router = new VersionRouter(deps.store, deps.clock, deps.routeCacheMs);
    this.experimentRouter = deps.experiments
      ? new ExperimentRouter(deps.experiments, deps.clock, {
          ...(deps.routeCacheMs !== undefined ? { ttl: deps.routeCacheMs } : {}),
          ...(deps.random ? { random: deps.random } : {}),
          ...(deps.log ? { log: deps.log } : {}),
        })
      : undefined;
    this.deferred =
      deps.deferred ??
      new DeferredWork({
        autoFlushMs: 10,
        onDropped: (dropped) => deps.log?.warn('shadow runs dropped: too many pending', { dropped }),
      });
  }

  /** Runs the work deferred past the answers (shadow runs); their captures are then in the buffer. */
  flushDeferred(): Promise<void> {
    return this.deferred.flush();
  }

  async predict(name: string, input: PredictInput): Promise<PredictOutput> {
    const started = this.timer();
    checkSize(input.instances.length);
    if (input.context !== undefined) checkContext(input);
    // Loaded before anything is served: answer() adds the explanations without an await.
    if (input.explain && !closedForm) await loadClosedForm();
    let experiment = this.experimentFor(name, input);
    if (experiment instanceof Promise) {
      // Awaited only when the cached read expired: an await per request is measurable here.
      // Meanwhile the model is read too, which either route needs (a cold start's first
      // request waits one round trip less).
      this.router.prefetch(name);
      experiment = await experiment;
    }
    let route = experiment ? await this.variantRoute(name, experiment) : undefined;
    // A variant whose version cannot be read serves nothing: production answers, untagged.
    if (experiment && !route) experiment = undefined;
    if (!route) {
      // A fresh cache answers at once: no await on the warm path.
      const routed = this.router.routeNow(name, input);
      route = routed instanceof Promise ? await routed : routed;
    }
    const tag = experiment ? experimentTag(experiment, experiment.variant.name, input.subject) : undefined;
    let version = route.version;
    try {
      const serving = this.serveWithFallback(route, input);
      const served = serving instanceof Promise ? await serving : serving;
      version = served.version;
      const latencyMs = this.timer() - started;
      // serve() built this answer for this request alone: adding to it costs less than a copy.
      const output: PredictOutput = tag
        ? Object.assign(served.output, { experimentId: tag.experimentId, variant: tag.variant })
        : served.output;
      this.record(output, input, latencyMs, served.version, served.schema, tag);
      if (experiment?.shadow) {
        const shadow = experiment.shadow;
        this.deferred.add(() => this.runShadow(name, experiment, shadow, input, { ...served, output }));
      }
      return output;
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
          at: isoTime(this.deps.clock.now()),
          latencyMs: this.timer() - started,
          outcome: 'error',
          errorCode: code,
          ...tag,
        });
      }
      throw err;
    }
  }

  // ---- experiments ----------------------------------------------------------------------

  /** The running experiment's route for a request that names neither a version nor an alias. */
  private experimentFor(
    name: string,
    input: PredictInput,
  ): ExperimentRoute | undefined | Promise<ExperimentRoute | undefined> {
    if (!this.experimentRouter || input.version !== undefined || input.alias !== undefined) return undefined;
    return this.experimentRouter.route(name, input.subject);
  }

  /**
   * The variant's version, pinned: a variant answers as itself or fails, so a canary's failures
   * count against it instead of being hidden by a fallback. A shadow's control is the production
   * version (start() requires it) and answers as production does, fallback included; it is named
   * here rather than read through the production route so that the answer and its `variant` agree
   * even while the route cache still holds an earlier production.
   */
  private async variantRoute(name: string, e: ExperimentRoute): Promise<Route | undefined> {
    const model = await this.router.model(name);
    const version = await this.router.version(name, e.variant.version);
    if (!version) {
      this.deps.log?.warn('experiment variant version not found; serving production', {
        model: name,
        experimentId: e.experiment.id,
        variant: e.variant.name,
        version: e.variant.version,
      });
      return undefined;
    }
    return { model, version, pinned: !e.shadow };
  }

  /**
   * The shadow variant on a copy of the request, after the answer: its output is captured
   * (shadow: true, with per-row agreement and score difference against what the client got) and
   * never returned. Its failures are captured as the shadow's errors and logged, nothing more.
   */
  private async runShadow(
    name: string,
    e: ExperimentRoute,
    shadow: NonNullable<ExperimentRoute['shadow']>,
    input: PredictInput,
    control: Served,
  ): Promise<void> {
    const started = this.timer();
    const tag = { ...experimentTag(e, shadow.name, input.subject), shadow: true };
    try {
      const v = await this.router.version(name, shadow.version);
      if (!v)
        throw validationFailed(`shadow version ${shadow.version} does not exist`, {
          version: shadow.version,
        });
      assertServable(v, true);
      const served = await this.serve(name, v, { instances: input.instances });
      const latencyMs = this.timer() - started;
      const compared = compareAnswers(control, served);
      const message: CaptureMessage = {
        v: 1,
        id: served.output.predictionIds[0] as string,
        model: name,
        version: v.version,
        at: isoTime(this.deps.clock.now()),
        latencyMs,
        outcome: 'ok',
        kind: served.schema.kind,
        features: v.inputSchema ? this.names(v.inputSchema) : undefined,
        predictionIds: served.output.predictionIds,
        instances: input.instances,
        predictions: served.output.predictions,
        ...(served.output.probabilities ? { probabilities: served.output.probabilities } : {}),
        ...tag,
        agreement: compared.agreement,
        ...(compared.scoreDiff ? { scoreDiff: compared.scoreDiff } : {}),
      };
      // Its instances and arrays are the control's and its own answer's, marked there.
      if (worthSharing(input.instances)) holdsSharedJson(message);
      this.deps.capture.add(message);
    } catch (err) {
      this.deps.log?.warn('shadow run failed', {
        model: name,
        experimentId: e.experiment.id,
        variant: shadow.name,
        error: String(err),
      });
      this.deps.capture.add({
        v: 1,
        id: this.deps.ids.block().id(0),
        model: name,
        version: shadow.version,
        at: isoTime(this.deps.clock.now()),
        latencyMs: this.timer() - started,
        outcome: 'error',
        errorCode: err instanceof ServingFailure ? 'integrity_failed' : errorCode(err),
        ...tag,
      });
    }
  }

  /**
   * Attributions per instance. Linear and logistic models written by Serval get their closed form
   * (against params.featureMeans) unless another output or a background is asked for; every other
   * ONNX model, or such a request, gets Kernel SHAP (shap-explain.ts) against the background given,
   * else a sample of the model's baseline, else the training means.
   */
  async explain(
    name: string,
    input: ExplainInput,
  ): Promise<{ model: string; modelVersion: string; explanations: (Explanation | ShapExplanation)[] }> {
    checkSize(input.instances.length);
    await loadClosedForm();
    const route = await this.router.route(name, input);
    const v = route.version;
    if (v.runtime.type !== 'lambda') {
      throw unsupported(
        `version ${v.version} runs on a SageMaker endpoint; explanations run the model thousands of times per instance, which only ONNX versions served here do`,
        { runtime: v.runtime.type },
      );
    }
    // Instances are checked before anything is loaded: a malformed request changes nothing.
    const schema = requireSchemas(v).inputSchema;
    const batch = encodeInstances(input.instances, schema);
    const given = input.background ? encodeInstances(input.background, schema) : undefined;
    let sm: ServingModel;
    try {
      assertServable(v, route.pinned);
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
    const rows = input.instances.length;
    const form = this.linearFormOf(sm);
    const closed =
      form !== null &&
      given === undefined &&
      input.nsamples === undefined &&
      (input.output === undefined || input.output === (form.space === 'logit' ? 'logit' : 'raw')) &&
      loadedClosedForm().hasFeatureMeans(v);
    if (closed)
      return { model: name, modelVersion: v.version, explanations: this.explanations(v, sm, batch, rows) };
    const shap = await import('./shap-explain.js');
    const background = given ?? (await this.background(name, v, schema, shap.MAX_BACKGROUND));
    const features = schema.features.length;
    const coalitions = Math.min(
      2 ** Math.min(features, 30) - 2,
      input.nsamples ?? shap.defaultSamples(features),
    );
    const cost = rows * (1 + (coalitions + 1) * (background.length / features));
    // One batch holds every row of the request (rows × features float32s).
    if (cost > MAX_EXPLAIN_ROWS || cost * features > MAX_EXPLAIN_VALUES) {
      throw validationFailed(
        `this request would run the model on ${cost} rows of ${features} features (instances × coalitions × background rows); the limits are ${MAX_EXPLAIN_ROWS} rows and ${MAX_EXPLAIN_VALUES} values: send fewer instances, fewer background rows or a smaller nsamples`,
        { rows: cost, limit: MAX_EXPLAIN_ROWS, values: cost * features, valueLimit: MAX_EXPLAIN_VALUES },
      );
    }
    try {
      const explanations = await shap.shapExplain(sm, batch, rows, background, {
        ...(input.output !== undefined ? { output: input.output } : {}),
        ...(input.nsamples !== undefined ? { nsamples: input.nsamples } : {}),
        ...(input.seed !== undefined ? { seed: input.seed } : {}),
      });
      return { model: name, modelVersion: v.version, explanations };
    } catch (err) {
      if (err instanceof ModelRunError || err instanceof OutputShapeError) {
        throw modelFailed(`the model failed while being explained: ${err.message}`, { version: v.version });
      }
      throw err;
    }
  }

  /** A linear model's weights, or null for any other model (read once per session). */
  private linearFormOf(sm: ServingModel): LinearForm | null {
    if (this.forms.has(sm)) return this.forms.get(sm)!;
    let form: LinearForm | null = null;
    try {
      form = loadedClosedForm().linearForm(sm.bytes, sm.inputSchema.features.length);
    } catch (err) {
      if (!isDomainError(err, 'unsupported')) throw err;
    }
    this.forms.set(sm, form);
    return form;
  }

  /** The default background: a sample of the baseline, else the training means as one row. */
  private async background(
    name: string,
    v: ModelVersion,
    schema: InputSchema,
    limit: number,
  ): Promise<Float32Array> {
    const rows = await this.deps.backgrounds?.rows(name, v.version, limit);
    if (rows && rows.length > 0) return encodeInstances(rows, schema);
    const code = loadedClosedForm();
    if (code.hasFeatureMeans(v)) return Float32Array.from(code.featureMeans(v, schema));
    throw validationFailed(
      `model ${name} has no baseline and version ${v.version} no params.featureMeans to explain against: send background rows`,
      { field: 'background' },
    );
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
    const model = await this.router.model(name);
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
    const schema = reference ? (await this.router.version(name, reference))?.outputSchema : undefined;
    const positiveLabel = schema?.kind === 'binary' ? schema.classes?.[1] : undefined;
    const { summarize } = await import('./stats.js');
    const report = summarize(aggregates, {
      groupByVersion: true,
      from: from.toISOString(),
      to: to.toISOString(),
      ...(positiveLabel !== undefined ? { positiveLabel } : {}),
    });
    return { model: name, ...report };
  }

  // ---- serving --------------------------------------------------------------------------

  /** The answer itself when the model is loaded and runs synchronously; a promise otherwise. */
  private serveWithFallback(route: Route, input: PredictInput): Served | Promise<Served> {
    let served: Served | Promise<Served>;
    try {
      assertServable(route.version, route.pinned);
      served = this.serve(route.model.name, route.version, input);
    } catch (err) {
      return this.fallback(route, input, err);
    }
    return served instanceof Promise ? served.catch((err) => this.fallback(route, input, err)) : served;
  }

  /** Another version's answer when this one cannot serve (a ServingFailure); any other error as is. */
  private async fallback(route: Route, input: PredictInput, err: unknown): Promise<Served> {
    if (!(err instanceof ServingFailure)) throw err;
    const failing = route.version;
    const allowed = !route.pinned && route.model.fallback !== false;
    const replacement = allowed
      ? await this.router.fallbackFor(route.model, failing, (v) => this.isBroken(v))
      : undefined;
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
    await this.recordFallback(route.model.name, failing.version, replacement.version, err.message);
    const served = await this.serve(route.model.name, replacement, input);
    return { ...served, output: { ...served.output, fallbackFrom: failing.version } };
  }

  /**
   * Records (audit, lifecycle event, alert) that another version answered for a failing one —
   * once per pair and container: every request while it lasts would bury the audit feed, and the
   * alert is deduplicated per pair anyway.
   */
  private async recordFallback(
    model: string,
    failing: string,
    servedBy: string,
    reason: string,
  ): Promise<void> {
    const key = `${model}@${failing}>${servedBy}`;
    if (this.fallbacksRecorded.has(key)) return;
    if (this.fallbacksRecorded.size >= 1000) this.fallbacksRecorded.clear();
    this.fallbacksRecorded.add(key);
    await this.deps.registry.lifecycle
      .recordServingFailure(SERVING_PRINCIPAL, model, failing, `fallback: ${reason}`, servedBy)
      .catch((error: unknown) => {
        this.fallbacksRecorded.delete(key);
        this.deps.log?.warn('fallback not recorded', { model, failing, servedBy, error: String(error) });
      });
  }

  private isBroken(v: ModelVersion): boolean {
    const until = this.broken.get(sessionKey(v));
    return until !== undefined && until > this.deps.clock.now().getTime();
  }

  /**
   * The answer itself when the model is loaded and runs synchronously (onnxruntime's native
   * session): no await on the warm path. Throws or rejects alike; callers await in a try.
   */
  private serve(name: string, v: ModelVersion, input: PredictInput): Served | Promise<Served> {
    if (v.runtime.type === 'sagemaker')
      return serveOnEndpoint(this.deps.endpoints, this.deps.ids, name, v, v.runtime.endpointName, input);
    // Instances are checked before anything is loaded: a malformed request changes nothing.
    const batch = encodeInstances(input.instances, requireSchemas(v).inputSchema);
    const sm = this.deps.models.peek(v);
    return sm
      ? this.runOn(name, v, input, batch, sm)
      : this.session(v).then((loaded) => this.runOn(name, v, input, batch, loaded));
  }

  private runOn(
    name: string,
    v: ModelVersion,
    input: PredictInput,
    batch: Float32Array,
    sm: ServingModel,
  ): Served | Promise<Served> {
    const rows = input.instances.length;
    const features = sm.inputSchema.features.length;
    let outputs: ModelOutputs | Promise<ModelOutputs>;
    try {
      outputs = sm.model.runNow
        ? sm.model.runNow(batch, rows, features, sm.inputSchema.tensor, sm.fetch)
        : sm.model.run(batch, rows, features, sm.inputSchema.tensor, sm.fetch);
    } catch (err) {
      throw runFailed(err, v);
    }
    if (outputs instanceof Promise) {
      return outputs.then(
        (o) => this.answer(name, v, input, batch, sm, rows, o),
        (err) => {
          throw runFailed(err, v);
        },
      );
    }
    return this.answer(name, v, input, batch, sm, rows, outputs);
  }

  private answer(
    name: string,
    v: ModelVersion,
    input: PredictInput,
    batch: Float32Array,
    sm: ServingModel,
    rows: number,
    outputs: ModelOutputs,
  ): Served {
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
    // Built field by field in the answer's order: conditional spreads are runtime calls per request.
    const output = {
      model: name,
      modelVersion: v.version,
      runtime: 'lambda',
      predictions,
    } as Mutable<PredictOutput>;
    if (worthSharing(ids)) {
      // The answer and its capture message both carry these arrays: serialised once, for both.
      shareJson(predictions);
      if (probabilities) shareJson(probabilities);
      shareJson(ids);
      holdsSharedJson(output);
    }
    if (probabilities) output.probabilities = probabilities;
    output.predictionIds = ids;
    if (input.explain) output.explanations = this.explanations(v, sm, batch, rows);
    return { output, version: v, schema: sm.outputSchema };
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
        this.router.forget(v);
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
    // Predictions with `explain: true` are answered in the closed form only (it costs nothing).
    const code = loadedClosedForm();
    const form = this.linearFormOf(sm) ?? code.linearForm(sm.bytes, sm.inputSchema.features.length);
    const means = code.featureMeans(v, sm.inputSchema);
    return code.explainRows(form, batch, rows, this.names(sm.inputSchema), means);
  }

  private names(schema: { features: readonly { name: string }[] }): readonly string[] {
    let names = this.featureNames.get(schema);
    if (!names) {
      names = schema.features.map((f) => f.name);
      // In every capture message of the version: serialised once per process.
      if (worthSharing(names)) shareJson(names);
      this.featureNames.set(schema, names);
    }
    return names;
  }

  // ---- capture and metrics --------------------------------------------------------------

  private record(
    out: PredictOutput,
    input: PredictInput,
    latencyMs: number,
    v: ModelVersion,
    schema: OutputSchema,
    tag?: ExperimentTag,
  ): void {
    this.deps.metrics.served({
      model: out.model,
      version: out.modelVersion,
      outcome: 'ok',
      latencyMs,
      rows: input.instances.length,
      runtime: out.runtime,
      fallback: out.fallbackFrom !== undefined,
    });
    // References only: the buffer serialises later, off the response path.
    const message: Mutable<CaptureMessage> = {
      v: 1,
      id: out.predictionIds[0] as string,
      model: out.model,
      version: out.modelVersion,
      at: isoTime(this.deps.clock.now()),
      latencyMs,
      outcome: 'ok',
      kind: schema.kind,
      features: v.inputSchema ? this.names(v.inputSchema) : undefined,
      predictionIds: out.predictionIds,
      instances: input.instances,
      predictions: out.predictions,
    };
    // Not conditional spreads: this runs per request, and a spread is a runtime call.
    if (out.probabilities) message.probabilities = out.probabilities;
    if (input.context !== undefined) message.context = input.context;
    if (worthSharing(input.instances)) {
      // A shadow's capture message carries the same instances: serialised once, for both.
      shareJson(input.instances);
      holdsSharedJson(message);
    }
    this.deps.capture.add(tag ? Object.assign(message, tag) : message);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What a capture message of an experiment's request carries. */
interface ExperimentTag {
  readonly experimentId: string;
  readonly variant: string;
  readonly epoch: number;
  readonly subject?: string;
}

function experimentTag(e: ExperimentRoute, variant: string, subject: string | undefined): ExperimentTag {
  // Not a conditional spread: this runs per request, and a spread is a runtime call.
  const tag: { -readonly [K in keyof ExperimentTag]: ExperimentTag[K] } = {
    experimentId: e.experiment.id,
    variant,
    epoch: e.experiment.epoch,
  };
  if (subject !== undefined) tag.subject = subject;
  return tag;
}

/**
 * Per row, whether the shadow agrees with the control (same label; regression: values equal to
 * 1e-9 relative) and how far apart their scores are: the probabilities both give the control's
 * predicted class, or the values. scoreDiff is absent when a classifier answered without
 * probabilities (an endpoint that returns class indices).
 */
export function compareAnswers(
  control: Pick<Served, 'output' | 'schema'>,
  shadow: Pick<Served, 'output' | 'schema'>,
): { agreement: number[]; scoreDiff?: number[] } {
  const c = control.output;
  const s = shadow.output;
  const rows = c.predictions.length;
  const agreement: number[] = new Array(rows);
  if (control.schema.kind === 'regression' && shadow.schema.kind === 'regression') {
    const scoreDiff: number[] = new Array(rows);
    for (let i = 0; i < rows; i++) {
      const a = Number(c.predictions[i]);
      const b = Number(s.predictions[i]);
      const d = Math.abs(a - b);
      agreement[i] = d <= 1e-9 * Math.max(1, Math.abs(a)) ? 1 : 0;
      scoreDiff[i] = Number.isFinite(d) ? d : Number.MAX_VALUE;
    }
    return { agreement, scoreDiff };
  }
  for (let i = 0; i < rows; i++) {
    agreement[i] = JSON.stringify(c.predictions[i]) === JSON.stringify(s.predictions[i]) ? 1 : 0;
  }
  if (!c.probabilities || !s.probabilities) return { agreement };
  const scoreDiff: number[] = new Array(rows);
  for (let i = 0; i < rows; i++) {
    const pc = c.probabilities[i]!;
    const ps = s.probabilities[i]!;
    const k = classIndex(control.schema, c.predictions[i]!, pc);
    const label = c.predictions[i]!;
    const classes = shadow.schema.classes;
    // The same class in the shadow's schema: by label when it names its classes, else by position.
    const j = classes ? classes.findIndex((x) => JSON.stringify(x) === JSON.stringify(label)) : k;
    scoreDiff[i] = Math.abs((pc[k] ?? 0) - (j >= 0 ? (ps[j] ?? 0) : 0));
  }
  return { agreement, scoreDiff };
}

function classIndex(schema: OutputSchema, label: string | number, probabilities: readonly number[]): number {
  const named = schema.classes?.findIndex((x) => JSON.stringify(x) === JSON.stringify(label)) ?? -1;
  if (named >= 0) return named;
  let best = 0;
  for (let i = 1; i < probabilities.length; i++) if (probabilities[i]! > probabilities[best]!) best = i;
  return best;
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

/** A run the model refused, as the model_error it is for the caller; anything else as is. */
function runFailed(err: unknown, v: ModelVersion): unknown {
  return err instanceof ModelRunError
    ? modelFailed(`the model failed on this batch: ${err.message}`, { version: v.version })
    : err;
}

function errorCode(err: unknown): string {
  return isDomainError(err) ? err.code : 'internal';
}
