/**
 * Date.toISOString for timestamps taken many times a second (a capture record's `at` per
 * request). Formatting a Date costs about a microsecond, a sizeable share of a warm prediction;
 * requests within the same second share everything but the milliseconds, so only those are
 * formatted per call. The output is exactly toISOString's, which still formats (and throws on an
 * invalid date) whenever the second changes.
 */
let second = Number.NaN;
let prefix = '';

export function isoTime(date: Date): string {
  const ms = date.getTime();
  const s = Math.floor(ms / 1000);
  if (s !== second) {
    // Everything up to and including the '.' before the milliseconds (years beyond 9999 too).
    prefix = date.toISOString().slice(0, -4);
    second = s;
  }
  const frac = ms - s * 1000;
  return prefix + (frac < 10 ? '00' : frac < 100 ? '0' : '') + frac + 'Z';
}
