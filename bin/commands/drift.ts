/**
 * `serval drift compare FILE...` — run the drift statistics engine over case files
 * ({"name", "kind", "reference", "current"}, other keys ignored) and print one JSON object
 * {name: {metric: value}}, the format scipy's check.py reads. Bad input: one line on stderr,
 * exit code 2.
 */
import { Command } from 'commander';
import { compareColumns } from '../../functions/core/stats/compare.js';
import { BadInput, withCompareCommand } from './compare-files.js';

interface CaseFile {
  readonly name: string;
  readonly kind: 'numerical' | 'categorical';
  readonly reference: (string | number | null)[];
  readonly current: (string | number | null)[];
}

function parseCase(data: unknown): CaseFile {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new BadInput('expected a JSON object with name, kind, reference and current');
  }
  const c = data as Record<string, unknown>;
  if (typeof c.name !== 'string' || c.name === '') throw new BadInput('"name" must be a non-empty string');
  if (c.kind !== 'numerical' && c.kind !== 'categorical') {
    throw new BadInput('"kind" must be "numerical" or "categorical"');
  }
  for (const side of ['reference', 'current'] as const) {
    const col = c[side];
    if (!Array.isArray(col)) throw new BadInput(`"${side}" must be an array`);
    const want = c.kind === 'numerical' ? 'number' : 'string';
    const badAt = col.findIndex((v) => v !== null && typeof v !== want);
    if (badAt >= 0) throw new BadInput(`"${side}"[${badAt}] must be a ${want} or null`);
  }
  return c as unknown as CaseFile;
}

export function driftCommand(): Command {
  return withCompareCommand(
    new Command('drift').description('Data-drift statistics (KS, Wasserstein, PSI, JS, chi-square)'),
    {
      description: 'compute every drift metric for case files and print {name: {metric: value}} as JSON',
      files: 'case files: {"name", "kind": "numerical"|"categorical", "reference", "current"}',
      parse: parseCase,
      run: (c) => compareColumns(c.kind, c.reference, c.current),
    },
  );
}
