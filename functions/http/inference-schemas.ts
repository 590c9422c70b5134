/**
 * The inference function's request schemas and the few shared ones they are built from. Kept
 * apart from schemas.ts (which re-exports them) so that the inference Lambda builds only these at
 * init: building every schema of the contract was a large share of its cold start (issue 13).
 *
 * Written in zod/mini, the same schemas in functions instead of methods: classic zod gives every
 * schema object some forty bound methods as it is built, and its module is three times the size.
 * Imported alone, these schemas cost 13 ms against classic's 22 ms, and 33 KiB against 97
 * (docs/inference.md, round 6). Classic schemas elsewhere take them as they are: z.optional(Version),
 * not Version.optional().
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { PredictionContext } from '../contract/prediction-context.js';
import { ALIAS_PATTERN } from '../core/registry/aliases.js';
import { SEMVER_PATTERN } from '../core/registry/semver.js';

// Classic zod sets English messages when it builds its first schema; zod/mini leaves the choice to
// the application. The same messages whichever zod a process loads first.
if (!z.config().localeError) z.config(en());

export const MODEL_NAME = /^[a-z0-9][a-z0-9-_.]{0,63}$/;

export const ModelName = z
  .string()
  .check(
    z.regex(MODEL_NAME, 'model names are 1-64 characters of a-z 0-9 - _ . and start with a letter or digit'),
  );
export const Version = z
  .string()
  .check(z.regex(SEMVER_PATTERN, 'versions are MAJOR.MINOR.PATCH, e.g. 1.4.0'));

export const NameParams = z.object({ name: ModelName });

export const AliasName = z
  .string()
  .check(z.regex(ALIAS_PATTERN, 'an alias is a lower-case letter, then up to 62 letters, digits, - or _'));

export const IsoTime = z.iso.datetime({ offset: true });

/** Classic zod's `.optional().describe(text)`. */
function optional<T extends z.core.SomeType>(schema: T, description: string) {
  return z.optional(schema).check(z.describe(description));
}

/**
 * Instances are checked against the version's input schema by the inference core, which names
 * the offending instance and feature; here only the envelope is checked, so a large batch is not
 * walked twice.
 */
const Instances = z
  .array(z.unknown())
  .check(
    z.minLength(1, 'instances must hold at least one instance'),
    z.maxLength(10_000, 'at most 10000 instances per request; split the batch'),
    z.describe(
      'Rows to predict: each an array of feature values in input-schema order, or an object keyed by feature name',
    ),
  );

export const PredictBody = z.strictObject({
  instances: Instances,
  version: optional(Version, 'serve exactly this version (no fallback)'),
  alias: optional(
    AliasName,
    'serve the version an alias points at: production (default), latest, or one set with PUT …/aliases/{alias}',
  ),
  subject: optional(
    z.string().check(z.minLength(1), z.maxLength(256)),
    "sticky-assignment key of the model's running experiment: the same subject gets the same variant (without it, a random variant by the weights)",
  ),
  explain: optional(z.boolean(), 'add exact attributions (linear and logistic models)'),
  context: optional(
    z.union([PredictionContext, z.array(PredictionContext).check(z.minLength(1), z.maxLength(10_000))]),
    'captured with the predictions and never fed to the model (e.g. a sensitive attribute for fairness): one object for every instance, or an array with one per instance; flat JSON scalars, at most 16 keys',
  ),
});

// Explanations never go through the model's experiment: no subject (it would be accepted and
// ignored); version and alias choose what is explained.
export const ExplainBody = z.extend(z.omit(PredictBody, { explain: true, context: true, subject: true }), {
  background: optional(
    z
      .array(z.unknown())
      .check(
        z.minLength(1),
        z.maxLength(100, 'at most 100 background rows (shap summarises larger backgrounds to about 100)'),
      ),
    'rows the features missing from a coalition are taken from (default: a sample of the baseline)',
  ),
  nsamples: optional(
    z.number().check(z.int(), z.gte(10), z.lte(100_000)),
    "coalitions to evaluate (default shap's 2·features + 2048; all of them when fewer exist)",
  ),
  output: optional(
    z.enum(['probability', 'logit', 'raw']),
    'what is explained: the predicted class probability (default for classifiers), its log-odds, or the raw output; a linear or logistic version with training means answers its closed form by default (log-odds, or the raw output)',
  ),
  seed: optional(z.number().check(z.int(), z.gte(0), z.lte(2 ** 31 - 1)), 'seed of the coalition sampling'),
});

const PredictionId = z.string().check(z.regex(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/, 'prediction ids are ULIDs'));

export const FeedbackBody = z
  .array(
    z.strictObject({
      predictionId: PredictionId,
      actual: z.union([z.string().check(z.minLength(1), z.maxLength(256)), z.number()]),
    }),
  )
  .check(
    z.minLength(1, 'give at least one {predictionId, actual}'),
    z.maxLength(1000, 'at most 1000 feedback items per request'),
    z.describe('Ground truth: the true label (classifiers) or value (regressors) of served predictions'),
  );

export const StatsQuery = z
  .object({
    from: optional(IsoTime, 'window start (default: 24 hours before `to`)'),
    to: optional(IsoTime, 'window end (default: now)'),
    version: z.optional(Version),
  })
  .check(
    z.refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), 'from must be before to'),
  );
