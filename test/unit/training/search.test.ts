import { describe, expect, it } from 'vitest';
import {
  gridCandidates,
  type Params,
  randomCandidates,
  type SearchObjective,
  search,
} from '../../../functions/core/training/search.js';
import { domainError } from '../../support/expect-code.js';

/** Known optimum: x = 3, lr = 1e-2, kind = 'b' (score 0 there, negative elsewhere). */
const objective: SearchObjective = async (p) => ({
  score: -(((p.x as number) - 3) ** 2) - (Math.log10(p.lr as number) + 2) ** 2 - (p.kind === 'b' ? 0 : 1),
});

/** A clock that advances only when told: time budgets become exact. */
function fakeClock() {
  let now = 0;
  return { clock: () => now, advance: (ms: number) => (now += ms) };
}

describe('grid search', () => {
  it('enumerates the product of declared values (last parameter fastest) and finds the known optimum', async () => {
    const space = {
      x: { type: 'int', low: 0, high: 6, step: 1 },
      lr: { type: 'float', low: 1e-4, high: 1, log: true, num: 5 },
      kind: { type: 'choice', values: ['a', 'b'] },
    } as const;
    const grid = gridCandidates(space);
    expect(grid).toHaveLength(7 * 5 * 2);
    expect(grid.slice(0, 3)).toEqual([
      { x: 0, lr: 1e-4, kind: 'a' },
      { x: 0, lr: 1e-4, kind: 'b' },
      { x: 0, lr: 1e-3, kind: 'a' },
    ]);
    expect(
      grid
        .map((p) => p.lr as number)
        .slice(0, 10)
        .filter((_, i) => i % 2 === 0),
    ).toEqual([1e-4, 1e-3, 1e-2, 1e-1, 1]);
    const result = await search({ strategy: 'grid', space, objective });
    expect(result.trials).toHaveLength(70);
    expect(result.best?.params).toEqual({ x: 3, lr: 1e-2, kind: 'b' });
    expect(result.best?.score).toBeCloseTo(0, 12);
    expect(result.stoppedBy).toBe('completed');
  });

  it('steps float ranges without drift and asks floats for a step or num', () => {
    expect(gridCandidates({ a: { type: 'float', low: 0, high: 0.5, step: 0.1 } }).map((p) => p.a)).toEqual([
      0, 0.1, 0.2, 0.3, 0.4, 0.5,
    ]);
    expect(() => gridCandidates({ a: { type: 'float', low: 0, high: 1 } })).toThrow(
      domainError('validation_failed'),
    );
  });
});

describe('random search', () => {
  const space = {
    x: { type: 'float', low: 0, high: 6 },
    lr: { type: 'float', low: 1e-4, high: 1, log: true },
    kind: { type: 'choice', values: ['a', 'b', 'c'] },
    units: { type: 'int', low: 8, high: 256, log: true },
  } as const;

  it('draws within the declared ranges, log-uniformly where asked, the same draws for the same seed', () => {
    const a = randomCandidates(space, 2000, 4);
    expect(randomCandidates(space, 2000, 4)).toEqual(a);
    expect(randomCandidates(space, 5, 5)).not.toEqual(a.slice(0, 5));
    for (const p of a) {
      expect(p.x).toBeGreaterThanOrEqual(0);
      expect(p.x).toBeLessThan(6);
      expect(Number.isInteger(p.units)).toBe(true);
      expect(p.units).toBeGreaterThanOrEqual(8);
      expect(p.units).toBeLessThanOrEqual(256);
      expect(['a', 'b', 'c']).toContain(p.kind);
    }
    // Log-uniform over four decades: about a quarter of the draws in each.
    const below = a.filter((p) => (p.lr as number) < 1e-2).length / a.length;
    expect(below).toBeGreaterThan(0.45);
    expect(below).toBeLessThan(0.55);
  });

  it('gets near the optimum and repeats itself for a seed', async () => {
    const a = await search({ strategy: 'random', space, objective, maxTrials: 200, seed: 1 });
    const b = await search({ strategy: 'random', space, objective, maxTrials: 200, seed: 1 });
    expect(a.trials.map((t) => [t.params, t.score])).toEqual(b.trials.map((t) => [t.params, t.score]));
    expect(a.trials).toHaveLength(200);
    expect(a.best!.params.kind).toBe('b');
    expect(a.best!.score!).toBeGreaterThan(-0.1);
  });
});

describe('successive halving', () => {
  it('runs 27 → 9 → 3 → 1 candidates on resources max/27 … max, promoting the top third', async () => {
    const space = { x: { type: 'float', low: 0, high: 6 } } as const;
    // Scores get less noisy with more resource; the best at full resource is the closest to 3.
    const seen: [Params, number | null][] = [];
    const result = await search({
      strategy: 'halving',
      space,
      resource: { min: 10, max: 270 },
      seed: 2,
      objective: async (p, r) => {
        seen.push([p, r]);
        return { score: -(((p.x as number) - 3) ** 2) - 1 / (r as number) };
      },
    });
    const rungs = [0, 1, 2, 3].map((rung) => result.trials.filter((t) => t.rung === rung));
    expect(rungs.map((r) => r.length)).toEqual([27, 9, 3, 1]);
    expect(rungs.map((r) => r[0]!.resource)).toEqual([10, 30, 90, 270]);
    // Promoted = the best third of the previous rung.
    for (let i = 1; i < 4; i++) {
      const prev = [...rungs[i - 1]!].sort((a, b) => b.score! - a.score!);
      const keep = prev.slice(0, rungs[i]!.length).map((t) => t.params);
      expect(rungs[i]!.map((t) => t.params)).toEqual(expect.arrayContaining(keep));
    }
    const closest = rungs[0]!.reduce((b, t) =>
      Math.abs((t.params.x as number) - 3) < Math.abs((b.params.x as number) - 3) ? t : b,
    );
    expect(result.best!.params).toEqual(closest.params);
    expect(result.best!.rung).toBe(3);
    expect(seen).toHaveLength(40);
  });

  it('minimises when asked to', async () => {
    const result = await search({
      strategy: 'halving',
      direction: 'minimize',
      space: { x: { type: 'float', low: 0, high: 6 } },
      resource: { min: 1, max: 9 },
      objective: async (p) => ({ score: ((p.x as number) - 1) ** 2 }),
    });
    expect(Math.abs((result.best!.params.x as number) - 1)).toBeLessThan(1);
    expect(result.trials.map((t) => t.rung)).toEqual([...Array(9).fill(0), 1, 1, 1, 2]);
  });
});

describe('budgets, failures, concurrency', () => {
  const space = { x: { type: 'int', low: 0, high: 99 } } as const;

  it('stops launching at maxTrials', async () => {
    const result = await search({ strategy: 'grid', space, objective, maxTrials: 7 });
    expect(result.trials).toHaveLength(7);
    expect(result.stoppedBy).toBe('maxTrials');
  });

  it('stops launching once maxTimeMs has passed on the injected clock, and times trials with it', async () => {
    const { clock, advance } = fakeClock();
    const result = await search({
      strategy: 'grid',
      space,
      clock,
      maxTimeMs: 100,
      objective: async () => {
        advance(30);
        return { score: 1 };
      },
    });
    // Trials start at 0, 30, 60, 90; at 120 the budget is spent.
    expect(result.trials).toHaveLength(4);
    expect(result.trials.every((t) => t.durationMs === 30)).toBe(true);
    expect(result.stoppedBy).toBe('maxTime');
  });

  it('records failed trials (thrown or non-finite) and never picks them', async () => {
    const result = await search({
      strategy: 'grid',
      space: { x: { type: 'int', low: 0, high: 3 } },
      objective: async (p) => {
        if (p.x === 1) throw new Error('out of memory');
        return { score: p.x === 2 ? Number.NaN : (p.x as number), epochs: 3 };
      },
    });
    expect(result.trials.map((t) => t.status)).toEqual(['ok', 'failed', 'failed', 'ok']);
    expect(result.trials[1]!.error).toBe('out of memory');
    expect(result.best!.params.x).toBe(3);
    expect(result.best!.result).toEqual({ score: 3, epochs: 3 });
  });

  it('a trial that throws an error without a message fails, and the search goes on', async () => {
    const result = await search({
      strategy: 'grid',
      space: { x: { type: 'int', low: 0, high: 2 } },
      objective: async (p) => {
        if (p.x === 1) throw new Error('');
        return { score: p.x as number };
      },
    });
    expect(result.trials.map((t) => t.status)).toEqual(['ok', 'failed', 'ok']);
    expect(result.trials[1]!.error).toBe('Error');
    expect(result.best!.params.x).toBe(2);
  });

  it('runs up to `concurrency` trials at once and reports them in launch order', async () => {
    let inFlight = 0;
    let peak = 0;
    const result = await search({
      strategy: 'grid',
      space: { x: { type: 'int', low: 0, high: 9 } },
      concurrency: 4,
      objective: async (p) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 10 - (p.x as number)));
        inFlight--;
        return { score: p.x as number };
      },
    });
    expect(peak).toBe(4);
    expect(result.trials.map((t) => t.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(result.trials.map((t) => t.params.x)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('rejects malformed spaces and options as validation errors', async () => {
    const bad = [
      { strategy: 'grid', space: {} },
      { strategy: 'grid', space: { a: { type: 'float', low: 2, high: 1, step: 1 } } },
      { strategy: 'random', space: { a: { type: 'float', low: 0, high: 1, log: true } } },
      { strategy: 'random', space: { a: { type: 'choice', values: [] } } },
      { strategy: 'halving', space: { a: { type: 'int', low: 0, high: 1 } } },
      { strategy: 'grid', space: { a: { type: 'int', low: 0, high: 1 } }, maxTrials: 0 },
    ];
    for (const b of bad) {
      await expect(search({ ...b, objective } as Parameters<typeof search>[0])).rejects.toThrow(
        domainError('validation_failed'),
      );
    }
  });
});
