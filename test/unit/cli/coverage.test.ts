/**
 * Every route of the route table has a `serval` command: COMMAND_OF names one per operationId
 * (its type makes a new route a compile error until it is named), and here each named command is
 * found in the real command tree, with the path parameters it needs as arguments or, through
 * `serval api`, as --param.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_OF, requestOf } from '../../../bin/commands/platform.js';
import { buildProgram } from '../../../bin/commands/program.js';
import { ROUTES } from '../../../functions/contract/routes.js';
import { serval } from '../../support/serval-cli.js';

function find(program: Command, words: readonly string[]): Command | undefined {
  let at: Command | undefined = program;
  for (const w of words) at = at?.commands.find((c) => c.name() === w);
  return at;
}

describe('serval CLI covers the route table', () => {
  const program = buildProgram();

  it.each(ROUTES.map((r) => [r.operationId, r] as const))('%s has a command', (op, route) => {
    const named = (COMMAND_OF as Record<string, string | undefined>)[op];
    expect(named, `no command for ${op}: add it to COMMAND_OF in bin/commands/platform.ts`).toBeDefined();
    const [words, flag] = named!.split(' --');
    const parts = words!.split(' ');
    if (parts[0] === 'api') {
      expect(parts[1]).toBe(op);
      expect(find(program, ['api'])).toBeDefined();
      // The generic command builds the route's request from --param values.
      const params = Object.fromEntries([...route.path.matchAll(/\{(\w+)\}/g)].map((m) => [m[1]!, 'p']));
      expect(requestOf(op, params)).toEqual({
        method: route.method,
        path: route.path.replace(/\{\w+\}/g, 'p'),
      });
      return;
    }
    const cmd = find(program, parts);
    expect(cmd, `serval ${words} does not exist`).toBeDefined();
    if (flag) expect(cmd!.options.map((o) => o.long)).toContain(`--${flag}`);
  });

  it('names no operation the route table lacks', () => {
    expect(Object.keys(COMMAND_OF).sort()).toEqual(ROUTES.map((r) => r.operationId).sort());
  });
});

describe('serval --version', () => {
  it("prints the package's version", () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    const run = serval('--version');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${pkg.version}\n`);
  });

  it("leaves a command's own --version to the command", () => {
    const run = serval('register', 'churn', '--version', '1.0.0');
    // register's --version names the version to register: without --file or --uri it says so.
    expect(run.stdout).not.toContain(
      JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version,
    );
    expect(run.stderr).toMatch(/--file|--uri/);
  });
});
