import { describe, expect, it } from 'vitest';
import { adwinAdd, adwinMean, adwinSize, adwinStart } from '../../../functions/core/online/adwin.js';
import { createRng } from '../../../functions/core/training/random.js';

function run(seed: number, stream: (i: number, u: number) => number, n: number, delta = 0.002) {
  const rng = createRng(seed);
  let s = adwinStart(delta);
  const detections: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = adwinAdd(s, stream(i, rng.next()));
    s = r.state;
    if (r.changed) detections.push(i);
  }
  return { s, detections };
}

describe('ADWIN (Bifet & Gavaldà 2007)', () => {
  it('stays quiet on a stationary Bernoulli(0.3) stream in most seeds at δ = 0.002', () => {
    // The bound makes a false cut at most δ-likely per check; over 2000 values and 20 seeds a
    // sound implementation almost never fires, a broken ε (e.g. without the ln term) fires often.
    const falseAlarms = Array.from(
      { length: 20 },
      (_, seed) => run(seed, (_i, u) => (u < 0.3 ? 1 : 0), 2000).detections.length,
    );
    expect(falseAlarms.filter((d) => d > 0).length).toBeLessThanOrEqual(2);
  });

  it('keeps the whole stationary window, compressed to O(log n) buckets, with the right mean', () => {
    const { s } = run(7, (_i, u) => (u < 0.3 ? 1 : 0), 4000);
    expect(adwinSize(s)).toBe(4000);
    expect(s.buckets.length).toBeLessThanOrEqual(5 * Math.ceil(Math.log2(4000)));
    expect(adwinMean(s)).toBeGreaterThan(0.27);
    expect(adwinMean(s)).toBeLessThan(0.33);
  });

  it('detects a mean shift 0.2 → 0.8 within a bounded delay and drops the old window', () => {
    for (let seed = 0; seed < 10; seed++) {
      const { s, detections } = run(seed, (i, u) => (u < (i < 1000 ? 0.2 : 0.8) ? 1 : 0), 1600);
      const after = detections.filter((d) => d >= 1000);
      expect(after.length).toBeGreaterThan(0);
      expect((after[0] as number) - 1000).toBeLessThan(100);
      expect(detections.filter((d) => d < 1000).length).toBeLessThanOrEqual(1);
      // What is left describes the new regime.
      expect(adwinMean(s)).toBeGreaterThan(0.65);
    }
  });

  it('needs longer to see a smaller shift (0.3 → 0.45) but still sees it', () => {
    const delays: number[] = [];
    for (let seed = 0; seed < 10; seed++) {
      const { detections } = run(seed, (i, u) => (u < (i < 2000 ? 0.3 : 0.45) ? 1 : 0), 5000);
      const after = detections.filter((d) => d >= 2000);
      if (after.length) delays.push((after[0] as number) - 2000);
    }
    expect(delays.length).toBeGreaterThanOrEqual(9);
    expect(Math.max(...delays)).toBeLessThan(1500);
  });
});
