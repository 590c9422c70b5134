/**
 * What served requests and feedback add to a running experiment's built-in metrics
 * (core/experiments/definition.ts): each capture message of an experiment's request is one
 * observation group `cap:<message id>`, each subject one group `subj:<epoch>:<subject>` per
 * allocation epoch, each feedback `fb:<prediction id>`. The store counts a key once, so a
 * redelivered message, a subject seen again and a repeated feedback add nothing.
 *
 * - a request (part 0 of a message): error_rate (0/1) and latency_ms (with its histogram bucket)
 *   for its variant, and one exposure when it has no subject (it is its own unit); with a subject,
 *   the subject's group carries the exposure instead, counted once per epoch;
 * - a later part of a split request: nothing (accuracy comes from feedback, per prediction);
 * - a shadow copy: agreement and score_diff per row; latency_ms and error_rate per request; never
 *   an exposure (a shadow is not assigned);
 * - feedback on a classifier's prediction served by a variant: accuracy (1 when the label equals
 *   the prediction).
 */
import type { ExperimentStore, ObservationGroup } from '../experiments/ports.js';
import { exposureMetric } from '../experiments/serving.js';
import { latencyBucket } from '../kernel/latency-histogram.js';
import type { CaptureMessage, FeedbackResult } from './ports.js';

type Observer = Pick<ExperimentStore, 'observe'>;

/** The observation groups of some capture messages, per experiment id; a key appears once. */
export function captureObservations(messages: readonly CaptureMessage[]): Map<string, ObservationGroup[]> {
  const out = new Map<string, Map<string, ObservationGroup>>();
  const add = (experimentId: string, group: ObservationGroup) => {
    let groups = out.get(experimentId);
    if (!groups) {
      groups = new Map();
      out.set(experimentId, groups);
    }
    // Two groups with one key in one write would be one too many (and a DynamoDB transaction
    // refuses two operations on one item): the first stands, as the store would decide.
    if (!groups.has(group.key) && group.contributions.length > 0) groups.set(group.key, group);
  };
  for (const m of messages) {
    if (!m.experimentId || !m.variant) continue;
    const variant = m.variant;
    const request = (m.part ?? 0) === 0;
    const contributions: ObservationGroup['contributions'][number][] = [];
    if (request) {
      contributions.push(
        { variant, metric: 'error_rate', value: m.outcome === 'error' ? 1 : 0 },
        { variant, metric: 'latency_ms', value: m.latencyMs, bucket: latencyBucket(m.latencyMs) },
      );
    }
    if (m.shadow) {
      if (m.outcome === 'ok') {
        for (const value of m.agreement ?? []) contributions.push({ variant, metric: 'agreement', value });
        for (const value of m.scoreDiff ?? []) contributions.push({ variant, metric: 'score_diff', value });
      }
      add(m.experimentId, { key: `cap:${m.id}`, contributions });
      continue;
    }
    if (!request) continue;
    const exposure = { variant, metric: exposureMetric(m.epoch ?? 0), value: 1 };
    if (m.subject === undefined) contributions.push(exposure);
    else add(m.experimentId, { key: `subj:${m.epoch ?? 0}:${m.subject}`, contributions: [exposure] });
    add(m.experimentId, { key: `cap:${m.id}`, contributions });
  }
  return new Map([...out].map(([id, groups]) => [id, [...groups.values()]]));
}

/** Counts the messages into their experiments; rejects (for a retry) when a write fails. */
export async function observeCaptures(store: Observer, messages: readonly CaptureMessage[]): Promise<void> {
  for (const [experimentId, groups] of captureObservations(messages)) {
    await store.observe(experimentId, groups);
  }
}

/**
 * Feedback on predictions an experiment's variant served: accuracy, once per prediction. The
 * store reports the label that stands for `duplicate` too, so a retry after a failed observe
 * still counts it (and a true duplicate finds its key taken).
 */
export async function observeFeedback(store: Observer, results: readonly FeedbackResult[]): Promise<void> {
  const byExperiment = new Map<string, ObservationGroup[]>();
  const seen = new Set<string>();
  for (const r of results) {
    const x = r.experiment;
    if (!x || r.status === 'unknown' || x.kind === 'regression' || seen.has(r.predictionId)) continue;
    seen.add(r.predictionId);
    const value = JSON.stringify(x.actual) === JSON.stringify(x.predicted) ? 1 : 0;
    const groups = byExperiment.get(x.id) ?? [];
    groups.push({
      key: `fb:${r.predictionId}`,
      contributions: [{ variant: x.variant, metric: 'accuracy', value }],
    });
    byExperiment.set(x.id, groups);
  }
  for (const [experimentId, groups] of byExperiment) await store.observe(experimentId, groups);
}
