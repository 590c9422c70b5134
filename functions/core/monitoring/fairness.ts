/**
 * Group fairness of a classifier's decisions, with Fairlearn's definitions (fairlearn.metrics):
 *
 * - per group: n, selection rate P(ŷ = +), TPR P(ŷ = + | y = +), FPR P(ŷ = + | y = −);
 * - demographic parity difference: max − min of the groups' selection rates; ratio: min / max
 *   (demographic_parity_difference / _ratio, method "between_groups");
 * - disparate impact: each group's selection rate over the most selected group's; the
 *   four-fifths rule passes when every ratio is ≥ 0.8 (the EEOC's rule of thumb), which is the
 *   demographic parity ratio ≥ 0.8;
 * - equal opportunity difference: max − min of the TPRs (equal_opportunity_difference);
 * - equalized odds difference: the larger of the TPR and FPR differences
 *   (equalized_odds_difference, agg "worst_case").
 *
 * Each summary has a percentile bootstrap 95 % interval: rows are resampled within each group
 * (stratified, so every group keeps its size), `resamples` times from a seeded generator, so the
 * same data and seed give the same interval. A rate whose denominator is 0 is undefined (null)
 * and left out of a difference; a group with fewer than MIN_RELIABLE rows for a rate is flagged.
 */
import { createRng, type Rng } from '../training/random.js';

/** Below this many rows behind a rate (group rows, positives or negatives), it is flagged. */
export const MIN_RELIABLE = 30;

export interface FairnessRow {
  readonly group: string;
  /** The decision: the model predicted the positive class. */
  readonly predicted: boolean;
  /** The truth, when labelled (TPR/FPR need it; selection rate does not). */
  readonly actual?: boolean;
}

export interface GroupRates {
  readonly group: string;
  readonly n: number;
  readonly positives: number;
  readonly negatives: number;
  readonly selectionRate: number | null;
  readonly tpr: number | null;
  readonly fpr: number | null;
  /** Which of this group's rates rest on fewer than MIN_RELIABLE rows. */
  readonly unreliable: readonly ('selectionRate' | 'tpr' | 'fpr')[];
}

export interface Estimate {
  readonly value: number | null;
  /** Percentile bootstrap 95 % interval; null when the value is. */
  readonly ci: readonly [number, number] | null;
}

export interface FairnessReport {
  readonly groups: GroupRates[];
  readonly demographicParityDifference: Estimate;
  readonly demographicParityRatio: Estimate;
  /** Selection rate of each group over the most selected group's. */
  readonly disparateImpact: Record<string, number | null>;
  readonly fourFifthsRule: { readonly passed: boolean | null; readonly failing: string[] };
  readonly equalOpportunityDifference: Estimate;
  readonly equalizedOddsDifference: Estimate;
  readonly bootstrap: { readonly resamples: number; readonly seed: number };
  /** Groups with a rate resting on fewer than MIN_RELIABLE rows. */
  readonly unreliableGroups: string[];
}

interface Counts {
  n: number;
  selected: number;
  positives: number;
  truePositives: number;
  negatives: number;
  falsePositives: number;
}

const rate = (a: number, b: number): number | null => (b > 0 ? a / b : null);

function countsOf(rows: readonly FairnessRow[]): Counts {
  const c: Counts = { n: 0, selected: 0, positives: 0, truePositives: 0, negatives: 0, falsePositives: 0 };
  for (const r of rows) add(c, r);
  return c;
}

function add(c: Counts, r: FairnessRow): void {
  c.n++;
  if (r.predicted) c.selected++;
  if (r.actual === true) {
    c.positives++;
    if (r.predicted) c.truePositives++;
  } else if (r.actual === false) {
    c.negatives++;
    if (r.predicted) c.falsePositives++;
  }
}

interface Summary {
  dpd: number | null;
  dpr: number | null;
  eod: number | null;
  eqodds: number | null;
}

function spread(values: readonly (number | null)[]): { min: number; max: number } | null {
  const defined = values.filter((v): v is number => v !== null);
  if (defined.length < 2) return null;
  return { min: Math.min(...defined), max: Math.max(...defined) };
}

function summarize(counts: readonly Counts[]): Summary {
  const sel = spread(counts.map((c) => rate(c.selected, c.n)));
  const tpr = spread(counts.map((c) => rate(c.truePositives, c.positives)));
  const fpr = spread(counts.map((c) => rate(c.falsePositives, c.negatives)));
  const tprDiff = tpr ? tpr.max - tpr.min : null;
  const fprDiff = fpr ? fpr.max - fpr.min : null;
  return {
    dpd: sel ? sel.max - sel.min : null,
    dpr: sel ? (sel.max > 0 ? sel.min / sel.max : 1) : null,
    eod: tprDiff,
    eqodds: tprDiff === null || fprDiff === null ? null : Math.max(tprDiff, fprDiff),
  };
}

function percentile(sorted: readonly number[], q: number): number {
  // Linear interpolation between order statistics (numpy's default, "linear").
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

function interval(samples: number[]): readonly [number, number] | null {
  if (samples.length === 0) return null;
  samples.sort((a, b) => a - b);
  return [percentile(samples, 0.025), percentile(samples, 0.975)];
}

/** One stratified resample's counts: n_g rows drawn with replacement within each group. */
function resample(groups: readonly (readonly FairnessRow[])[], rng: Rng): Counts[] {
  return groups.map((rows) => {
    const c: Counts = { n: 0, selected: 0, positives: 0, truePositives: 0, negatives: 0, falsePositives: 0 };
    for (let i = 0; i < rows.length; i++) add(c, rows[rng.int(rows.length)]!);
    return c;
  });
}

export function fairnessReport(
  rows: readonly FairnessRow[],
  options: { readonly resamples?: number; readonly seed?: number } = {},
): FairnessReport {
  const resamples = options.resamples ?? 1000;
  const seed = options.seed ?? 0;
  const byGroup = new Map<string, FairnessRow[]>();
  for (const r of rows) {
    const list = byGroup.get(r.group);
    if (list) list.push(r);
    else byGroup.set(r.group, [r]);
  }
  const names = [...byGroup.keys()].sort();
  const groupRows = names.map((g) => byGroup.get(g)!);
  const counts = groupRows.map(countsOf);
  const point = summarize(counts);

  const samples = { dpd: [] as number[], dpr: [] as number[], eod: [] as number[], eqodds: [] as number[] };
  const rng = createRng(seed);
  for (let b = 0; b < resamples; b++) {
    const s = summarize(resample(groupRows, rng));
    for (const k of ['dpd', 'dpr', 'eod', 'eqodds'] as const) {
      const v = s[k];
      if (v !== null) samples[k].push(v);
    }
  }
  const estimate = (k: keyof Summary): Estimate => ({
    value: point[k],
    ci: point[k] === null ? null : interval(samples[k]),
  });

  const groups: GroupRates[] = names.map((group, i) => {
    const c = counts[i]!;
    const unreliable: GroupRates['unreliable'][number][] = [];
    if (c.n < MIN_RELIABLE) unreliable.push('selectionRate');
    if (c.positives < MIN_RELIABLE) unreliable.push('tpr');
    if (c.negatives < MIN_RELIABLE) unreliable.push('fpr');
    return {
      group,
      n: c.n,
      positives: c.positives,
      negatives: c.negatives,
      selectionRate: rate(c.selected, c.n),
      tpr: rate(c.truePositives, c.positives),
      fpr: rate(c.falsePositives, c.negatives),
      unreliable,
    };
  });
  const top = Math.max(0, ...groups.map((g) => g.selectionRate ?? 0));
  const disparateImpact = Object.fromEntries(
    groups.map((g) => [g.group, g.selectionRate === null || top === 0 ? null : g.selectionRate / top]),
  );
  const failing = Object.entries(disparateImpact)
    .filter(([, r]) => r !== null && r < 0.8)
    .map(([g]) => g);
  return {
    groups,
    demographicParityDifference: estimate('dpd'),
    demographicParityRatio: estimate('dpr'),
    disparateImpact,
    fourFifthsRule: { passed: point.dpr === null ? null : failing.length === 0, failing },
    equalOpportunityDifference: estimate('eod'),
    equalizedOddsDifference: estimate('eqodds'),
    bootstrap: { resamples, seed },
    unreliableGroups: groups.filter((g) => g.unreliable.length > 0).map((g) => g.group),
  };
}
