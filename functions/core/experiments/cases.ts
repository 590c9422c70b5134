/**
 * The reference case format (test/fixtures/experiments/README.md): `{name, kind, params, input}`
 * → a result with the same keys and nesting as the case's `expected`. Used by
 * `serval experiments compare` and the reference tests; other keys of a case are ignored.
 */

import { validationFailed } from '../kernel/errors.js';
import { benjaminiHochberg, bonferroni } from './adjust.js';
import { check } from './errors.js';
import { compareMeans, compareProportions, compareWithControl } from './fixed.js';
import { checkMsprtParams, type MsprtParams, msprtObserve, msprtStart } from './msprt.js';

export const CASE_KINDS = ['fixed_binary', 'fixed_continuous', 'msprt_stream', 'multiple'] as const;
export type CaseKind = (typeof CASE_KINDS)[number];

export interface ExperimentCase {
  readonly name: string;
  readonly kind: CaseKind;
  readonly params: Record<string, unknown>;
  readonly input: Record<string, unknown>;
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/** Checks the envelope of a parsed case file. */
export function parseCase(data: unknown): ExperimentCase {
  check(isObject(data), 'expected a JSON object with name, kind, params and input');
  check(typeof data.name === 'string' && data.name !== '', '"name" must be a non-empty string');
  check(
    (CASE_KINDS as readonly unknown[]).includes(data.kind),
    `"kind" must be one of ${CASE_KINDS.join(', ')}`,
  );
  check(data.params === undefined || isObject(data.params), '"params" must be an object');
  check(isObject(data.input), '"input" must be an object');
  return data as unknown as ExperimentCase;
}

function ciLevel(params: Record<string, unknown>): number {
  const level = params.ci_level ?? 0.95;
  check(typeof level === 'number', '"params.ci_level" must be a number');
  return level;
}

function list(input: Record<string, unknown>, key: string): Record<string, unknown>[] {
  const v = input[key];
  check(Array.isArray(v) && v.every(isObject), `"input.${key}" must be an array of objects`);
  return v as Record<string, unknown>[];
}

function numbers(v: unknown, where: string): number[] {
  check(
    Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)),
    `${where} must be an array of finite numbers`,
  );
  return v as number[];
}

interface Arm {
  readonly name: string;
  readonly control?: boolean;
  readonly [k: string]: unknown;
}

/**
 * A fixed-horizon case: every non-control variant against the control at the case's ci_level;
 * `arm` picks the summary statistics (the engine checks them).
 */
function fixedComparisons<S, R>(
  c: ExperimentCase,
  params: Record<string, unknown>,
  compare: (control: S, treatment: S, level: number) => R,
  arm: (variant: Arm) => S,
): { comparisons: Record<string, R> } {
  const level = ciLevel(params);
  const arms = list(c.input, 'variants') as unknown as Arm[];
  return { comparisons: compareWithControl(arms, (ctl, trt) => compare(arm(ctl), arm(trt), level)) };
}

/** Runs one case; throws validation_failed on malformed input. */
export function runCase(c: ExperimentCase): Record<string, unknown> {
  const params = c.params ?? {};
  switch (c.kind) {
    case 'fixed_binary':
      return fixedComparisons(c, params, compareProportions, (a) => ({
        n: a.n as number,
        successes: a.successes as number,
      }));
    case 'fixed_continuous':
      return fixedComparisons(c, params, compareMeans, (a) => ({
        n: a.n as number,
        mean: a.mean as number,
        variance: a.variance as number,
      }));
    case 'msprt_stream': {
      const p = params as unknown as MsprtParams;
      checkMsprtParams(p);
      const batches = list(c.input, 'batches');
      let state = msprtStart();
      const pValues: number[] = [];
      batches.forEach((b, i) => {
        const r = msprtObserve(
          state,
          p,
          numbers(b.control, `batch ${i + 1} control`),
          numbers(b.treatment, `batch ${i + 1} treatment`),
        );
        state = r.state;
        pValues.push(r.look.p_value);
      });
      return {
        p_values: pValues,
        first_rejection_batch: state.first_rejection?.look ?? null,
        first_rejection_n: state.first_rejection?.n ?? null,
      };
    }
    case 'multiple': {
      const ps = list(c.input, 'hypotheses').map((h, i) => {
        check(typeof h.p_value === 'number', `hypothesis ${i} needs a numeric p_value`);
        return h.p_value as number;
      });
      return { bonferroni: bonferroni(ps), bh: benjaminiHochberg(ps) };
    }
    default:
      throw validationFailed(`unknown kind ${String((c as { kind: unknown }).kind)}`);
  }
}
