/**
 * Feeding labelled samples to a model's online learner when many Lambda containers do it at
 * once. The learner's state is one record with a revision number; a writer reads it, applies its
 * samples with the pure strategy (strategy.ts), and commits only if the revision is still the one
 * it read, marking each sample applied in the same transaction (a sample already marked refuses
 * the commit). Whoever loses a race reads again and retries, dropping samples another writer has
 * applied meanwhile — so each sample is applied exactly once, and the committed sequence numbers
 * give the order in which a replay reproduces the weights.
 *
 * Chosen over an SQS FIFO group per model: conditional writes need no extra queue or worker on the
 * feedback path, work the same on DynamoDB Local, and a redelivered or retried feedback request is
 * harmless; FIFO would still need the per-sample marker for redeliveries.
 */
import type { OnlineLearningPolicy } from '../monitoring/policy.js';
import { applySamples, type OnlineState, type Sample } from './strategy.js';

export interface AppliedSample {
  readonly id: string;
  /** Position in the learner's committed order (0-based: samplesSeen before it). */
  readonly seq: number;
}

export type CommitResult =
  | { readonly ok: true }
  /** Another writer committed since the read. */
  | { readonly ok: false; readonly conflict: true }
  /** These samples were applied by another writer (or are no captured prediction). */
  | { readonly ok: false; readonly alreadyApplied: readonly string[] };

export interface OnlineStore {
  load(model: string): Promise<{ state: OnlineState; rev: number } | undefined>;
  /** Writes `state` as revision rev + 1 (rev null: create) and marks the samples applied. */
  commit(
    model: string,
    rev: number | null,
    state: OnlineState,
    applied: readonly AppliedSample[],
  ): Promise<CommitResult>;
  /** Removes the learner (reset); sample markers stay, so old samples are not learned again. */
  remove(model: string): Promise<void>;
}

/** Samples per commit: a transaction takes 100 items, one of them the state. */
export const SAMPLES_PER_COMMIT = 90;
const MAX_ATTEMPTS = 200;

export interface LearnResult {
  readonly applied: number;
  readonly alreadyApplied: number;
  readonly attempts: number;
  readonly state: OnlineState;
}

export async function learn(input: {
  store: OnlineStore;
  model: string;
  samples: readonly Sample[];
  policy: OnlineLearningPolicy;
  /** A fresh learner from the production version, for the first sample ever. */
  start: () => Promise<OnlineState>;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
}): Promise<LearnResult> {
  let remaining = dedupe(input.samples);
  let applied = 0;
  let already = 0;
  let attempts = 0;
  let last: OnlineState | undefined;
  while (remaining.length > 0) {
    const chunk = remaining.slice(0, SAMPLES_PER_COMMIT);
    attempts++;
    const loaded = await input.store.load(input.model);
    const before = loaded?.state ?? (await input.start());
    const next = applySamples(before, chunk, input.policy, input.now());
    const marks = chunk.map((s, i) => ({ id: s.id, seq: before.samplesSeen + i }));
    const result = await input.store.commit(input.model, loaded?.rev ?? null, next, marks);
    if (result.ok) {
      applied += chunk.length;
      last = next;
      remaining = remaining.slice(chunk.length);
      continue;
    }
    if ('alreadyApplied' in result) {
      const gone = new Set(result.alreadyApplied);
      already += gone.size;
      remaining = remaining.filter((s) => !gone.has(s.id));
    }
    if (attempts >= MAX_ATTEMPTS)
      throw new Error(`online learner of ${input.model}: too many conflicting writers`);
    // Full jitter, capped low: the state is one small item and commits take milliseconds.
    await input.sleep(Math.random() * Math.min(200, 5 * 2 ** Math.min(attempts, 6)));
  }
  return {
    applied,
    alreadyApplied: already,
    attempts,
    state: last ?? (await input.store.load(input.model))?.state ?? (await input.start()),
  };
}

function dedupe(samples: readonly Sample[]): Sample[] {
  const seen = new Set<string>();
  return samples.filter((s) => {
    if (seen.has(s.id)) return false;
    seen.add(s.id);
    return true;
  });
}
