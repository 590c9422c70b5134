/** Drift scenarios for sketch accuracy: shared by the sketch tests and the accuracy benchmark. */

import { numericalMetrics } from '../../functions/core/stats/numerical.js';
import { numericSketch, sketchLayout } from '../../functions/core/stats/sketch.js';
import { numericSketchMetrics } from '../../functions/core/stats/sketch-metrics.js';
import { seededRandom } from './random.js';

export const generator = seededRandom;

type Gen = ReturnType<typeof generator>;
export const SCENARIOS: Record<string, (g: Gen, current: boolean) => number> = {
  'normal, no drift': (g) => g.normal(),
  'normal, mean +0.05': (g, c) => g.normal() + (c ? 0.05 : 0),
  'normal, mean +0.5': (g, c) => g.normal() + (c ? 0.5 : 0),
  'normal, sd ×1.1': (g, c) => g.normal() * (c ? 1.1 : 1),
  'lognormal, log-mean +0.2': (g, c) => Math.exp(g.normal() + (c ? 0.2 : 0)),
  'Cauchy, location +0.5': (g, c) => Math.tan(Math.PI * (g.uniform() - 0.5)) + (c ? 0.5 : 0),
  'Poisson 3 → 3.5 (discrete)': (g, c) => {
    const limit = Math.exp(-(c ? 3.5 : 3));
    let k = 0;
    let p = g.uniform();
    while (p > limit) {
      k++;
      p *= g.uniform();
    }
    return k;
  },
  'N(0,1) rounded to 0.1, +0.05': (g, c) => Math.round((g.normal() + (c ? 0.05 : 0)) * 10) / 10,
  'current beyond reference range (+10)': (g, c) => g.normal() + (c ? 10 : 0),
};

export function scenario(name: string, n: number): { ref: Float64Array; cur: Float64Array } {
  const f = SCENARIOS[name]!;
  const g1 = generator(11);
  const g2 = generator(22);
  return {
    ref: Float64Array.from({ length: n }, () => f(g1, false)),
    cur: Float64Array.from({ length: n }, () => f(g2, true)),
  };
}

export function compare(name: string, n: number, bins?: number) {
  const { ref, cur } = scenario(name, n);
  const exact = numericalMetrics(ref, cur);
  const layout = sketchLayout(ref, bins);
  const approx = numericSketchMetrics(numericSketch(ref, layout), numericSketch(cur, layout));
  return { exact, approx, layout };
}
