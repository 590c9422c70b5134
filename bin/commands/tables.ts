/**
 * Tables for people, shared by every `serval` command that lists or shows records. Scripts use
 * `--json`, which prints the API's body as it came.
 */

export type Json = Record<string, unknown>;

/** Columns padded to their widest cell; the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** 4 significant digits; null/undefined as "–". */
export function num(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return Number(x.toPrecision(4)).toString();
}

/** p-values: 4 decimals, or scientific below 0.0001 (so a tiny p is never shown as 0). */
export function pval(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '–';
  if (p === 0) return '0';
  return p < 1e-4 ? p.toExponential(2) : p.toFixed(4);
}

/** At most `width` characters; a cut text ends in "…" so it is not read as whole. */
export const clip = (text: string, width: number) =>
  text.length > width ? `${text.slice(0, width - 1)}…` : text;

/** A cell: absent or empty as "–". */
export const str = (v: unknown) => (v === null || v === undefined || v === '' ? '–' : String(v));

const more = (page: unknown) => {
  const next = (page as { nextCursor?: string | null }).nextCursor;
  return next ? `\nmore: --cursor ${next}` : '';
};

/** A page of a listing (`{items, nextCursor}`) as a table, with the cursor of the next page. */
export function listTable<T = Json>(
  page: unknown,
  columns: readonly (readonly [string, (r: T) => unknown])[],
  empty = '(none)',
): string {
  // The API's answer as it came: typed by the caller's record type, not checked here.
  const rows = ((page as { items?: T[] }).items ?? []) as T[];
  if (rows.length === 0) return empty;
  return table([columns.map(([h]) => h), ...rows.map((r) => columns.map(([, f]) => str(f(r))))]) + more(page);
}
