/**
 * The inference function's request schemas and the few shared ones they are built from. Kept
 * apart from schemas.ts (which re-exports them) so that the inference Lambda builds only these at
 * init: building every schema of the contract was a large share of its cold start (issue 13).
 */
import * as z from 'zod';
import { PredictionContext } from '../contract/prediction-context.js';
import { ALIAS_PATTERN } from '../core/registry/aliases.js';
import { SEMVER_PATTERN } from '../core/registry/semver.js';

export const MODEL_NAME = /^[a-z0-9][a-z0-9-_.]{0,63}$/;

export const ModelName = z
  .string()
  .regex(MODEL_NAME, 'model names are 1-64 characters of a-z 0-9 - _ . and start with a letter or digit');
export const Version = z.string().regex(SEMVER_PATTERN, 'versions are MAJOR.MINOR.PATCH, e.g. 1.4.0');

export const NameParams = z.object({ name: ModelName });

export const AliasName = z
  .string()
  .regex(ALIAS_PATTERN, 'an alias is a lower-case letter, then up to 62 letters, digits, - or _');

export const IsoTime = z.iso.datetime({ offset: true });

/**
 * Instances are checked against the version's input schema by the inference core, which names
 * the offending instance and feature; here only the envelope is checked, so a large batch is not
 * walked twice.
 */
const Instances = z
  .array(z.unknown())
  .min(1, 'instances must hold at least one instance')
  .max(10_000, 'at most 10000 instances per request; split the batch')
  .describe(
    'Rows to predict: each an array of feature values in input-schema order, or an object keyed by feature name',
  );

export const PredictBody = z.strictObject({
  instances: Instances,
  version: Version.optional().describe('serve exactly this version (no fallback)'),
  alias: AliasName.optional().describe(
    'serve the version an alias points at: production (default), latest, or one set with PUT …/aliases/{alias}',
  ),
  subject: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .describe(
      "sticky-assignment key of the model's running experiment: the same subject gets the same variant (without it, a random variant by the weights)",
    ),
  explain: z.boolean().optional().describe('add exact attributions (linear and logistic models)'),
  context: z
    .union([PredictionContext, z.array(PredictionContext).min(1).max(10_000)])
    .optional()
    .describe(
      'captured with the predictions and never fed to the model (e.g. a sensitive attribute for fairness): one object for every instance, or an array with one per instance; flat JSON scalars, at most 16 keys',
    ),
});

export const ExplainBody = PredictBody.omit({ explain: true, context: true }).extend({
  background: z
    .array(z.unknown())
    .min(1)
    .max(100, 'at most 100 background rows (shap summarises larger backgrounds to about 100)')
    .optional()
    .describe(
      'rows the features missing from a coalition are taken from (default: a sample of the baseline)',
    ),
  nsamples: z
    .number()
    .int()
    .min(10)
    .max(100_000)
    .optional()
    .describe("coalitions to evaluate (default shap's 2·features + 2048; all of them when fewer exist)"),
  output: z
    .enum(['probability', 'logit', 'raw'])
    .optional()
    .describe(
      'what is explained: the predicted class probability (default for classifiers), its log-odds, or the raw output',
    ),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional()
    .describe('seed of the coalition sampling'),
});

const PredictionId = z.string().regex(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/, 'prediction ids are ULIDs');

export const FeedbackBody = z
  .array(
    z.strictObject({
      predictionId: PredictionId,
      actual: z.union([z.string().min(1).max(256), z.number().finite()]),
    }),
  )
  .min(1, 'give at least one {predictionId, actual}')
  .max(1000, 'at most 1000 feedback items per request')
  .describe('Ground truth: the true label (classifiers) or value (regressors) of served predictions');

export const StatsQuery = z
  .object({
    from: IsoTime.optional().describe('window start (default: 24 hours before `to`)'),
    to: IsoTime.optional().describe('window end (default: now)'),
    version: Version.optional(),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), 'from must be before to');
