/**
 * What one labelled sample does to a model's online learner (docs/online-learning.md). Pure: the
 * state goes in and comes out, so the adapter can apply samples under a conditional write and a
 * replay of the same samples in the same order gives bit-identical weights.
 *
 * Every sample is first scored test-then-train (prequential): the learner's and production's
 * answers count into rolling accuracy, and the learner's error into the ADWIN detector. One in
 * HOLDOUT_EVERY samples (chosen by a hash of its id, so a retry lands on the same side) is
 * reserved for the snapshot check and never trained on. The others are trained on as the
 * strategy says: incremental (now), minibatch (every batchSize), periodic (when periodMinutes
 * passed since the last update, applied by the first sample after it), adaptive (when rolling
 * accuracy falls accuracyDrop below its best since the last update, or ADWIN detects a change).
 */
import { createHash } from 'node:crypto';
import type { OnlineLearningPolicy } from '../monitoring/policy.js';
import { type AdwinState, adwinAdd, adwinMean, adwinSize, adwinStart } from './adwin.js';
import { type Example, type LinearWeights, predictOne, sgdStep } from './learner.js';

/** One sample in HOLDOUT_EVERY is held out for snapshot checks. */
export const HOLDOUT_EVERY = 5;
/** Buffered samples beyond this are trained on at once, whatever the strategy says. */
export const MAX_PENDING = 500;

export interface HeldOut extends Example {}

export interface SnapshotCheck {
  readonly at: string;
  readonly samplesSeen: number;
  readonly holdoutRows: number;
  /** accuracy (classifiers) or rmse (regression) of the learner and of production on the held-out rows. */
  readonly learner: number;
  readonly production: number;
  readonly metric: 'accuracy' | 'rmse';
  readonly outcome: 'candidate' | 'not-better' | 'too-few-rows';
  /** Set once the candidate is registered. */
  readonly version?: string;
}

export interface OnlineState {
  readonly model: string;
  /** The production version the learner started from. */
  readonly parentVersion: string;
  readonly strategy: OnlineLearningPolicy['strategy'];
  readonly classes: readonly (string | number)[] | null;
  readonly features: readonly string[];
  /** Production's weights: the comparison for rolling accuracy and snapshots. */
  readonly base: LinearWeights;
  readonly current: LinearWeights;
  /** Distinct samples taken (trained, buffered or held out). */
  readonly samplesSeen: number;
  readonly trainedSamples: number;
  readonly updates: number;
  /** Samples with an unknown label or unusable features: counted once, not learned. */
  readonly skipped: number;
  /** Why samples were skipped, with counts (e.g. instance-not-stored, unknown-label). */
  readonly skippedReasons?: Readonly<Record<string, number>>;
  readonly pending: readonly Example[];
  readonly holdout: readonly HeldOut[];
  readonly lastUpdateAt: string | null;
  /** Prequential correctness (1/0) of the last `window` samples: learner and production. */
  readonly rollingLearner: readonly number[];
  readonly rollingProduction: readonly number[];
  /** Best rolling learner accuracy since the last update (adaptive). */
  readonly bestRolling: number | null;
  /** Adaptive: trained-sample count up to which every sample is learned (after a trigger). */
  readonly adaptUntil: number;
  /** Adaptive: how often an accuracy drop or a detected change started an adaptation. */
  readonly triggers: number;
  readonly detector: AdwinState;
  readonly nextSnapshotAt: number;
  readonly lastSnapshot: SnapshotCheck | null;
  /** A snapshot that passed its check and waits to be registered. */
  readonly snapshotDue: (SnapshotCheck & { readonly weights: LinearWeights }) | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface Sample {
  readonly id: string;
  /** Features in input order; null when the captured row was not numeric. */
  readonly x: readonly number[] | null;
  readonly actual: string | number;
  /** Why x is null (shown in the learner's state), e.g. "instance-not-stored". */
  readonly skip?: string;
}

export function startState(input: {
  model: string;
  parentVersion: string;
  classes: readonly (string | number)[] | null;
  features: readonly string[];
  weights: LinearWeights;
  policy: OnlineLearningPolicy;
  now: Date;
}): OnlineState {
  const at = input.now.toISOString();
  return {
    model: input.model,
    parentVersion: input.parentVersion,
    strategy: input.policy.strategy,
    classes: input.classes,
    features: input.features,
    base: input.weights,
    current: input.weights,
    samplesSeen: 0,
    trainedSamples: 0,
    updates: 0,
    skipped: 0,
    pending: [],
    holdout: [],
    lastUpdateAt: null,
    rollingLearner: [],
    rollingProduction: [],
    bestRolling: null,
    adaptUntil: 0,
    triggers: 0,
    detector: adwinStart(input.policy.adaptive.delta),
    nextSnapshotAt: input.policy.snapshot.everySamples,
    lastSnapshot: null,
    snapshotDue: null,
    createdAt: at,
    updatedAt: at,
  };
}

export function isHeldOut(id: string): boolean {
  return createHash('sha256').update(id).digest().readUInt32BE(0) % HOLDOUT_EVERY === 0;
}

function target(state: OnlineState, actual: string | number): number | undefined {
  if (state.current.kind === 'linear-regression') {
    const v = typeof actual === 'number' ? actual : Number(actual);
    return Number.isFinite(v) ? v : undefined;
  }
  const classes = state.classes ?? [0, 1];
  const i = classes.findIndex((c) => String(c) === String(actual));
  return i < 0 ? undefined : i;
}

function correct(w: LinearWeights, ex: Example): number {
  const p = predictOne(w, ex.x);
  // Regression has no accuracy: a prediction within 10% of the value (or 1e-9) counts as right.
  return w.kind === 'linear-regression'
    ? Math.abs(p - ex.y) <= Math.max(1e-9, 0.1 * Math.abs(ex.y))
      ? 1
      : 0
    : p === ex.y
      ? 1
      : 0;
}

const mean = (v: readonly number[]) => (v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length);

export function rollingAccuracy(state: OnlineState): { learner: number | null; production: number | null } {
  return { learner: mean(state.rollingLearner), production: mean(state.rollingProduction) };
}

/** Applies samples in the given order. */
export function applySamples(
  state: OnlineState,
  samples: readonly Sample[],
  policy: OnlineLearningPolicy,
  now: Date,
): OnlineState {
  let s: OnlineState = { ...state, strategy: policy.strategy, updatedAt: now.toISOString() };
  for (const sample of samples) s = applyOne(s, sample, policy, now);
  return s;
}

function applyOne(s: OnlineState, sample: Sample, policy: OnlineLearningPolicy, now: Date): OnlineState {
  const y = target(s, sample.actual);
  const f = s.features.length;
  if (y === undefined || !sample.x || sample.x.length !== f || !sample.x.every(Number.isFinite)) {
    const reason =
      y === undefined ? 'unknown-label' : (sample.skip ?? (sample.x ? 'unusable-features' : 'no-features'));
    const reasons = s.skippedReasons ?? {};
    return {
      ...s,
      samplesSeen: s.samplesSeen + 1,
      skipped: s.skipped + 1,
      skippedReasons: { ...reasons, [reason]: (reasons[reason] ?? 0) + 1 },
    };
  }
  const ex: Example = { x: sample.x, y };
  if (isHeldOut(sample.id)) {
    const cap = 2 * policy.snapshot.minHoldoutRows;
    return { ...s, samplesSeen: s.samplesSeen + 1, holdout: [...s.holdout, ex].slice(-cap) };
  }
  const window = policy.adaptive.window;
  const learnerRight = correct(s.current, ex);
  const rollingLearner = [...s.rollingLearner, learnerRight].slice(-window);
  const rollingProduction = [...s.rollingProduction, correct(s.base, ex)].slice(-window);
  const { state: detector, changed } = adwinAdd(s.detector, 1 - learnerRight);
  let next: OnlineState = {
    ...s,
    samplesSeen: s.samplesSeen + 1,
    trainedSamples: s.trainedSamples + 1,
    rollingLearner,
    rollingProduction,
    detector,
    pending: [...s.pending, ex],
  };
  const rolling = mean(rollingLearner) as number;
  const full = rollingLearner.length >= Math.min(window, 30);
  const best = full ? Math.max(next.bestRolling ?? rolling, rolling) : next.bestRolling;
  next = { ...next, bestRolling: best };
  const triggered =
    policy.strategy === 'adaptive' &&
    (changed || (full && best !== null && best - rolling >= policy.adaptive.accuracyDrop));
  if (triggered) {
    // Samples from before the change (outside ADWIN's window) describe the old relation: drop
    // them, and keep learning on every sample for one window so the learner catches up.
    const keep = changed ? adwinSize(detector) : next.pending.length;
    next = {
      ...next,
      pending: next.pending.slice(-keep),
      adaptUntil: next.trainedSamples + window,
      triggers: next.triggers + 1,
    };
  }
  const due =
    next.pending.length >= MAX_PENDING ||
    (policy.strategy === 'incremental'
      ? true
      : policy.strategy === 'minibatch'
        ? next.pending.length >= policy.batchSize
        : policy.strategy === 'periodic'
          ? next.lastUpdateAt === null
            ? false
            : now.getTime() - Date.parse(next.lastUpdateAt) >= policy.periodMinutes * 60_000
          : next.trainedSamples <= next.adaptUntil || triggered);
  if (policy.strategy === 'periodic' && next.lastUpdateAt === null) {
    // The period starts with the first sample.
    next = { ...next, lastUpdateAt: now.toISOString() };
  }
  if (due) next = train(next, policy, now);
  if (next.trainedSamples >= next.nextSnapshotAt) next = checkSnapshot(next, policy, now);
  return next;
}

/** Applies the buffered samples: one step each (incremental), or mini-batches of batchSize. */
function train(s: OnlineState, policy: OnlineLearningPolicy, now: Date): OnlineState {
  let w = s.current;
  const size = policy.strategy === 'incremental' ? 1 : policy.batchSize;
  for (let i = 0; i < s.pending.length; i += size) {
    w = sgdStep(w, s.pending.slice(i, i + size), policy.learningRate, policy.l2);
  }
  const reset = policy.strategy === 'adaptive';
  return {
    ...s,
    current: w,
    pending: [],
    updates: s.updates + 1,
    lastUpdateAt: now.toISOString(),
    // After an adaptive update the best accuracy seen describes the old weights.
    ...(reset ? { bestRolling: null } : {}),
  };
}

function score(w: LinearWeights, rows: readonly Example[]): number {
  if (w.kind === 'linear-regression') {
    let se = 0;
    for (const r of rows) se += (predictOne(w, r.x) - r.y) ** 2;
    return Math.sqrt(se / rows.length);
  }
  let right = 0;
  for (const r of rows) right += predictOne(w, r.x) === r.y ? 1 : 0;
  return right / rows.length;
}

function checkSnapshot(s: OnlineState, policy: OnlineLearningPolicy, now: Date): OnlineState {
  const rows = s.holdout;
  const metric = s.current.kind === 'linear-regression' ? 'rmse' : 'accuracy';
  const base = {
    at: now.toISOString(),
    samplesSeen: s.samplesSeen,
    holdoutRows: rows.length,
    metric,
  } as const;
  const nextSnapshotAt = s.nextSnapshotAt + policy.snapshot.everySamples;
  if (rows.length < policy.snapshot.minHoldoutRows) {
    return {
      ...s,
      nextSnapshotAt,
      lastSnapshot: { ...base, learner: Number.NaN, production: Number.NaN, outcome: 'too-few-rows' },
    };
  }
  const learner = score(s.current, rows);
  const production = score(s.base, rows);
  const better =
    metric === 'rmse'
      ? learner <= production - policy.snapshot.margin
      : learner >= production + policy.snapshot.margin;
  const check: SnapshotCheck = { ...base, learner, production, outcome: better ? 'candidate' : 'not-better' };
  return {
    ...s,
    nextSnapshotAt,
    lastSnapshot: check,
    snapshotDue: better && learner !== production ? { ...check, weights: s.current } : s.snapshotDue,
  };
}

/** What GET /v1/models/{name}/online shows (weights and buffers left out). */
export function describeState(s: OnlineState) {
  return {
    model: s.model,
    parentVersion: s.parentVersion,
    strategy: s.strategy,
    samplesSeen: s.samplesSeen,
    trainedSamples: s.trainedSamples,
    heldOutRows: s.holdout.length,
    pendingSamples: s.pending.length,
    skipped: s.skipped,
    skippedReasons: s.skippedReasons ?? {},
    updates: s.updates,
    ...(s.strategy === 'adaptive' ? { triggers: s.triggers, adaptingUntil: s.adaptUntil } : {}),
    lastUpdateAt: s.lastUpdateAt,
    rollingAccuracy: rollingAccuracy(s),
    rollingWindow: s.rollingLearner.length,
    detector: {
      kind: 'adwin' as const,
      delta: s.detector.delta,
      window: adwinSize(s.detector),
      errorRate: adwinMean(s.detector),
      detections: s.detector.detections,
    },
    nextSnapshotAt: s.nextSnapshotAt,
    lastSnapshot: s.lastSnapshot
      ? {
          ...s.lastSnapshot,
          learner: finite(s.lastSnapshot.learner),
          production: finite(s.lastSnapshot.production),
        }
      : null,
    snapshotPending: s.snapshotDue !== null,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

const finite = (v: number) => (Number.isFinite(v) ? v : null);
