/**
 * Fixed-horizon comparisons of a treatment arm with the control arm: the pooled two-proportion
 * z-test with the unpooled Wald interval, and Welch's t-test (Welch–Satterthwaite df) with its
 * t interval. All differences are treatment − control. A value that is undefined (0/0, x/0) is
 * `null`, never NaN or Infinity, so results serialise as the reference set expects.
 */

import {
  normalTwoSidedP,
  normalUpperQuantile,
  studentTwoSidedP,
  studentTwoSidedQuantile,
} from '../stats/special.js';
import { check } from './errors.js';

export interface BinaryArm {
  readonly n: number;
  readonly successes: number;
}

export interface ContinuousArm {
  readonly n: number;
  readonly mean: number;
  /** Sample variance (ddof = 1). */
  readonly variance: number;
}

export interface ProportionComparison {
  readonly diff: number;
  /** p_t / p_c − 1; null when the control rate is 0. */
  readonly lift: number | null;
  /** Pooled z; null when both arms are all 0 or all 1. */
  readonly z: number | null;
  readonly p_value: number | null;
  readonly ci_lower: number;
  readonly ci_upper: number;
}

export interface WelchComparison {
  readonly diff: number;
  /** null when both variances are 0 (and so are df, p_value and the interval). */
  readonly t: number | null;
  readonly df: number | null;
  readonly p_value: number | null;
  readonly ci_lower: number | null;
  readonly ci_upper: number | null;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** Checks both arms (control first, so its error wins) and the interval level. */
function checkInputs<A>(
  checkArm: (arm: A, label: string) => void,
  control: A,
  treatment: A,
  ciLevel: number,
): void {
  checkArm(control, 'control');
  checkArm(treatment, 'treatment');
  check(ciLevel > 0 && ciLevel < 1, `ci_level must be in (0, 1), got ${ciLevel}`);
}

/** diff ± q·se, the two-sided interval at the quantile q of the level. */
function interval(diff: number, q: number, se: number): { ci_lower: number; ci_upper: number } {
  return { ci_lower: diff - q * se, ci_upper: diff + q * se };
}

function checkBinary(arm: BinaryArm, label: string): void {
  check(Number.isSafeInteger(arm.n) && arm.n > 0, `${label}: n must be a positive integer`);
  check(
    Number.isSafeInteger(arm.successes) && arm.successes >= 0 && arm.successes <= arm.n,
    `${label}: successes must be an integer in [0, n]`,
  );
}

function checkContinuous(arm: ContinuousArm, label: string): void {
  check(Number.isSafeInteger(arm.n) && arm.n >= 2, `${label}: n must be an integer >= 2`);
  check(Number.isFinite(arm.mean), `${label}: mean must be a finite number`);
  check(Number.isFinite(arm.variance) && arm.variance >= 0, `${label}: variance must be finite and >= 0`);
}

/** Two-proportion z-test (pooled SE) and Wald interval (unpooled SE) for treatment − control. */
export function compareProportions(
  control: BinaryArm,
  treatment: BinaryArm,
  ciLevel = 0.95,
): ProportionComparison {
  checkInputs(checkBinary, control, treatment, ciLevel);
  const pc = control.successes / control.n;
  const pt = treatment.successes / treatment.n;
  const diff = pt - pc;
  const pool = (control.successes + treatment.successes) / (control.n + treatment.n);
  const sePool = Math.sqrt(pool * (1 - pool) * (1 / control.n + 1 / treatment.n));
  const z = sePool > 0 ? diff / sePool : null;
  const seWald = Math.sqrt((pc * (1 - pc)) / control.n + (pt * (1 - pt)) / treatment.n);
  const q = normalUpperQuantile((1 - ciLevel) / 2);
  return {
    diff,
    lift: pc > 0 ? pt / pc - 1 : null,
    z,
    p_value: z === null ? null : normalTwoSidedP(z),
    ...interval(diff, q, seWald),
  };
}

/** Welch's t-test from summary statistics, with the t interval at Welch–Satterthwaite df. */
export function compareMeans(
  control: ContinuousArm,
  treatment: ContinuousArm,
  ciLevel = 0.95,
): WelchComparison {
  checkInputs(checkContinuous, control, treatment, ciLevel);
  const a = treatment.variance / treatment.n;
  const b = control.variance / control.n;
  const diff = treatment.mean - control.mean;
  const se = Math.sqrt(a + b);
  if (!(se > 0)) return { diff, t: null, df: null, p_value: null, ci_lower: null, ci_upper: null };
  const t = diff / se;
  const df = ((a + b) * (a + b)) / ((a * a) / (treatment.n - 1) + (b * b) / (control.n - 1));
  const q = studentTwoSidedQuantile(1 - ciLevel, df);
  return {
    diff,
    t: finiteOrNull(t),
    df,
    p_value: studentTwoSidedP(t, df),
    ...interval(diff, q, se),
  };
}

export interface NamedArm {
  readonly name: string;
  readonly control?: boolean;
}

/**
 * Compares every non-control arm with the one arm flagged `control` (it need not be first), in
 * list order; no multiplicity adjustment (see adjust.ts). Names must be unique.
 */
export function compareWithControl<A extends NamedArm, R>(
  arms: readonly A[],
  compare: (control: A, treatment: A) => R,
): Record<string, R> {
  check(arms.length >= 2, 'need at least two variants');
  const names = new Set<string>();
  for (const arm of arms) {
    check(typeof arm.name === 'string' && arm.name !== '', 'every variant needs a non-empty name');
    check(!names.has(arm.name), `duplicate variant name "${arm.name}"`);
    names.add(arm.name);
  }
  const controls = arms.filter((a) => a.control === true);
  check(controls.length === 1, `exactly one variant must have "control": true (found ${controls.length})`);
  const control = controls[0]!;
  return Object.fromEntries(arms.filter((a) => a !== control).map((a) => [a.name, compare(control, a)]));
}
