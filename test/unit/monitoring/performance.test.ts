/**
 * Performance metrics against scikit-learn: every case of test/fixtures/performance/cases.json
 * (written by generate.py with Debian's python3-sklearn) at 1e-12 relative tolerance, plus AUC
 * ties and degenerate inputs checked by hand.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  binaryAuc,
  classificationMetrics,
  type LabelledClass,
  regressionMetrics,
} from '../../../functions/core/monitoring/performance.js';

interface Case {
  name: string;
  kind: 'classification' | 'regression';
  classes?: string[];
  positive?: string | null;
  rows: (LabelledClass & { actual: string | number; predicted: string | number })[];
  expected: Record<string, unknown>;
}

const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../fixtures/performance/cases.json'), 'utf8'),
) as { cases: Case[] };

/** Every number in `actual` within 1e-12 (relative, absolute near 0) of `expected`, same shape. */
function close(actual: unknown, expected: unknown, path = ''): void {
  if (typeof expected === 'number') {
    expect(typeof actual, path).toBe('number');
    const tol = 1e-12 * Math.max(1, Math.abs(expected));
    expect(Math.abs((actual as number) - expected), `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
      tol,
    );
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual), path).toBe(true);
    expect((actual as unknown[]).length, path).toBe(expected.length);
    expected.forEach((e, i) => {
      close((actual as unknown[])[i], e, `${path}[${i}]`);
    });
  } else if (expected !== null && typeof expected === 'object') {
    for (const [k, e] of Object.entries(expected))
      close((actual as Record<string, unknown>)[k], e, `${path}.${k}`);
  } else {
    expect(actual, path).toEqual(expected);
  }
}

describe('performance metrics agree with scikit-learn', () => {
  expect(fixture.cases.length).toBe(9);
  for (const c of fixture.cases) {
    it(c.name, () => {
      if (c.kind === 'classification') {
        const got = classificationMetrics(c.rows as LabelledClass[], c.classes!, {
          ...(c.positive ? { positive: c.positive } : {}),
        });
        close(got, c.expected);
      } else {
        close(regressionMetrics(c.rows as { actual: number; predicted: number }[]), c.expected);
      }
    });
  }
});

describe('by hand', () => {
  it('AUC counts ties half and is the Mann–Whitney probability', () => {
    // Positives 0.5, 0.8; negatives 0.5, 0.2: pairs (0.5>0.2)=1, (0.5=0.5)=½, (0.8>both)=2 → 3.5/4.
    expect(binaryAuc([0.5, 0.8, 0.5, 0.2], [true, true, false, false])).toBe(0.875);
    expect(binaryAuc([0.1, 0.9], [false, true])).toBe(1);
    expect(binaryAuc([0.3, 0.3, 0.3], [true, false, true])).toBe(0.5);
    expect(binaryAuc([0.1, 0.2], [true, true])).toBeNull();
  });

  it('nothing labelled gives null, not NaN', () => {
    expect(classificationMetrics([], ['a', 'b'])).toBeNull();
    expect(regressionMetrics([])).toBeNull();
  });

  it('without probabilities there is no AUC or log loss, and counts still come out', () => {
    const m = classificationMetrics(
      [
        { actual: 'a', predicted: 'a' },
        { actual: 'b', predicted: 'a' },
      ],
      ['a', 'b'],
    )!;
    expect(m.rocAuc).toBeNull();
    expect(m.logLoss).toBeNull();
    expect(m.accuracy).toBe(0.5);
    expect(m.confusion).toEqual({
      labels: ['a', 'b'],
      matrix: [
        [1, 0],
        [1, 0],
      ],
    });
  });
});
