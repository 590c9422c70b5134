/**
 * What the online worker does with one queue message (labelled predictions of one model), and
 * what the API shows and resets: the platform side of the learner (docs/online-learning.md).
 *
 * A sample's features are the instance stored on its prediction item and its label the stored
 * one (the first feedback stands), so the message carries ids only and a resent message changes
 * nothing. The learner starts from the production version; when production changes under it, it
 * starts again from the new one. A snapshot that passed its held-out check is claimed with a
 * conditional write on the learner's revision (so of two workers that both see it, one
 * registers), then registered in staging with its lineage — never in production.
 */
import type { Principal } from '../auth/principal.js';
import type { AuditEvent } from '../kernel/audit.js';
import { encodeInstances } from '../kernel/encode.js';
import { notFound } from '../kernel/errors.js';
import type { InputSchema, OutputSchema } from '../kernel/model-io.js';
import type { OnlineLearningPolicy } from '../monitoring/policy.js';
import { linearRegressionOnnx, logisticRegressionOnnx, softmaxRegressionOnnx } from '../onnx/models.js';
import type { RegisterVersionInput } from '../registry/registration.js';
import type { ModelVersion } from '../registry/types.js';
import type { LinearWeights } from './learner.js';
import { readLinearWeights } from './learner.js';
import { learn, type OnlineStore } from './service.js';
import { describeState, type OnlineState, type Sample, type SnapshotCheck, startState } from './strategy.js';

/** A captured prediction as the learner reads it. */
export interface LabelledCapture {
  readonly predictionId: string;
  readonly model: string;
  readonly actual?: string | number;
  /** The instance's JSON; absent when it was larger than the capture path stores. */
  readonly instance?: string;
}

export interface OnlineRegistry {
  getModel(name: string): Promise<{ readonly productionVersion?: string } | undefined>;
  getVersion(name: string, version: string): Promise<ModelVersion | undefined>;
  artifact(version: ModelVersion): Promise<Uint8Array | undefined>;
  /** Registers a version and moves it to staging; returns it. */
  registerStaging(principal: Principal, name: string, input: RegisterVersionInput): Promise<ModelVersion>;
  recordValidation(
    principal: Principal,
    name: string,
    version: string,
    report: { passed: boolean; [k: string]: unknown },
  ): Promise<void>;
}

export interface OnlineResetStore extends OnlineStore {
  /** Deletes the learner and writes the audit event, in one transaction. */
  reset(model: string, audit: AuditEvent): Promise<void>;
}

export interface OnlineDeps {
  readonly store: OnlineResetStore;
  readonly captures: { labelled(ids: readonly string[]): Promise<LabelledCapture[]> };
  /** The model's online-learning policy (undefined: no policy). */
  readonly policy: (model: string) => Promise<OnlineLearningPolicy | undefined>;
  readonly registry: OnlineRegistry;
  readonly clock: { now(): Date };
  readonly ids: { next(): string };
  readonly sleep: (ms: number) => Promise<void>;
  readonly log?: { info(message: string, extra?: Record<string, unknown>): void };
}

export interface OnlineOutcome {
  readonly model: string;
  readonly status: 'disabled' | 'no-production' | 'learned';
  readonly applied?: number;
  readonly alreadyApplied?: number;
  readonly ignored?: number;
  readonly snapshotVersion?: string;
}

const SNAPSHOT_PRINCIPAL = (model: string): Principal => ({
  id: 'online-learner',
  name: `online learning of ${model}`,
  role: 'scientist',
});

interface Parent {
  readonly version: ModelVersion;
  readonly inputSchema: InputSchema;
  readonly outputSchema: OutputSchema;
}

export class OnlineLearning {
  constructor(private readonly deps: OnlineDeps) {}

  /** Applies labelled predictions of `model` to its learner; registers a snapshot that is due. */
  async handle(model: string, predictionIds: readonly string[]): Promise<OnlineOutcome> {
    const policy = await this.deps.policy(model);
    if (!policy?.enabled) return { model, status: 'disabled' };
    const production = (await this.deps.registry.getModel(model))?.productionVersion;
    if (!production) return { model, status: 'no-production' };
    const loaded = await this.deps.store.load(model);
    if (loaded && loaded.state.parentVersion !== production) {
      // The learner's comparison and starting point is production: a new production version
      // (a promoted snapshot, say) starts a new learner.
      await this.deps.store.reset(
        model,
        this.audit(
          { id: 'online-learner', name: 'online learner', role: 'scientist' },
          model,
          'online.restarted',
          { from: loaded.state.parentVersion, to: production },
        ),
      );
    }
    const parent = await this.parent(model, production);
    const rows = await this.deps.captures.labelled(predictionIds);
    const samples: Sample[] = [];
    let ignored = 0;
    for (const r of rows) {
      // Another model's prediction, or one without a label yet: not this learner's sample.
      if (r.model !== model || r.actual === undefined) {
        ignored++;
        continue;
      }
      samples.push({ id: r.predictionId, actual: r.actual, ...features(r.instance, parent.inputSchema) });
    }
    ignored += predictionIds.length - rows.length;
    const result = await learn({
      store: this.deps.store,
      model,
      samples,
      policy,
      start: () => this.start(model, parent, policy),
      now: () => this.deps.clock.now(),
      sleep: this.deps.sleep,
    });
    const snapshotVersion = result.state.snapshotDue
      ? await this.registerDue(model, parent, policy)
      : undefined;
    return {
      model,
      status: 'learned',
      applied: result.applied,
      alreadyApplied: result.alreadyApplied,
      ignored,
      ...(snapshotVersion ? { snapshotVersion } : {}),
    };
  }

  async describe(model: string) {
    if (!(await this.deps.registry.getModel(model))) throw notFound(`no model ${model}`);
    const policy = await this.deps.policy(model);
    const loaded = await this.deps.store.load(model);
    return {
      model,
      enabled: policy?.enabled ?? false,
      learner: loaded ? describeState(loaded.state) : null,
    };
  }

  async reset(principal: Principal, model: string, reason: string) {
    if (!(await this.deps.registry.getModel(model))) throw notFound(`no model ${model}`);
    const loaded = await this.deps.store.load(model);
    await this.deps.store.reset(
      model,
      this.audit(
        principal,
        model,
        'online.reset',
        loaded ? { parentVersion: loaded.state.parentVersion, samplesSeen: loaded.state.samplesSeen } : null,
        reason,
      ),
    );
    return this.describe(model);
  }

  private audit(
    principal: Principal,
    model: string,
    action: string,
    before: unknown,
    comment?: string,
  ): AuditEvent {
    return {
      id: this.deps.ids.next(),
      at: this.deps.clock.now().toISOString(),
      actor: principal.id,
      actorName: principal.name,
      action,
      target: `model/${model}`,
      model,
      before,
      ...(comment ? { comment } : {}),
    };
  }

  private async parent(model: string, version: string): Promise<Parent> {
    const v = await this.deps.registry.getVersion(model, version);
    if (!v?.inputSchema || !v.outputSchema)
      throw notFound(`production version ${version} of ${model} has no input and output schema`);
    return { version: v, inputSchema: v.inputSchema, outputSchema: v.outputSchema };
  }

  private async start(model: string, parent: Parent, policy: OnlineLearningPolicy): Promise<OnlineState> {
    const bytes = await this.deps.registry.artifact(parent.version);
    if (!bytes) throw notFound(`the artifact of ${model}@${parent.version.version} is missing`);
    const features = parent.inputSchema.features.map((f) => f.name);
    return startState({
      model,
      parentVersion: parent.version.version,
      classes: parent.outputSchema.kind === 'regression' ? null : (parent.outputSchema.classes ?? null),
      features,
      weights: readLinearWeights(bytes, features.length),
      policy,
      now: this.deps.clock.now(),
    });
  }

  /**
   * Claims the pending snapshot (clears it under the revision it was read at, so one worker
   * wins), registers it in staging, then records the version on the learner's last snapshot.
   * A registration that fails after the claim loses that snapshot; the next check makes another.
   */
  private async registerDue(
    model: string,
    parent: Parent,
    policy: OnlineLearningPolicy,
  ): Promise<string | undefined> {
    const loaded = await this.deps.store.load(model);
    const due = loaded?.state.snapshotDue;
    if (!loaded || !due) return undefined;
    const { weights, ...check } = due;
    const claimed = await this.deps.store.commit(
      model,
      loaded.rev,
      { ...loaded.state, snapshotDue: null, lastSnapshot: { ...check, version: 'registering' } },
      [],
    );
    if (!claimed.ok) return undefined;
    const state = loaded.state;
    const principal = SNAPSHOT_PRINCIPAL(model);
    const lineage = {
      kind: 'online',
      parent: state.parentVersion,
      samplesSeen: check.samplesSeen,
      trainedSamples: state.trainedSamples,
      updates: state.updates,
      strategy: state.strategy,
    };
    const metricName = check.metric === 'rmse' ? 'rmse' : 'accuracy';
    const version = await this.deps.registry.registerStaging(principal, model, {
      artifact: { base64: Buffer.from(snapshotOnnx(weights, state, parent)).toString('base64') },
      framework: 'onnx',
      runtime: parent.version.runtime,
      inputSchema: parent.inputSchema,
      outputSchema: parent.outputSchema,
      parent: state.parentVersion,
      metrics: {
        [`holdout_${metricName}`]: check.learner,
        [`production_holdout_${metricName}`]: check.production,
        holdoutRows: check.holdoutRows,
      },
      params: {
        learningRate: policy.learningRate,
        l2: policy.l2,
        ...(state.strategy === 'minibatch' ? { batchSize: policy.batchSize } : {}),
        lineage,
      },
      description: `online-learning snapshot of ${model} after ${check.samplesSeen} samples (${state.strategy}), from ${state.parentVersion}`,
    });
    await this.deps.registry.recordValidation(principal, model, version.version, {
      passed: true,
      kind: 'online',
      rows: check.holdoutRows,
      metrics: { [metricName]: check.learner },
      comparison: {
        production: state.parentVersion,
        rows: check.holdoutRows,
        metric: metricName,
        candidate: check.learner,
        champion: check.production,
        difference: check.learner - check.production,
        margin: policy.snapshot.margin,
        better: true,
      },
    });
    await this.noteVersion(model, check, version.version);
    this.deps.log?.info('online snapshot registered in staging', { model, version: version.version });
    return version.version;
  }

  /** Best effort: the version is registered either way; this only shows it in the state. */
  private async noteVersion(model: string, check: SnapshotCheck, version: string): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const loaded = await this.deps.store.load(model);
      if (!loaded || loaded.state.lastSnapshot?.at !== check.at) return;
      const next = { ...loaded.state, lastSnapshot: { ...loaded.state.lastSnapshot, version } };
      if ((await this.deps.store.commit(model, loaded.rev, next, [])).ok) return;
      await this.deps.sleep(Math.random() * 50);
    }
  }
}

/** A stored instance as the learner's features, or why it cannot be one. */
function features(instance: string | undefined, schema: InputSchema): Pick<Sample, 'x' | 'skip'> {
  if (instance === undefined) return { x: null, skip: 'instance-not-stored' };
  try {
    return { x: Array.from(encodeInstances([JSON.parse(instance)], schema)) };
  } catch {
    return { x: null, skip: 'instance-does-not-fit-the-schema' };
  }
}

function snapshotOnnx(w: LinearWeights, state: OnlineState, parent: Parent): Uint8Array {
  const featureNames = parent.inputSchema.features.map((f) => f.name);
  const classes = state.classes ?? undefined;
  if (w.kind === 'linear-regression')
    return linearRegressionOnnx({
      weights: w.weights[0] as number[],
      bias: w.bias[0] as number,
      featureNames,
    });
  if (w.kind === 'logistic-regression')
    return logisticRegressionOnnx({
      weights: w.weights[0] as number[],
      bias: w.bias[0] as number,
      featureNames,
      ...(classes ? { classes } : {}),
    });
  return softmaxRegressionOnnx({
    weights: w.weights,
    bias: w.bias,
    featureNames,
    ...(classes ? { classes } : {}),
  });
}
