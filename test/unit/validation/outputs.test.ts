import { describe, expect, it } from 'vitest';
import {
  classLabel,
  decodeOutputs,
  OutputShapeError,
  planOutputs,
} from '../../../functions/core/kernel/outputs.js';

const f32 = (v: number[]) => Float32Array.from(v);

describe('planOutputs', () => {
  it('prefers the conventional names over the first fitting output', () => {
    const plan = planOutputs(
      [
        { name: 'raw', type: 'float32', dims: ['N', 1] },
        { name: 'variable', type: 'float32', dims: ['N', 1] },
      ],
      { kind: 'regression' },
    );
    expect(plan).toEqual({ ok: true, plan: { kind: 'regression', output: 'variable' } });
  });

  it('takes the class count from the graph when the schema declares no classes', () => {
    const plan = planOutputs([{ name: 'scores', type: 'float32', dims: ['N', 5] }], { kind: 'multiclass' });
    expect(plan).toEqual({ ok: true, plan: { kind: 'multiclass', probabilities: 'scores', columns: 5 } });
  });
});

describe('decodeOutputs', () => {
  it('takes the argmax per row, ties going to the lower index', () => {
    const d = decodeOutputs(
      {
        probabilities: {
          type: 'float32',
          dims: [3, 3],
          data: f32([0.2, 0.5, 0.3, 0.4, 0.4, 0.2, 0.1, 0.1, 0.8]),
        },
      },
      { kind: 'multiclass', probabilities: 'probabilities', columns: 3 },
      3,
    );
    expect(d).toMatchObject({ kind: 'multiclass', classIndex: [1, 0, 2] });
  });

  it('reads int64 and [N] regression outputs as numbers', () => {
    const d = decodeOutputs(
      { y: { type: 'int64', dims: [2], data: BigInt64Array.from([3n, -4n]) } },
      { kind: 'regression', output: 'y' },
      2,
    );
    expect(d).toEqual({ kind: 'regression', values: [3, -4] });
  });

  it('rejects shapes the plan did not expect', () => {
    expect(() =>
      decodeOutputs(
        { probabilities: { type: 'float32', dims: [1, 3], data: f32([0.2, 0.3, 0.5]) } },
        { kind: 'binary', probabilities: 'probabilities', columns: 2 },
        1,
      ),
    ).toThrow(OutputShapeError);
    expect(() =>
      decodeOutputs(
        { y: { type: 'float32', dims: [2, 2], data: f32([1, 2, 3, 4]) } },
        { kind: 'regression', output: 'y' },
        2,
      ),
    ).toThrow(OutputShapeError);
    expect(() => decodeOutputs({}, { kind: 'regression', output: 'y' }, 1)).toThrow(
      /did not return output y/,
    );
  });
});

describe('classLabel', () => {
  it('maps an index to the schema class, or keeps the index', () => {
    expect(classLabel({ kind: 'binary', classes: ['no', 'yes'] }, 1)).toBe('yes');
    expect(classLabel({ kind: 'multiclass' }, 2)).toBe(2);
  });
});
