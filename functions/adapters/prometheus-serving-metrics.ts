/**
 * ServingMetrics in Prometheus (prom-client), for the local runtime, where one process runs every
 * function and GET /v1/metrics reads the same registry. Apart from serving-metrics.ts so that a
 * Lambda, which publishes EMF, never evaluates prom-client (serving-metrics.ts imports this on
 * demand).
 */
import { Counter, Histogram, Registry } from 'prom-client';
import type { ServedRequest, ServingMetrics } from '../core/inference/ports.js';

/** The process-wide Prometheus registry of serving metrics (rendered by GET /v1/metrics). */
export const servingRegistry = new Registry();

/** A counter in the serving registry. */
function counter<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  collect?: () => void,
): Counter<L> {
  return new Counter({
    name,
    help,
    labelNames,
    registers: [servingRegistry],
    ...(collect ? { collect } : {}),
  });
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const requests = counter(
  'serval_prediction_requests_total',
  'Predict requests served, by model, version, runtime and outcome',
  ['model', 'version', 'runtime', 'outcome'] as const,
  () => applyPending(),
);
const predictions = counter(
  'serval_predictions_total',
  'Predictions served (rows across requests)',
  ['model', 'version'] as const,
  () => applyPending(),
);
const latency = new Histogram({
  name: 'serval_prediction_latency_seconds',
  help: 'Server-side time to answer a predict request',
  labelNames: ['model', 'version', 'runtime'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [servingRegistry],
  collect: () => applyPending(),
});
const fallbacks = counter(
  'serval_prediction_fallbacks_total',
  'Requests answered by a fallback version because the routed one failed',
  ['model'] as const,
);
const integrity = counter(
  'serval_integrity_failures_total',
  'Artifacts refused at load time because their SHA-256 did not match',
  ['model', 'version'] as const,
);

const capturesLost = counter(
  'serval_captures_lost_total',
  'Answered predictions whose capture was given up (neither the queue nor the spill took it)',
  ['model', 'version'] as const,
);

interface Children {
  readonly ok: ReturnType<typeof requests.labels>;
  readonly error: ReturnType<typeof requests.labels>;
  readonly rows: ReturnType<typeof predictions.labels>;
  readonly latency: ReturnType<typeof latency.labels>;
  /** Successes not yet in the counters and histogram (see applyPending). */
  okCount: number;
  rowCount: number;
  latencies: number[];
}

/**
 * Successful requests are tallied here and handed to prom-client in bulk: its children hash and
 * validate their labels on every call (about 2 µs a request for the three metrics), while a bulk
 * hand-over increments each counter once for the lot. Every scrape applies the tallies first (the
 * metrics' collect hook), so what GET /v1/metrics reads is exact; the histogram still gets every
 * observation. A tally is also applied once it holds MAX_PENDING requests, which bounds it.
 */
const pendingChildren = new Set<Children>();
const MAX_PENDING = 256;

function apply(c: Children): void {
  if (c.okCount === 0) return;
  c.ok.inc(c.okCount);
  c.rows.inc(c.rowCount);
  for (const seconds of c.latencies) c.latency.observe(seconds);
  c.okCount = 0;
  c.rowCount = 0;
  c.latencies = [];
}

function applyPending(): void {
  for (const c of pendingChildren) apply(c);
  pendingChildren.clear();
}

export class PrometheusServingMetrics implements ServingMetrics {
  /** Label sets resolved once per model, version and runtime: hashing labels per call costs µs. */
  private readonly children = new Map<string, Children>();

  served(r: ServedRequest): void {
    const key = `${r.model}\u0000${r.version}\u0000${r.runtime}`;
    let c = this.children.get(key);
    if (!c) {
      const l = { model: r.model, version: r.version };
      c = {
        ok: requests.labels({ ...l, runtime: r.runtime, outcome: 'ok' }),
        error: requests.labels({ ...l, runtime: r.runtime, outcome: 'error' }),
        rows: predictions.labels(l),
        latency: latency.labels({ ...l, runtime: r.runtime }),
        okCount: 0,
        rowCount: 0,
        latencies: [],
      };
      this.children.set(key, c);
    }
    if (r.outcome !== 'ok') c.error.inc();
    else if (Number.isFinite(r.latencyMs) && Number.isFinite(r.rows) && r.rows >= 0) {
      c.okCount += 1;
      c.rowCount += r.rows;
      c.latencies.push(r.latencyMs / 1000);
      if (c.okCount === 1) pendingChildren.add(c);
      else if (c.okCount >= MAX_PENDING) {
        apply(c);
        pendingChildren.delete(c);
      }
    } else {
      // A value prom-client refuses is refused here, as it always was, not at the next scrape.
      c.ok.inc();
      c.rows.inc(r.rows);
      c.latency.observe(r.latencyMs / 1000);
    }
    if (r.fallback) fallbacks.inc({ model: r.model });
  }

  integrityFailure(model: string, version: string): void {
    integrity.inc({ model, version });
  }

  capturesLost(model: string, version: string, predictions: number): void {
    capturesLost.inc({ model, version }, predictions);
  }
}
