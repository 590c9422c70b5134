/**
 * ADWIN, the adaptive windowing change detector of Bifet & Gavaldà, "Learning from Time-Changing
 * Data with Adaptive Windowing" (SDM 2007), in its ADWIN2 form: the window is kept as an
 * exponential histogram (at most M buckets of each size 2^i, so O(M log W) memory), and after each
 * value every split of the window into an older W0 and a newer W1 at a bucket boundary is tested;
 * while some split has |μ0 − μ1| ≥ ε_cut, the oldest bucket is dropped. With n = |W|,
 * m = 1/(1/n0 + 1/n1) and δ' = δ / ln n:
 *
 *   ε_cut = sqrt((2/m) · σ²_W · ln(2/δ')) + (2/(3m)) · ln(2/δ')
 *
 * (the paper's variance-based bound, the one it recommends in practice). A cut is a detected
 * change. The state is plain JSON so it can live in DynamoDB between Lambda invocations.
 */

export interface AdwinBucket {
  /** Values in the bucket (a power of two). */
  readonly n: number;
  readonly sum: number;
  /** Sum of squared deviations from the bucket's mean (Welford's M2). */
  readonly m2: number;
}

export interface AdwinState {
  readonly delta: number;
  /** Newest first. */
  readonly buckets: readonly AdwinBucket[];
  /** Changes detected since the detector started. */
  readonly detections: number;
}

/** Buckets of one size kept before the two oldest are merged (the paper's M). */
const MAX_BUCKETS = 5;
/** Sub-windows shorter than this are not tested: a handful of values says nothing about a mean. */
const MIN_SIDE = 5;

export function adwinStart(delta: number): AdwinState {
  if (!(delta > 0 && delta < 1)) throw new RangeError('delta must be in (0, 1)');
  return { delta, buckets: [], detections: 0 };
}

export function adwinSize(s: AdwinState): number {
  return s.buckets.reduce((a, b) => a + b.n, 0);
}

export function adwinMean(s: AdwinState): number {
  const n = adwinSize(s);
  return n === 0 ? 0 : s.buckets.reduce((a, b) => a + b.sum, 0) / n;
}

function merge(a: AdwinBucket, b: AdwinBucket): AdwinBucket {
  const n = a.n + b.n;
  const d = a.sum / a.n - b.sum / b.n;
  return { n, sum: a.sum + b.sum, m2: a.m2 + b.m2 + (d * d * a.n * b.n) / n };
}

/** Adds one value; `changed` says whether the window was cut (a change was detected). */
export function adwinAdd(s: AdwinState, value: number): { state: AdwinState; changed: boolean } {
  if (!Number.isFinite(value)) throw new RangeError('ADWIN takes finite values');
  const buckets: AdwinBucket[] = [{ n: 1, sum: value, m2: 0 }, ...s.buckets];
  compress(buckets);
  let changed = false;
  while (cutOnce(buckets, s.delta)) changed = true;
  return { state: { delta: s.delta, buckets, detections: s.detections + (changed ? 1 : 0) }, changed };
}

/** Keeps at most MAX_BUCKETS of each size by merging the two oldest of that size into the next. */
function compress(buckets: AdwinBucket[]): void {
  let i = 0;
  while (i < buckets.length) {
    const size = (buckets[i] as AdwinBucket).n;
    let j = i;
    while (j < buckets.length && (buckets[j] as AdwinBucket).n === size) j++;
    if (j - i > MAX_BUCKETS) {
      // The two oldest of this size sit at j-2 and j-1 (newest first).
      buckets.splice(j - 2, 2, merge(buckets[j - 2] as AdwinBucket, buckets[j - 1] as AdwinBucket));
      i = j - 2;
    } else i = j;
  }
}

/** Drops the oldest bucket when some split shows a change; true if it did. */
function cutOnce(buckets: AdwinBucket[], delta: number): boolean {
  if (buckets.length < 2) return false;
  let n = 0;
  let total = 0;
  let m2 = 0;
  let whole: AdwinBucket | undefined;
  for (const b of buckets) whole = whole ? merge(whole, b) : b;
  n = (whole as AdwinBucket).n;
  total = (whole as AdwinBucket).sum;
  m2 = (whole as AdwinBucket).m2;
  if (n < 2 * MIN_SIDE) return false;
  const variance = m2 / n;
  const lnTerm = Math.log((2 * Math.log(n)) / delta);
  // W0 grows from the oldest bucket; W1 is the rest (the newer values).
  let n0 = 0;
  let s0 = 0;
  for (let k = buckets.length - 1; k > 0; k--) {
    const b = buckets[k] as AdwinBucket;
    n0 += b.n;
    s0 += b.sum;
    const n1 = n - n0;
    if (n0 < MIN_SIDE || n1 < MIN_SIDE) continue;
    const m = 1 / (1 / n0 + 1 / n1);
    const eps = Math.sqrt((2 / m) * variance * lnTerm) + (2 / (3 * m)) * lnTerm;
    if (Math.abs(s0 / n0 - (total - s0) / n1) >= eps) {
      buckets.pop();
      return true;
    }
  }
  return false;
}
