/**
 * What the drift and experiments reference sets (test/fixtures/{drift,experiments}/cases) share:
 * a directory of JSON cases, and check.py's leaf rule — a value agrees if |a − e| ≤ atol or
 * |a − e| ≤ rtol·scale, where a `null` tolerance means exact equality.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** [rtol, atol], or null for metrics compared exactly (counts, methods, look numbers). */
export type Tolerance = readonly [rtol: number, atol: number] | null;

export interface CaseDirectory {
  /** Absolute path, with a trailing slash. */
  readonly dir: string;
  /** The .json case files, sorted, so test order is stable. */
  files(): string[];
  read(file: string): unknown;
}

export function caseDirectory(url: URL): CaseDirectory {
  const dir = fileURLToPath(url);
  return {
    dir,
    files: () =>
      readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort(),
    read: (file) => JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as unknown,
  };
}

/**
 * check.py's comparison of one value. `scale` defaults to |expected|; a metric missing from
 * `tolerances` throws, so a new output key cannot pass unchecked.
 */
export function withinTolerance(
  tolerances: Readonly<Record<string, Tolerance>>,
  metric: string,
  actual: unknown,
  expected: unknown,
  scale?: number,
): boolean {
  const tol = tolerances[metric];
  if (tol === undefined) throw new Error(`no tolerance for metric ${metric}`);
  if (tol === null) return actual === expected;
  if (typeof actual !== 'number' || typeof expected !== 'number' || !Number.isFinite(actual)) return false;
  const [rtol, atol] = tol;
  const diff = Math.abs(actual - expected);
  return diff <= atol || diff <= rtol * (scale ?? Math.abs(expected));
}
