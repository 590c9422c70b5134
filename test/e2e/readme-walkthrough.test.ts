/**
 * The README's registry walkthrough, run as printed: the ```sh block(s) of its "Using the
 * registry" section are read from README.md at test time and run with bash, in a directory that
 * holds the `.serval` data directory of a started platform and the model.onnx the README's
 * `serval demo-model` command writes. Only the port in `API=` is changed (the test platform
 * listens on a free one, not 3000). A README edit that breaks the walkthrough fails here.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { servalForFile } from '../support/lifecycle.js';
import type { ServalProcess } from '../support/serval-process.js';

const workDir = mkdtempSync(join(tmpdir(), 'serval-readme-'));
let serval: ServalProcess;

servalForFile({
  // The README reads the key from .serval/admin-key, relative to where the commands run.
  options: { dataDir: join(workDir, '.serval') },
  setup: ({ serval: started }) => {
    serval = started;
  },
});

/** The fenced sh blocks between "## Using the registry" and the next heading (outside a fence). */
function walkthrough(readme: string): string {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => l.trim() === '## Using the registry');
  if (start < 0) throw new Error('README.md has no "## Using the registry" section');
  const blocks: string[] = [];
  let fence: string | null = null;
  let current: string[] | null = null;
  for (const line of lines.slice(start + 1)) {
    if (fence === null && /^#{1,6} /.test(line)) break;
    if (fence === null && line.startsWith('```')) {
      fence = line.trim();
      if (fence === '```sh') current = [];
    } else if (fence !== null && line.trim() === '```') {
      if (current) blocks.push(current.join('\n'));
      fence = null;
      current = null;
    } else if (current) current.push(line);
  }
  return blocks.join('\n');
}

describe('README: Using the registry', () => {
  it('runs as printed and ends with a production model that serves', () => {
    const readme = readFileSync('README.md', 'utf8');
    const script = walkthrough(readme);
    expect(script).toContain('API=http://127.0.0.1:3000/v1');
    expect(script).toMatch(/\/models\/churn\/predict/);
    // The model comes from the command the README names, run the way npx would run it.
    expect(readme).toContain('npx serval demo-model --out model.onnx');
    const made = spawnSync(
      process.execPath,
      ['bin/serval.js', 'demo-model', '--out', join(workDir, 'model.onnx')],
      {
        encoding: 'utf8',
      },
    );
    expect(made.status, made.stderr).toBe(0);

    const runnable = script.replace('API=http://127.0.0.1:3000/v1', `API=http://127.0.0.1:${serval.port}/v1`);
    // Every response ends with a newline marker, so each curl's answer can be told apart.
    const res = spawnSync(
      'bash',
      ['-euo', 'pipefail', '-c', `curl() { command curl -sS -w '\\n' "$@"; }\n${runnable}`],
      {
        cwd: workDir,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(res.status, `${res.stderr}\n${res.stdout}`).toBe(0);
    const answers = res.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // No step of the walkthrough may be refused.
    expect(answers.filter((a) => 'error' in a)).toEqual([]);
    // Latency depends on the machine; that the model loads and fits its schema does not.
    const validation = answers.find((a) => 'checks' in a) as { checks: { name: string; passed: boolean }[] };
    expect(validation.checks.filter((c) => c.name !== 'latency').every((c) => c.passed)).toBe(true);
    const predicted = answers.at(-1) as Record<string, unknown>;
    expect(predicted).toMatchObject({
      model: 'churn',
      modelVersion: '1.0.0',
      runtime: 'lambda',
      predictions: ['versicolor', 'virginica'],
    });
    expect(predicted.probabilities).toHaveLength(2);
  });
});
