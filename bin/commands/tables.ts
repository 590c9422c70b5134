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

/** A cell: absent or empty as "–". */
export const str = (v: unknown) => (v === null || v === undefined || v === '' ? '–' : String(v));

const more = (page: unknown) => {
  const next = (page as { nextCursor?: string | null }).nextCursor;
  return next ? `\nmore: --cursor ${next}` : '';
};

/** A page of a listing (`{items, nextCursor}`) as a table, with the cursor of the next page. */
export function listTable(
  page: unknown,
  columns: readonly (readonly [string, (r: Json) => unknown])[],
  empty = '(none)',
): string {
  const rows = ((page as { items?: Json[] }).items ?? []) as Json[];
  if (rows.length === 0) return empty;
  return table([columns.map(([h]) => h), ...rows.map((r) => columns.map(([, f]) => str(f(r))))]) + more(page);
}
