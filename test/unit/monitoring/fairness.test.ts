/**
 * Fairness metrics: Fairlearn's definitions worked by hand on a small table, the bootstrap
 * interval against the normal approximation of the difference of two proportions on large
 * groups, seeding, and the flags for groups too small to trust.
 */
import { describe, expect, it } from 'vitest';
import {
  type FairnessRow,
  fairnessReport,
  MIN_RELIABLE,
} from '../../../functions/core/monitoring/fairness.js';
import { seededRandom } from '../../support/random.js';

const rows = (group: string, predicted: number[], actual: number[]): FairnessRow[] =>
  predicted.map((p, i) => ({ group, predicted: p === 1, actual: actual[i] === 1 }));

describe('fairness report', () => {
  // A: ŷ 1 1 0 0 / y 1 0 1 0 → selection ½, TPR ½, FPR ½.
  // B: ŷ 1 0 0 0 0 / y 1 1 0 0 0 → selection ⅕, TPR ½, FPR 0.
  const table = [...rows('A', [1, 1, 0, 0], [1, 0, 1, 0]), ...rows('B', [1, 0, 0, 0, 0], [1, 1, 0, 0, 0])];

  it('per-group rates and the summaries, worked by hand', () => {
    const r = fairnessReport(table, { resamples: 200, seed: 1 });
    expect(r.groups.map((g) => [g.group, g.n, g.selectionRate, g.tpr, g.fpr])).toEqual([
      ['A', 4, 0.5, 0.5, 0.5],
      ['B', 5, 0.2, 0.5, 0],
    ]);
    expect(r.demographicParityDifference.value).toBeCloseTo(0.3, 15);
    expect(r.demographicParityRatio.value).toBeCloseTo(0.4, 15);
    expect(r.equalOpportunityDifference.value).toBe(0);
    expect(r.equalizedOddsDifference.value).toBe(0.5);
    expect(r.disparateImpact).toEqual({ A: 1, B: 0.4 });
    expect(r.fourFifthsRule).toEqual({ passed: false, failing: ['B'] });
    // Four and five rows: every rate of both groups is flagged.
    expect(r.unreliableGroups).toEqual(['A', 'B']);
    expect(r.groups[0]!.unreliable).toEqual(['selectionRate', 'tpr', 'fpr']);
  });

  it('the same data and seed give the same intervals; another seed other ones', () => {
    const a = fairnessReport(table, { resamples: 300, seed: 7 });
    const b = fairnessReport(table, { resamples: 300, seed: 7 });
    const c = fairnessReport(table, { resamples: 300, seed: 8 });
    expect(a.demographicParityDifference.ci).toEqual(b.demographicParityDifference.ci);
    expect(c.demographicParityDifference.ci).not.toEqual(a.demographicParityDifference.ci);
  });

  it('on large groups the bootstrap interval matches the normal approximation', () => {
    // Group X selects 60 %, Y 40 %, 4000 rows each: SE of the difference √(.24/4000 + .24/4000).
    const g = seededRandom(42);
    const data: FairnessRow[] = [];
    for (let i = 0; i < 4000; i++)
      data.push({ group: 'X', predicted: g.uniform() < 0.6, actual: g.uniform() < 0.5 });
    for (let i = 0; i < 4000; i++)
      data.push({ group: 'Y', predicted: g.uniform() < 0.4, actual: g.uniform() < 0.5 });
    const r = fairnessReport(data, { resamples: 2000, seed: 3 });
    const [sx, sy] = r.groups.map((x) => x.selectionRate!);
    const se = Math.sqrt((sx! * (1 - sx!)) / 4000 + (sy! * (1 - sy!)) / 4000);
    const [lo, hi] = r.demographicParityDifference.ci!;
    const d = r.demographicParityDifference.value!;
    expect(d).toBeCloseTo(sx! - sy!, 12);
    expect(lo).toBeLessThan(d);
    expect(hi).toBeGreaterThan(d);
    // Half-width within 10 % of 1.96·SE (Monte Carlo error of 2000 resamples is a few percent).
    expect((hi - lo) / 2 / (1.96 * se)).toBeGreaterThan(0.9);
    expect((hi - lo) / 2 / (1.96 * se)).toBeLessThan(1.1);
    expect(r.unreliableGroups).toEqual([]);
    expect(r.fourFifthsRule.passed).toBe(false); // 0.4 / 0.6 ≈ 0.67
  });

  it('without labels only the selection-rate metrics exist; one group has no differences', () => {
    const unlabelled: FairnessRow[] = [
      { group: 'A', predicted: true },
      { group: 'B', predicted: false },
    ];
    const r = fairnessReport(unlabelled, { resamples: 50 });
    expect(r.demographicParityDifference.value).toBe(1);
    expect(r.equalOpportunityDifference).toEqual({ value: null, ci: null });
    expect(r.equalizedOddsDifference).toEqual({ value: null, ci: null });
    const one = fairnessReport([{ group: 'A', predicted: true }], { resamples: 10 });
    expect(one.demographicParityDifference).toEqual({ value: null, ci: null });
    expect(one.fourFifthsRule.passed).toBeNull();
    expect(MIN_RELIABLE).toBe(30);
  });
});
