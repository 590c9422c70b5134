/**
 * Operating modes. `serving` is normal operation, in which retraining jobs are paused unless a
 * model's policy lets them run while serving; `training` lets every retraining job run;
 * `maintenance` freezes every change (mutating routes answer 503) and so stops retraining too,
 * while reads and predictions go on. The mode is shared by all functions through one stored
 * item, read with a short cache.
 */

import type { Principal } from '../auth/principal.js';
import type { AuditEvent } from '../kernel/audit.js';
import { auditEvent } from '../kernel/audit.js';
import type { Clock, IdGenerator } from '../kernel/clock.js';
import { conflict, isConcurrentModification, unavailable } from '../kernel/errors.js';

export const MODES = ['serving', 'training', 'maintenance'] as const;
export type Mode = (typeof MODES)[number];

/** What a model's policy says about retraining (the retraining worker reads it from the model). */
export interface RetrainPolicy {
  /** Retraining of this model may run in `serving` mode too, not only in `training`. */
  readonly allowInServing?: boolean;
}

/** Whether retraining jobs may run, and in `serving` mode, on whose say. */
export type RetrainRule = 'always' | 'if_policy_allows' | 'never';

/**
 * The meaning of each mode, as GET /v1/mode shows it. Retraining registers versions, so it is a
 * change: maintenance refuses it like any other; serving pauses it (jobs wait, they are not
 * dropped) so retraining's load and its new versions come only when an operator asks for them,
 * unless a model's policy opts in.
 */
export const MODE_MEANING: Readonly<
  Record<Mode, { readonly changes: boolean; readonly retraining: RetrainRule; readonly description: string }>
> = {
  serving: {
    changes: true,
    retraining: 'if_policy_allows',
    description:
      'normal operation; retraining jobs are paused unless the model policy allows retraining while serving',
  },
  training: {
    changes: true,
    retraining: 'always',
    description: 'normal operation, and retraining jobs run for every model',
  },
  maintenance: {
    changes: false,
    retraining: 'never',
    description: 'changes are refused (503) and retraining jobs are paused; reads and predictions go on',
  },
};

/**
 * The hook the retraining worker calls before starting (or resuming) a job for a model: false
 * means leave the job queued until the mode changes.
 */
export function mayRunTraining(mode: Mode, policy: RetrainPolicy = {}): boolean {
  const rule = MODE_MEANING[mode].retraining;
  return rule === 'always' || (rule === 'if_policy_allows' && policy.allowInServing === true);
}

export type DescribedMode = ModeState & (typeof MODE_MEANING)[Mode];

/** A mode state with what the mode means (GET and PUT /v1/mode answer this). */
export function describeMode(state: ModeState): DescribedMode {
  return { ...state, ...MODE_MEANING[state.mode] };
}

export interface ModeState {
  readonly mode: Mode;
  readonly changedAt: string;
  readonly changedBy: string;
  readonly comment: string;
  readonly revision: number;
}

export interface ModeStore {
  get(): Promise<ModeState | undefined>;
  /** Writes the state and its audit event atomically, if the stored revision is still `expectRevision` (0: none stored). */
  put(state: ModeState, expectRevision: number, audit: AuditEvent): Promise<void>;
}

/** How long a function trusts its last read of the mode. */
export const MODE_CACHE_MS = 2_000;

const DEFAULT: ModeState = {
  mode: 'serving',
  changedAt: '1970-01-01T00:00:00.000Z',
  changedBy: 'system',
  comment: '',
  revision: 0,
};

export class Modes {
  private cached?: { state: ModeState; at: number };

  constructor(
    private readonly deps: {
      readonly store: ModeStore;
      readonly clock: Clock;
      readonly ids: IdGenerator;
      readonly cacheMs?: number;
    },
  ) {}

  async current(): Promise<ModeState> {
    const now = this.deps.clock.now().getTime();
    if (this.cached && now - this.cached.at < (this.deps.cacheMs ?? MODE_CACHE_MS)) return this.cached.state;
    const state = (await this.deps.store.get()) ?? DEFAULT;
    this.cached = { state, at: now };
    return state;
  }

  /** mayRunTraining() under the current mode. */
  async allowsTraining(policy: RetrainPolicy = {}): Promise<boolean> {
    return mayRunTraining((await this.current()).mode, policy);
  }

  async set(principal: Principal, mode: Mode, comment = ''): Promise<ModeState> {
    const before = (await this.deps.store.get()) ?? DEFAULT;
    if (before.mode === mode) throw conflict(`Serval is already in ${mode} mode`, { mode });
    const audit = auditEvent(this.deps, principal, 'mode.change', 'system/mode', {
      before: { mode: before.mode },
      after: { mode },
      comment: comment || undefined,
    });
    // The state and its audit event carry the same time.
    const after: ModeState = {
      mode,
      changedAt: audit.at,
      changedBy: principal.id,
      comment,
      revision: before.revision + 1,
    };
    try {
      await this.deps.store.put(after, before.revision, audit);
    } catch (err) {
      if (isConcurrentModification(err))
        throw conflict('the mode was changed concurrently; read it and retry');
      throw err;
    }
    this.cached = { state: after, at: this.deps.clock.now().getTime() };
    return after;
  }

  /** Throws 503 `unavailable` for a change attempted in maintenance mode. */
  async assertWritable(): Promise<void> {
    const state = await this.current();
    if (state.mode === 'maintenance') {
      throw unavailable(
        'Serval is in maintenance mode: changes are refused until an admin ends it; reads and predictions continue',
        {
          mode: state.mode,
          since: state.changedAt,
        },
      );
    }
  }
}
