/**
 * `serval drift compare` end to end: the real CLI in a child process, its JSON output checked
 * against the fixtures' scipy values, and bad input → exit code 2 with a one-line message.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir, serval } from '../../support/serval-cli.js';
import { agrees, CASES_DIR, loadCase } from './tolerances.js';

const tmp = scratchDir('serval-drift-cli-');

describe('serval drift compare', () => {
  it('prints one JSON object whose values agree with the scipy fixtures', () => {
    const files = ['pub_num_mean_shift_0p1.json', 'pub_cat_unseen_in_current.json'];
    const run = serval('drift', 'compare', ...files.map((f) => join(CASES_DIR, f)));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as Record<string, Record<string, unknown>>;
    expect(Object.keys(out).sort()).toEqual(['pub_cat_unseen_in_current', 'pub_num_mean_shift_0p1']);
    for (const f of files) {
      const c = loadCase(f);
      const got = out[c.name]!;
      for (const [metric, expected] of Object.entries(c.expected)) {
        expect(agrees(metric, got[metric], expected), `${c.name}.${metric}: ${String(got[metric])}`).toBe(
          true,
        );
      }
    }
    expect(Object.keys(out.pub_num_mean_shift_0p1!).sort()).toEqual(
      [
        'js_distance',
        'js_distance_raw',
        'ks_method_auto',
        'ks_pvalue_asymp',
        'ks_pvalue_auto',
        'ks_pvalue_kolmogorov',
        'ks_statistic',
        'psi',
        'wasserstein',
        'wasserstein_norm',
      ].sort(),
    );
    expect(Object.keys(out.pub_cat_unseen_in_current!).sort()).toEqual(
      ['chi2_df', 'chi2_pvalue', 'chi2_stat', 'js_distance', 'js_distance_raw', 'psi'].sort(),
    );
  });

  it('exits 2 with a one-line message for a file that is not a case', () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{"name": "x", "kind": "numerical", "reference": [1, "two"], "current": [3]}');
    const run = serval('drift', 'compare', join(CASES_DIR, 'pub_cat_tiny_n5.json'), bad);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('bad.json');
    expect(run.stderr).toMatch(/"reference"\[1\] must be a number or null/);
  });

  it('exits 2 for unreadable, non-JSON and all-null files', () => {
    const notJson = join(tmp, 'not.json');
    writeFileSync(notJson, 'hello');
    const allNull = join(tmp, 'null.json');
    writeFileSync(allNull, '{"name": "n", "kind": "categorical", "reference": [null], "current": ["a"]}');
    for (const file of [join(tmp, 'missing.json'), notJson, allNull]) {
      const run = serval('drift', 'compare', file);
      expect(run.status, file).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
