/**
 * The shared `compare FILE...` runner behind `serval drift compare` and `serval experiments
 * compare`, in process: which failures become one-line bad input (named by file) and which are
 * bugs that must surface as crashes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInput, compareFiles, withCompareCommand } from '../../../bin/commands/compare-files.js';
import { validationFailed } from '../../../functions/core/kernel/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'serval-compare-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

const spec = {
  parse: (data: unknown) => {
    const c = data as { name?: unknown; x?: unknown };
    if (typeof c.name !== 'string') throw new BadInput('"name" must be a string');
    if (c.x === 'bug') throw new TypeError('engine bug');
    if (typeof c.x !== 'number') throw validationFailed('"x" must be a number');
    return { name: c.name, x: c.x };
  },
  run: (c: { name: string; x: number }) => ({ twice: 2 * c.x }),
};

describe('compareFiles', () => {
  it('runs every file and keys the results by case name', async () => {
    const a = file('a.json', '{"name": "a", "x": 1}');
    const b = file('b.json', '{"name": "b", "x": 2.5}');
    expect(await compareFiles(spec, [a, b])).toEqual({ a: { twice: 2 }, b: { twice: 5 } });
  });

  it('turns unreadable, non-JSON, malformed, invalid and duplicate input into BadInput naming the file', async () => {
    const good = file('good.json', '{"name": "g", "x": 1}');
    const cases: [string[], RegExp][] = [
      [[join(tmp, 'missing.json')], /missing\.json: cannot read file \(ENOENT\)/],
      [[file('text.json', 'hello')], /text\.json: not valid JSON/],
      [[file('noname.json', '{"x": 1}')], /noname\.json: "name" must be a string/],
      [[file('nox.json', '{"name": "n"}')], /nox\.json: "x" must be a number/],
      [[good, good], /good\.json: duplicate case name "g"/],
    ];
    for (const [files, message] of cases) {
      const err = await compareFiles(spec, files).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadInput);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('lets any other error through as it is', async () => {
    const err = await compareFiles(spec, [file('bug.json', '{"name": "b", "x": "bug"}')]).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TypeError);
    expect(err).not.toBeInstanceOf(BadInput);
  });
});

describe('withCompareCommand', () => {
  it('adds "compare <files...>" under the given parent', () => {
    const parent = withCompareCommand(new Command('demo'), { ...spec, description: 'd', files: 'f' });
    const compare = parent.commands.find((c) => c.name() === 'compare');
    expect(compare?.description()).toBe('d');
    expect(compare?.registeredArguments.map((a) => [a.name(), a.variadic, a.required])).toEqual([
      ['files', true, true],
    ]);
  });
});
