/**
 * `serval experiments compare` end to end: the real CLI in a child process on all 28 fixtures,
 * its JSON checked against the cases' expected values in TypeScript (the same comparison
 * check.py makes), and bad input → exit code 2 with one line on stderr.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir, serval } from '../../support/serval-cli.js';
import { CASES_DIR, caseFiles, loadCase, mismatches } from './reference.js';

const tmp = scratchDir('serval-exp-cli-');

describe('serval experiments compare', () => {
  it('prints one JSON object that agrees with every case', () => {
    const files = caseFiles();
    const run = serval('experiments', 'compare', ...files.map((f) => join(CASES_DIR, f)));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    const out = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(Object.keys(out)).toHaveLength(28);
    for (const f of files) {
      const c = loadCase(f);
      expect(mismatches(out[c.name], c.expected), c.name).toEqual([]);
    }
  });

  it('exits 2 with a one-line message naming the file and the problem', () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        name: 'x',
        kind: 'fixed_binary',
        params: { ci_level: 0.95 },
        input: {
          variants: [
            { name: 'a', n: 10, successes: 3 },
            { name: 'b', n: 10, successes: 4 },
          ],
        },
      }),
    );
    const run = serval('experiments', 'compare', join(CASES_DIR, 'pub_mt_single.json'), bad);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('bad.json');
    expect(run.stderr).toMatch(/exactly one variant must have "control": true/);
  });

  it('exits 2 for unreadable, non-JSON, unknown-kind and duplicate-name input', () => {
    const notJson = join(tmp, 'not.json');
    writeFileSync(notJson, 'hello');
    const kind = join(tmp, 'kind.json');
    writeFileSync(kind, '{"name": "k", "kind": "bayesian", "input": {}}');
    const single = join(CASES_DIR, 'pub_mt_single.json');
    for (const files of [[join(tmp, 'missing.json')], [notJson], [kind], [single, single]]) {
      const run = serval('experiments', 'compare', ...files);
      expect(run.status, files.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
