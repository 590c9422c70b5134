/**
 * The stored form of a baseline profile, and reading one back: everything a drift check trusts
 * about the reference is checked here, including that its layout fingerprint still matches.
 */
import { Buffer } from 'node:buffer';
import * as z from 'zod';
import { type CategoricalSketch, type NumericSketch, parseSketch } from '../stats/sketch.js';
import {
  BASELINE_PROFILE_VERSION,
  type BaselineProfile,
  type FeatureProfile,
  layoutFingerprint,
} from './baseline.js';
import { parseStoredJson } from './stored-json.js';

const count = z.number().int().min(0);
// zod 4 numbers are finite already.
const finite = z.number();

/** Accepts what parseSketch accepts, of the given kind. */
function sketchOf<K extends 'numeric' | 'categorical'>(kind: K) {
  return z.unknown().transform((v, ctx) => {
    try {
      const s = parseSketch(v);
      if (s.kind !== kind) {
        ctx.addIssue({ code: 'custom', message: `expected a ${kind} sketch, got ${s.kind}` });
        return z.NEVER;
      }
      return s as K extends 'numeric' ? NumericSketch : CategoricalSketch;
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });
}

const Quantiles = z.strictObject({
  p01: finite,
  p05: finite,
  p25: finite,
  p50: finite,
  p75: finite,
  p95: finite,
  p99: finite,
});

/** What the summaries of both kinds count. */
const summaryCounts = { count, nulls: count, distinct: count };

const NumericalProfileSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.literal('numerical'),
  summary: z.strictObject({
    ...summaryCounts,
    mean: finite.nullable(),
    std: finite.min(0).nullable(),
    min: finite.nullable(),
    max: finite.nullable(),
    quantiles: Quantiles.nullable(),
  }),
  sketch: sketchOf('numeric').nullable(),
  sample: z
    .string()
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'sample must be base64')
    .refine((s) => Buffer.from(s, 'base64').length % 8 === 0, 'sample must hold whole float64 values'),
});

const CategoricalProfileSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.literal('categorical'),
  summary: z.strictObject({
    ...summaryCounts,
    top: z.array(z.strictObject({ value: z.string(), count })),
  }),
  sketch: sketchOf('categorical'),
  categories: z.array(z.string()).optional(),
  sample: z
    .strictObject({ values: z.array(z.string()), codes: z.array(count) })
    .refine((s) => s.codes.every((c) => c < s.values.length), 'sample codes must index sample values'),
});

export const BaselineProfileSchema = z
  .strictObject({
    profileVersion: z.literal(BASELINE_PROFILE_VERSION),
    version: z.string().min(1),
    createdAt: z.string().min(1),
    rows: z.number().int().min(1),
    featureOrder: z.enum(['schema', 'inferred']),
    layoutId: z.string().regex(/^[0-9a-f]{32}$/),
    sample: z.strictObject({ rows: count, maxSample: z.number().int().min(1), seed: z.number().int() }),
    features: z
      .array(z.discriminatedUnion('kind', [NumericalProfileSchema, CategoricalProfileSchema]))
      .min(1),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    for (const f of p.features) {
      if (seen.has(f.name)) ctx.addIssue({ code: 'custom', message: `duplicate feature ${f.name}` });
      seen.add(f.name);
      if (f.kind === 'numerical' && (f.sketch === null) !== (f.summary.count === 0)) {
        ctx.addIssue({
          code: 'custom',
          message: `${f.name}: a sketch is needed exactly when there are values`,
        });
      }
    }
    if (layoutFingerprint(p.features as FeatureProfile[]) !== p.layoutId) {
      ctx.addIssue({ code: 'custom', message: 'layoutId does not match the features and their layouts' });
    }
  });

/** Validates a profile read back from storage (a string or parsed JSON). */
export function parseBaselineProfile(json: unknown): BaselineProfile {
  return parseStoredJson(json, BaselineProfileSchema, 'baseline profile') as BaselineProfile;
}
