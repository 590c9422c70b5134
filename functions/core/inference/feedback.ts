/**
 * Feedback: labels joined to captured predictions by id (the prediction store counts them into
 * the serving aggregates), and, for predictions an experiment's variant served, the variant's
 * accuracy (experiment-observations.ts).
 */
import type { ExperimentStore } from '../experiments/ports.js';
import { observeFeedback } from './experiment-observations.js';
import type { FeedbackItem, FeedbackResult, PredictionStore } from './ports.js';

export interface FeedbackSummary {
  readonly joined: number;
  readonly duplicate: number;
  readonly unknown: number;
  readonly results: Omit<FeedbackResult, 'experiment'>[];
}

/**
 * Joins the items, then counts the experiments' accuracy. A failed experiment write rejects: the
 * labels are stored, and the client's retry (each then a duplicate, which still carries what
 * accuracy needs) counts what is missing, once.
 */
export async function recordFeedback(
  predictions: Pick<PredictionStore, 'feedback'>,
  experiments: Pick<ExperimentStore, 'observe'> | undefined,
  items: readonly FeedbackItem[],
): Promise<FeedbackSummary> {
  const results = await predictions.feedback(items);
  if (experiments) await observeFeedback(experiments, results);
  const count = (s: string) => results.filter((r) => r.status === s).length;
  return {
    joined: count('joined'),
    duplicate: count('duplicate'),
    unknown: count('unknown'),
    results: results.map(({ experiment: _, ...r }) => r),
  };
}
