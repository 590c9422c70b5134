/** GET /v1/metrics' text: the last 24 hours of captured aggregates per model and version. */
import { describe, expect, it } from 'vitest';
import { prometheusText } from '../../../functions/adapters/prometheus-metrics.js';
import type { CaptureBatch } from '../../../functions/core/inference/ports.js';
import { MemoryPredictionStore } from '../../support/memory-predictions.js';

const NOW = new Date('2026-11-23T12:30:00.000Z');
const clock = { now: () => NOW };

function batch(
  id: string,
  latencyMs: number,
  predicted: string[],
  at = '2026-11-23T12:10:00.000Z',
): CaptureBatch {
  return {
    messageId: id,
    model: 'churn',
    version: '1.0.0',
    hourStart: `${at.slice(0, 13)}:00:00.000Z`,
    outcome: 'ok',
    latencyMs,
    predictions: predicted.map((p, i) => ({
      predictionId: `${id}-${i}`,
      model: 'churn',
      version: '1.0.0',
      at,
      kind: 'binary' as const,
      predicted: p,
      confidence: 0.8,
    })),
  };
}

describe('prometheusText', () => {
  it('renders requests, predictions, latency quantiles, confidence and accuracy of the last 24 hours', async () => {
    const store = new MemoryPredictionStore(clock);
    await store.record(batch('a', 10, ['yes', 'no']));
    await store.record(batch('b', 10, ['yes']));
    // Older than 24 hours: not in the window.
    await store.record(batch('old', 999, ['no'], '2026-11-21T12:10:00.000Z'));
    await store.feedback([
      { predictionId: 'a-0', actual: 'yes' },
      { predictionId: 'a-1', actual: 'yes' },
    ]);
    const models = {
      list: async () => ({ items: [{ name: 'churn' }, { name: 'quiet' }] }) as never,
    };
    const text = await prometheusText({ models, predictions: store, now: () => NOW });
    const line = (metric: string) =>
      text.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes('model="churn"'));
    expect(line('serval_window_requests')).toBe('serval_window_requests{model="churn",version="1.0.0"} 2');
    expect(line('serval_window_predictions')).toBe(
      'serval_window_predictions{model="churn",version="1.0.0"} 3',
    );
    expect(line('serval_window_errors')).toMatch(/ 0$/);
    const p50 = Number(
      text
        .split('\n')
        .find((l) => l.startsWith('serval_window_latency_ms{') && l.includes('quantile="0.5"'))
        ?.split(' ')[1],
    );
    // Both requests took 10 ms; the histogram answers within its ±2% bucket.
    expect(Math.abs(p50 - 10) / 10).toBeLessThan(0.025);
    expect(Number(line('serval_window_mean_confidence')?.split(' ')[1])).toBeCloseTo(0.8, 12);
    expect(line('serval_window_feedback')).toMatch(/ 2$/);
    expect(Number(line('serval_window_accuracy')?.split(' ')[1])).toBe(0.5);
    // A model without captures has no series; the live metrics' HELP lines are always there.
    expect(text).not.toContain('model="quiet"');
    expect(text).toContain('# HELP serval_prediction_requests_total');
  });
});
