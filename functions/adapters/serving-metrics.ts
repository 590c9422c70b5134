/**
 * ServingMetrics in the two homes: Prometheus (prom-client) in the local runtime, where one
 * process runs every function and GET /v1/metrics reads the same registry; CloudWatch embedded
 * metric format (Powertools Metrics) on AWS, where each Lambda writes EMF lines to its log and
 * CloudWatch turns them into metrics without an API call on the hot path.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Counter, Histogram, Registry } from 'prom-client';
import { SERVING_METRICS } from '../contract/resources.js';
import type { ServedRequest, ServingMetrics } from '../core/inference/ports.js';

/** The process-wide Prometheus registry of serving metrics (rendered by GET /v1/metrics). */
export const servingRegistry = new Registry();

/** A counter in the serving registry. */
function counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return new Counter({ name, help, labelNames, registers: [servingRegistry] });
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const requests = counter(
  'serval_prediction_requests_total',
  'Predict requests served, by model, version, runtime and outcome',
  ['model', 'version', 'runtime', 'outcome'] as const,
);
const predictions = counter('serval_predictions_total', 'Predictions served (rows across requests)', [
  'model',
  'version',
] as const);
const latency = new Histogram({
  name: 'serval_prediction_latency_seconds',
  help: 'Server-side time to answer a predict request',
  labelNames: ['model', 'version', 'runtime'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [servingRegistry],
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
      };
      this.children.set(key, c);
    }
    if (r.outcome === 'ok') {
      c.ok.inc();
      c.rows.inc(r.rows);
      c.latency.observe(r.latencyMs / 1000);
    } else c.error.inc();
    if (r.fallback) fallbacks.inc({ model: r.model });
  }

  integrityFailure(model: string, version: string): void {
    integrity.inc({ model, version });
  }

  capturesLost(model: string, version: string, predictions: number): void {
    capturesLost.inc({ model, version }, predictions);
  }
}

/**
 * One EMF record per request, dimensioned by model and version (namespace `Serval`). An EMF record
 * is a JSON line written to stdout; `deferred` keeps the records until `flush`, which the Lambda
 * entry calls after the answer is out, so the write is not on the response path.
 */
export class EmfServingMetrics implements ServingMetrics {
  private readonly metrics: Metrics;
  private readonly deferred: boolean;
  private pending: ServedRequest[] = [];

  constructor(options: { namespace?: string; serviceName?: string; deferred?: boolean } = {}) {
    this.metrics = new Metrics({
      namespace: options.namespace ?? SERVING_METRICS.namespace,
      serviceName: options.serviceName ?? SERVING_METRICS.service,
    });
    this.deferred = options.deferred ?? false;
  }

  served(r: ServedRequest): void {
    this.pending.push(r);
    // Bounded even if nobody flushes.
    if (!this.deferred || this.pending.length >= 100) this.flush();
  }

  flush(): void {
    const batch = this.pending;
    this.pending = [];
    for (const r of batch) this.publish(r);
  }

  private publish(r: ServedRequest): void {
    try {
      this.metrics.addDimensions({ model: r.model, version: r.version });
      this.metrics.addMetric('Requests', MetricUnit.Count, 1);
      this.metrics.addMetric(r.outcome === 'ok' ? 'Successes' : 'Errors', MetricUnit.Count, 1);
      if (r.outcome === 'ok') {
        this.metrics.addMetric('Predictions', MetricUnit.Count, r.rows);
        this.metrics.addMetric('Latency', MetricUnit.Milliseconds, r.latencyMs);
      }
      if (r.fallback) this.metrics.addMetric('Fallbacks', MetricUnit.Count, 1);
      this.metrics.publishStoredMetrics();
    } catch {
      // Metrics must never fail a prediction.
    }
  }

  integrityFailure(model: string, version: string): void {
    try {
      this.metrics.addDimensions({ model, version });
      this.metrics.addMetric('IntegrityFailures', MetricUnit.Count, 1);
      this.metrics.publishStoredMetrics();
    } catch {
      // as above
    }
  }

  /**
   * Published without the model and version dimensions (only the service's), so that one alarm
   * (lib/constructs/alarms.ts, CapturesLost) covers every model; the log line names them.
   */
  capturesLost(_model: string, _version: string, predictions: number): void {
    try {
      this.metrics.addMetric(SERVING_METRICS.capturesLost, MetricUnit.Count, predictions);
      this.metrics.publishStoredMetrics();
    } catch {
      // as above
    }
  }
}

/**
 * EMF inside a Lambda (AWS_LAMBDA_FUNCTION_NAME set by the service), deferred to the entry's
 * flush after each answer; Prometheus elsewhere.
 */
export function servingMetricsFor(env: Readonly<Record<string, string | undefined>>): ServingMetrics {
  const inLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME);
  const kind = env.SERVAL_METRICS ?? (inLambda ? 'emf' : 'prometheus');
  return kind === 'emf' ? new EmfServingMetrics({ deferred: inLambda }) : new PrometheusServingMetrics();
}
