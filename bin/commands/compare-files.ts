/**
 * The `compare FILE...` subcommand shared by `serval drift` and `serval experiments`: read each
 * case file, parse it, run it and print one JSON object {name: result}. Bad input (unreadable,
 * not JSON, a malformed case, a duplicate name, or a validation_failed from the engine) is one
 * line on stderr naming the file, and exit code 2; anything else is a bug and is thrown.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { isDomainError } from '../../functions/core/kernel/errors.js';

/** A problem with the input, reported on stderr rather than as a crash. */
export class BadInput extends Error {}

export interface CompareSpec<C extends { readonly name: string }> {
  readonly description: string;
  /** Help text for the <files...> argument. */
  readonly files: string;
  /** Checks a parsed JSON value; throws BadInput or a validation_failed DomainError. */
  readonly parse: (data: unknown) => C;
  readonly run: (c: C) => unknown;
}

export async function compareFiles<C extends { readonly name: string }>(
  spec: Pick<CompareSpec<C>, 'parse' | 'run'>,
  files: readonly string[],
): Promise<Record<string, unknown>> {
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
      const c = spec.parse(data);
      if (Object.hasOwn(out, c.name)) throw new BadInput(`duplicate case name "${c.name}"`);
      out[c.name] = spec.run(c);
    } catch (err) {
      if (err instanceof BadInput || isDomainError(err, 'validation_failed')) {
        throw new BadInput(`${file}: ${err.message}`);
      }
      throw err;
    }
  }
  return out;
}

/** Adds `compare <files...>` under `parent` (e.g. `serval drift`); returns the parent. */
export function withCompareCommand<C extends { readonly name: string }>(
  parent: Command,
  spec: CompareSpec<C>,
): Command {
  parent
    .command('compare')
    .description(spec.description)
    .argument('<files...>', spec.files)
    .action(async (files: string[]) => {
      try {
        const result = await compareFiles(spec, files);
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } catch (err) {
        if (!(err instanceof BadInput)) throw err;
        process.stderr.write(`serval ${parent.name()} compare: ${err.message}\n`);
        process.exitCode = 2;
      }
    });
  return parent;
}
