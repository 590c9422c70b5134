/**
 * ServingMetrics in the two homes: Prometheus (prom-client) in the local runtime, where one
 * process runs every function and GET /v1/metrics reads the same registry; CloudWatch embedded
 * metric format (Powertools Metrics) on AWS, where each Lambda writes EMF lines to its log and
 * CloudWatch turns them into metrics without an API call on the hot path.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SERVING_METRICS } from '../contract/resources.js';
import type { ServedRequest, ServingMetrics } from '../core/inference/ports.js';

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
  return kind === 'emf'
    ? new EmfServingMetrics({ deferred: inLambda })
    : new LoadingServingMetrics(
        import('./prometheus-serving-metrics.js').then((m) => new m.PrometheusServingMetrics()),
      );
}

/**
 * Metrics whose implementation is still being imported: calls made meanwhile are kept and
 * replayed in order once it is there, so none is lost. Prometheus is imported this way because
 * only the local runtime uses it: prom-client (with OpenTelemetry's API) was ~66 KiB of code the
 * inference Lambda evaluated at init for nothing (issue 13).
 */
export class LoadingServingMetrics implements ServingMetrics {
  private impl: ServingMetrics | undefined;
  private pending: ((m: ServingMetrics) => void)[] = [];

  constructor(loading: Promise<ServingMetrics>) {
    loading.then(
      (m) => {
        this.impl = m;
        for (const call of this.pending) call(m);
        this.pending = [];
      },
      () => {
        // Metrics must never fail a prediction; without an implementation there is nothing to record.
        this.pending = [];
      },
    );
  }

  // Direct calls once loaded (the hot path allocates nothing); closures only while loading.
  private later(f: (m: ServingMetrics) => void): void {
    if (this.pending.length < 10_000) this.pending.push(f);
  }

  served(r: ServedRequest): void {
    if (this.impl) this.impl.served(r);
    else this.later((m) => m.served(r));
  }

  integrityFailure(model: string, version: string): void {
    if (this.impl) this.impl.integrityFailure(model, version);
    else this.later((m) => m.integrityFailure(model, version));
  }

  capturesLost(model: string, version: string, predictions: number): void {
    if (this.impl) this.impl.capturesLost?.(model, version, predictions);
    else this.later((m) => m.capturesLost?.(model, version, predictions));
  }
}
