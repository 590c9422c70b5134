/** Serving metrics whose implementation is imported on demand (Prometheus, off a Lambda's init). */
import { describe, expect, it } from 'vitest';
import { LoadingServingMetrics, servingMetricsFor } from '../../../functions/adapters/serving-metrics.js';
import type { ServedRequest, ServingMetrics } from '../../../functions/core/inference/ports.js';

const served = (model: string): ServedRequest => ({
  model,
  version: '1.0.0',
  outcome: 'ok',
  latencyMs: 1,
  rows: 1,
  runtime: 'lambda',
  fallback: false,
});

function recorder() {
  const calls: string[] = [];
  const m: ServingMetrics = {
    served: (r) => calls.push(`served ${r.model}`),
    integrityFailure: (model) => calls.push(`integrity ${model}`),
    capturesLost: (model, _v, n) => calls.push(`lost ${model} ${n}`),
  };
  return { calls, m };
}

describe('LoadingServingMetrics', () => {
  it('replays, in order, what was recorded while the implementation loaded, then records directly', async () => {
    const { calls, m } = recorder();
    let loaded!: (m: ServingMetrics) => void;
    const metrics = new LoadingServingMetrics(new Promise((ok) => (loaded = ok)));
    metrics.served(served('a'));
    metrics.integrityFailure('b', '1.0.0');
    metrics.capturesLost('c', '1.0.0', 3);
    expect(calls).toEqual([]);
    loaded(m);
    await Promise.resolve();
    expect(calls).toEqual(['served a', 'integrity b', 'lost c 3']);
    metrics.served(served('d'));
    expect(calls.at(-1)).toBe('served d');
  });

  it('never throws when the implementation cannot load', async () => {
    const metrics = new LoadingServingMetrics(Promise.reject(new Error('no prom-client')));
    metrics.served(served('a'));
    await new Promise((ok) => setTimeout(ok, 0));
    expect(() => metrics.served(served('b'))).not.toThrow();
  });

  it('is what the local runtime gets, and counts in the Prometheus registry GET /v1/metrics renders', async () => {
    const metrics = servingMetricsFor({});
    metrics.served(served('loading-metrics-test'));
    const { servingRegistry } = await import('../../../functions/adapters/prometheus-serving-metrics.js');
    await new Promise((ok) => setTimeout(ok, 0));
    expect(await servingRegistry.metrics()).toContain(
      'serval_prediction_requests_total{model="loading-metrics-test",version="1.0.0",runtime="lambda",outcome="ok"} 1',
    );
  });

  it('counts every request, row and latency exactly at each scrape, across bulk hand-overs', async () => {
    const { PrometheusServingMetrics, servingRegistry } = await import(
      '../../../functions/adapters/prometheus-serving-metrics.js'
    );
    const metrics = new PrometheusServingMetrics();
    const line = (text: string, metric: string) =>
      text.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes('model="bulk-metrics-test"'));
    // 300 crosses one bulk hand-over (256) and leaves a tally for the scrape to apply.
    for (let i = 0; i < 300; i++) metrics.served({ ...served('bulk-metrics-test'), rows: 2, latencyMs: 3 });
    let text = await servingRegistry.metrics();
    expect(line(text, 'serval_prediction_requests_total')).toMatch(/outcome="ok"} 300$/);
    expect(line(text, 'serval_predictions_total')).toMatch(/} 600$/);
    expect(line(text, 'serval_prediction_latency_seconds_count')).toMatch(/} 300$/);
    expect(text).toContain(
      'serval_prediction_latency_seconds_bucket{le="0.005",model="bulk-metrics-test",version="1.0.0",runtime="lambda"} 300',
    );
    metrics.served(served('bulk-metrics-test'));
    text = await servingRegistry.metrics();
    expect(line(text, 'serval_prediction_requests_total')).toMatch(/outcome="ok"} 301$/);
    expect(Number(line(text, 'serval_prediction_latency_seconds_sum')?.split(' ')[1])).toBeCloseTo(0.901, 9);
  });
});
