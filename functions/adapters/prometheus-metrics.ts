/**
 * GET /v1/metrics: the serving aggregates of the last 24 hours (from the predictions table, so
 * they are the same wherever the API runs), plus the live serving histograms of this process
 * (the local runtime runs inference in the same process; on AWS they live in CloudWatch via EMF).
 */
import { Gauge, Registry } from 'prom-client';
import type { PredictionStore } from '../core/inference/ports.js';
import { summarize, type VersionStats } from '../core/inference/stats.js';
import type { Models } from '../core/registry/models.js';
import { servingRegistry } from './prometheus-serving-metrics.js';

const WINDOW_MS = 24 * 3600_000;
/** A scrape reads at most this many models' aggregates. */
const MAX_MODELS = 200;

export async function prometheusText(deps: {
  readonly models: Pick<Models, 'list'>;
  readonly predictions: Pick<PredictionStore, 'aggregates'>;
  readonly now?: () => Date;
}): Promise<string> {
  const store = deps.predictions;
  const scrape = new Registry();
  const labels = ['model', 'version'] as const;
  const gauge = (name: string, help: string, extra: readonly string[] = []) =>
    new Gauge({ name, help, labelNames: [...labels, ...extra], registers: [scrape] });
  const requests = gauge('serval_window_requests', 'Predict requests in the last 24 hours (captured)');
  const errors = gauge('serval_window_errors', 'Failed predict requests in the last 24 hours (captured)');
  const predictions = gauge('serval_window_predictions', 'Predictions in the last 24 hours (captured)');
  const latency = gauge('serval_window_latency_ms', 'Server-side latency quantiles, last 24 hours', [
    'quantile',
  ]);
  const confidence = gauge(
    'serval_window_mean_confidence',
    'Mean probability of the predicted class, last 24 hours',
  );
  const feedback = gauge('serval_window_feedback', 'Predictions with ground truth, last 24 hours');
  const accuracy = gauge('serval_window_accuracy', 'Accuracy against feedback, last 24 hours');

  const now = deps.now?.() ?? new Date();
  const from = new Date(now.getTime() - WINDOW_MS);
  let cursor: string | undefined;
  let seen = 0;
  do {
    const page = await deps.models.list({ limit: 50, cursor });
    for (const model of page.items) {
      if (seen++ >= MAX_MODELS) break;
      const aggregates = await store.aggregates(model.name, from, new Date(now.getTime() + 3600_000));
      if (aggregates.length === 0) continue;
      for (const v of summarize(aggregates, { groupByVersion: true }).versions ?? []) {
        set(model.name, v);
      }
    }
    cursor = seen >= MAX_MODELS ? undefined : page.nextCursor;
  } while (cursor);

  function set(model: string, v: VersionStats): void {
    const l = { model, version: v.version ?? '' };
    requests.set(l, v.requests);
    errors.set(l, v.errors);
    predictions.set(l, v.predictions);
    if (v.latencyMs) {
      latency.set({ ...l, quantile: '0.5' }, v.latencyMs.p50);
      latency.set({ ...l, quantile: '0.95' }, v.latencyMs.p95);
      latency.set({ ...l, quantile: '0.99' }, v.latencyMs.p99);
    }
    if (v.meanConfidence !== null) confidence.set(l, v.meanConfidence);
    if (v.feedback) {
      feedback.set(l, v.feedback.count);
      if (v.feedback.classification) accuracy.set(l, v.feedback.classification.accuracy);
    }
  }

  return Registry.merge([servingRegistry, scrape]).metrics();
}
