/**
 * The serving latency histogram: fixed log-scale buckets, mergeable by adding counts, so any
 * window of hours sums to one histogram, and the quantiles read back from it.
 */

/** Lower edge of bucket 1; bucket 0 holds every latency below it (including 0). */
export const LATENCY_FLOOR_MS = 0.001;
/** Ratio of a bucket's upper to its lower edge: each bucket is 4% wide relative to its start. */
export const LATENCY_GAMMA = 1.04;
/** Latencies from about here on (10 minutes) all fall in the last bucket. */
export const LATENCY_MAX_MS = 600_000;

/**
 * Bucket edges: EDGES[i] is bucket i's lower edge, EDGES[i + 1] its upper edge. Computed once with
 * the same arithmetic latencyBucket uses to check itself, so a value always lies in the range
 * bucketRange reports for its bucket.
 */
const EDGES: readonly number[] = (() => {
  const edges = [0];
  for (let i = 1; ; i++) {
    const lo = LATENCY_FLOOR_MS * LATENCY_GAMMA ** (i - 1);
    edges.push(lo);
    if (lo > LATENCY_MAX_MS) break;
  }
  return edges;
})();

/** Index of the last bucket (the one holding LATENCY_MAX_MS and everything above). */
export const LATENCY_LAST_BUCKET = EDGES.length - 2;
/** Number of buckets: 0 … LATENCY_LAST_BUCKET. */
export const LATENCY_BUCKETS = LATENCY_LAST_BUCKET + 1;

const LOG_GAMMA = Math.log(LATENCY_GAMMA);

/**
 * The histogram bucket of a latency. Bucket 0: [0, 0.001 ms) (and anything that is not a
 * positive number); bucket i ≥ 1: [0.001·1.04^(i−1), 0.001·1.04^i); the last bucket also takes
 * everything above (about 10 minutes and more).
 */
export function latencyBucket(ms: number): number {
  if (!(ms >= LATENCY_FLOOR_MS)) return 0; // also NaN
  if (ms >= (EDGES[LATENCY_LAST_BUCKET] as number)) return LATENCY_LAST_BUCKET;
  let i = Math.floor(Math.log(ms / LATENCY_FLOOR_MS) / LOG_GAMMA) + 1;
  // The logarithm can land one bucket off at an edge; the edges themselves decide.
  i = Math.min(Math.max(i, 1), LATENCY_LAST_BUCKET);
  while (i > 1 && ms < (EDGES[i] as number)) i--;
  while (i < LATENCY_LAST_BUCKET && ms >= (EDGES[i + 1] as number)) i++;
  return i;
}

/** Bucket i's range [lo, hi) in ms; the last bucket's hi is Infinity. */
export function bucketRange(i: number): readonly [number, number] {
  if (!Number.isInteger(i) || i < 0 || i > LATENCY_LAST_BUCKET) {
    throw new RangeError(`latency bucket ${i} is outside 0..${LATENCY_LAST_BUCKET}`);
  }
  return [EDGES[i] as number, i === LATENCY_LAST_BUCKET ? Infinity : (EDGES[i + 1] as number)];
}

/**
 * What a quantile in bucket i is reported as: the geometric mid lo·√γ, so for any value v in the
 * bucket the reported value r satisfies 1/√γ < r/v ≤ √γ (within ±2%). Bucket 0 (below 1 µs) is
 * reported as half the floor; the last bucket as the geometric mid of its nominal 4% range, so
 * latencies beyond 10 minutes read as about 10 minutes.
 */
export function bucketValue(i: number): number {
  const [lo] = bucketRange(i);
  return i === 0 ? LATENCY_FLOOR_MS / 2 : lo * Math.sqrt(LATENCY_GAMMA);
}

/** Bucket index → count (sparse). */
export type LatencyHistogram = Readonly<Record<number, number>>;

/**
 * The q-quantile (0 ≤ q ≤ 1) of the latencies counted in `hist`, or null when it is empty.
 *
 * Rank definition: the quantile is the smallest value x with at least q·n of the n values ≤ x,
 * i.e. the k-th smallest value with k = max(1, ⌈q·n⌉) (numpy's method='inverted_cdf'); q = 0 is
 * the minimum, q = 1 the maximum. The histogram finds the bucket holding the k-th value and
 * reports bucketValue of it, so the answer is within the bucket's relative width of the exact
 * sample quantile (1/√1.04 < reported/exact ≤ √1.04), for latencies between 1 µs and 10 minutes.
 */
export function histogramQuantile(hist: LatencyHistogram, q: number): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} is outside [0, 1]`);
  const buckets = Object.entries(hist)
    .map(([k, c]) => [Number(k), c] as const)
    .filter(([, c]) => c > 0)
    .sort((a, b) => a[0] - b[0]);
  const n = buckets.reduce((s, [, c]) => s + c, 0);
  if (n === 0) return null;
  // q·n is computed before rounding up: for q = 0.95 and n = 100, ⌈95.00000000000001⌉ would be
  // 96, so a relative tolerance keeps exact products exact.
  const qn = q * n;
  const rounded = Math.round(qn);
  const k = Math.max(1, Math.abs(qn - rounded) <= 1e-9 * Math.max(1, qn) ? rounded : Math.ceil(qn));
  let seen = 0;
  for (const [i, c] of buckets) {
    seen += c;
    if (seen >= k) return bucketValue(i);
  }
  return bucketValue((buckets[buckets.length - 1] as readonly [number, number])[0]);
}
