import { describe, expect, it } from 'vitest';
import { DYNAMO_MAX_MAGNITUDE, storableNumbers } from '../../../functions/adapters/dynamo-common.js';

describe('storableNumbers', () => {
  it('keeps numbers DynamoDB holds and moves the rest to the nearest it holds, listing their paths', () => {
    const { value, clamped } = storableNumbers({
      ok: [0, 1e-130, -1e125, 0.05, 42],
      report: { features: [{ pValue: 5e-200 }, { pValue: Number.MIN_VALUE, statistic: 1e300 }] },
      odd: { nan: Number.NaN, inf: -Infinity },
      text: 'unchanged',
      nothing: null,
    });
    expect(value).toEqual({
      ok: [0, 1e-130, -1e125, 0.05, 42],
      report: { features: [{ pValue: 0 }, { pValue: 0, statistic: DYNAMO_MAX_MAGNITUDE }] },
      odd: { nan: null, inf: -DYNAMO_MAX_MAGNITUDE },
      text: 'unchanged',
      nothing: null,
    });
    expect(clamped).toEqual([
      'report.features[0].pValue',
      'report.features[1].pValue',
      'report.features[1].statistic',
      'odd.nan',
      'odd.inf',
    ]);
  });

  it('uses a maximum that is below 1e126 as a double, not rounded up to it', () => {
    expect(DYNAMO_MAX_MAGNITUDE).toBeLessThan(1e126);
    expect(String(DYNAMO_MAX_MAGNITUDE)).toBe('9.99999999999999e+125');
  });
});
