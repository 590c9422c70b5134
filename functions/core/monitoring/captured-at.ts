/**
 * The instant of a captured row's `at`, exactly as Date.parse reads it, without calling Date.parse
 * per row: on a window of millions of rows Date.parse was a visible share of a drift check's first
 * run. Capture writes `at` with toISOString (`YYYY-MM-DDTHH:MM:SS.sssZ`), and the rows of one
 * object share a day, so the day is parsed once by Date.parse (which stays the judge of what a
 * valid date is: it reads 2024-02-30 as March 1st and 2024-13-01 as invalid) and only the time of
 * day is read here, digit by digit. Anything else (another length, lowercase `t`/`z`, `24:00`,
 * a leap second, an offset) goes to Date.parse as before, so every row gets the same instant (or
 * NaN) it got from Date.parse.
 */
export class CapturedAtReader {
  private day = '';
  private dayMs = Number.NaN;

  /** Milliseconds since the epoch, or NaN for a timestamp Date.parse rejects. */
  ms(at: string): number {
    if (
      at.length !== 24 ||
      at.charCodeAt(10) !== 84 /* T */ ||
      at.charCodeAt(13) !== 58 /* : */ ||
      at.charCodeAt(16) !== 58 ||
      at.charCodeAt(19) !== 46 /* . */ ||
      at.charCodeAt(23) !== 90 /* Z */
    ) {
      return Date.parse(at);
    }
    const h = digits2(at, 11);
    const m = digits2(at, 14);
    const s = digits2(at, 17);
    const f = digits2(at, 20) * 10 + digit(at, 22);
    // NaN (a non-digit) fails every comparison and takes the Date.parse path too.
    if (!(h < 24 && m < 60 && s < 60 && f >= 0)) return Date.parse(at);
    if (this.day === '' || !at.startsWith(this.day)) {
      // Only a plain `DDDD-DD-DD` day is cached: anything else may be read by Date.parse's
      // legacy (local time) parser, where adding the time of day is not the same instant.
      if (!isIsoDay(at)) return Date.parse(at);
      this.day = at.slice(0, 10);
      this.dayMs = Date.parse(`${this.day}T00:00:00.000Z`);
    }
    return this.dayMs + ((h * 60 + m) * 60 + s) * 1000 + f;
  }
}

function isIsoDay(s: string): boolean {
  if (s.charCodeAt(4) !== 45 /* - */ || s.charCodeAt(7) !== 45) return false;
  for (const i of [0, 1, 2, 3, 5, 6, 8, 9]) if (Number.isNaN(digit(s, i))) return false;
  return true;
}

function digit(s: string, i: number): number {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : Number.NaN;
}

function digits2(s: string, i: number): number {
  return digit(s, i) * 10 + digit(s, i + 1);
}
