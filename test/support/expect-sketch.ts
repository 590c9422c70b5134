/** Two numeric sketches of the same values, built or merged in different orders, agree. */
import { expect } from 'vitest';
import type { NumericSketch } from '../../functions/core/stats/sketch.js';

export function expectSameNumericSketch(x: NumericSketch, y: NumericSketch): void {
  expect(x.counts).toEqual(y.counts);
  expect([x.n, x.nulls, x.min, x.max]).toEqual([y.n, y.nulls, y.min, y.max]);
  x.sums.forEach((s, i) => {
    expect(Math.abs(s - y.sums[i]!)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(s)));
  });
  expect(Math.abs(x.mean - y.mean)).toBeLessThan(1e-12);
  expect(Math.abs(x.m2 - y.m2) / y.m2).toBeLessThan(1e-12);
}
