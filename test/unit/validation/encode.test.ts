import { describe, expect, it } from 'vitest';
import { encodeInstances, type InstanceErrorDetails } from '../../../functions/core/kernel/encode.js';
import type { DomainError } from '../../../functions/core/kernel/errors.js';
import type { InputSchema } from '../../../functions/core/kernel/model-io.js';
import { domainError } from '../../support/expect-code.js';

const schema: InputSchema = {
  features: [
    { name: 'age', type: 'int', min: 0, max: 130 },
    { name: 'income', type: 'float', nullable: true },
    { name: 'plan', type: 'category', categories: ['basic', 'pro', 'team'] },
  ],
};

/** The instance error fn throws, with its details typed as an instance error's. */
function errorOf(fn: () => unknown): DomainError & InstanceErrorDetails {
  try {
    fn();
  } catch (err) {
    expect(err).toEqual(domainError('validation_failed'));
    const e = err as DomainError;
    return Object.assign(e, e.details as unknown as InstanceErrorDetails);
  }
  throw new Error('expected an instance error');
}

describe('encodeInstances', () => {
  it('encodes positional and keyed instances row-major, categories as their index', () => {
    const out = encodeInstances(
      [[30, 1234.5, 'pro'], { plan: 'team', age: 41, income: 0.25 }, [18, null, 0]],
      schema,
    );
    expect(out).toBeInstanceOf(Float32Array);
    expect([...out.subarray(0, 6)]).toEqual([30, 1234.5, 1, 41, 0.25, 2]);
    expect(out[6]).toBe(18);
    expect(Number.isNaN(out[7])).toBe(true); // missing value → NaN
    expect(out[8]).toBe(0);
  });

  it('treats an absent nullable feature as missing', () => {
    const out = encodeInstances([{ age: 5, plan: 'basic' }], schema);
    expect(Number.isNaN(out[1])).toBe(true);
  });

  it('rounds to float32 as the model will see it', () => {
    expect(encodeInstances([[1, 0.1, 'pro']], schema)[1]).toBe(Math.fround(0.1));
  });

  it.each([
    ['not an instance', ['a string'], null, 'not_an_instance'],
    ['wrong length', [[1, 2]], null, 'wrong_length'],
    ['missing feature', [{ age: 3 }], 'plan', 'missing_feature'],
    ['unknown feature', [{ age: 3, plan: 'pro', colour: 'red' }], 'colour', 'unknown_feature'],
    ['null not allowed', [[null, 1, 'pro']], 'age', 'null_not_allowed'],
    ['not a number', [['30', 1, 'pro']], 'age', 'not_a_number'],
    ['not finite', [[30, 1e39, 'pro']], 'income', 'not_finite'],
    ['not an integer', [[30.5, 1, 'pro']], 'age', 'not_an_integer'],
    ['unknown category', [[30, 1, 'enterprise']], 'plan', 'unknown_category'],
    ['category index out of range', [[30, 1, 3]], 'plan', 'unknown_category'],
    ['below min', [[-1, 1, 'pro']], 'age', 'below_min'],
    ['above max', [[131, 1, 'pro']], 'age', 'above_max'],
  ])('rejects %s, naming the instance and the feature', (_name, instances, feature, reason) => {
    const err = errorOf(() => encodeInstances([[1, 1, 'pro'], ...(instances as unknown[])], schema));
    expect(err.instance).toBe(1);
    expect(err.feature).toBe(feature);
    expect(err.reason).toBe(reason);
    expect(err.code).toBe('validation_failed');
    expect(err.details).toEqual({ instance: 1, feature, reason });
    expect(err.message).toContain('instance 1');
  });

  it('takes a category index when the feature declares no categories', () => {
    const s: InputSchema = { features: [{ name: 'bucket', type: 'category' }] };
    expect([...encodeInstances([[4]], s)]).toEqual([4]);
    expect(errorOf(() => encodeInstances([['x']], s)).reason).toBe('unknown_category');
  });
});
