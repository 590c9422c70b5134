/**
 * CloudWatch EMF records of served requests: one JSON line per request on stdout, in the format
 * CloudWatch reads (`_aws.CloudWatchMetrics`), written at once or held until flush (on Lambda the
 * entry flushes after the answer is out).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmfServingMetrics } from '../../../functions/adapters/serving-metrics.js';
import type { ServedRequest } from '../../../functions/core/inference/ports.js';

interface EmfRecord {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [key: string]: unknown;
}

/** EMF lines written to stdout from now on (other output passes through). */
function records(): { lines: EmfRecord[] } {
  const out = { lines: [] as EmfRecord[] };
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.includes('"_aws"')) {
      for (const line of text.split('\n').filter(Boolean)) out.lines.push(JSON.parse(line) as EmfRecord);
      return true;
    }
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write);
  return out;
}

const served = (over: Partial<ServedRequest> = {}): ServedRequest => ({
  model: 'churn',
  version: '1.0.0',
  outcome: 'ok',
  latencyMs: 0.25,
  rows: 3,
  runtime: 'lambda',
  fallback: false,
  ...over,
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('EMF serving metrics', () => {
  it('writes one record per request, dimensioned by model and version', () => {
    const out = records();
    const m = new EmfServingMetrics();
    m.served(served());
    expect(out.lines).toHaveLength(1);
    const r = out.lines[0]!;
    expect(r._aws.CloudWatchMetrics[0]?.Namespace).toBe('Serval');
    expect(r._aws.CloudWatchMetrics[0]?.Dimensions.flat()).toEqual(
      expect.arrayContaining(['model', 'version']),
    );
    expect(r).toMatchObject({ model: 'churn', version: '1.0.0', Requests: 1, Successes: 1, Predictions: 3 });
    expect(r.Latency).toBe(0.25);
  });

  it('deferred: nothing is written until flush, then each request as its own record', () => {
    const out = records();
    const m = new EmfServingMetrics({ deferred: true });
    m.served(served());
    m.served(served({ version: '2.0.0', outcome: 'error', errorCode: 'model_error', rows: 1 }));
    expect(out.lines).toHaveLength(0);
    m.flush();
    expect(out.lines.map((r) => [r.version, r.Successes, r.Errors])).toEqual([
      ['1.0.0', 1, undefined],
      ['2.0.0', undefined, 1],
    ]);
    m.flush();
    expect(out.lines).toHaveLength(2);
  });

  it('deferred but never flushed: writes once 100 requests are held', () => {
    const out = records();
    const m = new EmfServingMetrics({ deferred: true });
    for (let i = 0; i < 99; i++) m.served(served());
    expect(out.lines).toHaveLength(0);
    m.served(served());
    expect(out.lines).toHaveLength(100);
  });
});
