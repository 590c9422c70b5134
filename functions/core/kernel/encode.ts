/**
 * Turns API instances into the model's input matrix, checked against the version's InputSchema.
 * An instance is either positional (values in feature order) or an object keyed by feature
 * name. Categorical features are sent as one of their `categories` (encoded as its index) or as
 * that index itself, since a positional `number[]` row can only carry the index.
 */
import { type DomainError, validationFailed } from './errors.js';
import type { Feature, InputSchema } from './model-io.js';

export type InstanceValue = number | string | boolean | null;
export type Instance = readonly InstanceValue[] | Readonly<Record<string, InstanceValue>>;

export type InstanceErrorReason =
  | 'not_an_instance'
  | 'wrong_length'
  | 'missing_feature'
  | 'unknown_feature'
  | 'null_not_allowed'
  | 'not_a_number'
  | 'not_finite'
  | 'not_an_integer'
  | 'unknown_category'
  | 'below_min'
  | 'above_max';

export interface InstanceErrorDetails {
  /** The instance's 0-based index in the request. */
  readonly instance: number;
  /** The offending feature, or null when the instance as a whole is wrong. */
  readonly feature: string | null;
  readonly reason: InstanceErrorReason;
}

/** One instance does not fit the input schema: a validation failure whose details say where and why. */
export function instanceError(
  message: string,
  instance: number,
  feature: string | null,
  reason: InstanceErrorReason,
): DomainError {
  const details: InstanceErrorDetails = { instance, feature, reason };
  return validationFailed(message, { ...details });
}

/** float32's largest finite value; anything beyond would reach the model as ±Infinity. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Row-major [instances.length, features.length]. Nullable features that are null or absent are
 * encoded as NaN, which is how ONNX imputers and tree ensembles expect a missing value.
 */
export function encodeInstances(instances: readonly unknown[], inputSchema: InputSchema): Float32Array {
  const features = inputSchema.features;
  const f = features.length;
  const out = new Float32Array(instances.length * f);
  const { index, categoryIndex } = lookups(inputSchema);
  instances.forEach((instance, i) => {
    const base = i * f;
    if (Array.isArray(instance)) {
      if (instance.length !== f) {
        throw instanceError(
          `instance ${i} has ${instance.length} values; the model takes ${f} features`,
          i,
          null,
          'wrong_length',
        );
      }
      for (let j = 0; j < f; j++) {
        out[base + j] = encodeValue(instance[j], features[j] as Feature, categoryIndex[j] ?? null, i);
      }
    } else if (instance !== null && typeof instance === 'object') {
      const record = instance as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (!index.has(key)) {
          throw instanceError(
            `instance ${i} has an unknown feature "${clip(key)}"`,
            i,
            clip(key),
            'unknown_feature',
          );
        }
      }
      for (let j = 0; j < f; j++) {
        const feat = features[j] as Feature;
        const present = Object.hasOwn(record, feat.name);
        if (!present && !feat.nullable) {
          throw instanceError(
            `instance ${i} is missing feature "${feat.name}"`,
            i,
            feat.name,
            'missing_feature',
          );
        }
        out[base + j] = encodeValue(present ? record[feat.name] : null, feat, categoryIndex[j] ?? null, i);
      }
    } else {
      throw instanceError(
        `instance ${i} must be an array of feature values or an object keyed by feature name`,
        i,
        null,
        'not_an_instance',
      );
    }
  });
  return out;
}

interface Lookups {
  readonly index: ReadonlyMap<string, number>;
  readonly categoryIndex: readonly (ReadonlyMap<string, number> | null)[];
}

/** Built once per schema object: a version's schema is reused for every request it serves. */
const LOOKUPS = new WeakMap<InputSchema, Lookups>();

function lookups(schema: InputSchema): Lookups {
  let l = LOOKUPS.get(schema);
  if (!l) {
    l = {
      index: new Map(schema.features.map((feat, j) => [feat.name, j])),
      categoryIndex: schema.features.map((feat) =>
        feat.categories ? new Map(feat.categories.map((c, i) => [c, i])) : null,
      ),
    };
    LOOKUPS.set(schema, l);
  }
  return l;
}

function encodeValue(
  value: unknown,
  feat: Feature,
  categories: ReadonlyMap<string, number> | null,
  i: number,
): number {
  const name = feat.name;
  if (value === null || value === undefined) {
    if (feat.nullable) return Number.NaN;
    throw instanceError(`instance ${i}: feature "${name}" may not be null`, i, name, 'null_not_allowed');
  }
  let v: number;
  if (feat.type === 'category') {
    if (typeof value === 'string') {
      const idx = categories?.get(value);
      if (idx === undefined) {
        throw instanceError(
          `instance ${i}: "${clip(value)}" is not a category of feature "${name}"`,
          i,
          name,
          'unknown_category',
        );
      }
      return idx;
    }
    if (
      typeof value !== 'number' ||
      !Number.isInteger(value) ||
      value < 0 ||
      (categories && value >= categories.size)
    ) {
      throw instanceError(
        categories
          ? `instance ${i}: feature "${name}" must be one of its categories or an index 0..${categories.size - 1}`
          : `instance ${i}: feature "${name}" must be a category index (a non-negative integer)`,
        i,
        name,
        'unknown_category',
      );
    }
    v = value;
  } else {
    // JSON booleans are a common way to send a 0/1 flag; anything else must already be a number.
    if (typeof value === 'boolean') v = value ? 1 : 0;
    else if (typeof value === 'number') v = value;
    else throw instanceError(`instance ${i}: feature "${name}" must be a number`, i, name, 'not_a_number');
    if (!Number.isFinite(v) || Math.abs(v) > FLOAT32_MAX) {
      throw instanceError(
        `instance ${i}: feature "${name}" must be a finite float32 number`,
        i,
        name,
        'not_finite',
      );
    }
    if (feat.type === 'int' && !Number.isInteger(v)) {
      throw instanceError(`instance ${i}: feature "${name}" must be an integer`, i, name, 'not_an_integer');
    }
  }
  if (feat.min !== undefined && v < feat.min) {
    throw instanceError(
      `instance ${i}: feature "${name}" is below its minimum ${feat.min}`,
      i,
      name,
      'below_min',
    );
  }
  if (feat.max !== undefined && v > feat.max) {
    throw instanceError(
      `instance ${i}: feature "${name}" is above its maximum ${feat.max}`,
      i,
      name,
      'above_max',
    );
  }
  return v;
}

/** Echoing a megabyte-long key back in an error message helps nobody. */
function clip(s: string): string {
  return s.length > 128 ? `${s.slice(0, 128)}…` : s;
}
