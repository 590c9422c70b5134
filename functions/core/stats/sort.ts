/**
 * Ascending sort of NaN-free doubles. Sorting dominates every two-sample metric (KS and
 * Wasserstein are one linear merge after it), so large arrays use an LSD radix sort on the raw
 * IEEE-754 bits — six 11-bit passes, each a counting scatter, 3–4× faster than the built-in
 * comparison sort from ~10^4 elements up. Small arrays use the built-in sort.
 *
 * Trick: read as unsigned integers, non-negative doubles already sort in value order; negative
 * ones (sign bit set) land after them in reverse value order. So sort the bits as unsigned, then
 * move the negative block to the front reversed. −0 (bits 0x8000…0) ends up just before +0.
 */

const RADIX_MIN_LENGTH = 4096;
const BITS = 11;
const BUCKETS = 1 << BITS; // 2048
const MASK = BUCKETS - 1;

/**
 * Sort `values` ascending. May sort in place or return a different array (the radix path needs
 * a second buffer); always use the return value. Input must not contain NaN.
 */
export function sortFloat64(values: Float64Array): Float64Array {
  const n = values.length;
  if (n < RADIX_MIN_LENGTH) return values.sort();
  let src: Float64Array = values;
  let dst: Float64Array = new Float64Array(n);
  // One histogram per 11-bit digit: bits 0–10, 11–21, 22–32 (straddles the two words),
  // 33–43, 44–54, 55–63.
  const h = new Int32Array(BUCKETS * 6);
  let u = new Uint32Array(src.buffer, src.byteOffset, 2 * n);
  for (let i = 0, k = 0; i < n; i++, k += 2) {
    const lo = u[k]!;
    const hi = u[k + 1]!;
    h[lo & MASK]!++;
    h[BUCKETS + ((lo >>> 11) & MASK)]!++;
    h[2 * BUCKETS + (((lo >>> 22) | (hi << 10)) & MASK)]!++;
    h[3 * BUCKETS + ((hi >>> 1) & MASK)]!++;
    h[4 * BUCKETS + ((hi >>> 12) & MASK)]!++;
    h[5 * BUCKETS + (hi >>> 23)]!++;
  }
  for (let pass = 0; pass < 6; pass++) {
    const off = pass * BUCKETS;
    // Exclusive prefix sums; a digit shared by every element needs no pass (common for the low
    // mantissa bits of integers or rounded data).
    let sum = 0;
    let trivial = false;
    for (let d = 0; d < BUCKETS; d++) {
      const c = h[off + d]!;
      if (c === n) trivial = true;
      h[off + d] = sum;
      sum += c;
    }
    if (trivial) continue;
    u = new Uint32Array(src.buffer, src.byteOffset, 2 * n);
    // One loop per digit position keeps the hot loops free of branches.
    switch (pass) {
      case 0:
        for (let i = 0; i < n; i++) dst[h[u[2 * i]! & MASK]!++] = src[i]!;
        break;
      case 1:
        for (let i = 0; i < n; i++) dst[h[off + ((u[2 * i]! >>> 11) & MASK)]!++] = src[i]!;
        break;
      case 2:
        for (let i = 0; i < n; i++) {
          dst[h[off + (((u[2 * i]! >>> 22) | (u[2 * i + 1]! << 10)) & MASK)]!++] = src[i]!;
        }
        break;
      case 3:
        for (let i = 0; i < n; i++) dst[h[off + ((u[2 * i + 1]! >>> 1) & MASK)]!++] = src[i]!;
        break;
      case 4:
        for (let i = 0; i < n; i++) dst[h[off + ((u[2 * i + 1]! >>> 12) & MASK)]!++] = src[i]!;
        break;
      default:
        for (let i = 0; i < n; i++) dst[h[off + (u[2 * i + 1]! >>> 23)]!++] = src[i]!;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  // Negative block: from the first element with the sign bit set to the end.
  u = new Uint32Array(src.buffer, src.byteOffset, 2 * n);
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (u[2 * mid + 1]! & 0x80000000) hi = mid;
    else lo = mid + 1;
  }
  const negatives = n - lo;
  if (negatives === 0) return src;
  for (let i = 0; i < negatives; i++) dst[i] = src[n - 1 - i]!;
  dst.set(src.subarray(0, lo), negatives);
  return dst;
}
