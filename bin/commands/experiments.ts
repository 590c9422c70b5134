/**
 * `serval experiments compare FILE...` — run the experiments statistics engine over case files
 * ({"name", "kind", "params", "input"}, other keys ignored; the format of
 * test/fixtures/experiments/README.md) and print one JSON object {name: result}, each result with
 * the keys of the case's "expected", the format check.py reads. Bad input: one line on stderr,
 * exit code 2.
 */
import { Command } from 'commander';
import { parseCase, runCase } from '../../functions/core/experiments/cases.js';
import { withCompareCommand } from './compare-files.js';

export function experimentsCommand(): Command {
  return withCompareCommand(
    new Command('experiments').description('A/B-test statistics (z-test, Welch t, mSPRT, Bonferroni/BH)'),
    {
      description: 'compute the statistics of case files and print {name: result} as JSON',
      files: 'case files: {"name", "kind", "params", "input"}',
      parse: parseCase,
      run: runCase,
    },
  );
}
