/**
 * `serval experiments compare FILE...` — run the experiments statistics engine over case files
 * ({"name", "kind", "params", "input"}, other keys ignored; the format of
 * test/fixtures/experiments/README.md) and print one JSON object {name: result}, each result with
 * the keys of the case's "expected", the format check.py reads. Bad input: one line on stderr,
 * exit code 2.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { parseCase, runCase } from '../../functions/core/experiments/cases.js';
import { isDomainError } from '../../functions/core/kernel/errors.js';

class BadInput extends Error {}

async function compareFiles(files: readonly string[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
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
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (err) {
        throw new BadInput(`not valid JSON (${(err as Error).message})`);
      }
      const c = parseCase(data);
      if (Object.hasOwn(out, c.name)) throw new BadInput(`duplicate case name "${c.name}"`);
      out[c.name] = runCase(c);
    } catch (err) {
      if (err instanceof BadInput || isDomainError(err, 'validation_failed')) {
        throw new BadInput(`${file}: ${err.message}`);
      }
      throw err;
    }
  }
  return out;
}

export function experimentsCommand(): Command {
  const experiments = new Command('experiments').description(
    'A/B-test statistics (z-test, Welch t, mSPRT, Bonferroni/BH)',
  );
  experiments
    .command('compare')
    .description('compute the statistics of case files and print {name: result} as JSON')
    .argument('<files...>', 'case files: {"name", "kind", "params", "input"}')
    .action(async (files: string[]) => {
      try {
        const result = await compareFiles(files);
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } catch (err) {
        if (!(err instanceof BadInput)) throw err;
        process.stderr.write(`serval experiments compare: ${err.message}\n`);
        process.exitCode = 2;
      }
    });
  return experiments;
}
