/**
 * Multiple-testing adjustments of a family of p-values, returned in input order: Bonferroni and
 * Holm (family-wise error rate) and Benjamini–Hochberg (false discovery rate). Tied p-values
 * always get equal adjusted values.
 */
import { check } from './errors.js';

function checked(pValues: readonly number[]): void {
  pValues.forEach((p, i) => {
    check(typeof p === 'number' && p >= 0 && p <= 1, `p_value ${i} must be a number in [0, 1]`);
  });
}

/** Indices sorted by ascending p-value (stable). */
function ascending(pValues: readonly number[]): number[] {
  return pValues.map((_, i) => i).sort((i, j) => pValues[i]! - pValues[j]! || i - j);
}

/** min(1, m·p_i). */
export function bonferroni(pValues: readonly number[]): number[] {
  checked(pValues);
  const m = pValues.length;
  return pValues.map((p) => Math.min(1, m * p));
}

/** Holm's step-down: adj_(r) = max over j ≤ r of min(1, (m − j + 1)·p_(j)). */
export function holm(pValues: readonly number[]): number[] {
  checked(pValues);
  const m = pValues.length;
  const out = new Array<number>(m);
  let running = 0;
  ascending(pValues).forEach((idx, r) => {
    running = Math.max(running, Math.min(1, (m - r) * pValues[idx]!));
    out[idx] = running;
  });
  return out;
}

/** Benjamini–Hochberg step-up: q_(r) = min over j ≥ r of min(1, m·p_(j)/j). */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  checked(pValues);
  const m = pValues.length;
  const order = ascending(pValues);
  const out = new Array<number>(m);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    const idx = order[r]!;
    running = Math.min(running, pValues[idx]! * (m / (r + 1)));
    out[idx] = running;
  }
  return out;
}
