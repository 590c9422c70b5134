/**
 * Stack traces of a deployed function, which runs without --enable-source-maps: a bundle built as
 * a function's is maps a stack when it is read (functions/handlers/stack-traces.ts). The reference
 * is Node's own mapping (--enable-source-maps) of the same code, bundled the same way.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installSourceMappedStacks } from '../../functions/handlers/stack-traces.js';
import { bundleFunction, entryFileIn } from '../../lib/constructs/function-bundle.js';

let dir: string;

// The throw is on line 3, column 11; the call that reaches it on line 8, column 22.
const THROWER = `export class Store {
  read(key: string): string {
    throw new Error(\`no \${key}\`);
  }
}
export async function load(key: string): Promise<string> {
  await Promise.resolve();
  return new Store().read(key);
}
`;

/** An entry that runs the thrower and answers its error's stack; `install` maps it our way. */
const entry = (install: boolean) => `${
  install
    ? `import { installSourceMappedStacks } from ${JSON.stringify(join(process.cwd(), 'functions/handlers/stack-traces.ts'))};
export const installed = installSourceMappedStacks();\n`
    : ''
}import { load } from './thrower.js';
export async function run() {
  try {
    await load('k');
  } catch (e) {
    return (e as Error).stack;
  }
}
`;

function stackOf(outdir: string, nodeFlags: string[] = []): { installed?: boolean; stack: string } {
  const script = `const m = await import(${JSON.stringify(entryFileIn(outdir))});
    process.stdout.write(JSON.stringify({ installed: m.installed, stack: await m.run() }));`;
  return JSON.parse(
    execFileSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], { encoding: 'utf8' }),
  );
}

/** file:line:column of each frame in the thrower, by the file's base name. */
const throwerFrames = (stack: string) =>
  [...stack.matchAll(/[\w/.-]*?(thrower\.ts:\d+:\d+)/g)].map((m) => m[1] as string);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'serval-stack-traces-'));
  writeFileSync(join(dir, 'thrower.ts'), THROWER);
  writeFileSync(join(dir, 'mapped.ts'), entry(true));
  writeFileSync(join(dir, 'plain.ts'), entry(false));
  for (const name of ['mapped', 'plain']) {
    await bundleFunction({ entry: join(dir, `${name}.ts`), outdir: join(dir, `out-${name}`) });
  }
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stacks of a bundled function', () => {
  it("name the original file, line and column, as Node's own source-map support does", () => {
    const ours = stackOf(join(dir, 'out-mapped'));
    const node = stackOf(join(dir, 'out-plain'), ['--enable-source-maps']);
    expect(ours.installed).toBe(true);
    expect(throwerFrames(node.stack)).toEqual(['thrower.ts:3:11', 'thrower.ts:8:22']);
    expect(throwerFrames(ours.stack)).toEqual(throwerFrames(node.stack));
    expect(ours.stack.split('\n')[0]).toBe('Error: no k');
    // No frame is left at a position in the bundle.
    expect(ours.stack).not.toMatch(/index\.mjs:\d+/);
  });

  it('are left as V8 writes them where the maps are not shipped', () => {
    const outdir = join(dir, 'out-mapped');
    for (const f of readdirSync(outdir, { recursive: true }) as string[])
      if (f.endsWith('.map')) unlinkSync(join(outdir, f));
    const bare = stackOf(outdir);
    expect(bare.installed).toBe(false);
    expect(throwerFrames(bare.stack)).toEqual([]);
    expect(bare.stack).toMatch(/index\.mjs:\d+:\d+/);
  });

  it('are not touched when the code runs from source (tsx maps those itself)', () => {
    const before = Error.prepareStackTrace;
    expect(installSourceMappedStacks()).toBe(false);
    expect(Error.prepareStackTrace).toBe(before);
  });
});
