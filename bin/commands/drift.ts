/**
 * `serval drift compare FILE...` — run the drift statistics engine over case files
 * ({"name", "kind", "reference", "current"}, other keys ignored) and print one JSON object
 * {name: {metric: value}}, the format scipy's check.py reads. Bad input: one line on stderr,
 * exit code 2.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { isDomainError } from '../../functions/core/kernel/errors.js';
import { compareColumns, type MetricRecord } from '../../functions/core/stats/compare.js';

class BadInput extends Error {}

interface CaseFile {
  readonly name: string;
  readonly kind: 'numerical' | 'categorical';
  readonly reference: unknown[];
  readonly current: unknown[];
}

function parseCase(text: string): CaseFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new BadInput(`not valid JSON (${(err as Error).message})`);
  }
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

async function compareFiles(files: readonly string[]): Promise<Record<string, MetricRecord>> {
  const out: Record<string, MetricRecord> = {};
  for (const file of files) {
    try {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        throw new BadInput(
          `cannot read file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        );
      }
      const c = parseCase(text);
      if (Object.hasOwn(out, c.name)) throw new BadInput(`duplicate case name "${c.name}"`);
      out[c.name] = compareColumns(
        c.kind,
        c.reference as (string | number | null)[],
        c.current as (string | number | null)[],
      );
    } catch (err) {
      if (err instanceof BadInput || isDomainError(err, 'validation_failed')) {
        throw new BadInput(`${file}: ${err.message}`);
      }
      throw err;
    }
  }
  return out;
}

export function driftCommand(): Command {
  const drift = new Command('drift').description(
    'Data-drift statistics (KS, Wasserstein, PSI, JS, chi-square)',
  );
  drift
    .command('compare')
    .description('compute every drift metric for case files and print {name: {metric: value}} as JSON')
    .argument('<files...>', 'case files: {"name", "kind": "numerical"|"categorical", "reference", "current"}')
    .action(async (files: string[]) => {
      try {
        const result = await compareFiles(files);
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } catch (err) {
        if (!(err instanceof BadInput)) throw err;
        process.stderr.write(`serval drift compare: ${err.message}\n`);
        process.exitCode = 2;
      }
    });
  return drift;
}
