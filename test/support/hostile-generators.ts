/**
 * Generators of hostile HTTP requests for test/e2e/hostile.test.ts: fast-check arbitraries, one per
 * category, each producing requests against the routes of ROUTES that are malformed in that
 * category's way AND built so that a correct server must refuse them with a 4xx and change nothing
 * (bad bodies go to callers who hold the route's role, valid bodies go to callers who do not, bad
 * idempotency keys travel with otherwise valid requests, and so on). A 2xx to any of them is a
 * finding; so is a state change.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { ROUTES, type Route } from '../../functions/contract/routes.js';
import { hasRole, ROLES, type Role } from '../../functions/core/auth/roles.js';
import { MAX_BODY_BYTES } from '../../functions/http/api.js';
import { GATEWAY_MAX_BODY_BYTES } from '../../local/gateway.js';
import { tinyOnnxBase64 } from './onnx-fixtures.js';

export const CATEGORIES = [
  'broken-json',
  'wrong-types',
  'huge-numbers',
  'deep-nesting',
  'long-strings',
  'unicode-control',
  'path-traversal',
  'bad-base64',
  'oversize-body',
  'content-type',
  'headers',
  'bad-semver',
  'bad-cursor',
  'auth',
  'idempotency',
  'routing',
  'protocol',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** A body, or a thunk for the big ones (materialised only when sent, so 10,000 fit in memory). */
export type Body = string | Buffer | (() => string | Buffer);

export interface HostileRequest {
  readonly category: Category;
  /** operationId of the route the request was built from (raw requests too). */
  readonly route: string;
  readonly method: string;
  /** The request-target exactly as sent (not normalised: `..` segments stay). */
  readonly path: string;
  /** Raw header lines in order; names may repeat. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: Body;
  /** When set: these bytes are written as-is on a fresh TCP connection (HTTP framing included). */
  readonly raw?: Buffer;
  /** Who called: a role, "none", or a garbage-credential label (never the key itself). */
  readonly caller: string;
  /** What is wrong with it, in a few words. */
  readonly what: string;
}

export type OperationId = Route['operationId'];
type CursorSource = 'models' | 'versions' | 'history' | 'audit' | 'auditModel' | 'keys';

/** What the seeded registry looks like, as far as the generators need to know. */
export interface World {
  readonly keys: Readonly<Record<Role, string>>;
  readonly revokedKey: string;
  /** Id of a live key no request authenticates with: the target of revokes that must not happen. */
  readonly liveKeyId: string;
  readonly models: readonly string[];
  readonly pending: { readonly model: string; readonly version: string };
  /** Real nextCursor values of several listings (limit=1). */
  readonly cursors: Readonly<Record<CursorSource, string>>;
  /** A body the validate route would accept for iris-demo@1.0.0. */
  readonly validateBody: { dataset: { instances: number[][]; labels: (string | number)[] } };
  /** A running A/B experiment on churn (1.0.0 against 1.1.0, outcome metric `converted`). */
  readonly experimentId: string;
  /** Real short-lived JWTs (POST /v1/auth/token); `revoked` was issued to a key revoked since. */
  readonly tokens: { readonly scientist: string; readonly approver: string; readonly revoked: string };
}

interface Caller {
  readonly label: string;
  /** Sent as x-api-key. */
  readonly key?: string;
  /** Sent as authorization. */
  readonly bearer?: string;
}

type Fields = Record<string, unknown>;
/** A JSON request body: an object, or an array of objects (POST /v1/predictions/feedback). */
type JsonBody = Fields | readonly Fields[];

/** A request the server would accept: the base every category corrupts in one way. */
interface Target {
  readonly route: Route;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly body?: JsonBody;
}

const LIST_ROUTES = new Set<OperationId>([
  'listAudit',
  'listKeys',
  'listModels',
  'listVersions',
  'productionHistory',
]);
const QUERY_ROUTES = new Set<OperationId>([...LIST_ROUTES, 'compareVersions', 'stats']);
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Routes whose instances the inference core checks against iris-demo@1.0.0's input schema. */
const INSTANCE_ROUTES = new Set<OperationId>(['predict', 'explain']);

/** `label`: a string or a finite number (feedback's `actual`). */
/** `intOrNull`, `objectOrNull`: fields where null is a valid value (PATCH clears them with it). */
type Kind =
  | 'string'
  | 'enum'
  | 'bool'
  | 'number'
  | 'int'
  | 'intOrNull'
  | 'record'
  | 'object'
  | 'objectOrNull'
  | 'array'
  | 'label';
/**
 * Field types of each request body (functions/http/schemas.ts, ValidationRequest). Feedback's
 * body is an array: its fields are those of an item, and corruptions go into the first item.
 */
const BODY_FIELDS: Partial<Record<OperationId, Record<string, Kind>>> = {
  createKey: { name: 'string', role: 'enum', expiresAt: 'string' },
  createModel: {
    name: 'string',
    description: 'string',
    tags: 'record',
    requireValidation: 'bool',
    fallback: 'bool',
    allowUnservableProduction: 'bool',
    minValidationRows: 'int',
    requiredThresholds: 'object',
    promotionGate: 'object',
  },
  updateModel: {
    description: 'string',
    tags: 'record',
    requireValidation: 'bool',
    fallback: 'bool',
    allowUnservableProduction: 'bool',
    minValidationRows: 'intOrNull',
    requiredThresholds: 'objectOrNull',
    promotionGate: 'objectOrNull',
  },
  updateVersion: { description: 'string', tags: 'record' },
  registerVersion: {
    version: 'string',
    artifact: 'object',
    sha256: 'string',
    framework: 'enum',
    runtime: 'object',
    inputSchema: 'object',
    outputSchema: 'object',
    metrics: 'record',
    params: 'record',
    dataset: 'object',
    parent: 'string',
    tags: 'record',
    description: 'string',
  },
  validateVersion: { dataset: 'object', thresholds: 'object', latencyBudgetMs: 'number', latencyRuns: 'int' },
  versionFairness: { attribute: 'string', positive: 'label', seed: 'int', dataset: 'object' },
  transitionVersion: { stage: 'enum', comment: 'string' },
  decideApproval: { decision: 'enum', comment: 'string' },
  rollback: { toVersion: 'string', comment: 'string' },
  issueToken: { ttlSeconds: 'int' },
  setMode: { mode: 'enum', comment: 'string' },
  predict: { instances: 'array', version: 'string', alias: 'enum', subject: 'string', explain: 'bool' },
  explain: { instances: 'array', version: 'string', alias: 'enum', subject: 'string' },
  feedback: { predictionId: 'string', actual: 'label' },
  retrainModel: { reason: 'string', trainer: 'enum', params: 'object', search: 'object' },
  resetOnline: { reason: 'string' },
  createExperiment: {
    name: 'string',
    description: 'string',
    model: 'string',
    kind: 'enum',
    variants: 'array',
    metric: 'object',
    guardrails: 'array',
    minSamples: 'int',
    maxSamples: 'int',
    alpha: 'number',
    adjustment: 'enum',
    tau2: 'number',
    canary: 'object',
  },
  setExperimentWeights: { weights: 'array', comment: 'string' },
  startExperiment: { comment: 'string' },
  pauseExperiment: { comment: 'string' },
  concludeExperiment: { promote: 'bool', variant: 'string', comment: 'string' },
  recordExperimentEvents: { eventId: 'string', subject: 'string', metric: 'string', value: 'number' },
};
/**
 * Fields whose values are narrowly constrained strings (names, versions, enums, hashes, dates).
 * Not predict's `subject`: any 1-256 characters are a valid sticky-assignment key.
 */
const STRICT_STRING_FIELDS: Partial<Record<OperationId, string[]>> = {
  createKey: ['role', 'expiresAt'],
  createModel: ['name'],
  registerVersion: ['version', 'sha256', 'framework', 'parent'],
  transitionVersion: ['stage'],
  decideApproval: ['decision'],
  rollback: ['toVersion'],
  setMode: ['mode'],
  predict: ['version', 'alias'],
  explain: ['version', 'alias'],
  feedback: ['predictionId'],
};

// ---- small helpers ------------------------------------------------------------------------

const pick = <T>(xs: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...xs);
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const b64u = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const printable = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const printableWithSpace = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
const SEMVER = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// The demo model the local runtime registers (functions/core/training/demo.ts): iris-demo@1.0.0, a
// draft, four float features in [0, 30], binary classes versicolor/virginica, linear (explainable).
const IRIS_VERSION = '1.0.0';
const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;
const IRIS_ROW = [6.1, 2.8, 4.7, 1.2] as const;
const IRIS_OBJECT: Readonly<Record<string, number>> = Object.fromEntries(
  IRIS_FEATURES.map((f, i) => [f, IRIS_ROW[i]!]),
);
/** A well-formed prediction id (ULID) that no served prediction has. */
const UNKNOWN_PREDICTION = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

/** JSON text of an object instance from [key, raw JSON value] pairs (keys as written: __proto__ too). */
const objectText = (entries: readonly (readonly [string, string])[]) =>
  `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
const IRIS_ENTRIES: readonly (readonly [string, string])[] = IRIS_FEATURES.map((f, i) => [
  f,
  String(IRIS_ROW[i]),
]);
/** Keys that name Object.prototype members (or set the prototype) rather than features. */
const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'isPrototypeOf',
];

/**
 * `instances` values iris-demo@1.0.0 must refuse (400 validation_failed, naming the instance and
 * feature), as raw JSON text. Left out on purpose: booleans (accepted as 0/1 flags), -0 and
 * underflowing literals such as 1e-400 (they are 0, inside [0, 30]), and a duplicated key whose
 * LAST value is valid (JSON.parse keeps the last).
 */
const BAD_INSTANCES: readonly (readonly [string, string])[] = [
  ['[]', 'no instances'],
  ['[6.1,2.8,4.7,1.2]', 'instances are numbers, not rows'],
  ['["6.1,2.8,4.7,1.2"]', 'an instance is a string'],
  ['[null]', 'an instance is null'],
  ['[true]', 'an instance is true'],
  ['[0]', 'an instance is 0'],
  ['[[6.1,2.8,4.7,1.2],7]', 'the second instance is a number'],
  ['[[6.1,2.8,4.7]]', 'a row of 3 values for 4 features'],
  ['[[6.1,2.8,4.7,1.2,0.5]]', 'a row of 5 values for 4 features'],
  ['[[]]', 'an empty row'],
  ['[[6.1,2.8,4.7,1.2],[6.1]]', 'the second row has 1 value'],
  ['[[[6.1,2.8,4.7,1.2]]]', 'rows nested one level too deep'],
  ['[[[6.1],[2.8],[4.7],[1.2]]]', 'every value a one-element array'],
  ['[[6.1,2.8,4.7,[1.2]]]', 'one value an array'],
  ['[[6.1,2.8,4.7,[]]]', 'one value an empty array'],
  ['[[6.1,2.8,4.7,{"value":1.2}]]', 'one value an object'],
  ['[[6.1,2.8,4.7,null]]', 'null for a non-nullable feature'],
  ['[[6.1,2.8,4.7,"NaN"]]', 'NaN spelled as a string'],
  ['[[6.1,2.8,4.7,"Infinity"]]', 'Infinity spelled as a string'],
  ['[[6.1,2.8,4.7,"-Infinity"]]', '-Infinity spelled as a string'],
  ['[["nan","inf","-inf","1e309"]]', 'nan/inf/1e309 as strings'],
  ['[[6.1,2.8,4.7,"1.2"]]', 'a number as a string'],
  ['[[6.1,2.8,4.7,""]]', 'an empty string value'],
  ['[[6.1,2.8,4.7,-1]]', 'below the minimum 0'],
  ['[[6.1,2.8,4.7,-0.000001]]', 'just below the minimum 0'],
  ['[[6.1,2.8,4.7,30.000001]]', 'just above the maximum 30'],
  ['[[6.1,2.8,4.7,1e309]]', '1e309 (Infinity once parsed)'],
  ['[[6.1,2.8,4.7,-1e309]]', '-1e309 (-Infinity once parsed)'],
  ['[[6.1,2.8,4.7,3.5e38]]', 'beyond float32'],
  ['[[-3.5e38,2.8,4.7,1.2]]', 'beyond float32, negative'],
  ['[[6.1,2.8,4.7,3.4028236e38]]', 'just beyond float32'],
  ['[{}]', 'an empty object instance'],
  [`[${objectText(IRIS_ENTRIES.slice(0, 3))}]`, 'an object instance without petal_width'],
  [`[${objectText([...IRIS_ENTRIES, ['petal_colour', '1']])}]`, 'an unknown feature petal_colour'],
  [`[${objectText([['Sepal_Length', '6.1'], ...IRIS_ENTRIES.slice(1)])}]`, 'a feature name in another case'],
  [`[${objectText([['sepal-length', '6.1'], ...IRIS_ENTRIES.slice(1)])}]`, 'sepal-length for sepal_length'],
  [
    `[${objectText([['sepal_length ', '6.1'], ...IRIS_ENTRIES.slice(1)])}]`,
    'a feature name with a trailing space',
  ],
  [`[${objectText([['', '6.1'], ...IRIS_ENTRIES])}]`, 'an empty feature name'],
  [`[${objectText(IRIS_ENTRIES.map(([, v], i) => [String(i), v]))}]`, 'features keyed 0..3'],
  [`[${objectText([...IRIS_ENTRIES, ['length', '4']])}]`, 'an extra length key'],
  [`[${objectText([...IRIS_ENTRIES.slice(0, 3), ['petal_width', '"1.2"']])}]`, 'an object value as a string'],
  [`[${objectText([...IRIS_ENTRIES.slice(0, 3), ['petal_width', 'null']])}]`, 'an object value null'],
  [`[${objectText([...IRIS_ENTRIES.slice(0, 3), ['petal_width', '[1.2]']])}]`, 'an object value an array'],
  [`[${objectText([...IRIS_ENTRIES, ['petal_width', '31']])}]`, 'petal_width twice, the last out of range'],
  [`[${objectText([...IRIS_ENTRIES, ['petal_width', '"x"']])}]`, 'petal_width twice, the last a string'],
  ...PROTOTYPE_KEYS.flatMap((k): [string, string][] => [
    [`[${objectText([...IRIS_ENTRIES.slice(0, 3), [k, '1.2']])}]`, `feature ${k} for petal_width`],
    [`[${objectText([...IRIS_ENTRIES, [k, '1.2']])}]`, `an extra feature ${k}`],
    [`[${objectText([...IRIS_ENTRIES, [k, '{"petal_width":1.2,"isAdmin":true}']])}]`, `an extra ${k} object`],
  ]),
];

/**
 * Whole predict/explain bodies the API must refuse that are not about one instance: version and
 * alias together, bad aliases, a missing or empty field (`explain` only exists on predict).
 */
const BAD_PREDICT_BODIES = (route: 'predict' | 'explain'): readonly (readonly [string, string])[] => {
  const rows = `[${JSON.stringify(IRIS_ROW)}]`;
  return [
    [`{"version":"1.0.0","alias":"latest","instances":${rows}}`, 'version and alias latest together'],
    [`{"version":"1.0.0","alias":"production","instances":${rows}}`, 'version and alias production together'],
    [`{"alias":"staging","instances":${rows}}`, 'alias staging'],
    [`{"alias":"Latest","instances":${rows}}`, 'alias Latest'],
    [`{"alias":"1.0.0","instances":${rows}}`, 'alias 1.0.0 (a version)'],
    [`{"alias":"","instances":${rows}}`, 'empty alias'],
    [`{"alias":null,"instances":${rows}}`, 'alias null'],
    [`{"version":"latest","instances":${rows}}`, 'version latest (an alias)'],
    [`{"version":"","instances":${rows}}`, 'empty version'],
    [`{"version":null,"instances":${rows}}`, 'version null'],
    ['{"version":"1.0.0"}', 'no instances'],
    ['{"version":"1.0.0","instances":null}', 'instances null'],
    ['{"version":"1.0.0","instances":{}}', 'instances an object'],
    [`{"version":"1.0.0","instances":${JSON.stringify(JSON.stringify(IRIS_ROW))}}`, 'instances a string'],
    [`{"version":"1.0.0","instances":${rows},"subject":""}`, 'empty subject'],
    [`{"version":"1.0.0","instances":${rows},"subject":null}`, 'subject null'],
    [`{"version":"1.0.0","instances":${rows},"model":"churn"}`, 'an unknown field model'],
    [`{"version":"1.0.0","instances":${rows},"features":["a"]}`, 'an unknown field features'],
    [`{"version":"1.0.0","instance":${rows}}`, 'instance for instances'],
    [`{"version":"1.0.0","inputs":${rows}}`, 'inputs for instances'],
    ...(route === 'explain'
      ? [[`{"version":"1.0.0","instances":${rows},"explain":true}`, 'explain: true on /explain'] as const]
      : [[`{"version":"1.0.0","instances":${rows},"explain":"true"}`, 'explain "true" (a string)'] as const]),
  ];
};

/** Feedback bodies the API must refuse, as raw JSON text: the item is `{predictionId, actual}`. */
const BAD_FEEDBACK: readonly (readonly [string, string])[] = (() => {
  const item = (id: string, actual: string) => `{"predictionId":${JSON.stringify(id)},"actual":${actual}}`;
  const good = item(UNKNOWN_PREDICTION, '"versicolor"');
  const badIds = [
    [UNKNOWN_PREDICTION.toLowerCase(), 'a lower-case ULID'],
    [UNKNOWN_PREDICTION.slice(0, 25), 'a ULID of 25 characters'],
    [`${UNKNOWN_PREDICTION}A`, 'a ULID of 27 characters'],
    ['01ARZ3NDEKTSV4RRFFQ69G5FAI', 'a ULID with I'],
    ['01ARZ3NDEKTSV4RRFFQ69G5FAL', 'a ULID with L'],
    ['01ARZ3NDEKTSV4RRFFQ69G5FAO', 'a ULID with O'],
    ['01ARZ3NDEKTSV4RRFFQ69G5FAU', 'a ULID with U'],
    ['0123456789abcdef0123456789abcdef', 'a hex id'],
    ['6f1c3a52-6c0e-4f0e-9d6e-2f5b1c9a7e10', 'a UUID'],
    ['', 'an empty id'],
    [` ${UNKNOWN_PREDICTION}`, 'a ULID with a leading space'],
    [`${UNKNOWN_PREDICTION}\n`, 'a ULID with a trailing newline'],
    ['PRED#01ARZ3NDEKTSV4RRFFQ69G5FAV', 'a table key for an id'],
    ['*', 'a wildcard'],
  ] as const;
  return [
    ['[]', 'an empty array'],
    ['{}', 'an empty object'],
    [good, 'one item, not in an array'],
    [`{"items":[${good}]}`, 'the array wrapped in an object'],
    ['[null]', 'a null item'],
    ['[[]]', 'an array item'],
    [`[${JSON.stringify(UNKNOWN_PREDICTION)}]`, 'a bare id'],
    [`[[${JSON.stringify(UNKNOWN_PREDICTION)},"versicolor"]]`, 'an [id, actual] pair'],
    [`[${good},null]`, 'a good item then null'],
    [`[${good},${item('x', '"versicolor"')}]`, 'a good item then a bad id'],
    ...badIds.map(([id, what]) => [`[${item(id, '"versicolor"')}]`, what] as const),
    [`[${item(UNKNOWN_PREDICTION, 'null')}]`, 'actual null'],
    [`[${item(UNKNOWN_PREDICTION, '{}')}]`, 'actual an empty object'],
    [`[${item(UNKNOWN_PREDICTION, '{"label":"versicolor"}')}]`, 'actual an object'],
    [`[${item(UNKNOWN_PREDICTION, '[]')}]`, 'actual an empty array'],
    [`[${item(UNKNOWN_PREDICTION, '["versicolor"]')}]`, 'actual an array'],
    [`[${item(UNKNOWN_PREDICTION, 'true')}]`, 'actual true'],
    [`[${item(UNKNOWN_PREDICTION, '""')}]`, 'actual an empty string'],
    [`[${item(UNKNOWN_PREDICTION, '1e309')}]`, 'actual 1e309 (Infinity once parsed)'],
    [`[${item(UNKNOWN_PREDICTION, '-1e309')}]`, 'actual -1e309'],
    [`[{"predictionId":${JSON.stringify(UNKNOWN_PREDICTION)}}]`, 'no actual'],
    ['[{"actual":"versicolor"}]', 'no predictionId'],
    [
      `[{"predictionId":${JSON.stringify(UNKNOWN_PREDICTION)},"actual":"versicolor","actual":null}]`,
      'actual twice, the last null',
    ],
    [
      `[{"predictionId":${JSON.stringify(UNKNOWN_PREDICTION)},"actual":"versicolor","model":"iris-demo"}]`,
      'an unknown field model',
    ],
    ...PROTOTYPE_KEYS.slice(0, 3).map(
      (k) =>
        [
          `[{"predictionId":${JSON.stringify(UNKNOWN_PREDICTION)},"actual":"versicolor",${JSON.stringify(k)}:{"isAdmin":true}}]`,
          `an item with ${k}`,
        ] as const,
    ),
  ];
})();

/** Values of stats' from/to that are not ISO 8601 date-times with an offset. */
const BAD_DATETIMES = [
  'yesterday',
  'now',
  '2026-01-01',
  '2026-01-01 00:00:00Z',
  '2026-01-01T00:00:00',
  '2026-01-01T00:00Z',
  '2026-01-01t00:00:00z',
  '2026-01-01T00:00:00+0100',
  '2026-13-01T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T00:00:60Z',
  '2026-01-01T00:00:00+25:00',
  '+275760-09-13T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '1767225600',
  '1767225600000',
  '2026-W01',
  'null',
  '',
];
/** [from, to] windows whose start is not before their end. */
const BAD_WINDOWS: readonly (readonly [string, string, string])[] = [
  ['2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z', 'from a day after to'],
  ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'from equal to to'],
  ['2026-01-01T00:00:00.001Z', '2026-01-01T00:00:00Z', 'from 1 ms after to'],
  ['2026-01-01T12:00:00-12:00', '2026-01-01T23:00:00Z', 'from after to once offsets apply'],
  ['2026-01-01T01:00:00+01:00', '2026-01-01T00:00:00Z', 'from equal to to in another offset'],
  ['9999-12-31T23:59:59Z', '0000-01-01T00:00:00Z', 'from at the end of time, to at its start'],
];

/** Independent of the product: does this text decode as canonical padded base64 (whitespace aside)? */
function isBase64(text: string): boolean {
  const compact = text.replace(/\s+/g, '');
  return compact.length > 0 && STRICT_BASE64.test(compact);
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Percent-encodes the UTF-8 bytes of every character outside the unreserved set. */
function pct(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function fill(route: Route, params: Readonly<Record<string, string>>, encode = pct): string {
  return route.path.replace(/\{(\w+)\}/g, (_, k: string) => encode(params[k] ?? ''));
}

function qs(query: Readonly<Record<string, string>>): string {
  const parts = Object.entries(query).map(([k, v]) => `${pct(k)}=${pct(v)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/**
 * The route a normalised path and method land on, by the route table alone (independent of the
 * gateway's own matcher, so a broken gateway cannot break the generator): a parameter segment
 * must be non-empty and percent-decodable.
 */
function routeAt(method: string, pathname: string): Route | undefined {
  const parts = pathname.split('/').slice(1);
  return ROUTES.find((r) => {
    const segments = r.path.split('/').slice(1);
    if (r.method !== method || segments.length !== parts.length) return false;
    return segments.every((seg, i) => {
      const part = parts[i]!;
      if (!seg.startsWith('{')) return seg === part;
      try {
        return decodeURIComponent(part) !== '';
      } catch {
        return false;
      }
    });
  });
}

/**
 * The body with field `f` set to `v`: on the object, or on the first item of an array body
 * (feedback). Setting predict's `alias` drops its `version` (both together are refused anyway),
 * so the alias is the one thing wrong. The key is set as an own property, `__proto__` included.
 */
function withField(body: JsonBody, f: string, v: unknown): JsonBody {
  const set = (o: Fields) => {
    const out = Object.fromEntries(Object.entries(o).filter(([k]) => !(f === 'alias' && k === 'version')));
    Object.defineProperty(out, f, { value: v, enumerable: true, writable: true, configurable: true });
    return out;
  };
  if (isArrayBody(body)) {
    const [first, ...rest] = body;
    return [set(first ?? {}), ...rest];
  }
  return set(body);
}

function isArrayBody(body: JsonBody): body is readonly Fields[] {
  return Array.isArray(body);
}

/** Replaces the JSON string "@@X@@" in the serialised body with raw JSON text. */
function withRaw(body: unknown, marker: string, rawJson: string): string {
  return JSON.stringify(body).replace(`"${marker}"`, () => rawJson);
}

function nest(depth: number, shape: 'array' | 'object' | 'mixed'): string {
  if (shape === 'array') return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
  if (shape === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const half = Math.floor(depth / 2);
  return `${'[{"a":'.repeat(half)}1${'}]'.repeat(half)}`;
}

/** Inserts `chars` into `base` at positions derived from `at`. */
function insert(base: string, chars: string[], at: number[]): string {
  let s = base;
  chars.forEach((c, i) => {
    const p = (at[i] ?? 0) % (s.length + 1);
    s = s.slice(0, p) + c + s.slice(p);
  });
  return s;
}

const UNICODE = [
  'é',
  'ñ',
  'ß',
  'İ',
  'ı',
  'ﬁ',
  'Ω',
  '中',
  '😀',
  '👩‍👩‍👧',
  '\u202e',
  '\u200b',
  '\u200d',
  '\ufeff',
  '\u2028',
  '\u2029',
  'ａ',
  '１',
  '١',
  '\u0301',
  '\ud800',
  '\udfff',
];
const CONTROL = [
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000b',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0085',
  '\t',
  '\n',
  '\r',
];
const HOMOGLYPHS: Record<string, string[]> = {
  name: ['ｃｈｕｒｎ', 'сhurn', 'Churn', 'CHURN', 'chur\u0301n', '𝐜𝐡𝐮𝐫𝐧', 'churn\u200b', '\u202echurn'],
  version: ['１.０.０', '١.٠.٠', '1.0.0\u200b', '1．0．0', '𝟏.0.0', '¹.0.0'],
  alias: ['lаtest', 'ｌａｔｅｓｔ', 'latest\u200b', 'prοduction', 'LATEST', 'ℓatest'],
  predictionId: [
    '01АRZ3NDEKTSV4RRFFQ69G5FAV',
    '０1ARZ3NDEKTSV4RRFFQ69G5FAV',
    '01ARZ3NDEKTSV4RRFFQ69G5FA\u0301V',
  ],
  // iris-demo's feature names, spelled with look-alikes (Cyrillic ѕ/е/о, fullwidth, zero-width)
  feature: [
    'ѕepal_length',
    'sepal_lеngth',
    'ｓｅｐａｌ_length',
    'sepal_length\u200b',
    'sepal＿length',
    'petal_widtһ',
  ],
};
/** Percent-escapes that are not UTF-8: lone surrogate, overlong '.', 0xFF, truncated sequences. */
const BAD_UTF8_ESCAPES = [
  '%ED%A0%80',
  '%FF',
  '%C0%AE',
  '%E0%80%AF',
  '%F8%88%80%80%80',
  '%C3%28',
  '%E2%82',
  '%',
];

// ---- the generators ---------------------------------------------------------------------

export interface HostileSuite {
  /** One arbitrary per category, to be sampled with a seed. */
  readonly arbitraries: Record<Category, fc.Arbitrary<HostileRequest>>;
  /**
   * Fixed requests sent on every run whatever the seed: edge cases random sampling reaches only
   * sometimes (a JSON null body, params nested past the stack, cursors of a sibling listing,
   * absolute-form targets the URL parser rejects).
   */
  readonly pinned: readonly HostileRequest[];
}

export function hostileSuite(world: World): HostileSuite {
  const routeById = new Map<string, Route>(ROUTES.map((r) => [r.operationId, r]));
  const route = (id: OperationId) => routeById.get(id)!;
  const validBodies: Partial<Record<OperationId, JsonBody>> = {
    createKey: { name: 'hostile-key', role: 'viewer' },
    createModel: { name: 'hostile-model', description: 'should never exist' },
    updateModel: { description: 'defaced' },
    updateVersion: { description: 'defaced', tags: { owner: 'mallory' } },
    registerVersion: { artifact: { base64: tinyOnnxBase64('hostile artifact') }, metrics: { auc: 0.5 } },
    validateVersion: world.validateBody,
    versionFairness: {
      attribute: 'region',
      dataset: {
        ...world.validateBody.dataset,
        groups: world.validateBody.dataset.labels.map((_, i) => i % 2),
      },
      positive: world.validateBody.dataset.labels[0],
    },
    transitionVersion: { stage: 'archived', comment: 'hostile' },
    decideApproval: { decision: 'approved', comment: 'hostile' },
    rollback: {},
    setAlias: { version: '1.0.0' },
    issueToken: { ttlSeconds: 600 },
    setMode: { mode: 'maintenance', comment: 'hostile' },
    putBaseline: { rows: [[5.1, 3.5, 1.4, 0.2]] },
    checkDrift: { from: '2026-01-01T00:00:00Z', to: '2026-01-01T01:00:00Z' },
    putPolicy: { scheduleMinutes: 60 },
    ackAlert: { comment: 'hostile' },
    createWebhook: { url: 'https://example.com/hook', events: ['alert'] },
    // The demo model's only version is a draft: it serves when named (no production, no alias).
    predict: { version: IRIS_VERSION, instances: [IRIS_ROW] },
    explain: { version: IRIS_VERSION, instances: [IRIS_ROW] },
    // A well-formed id no prediction has: a valid body would be answered 200 ("unknown").
    feedback: [{ predictionId: UNKNOWN_PREDICTION, actual: 'versicolor' }],
    createExperiment: {
      name: 'hostile experiment',
      model: 'churn',
      variants: [
        { version: '1.0.0', weight: 50 },
        { version: '1.1.0', weight: 50 },
      ],
    },
    setExperimentWeights: {
      weights: [
        { name: '1.0.0', weight: 100 },
        { name: '1.1.0', weight: 0 },
      ],
    },
    startExperiment: { comment: 'hostile' },
    pauseExperiment: { comment: 'hostile' },
    concludeExperiment: { comment: 'hostile' },
    recordExperimentEvents: [{ eventId: 'hostile', subject: 'mallory', metric: 'converted', value: 1 }],
    retrainModel: { reason: 'hostile' },
    resetOnline: { reason: 'hostile' },
  };
  const paramsOf: Partial<Record<OperationId, Record<string, string>>> = {
    revokeKey: { keyId: world.liveKeyId },
    getModel: { name: 'churn' },
    updateModel: { name: 'churn' },
    registerVersion: { name: 'churn' },
    listVersions: { name: 'churn' },
    getVersion: { name: 'churn', version: '1.0.0' },
    completeUpload: { name: world.pending.model, version: world.pending.version },
    newUploadUrl: { name: world.pending.model, version: world.pending.version },
    updateVersion: { name: 'churn', version: '1.1.0' },
    // churn's production version (1.0.0): even a request that got through would be refused.
    deleteModel: { name: 'churn' },
    deleteVersion: { name: 'churn', version: '1.0.0' },
    getArtifactUrl: { name: 'churn', version: '1.0.0' },
    verifyArtifact: { name: 'churn', version: '1.0.0' },
    validateVersion: { name: 'iris-demo', version: '1.0.0' },
    versionFairness: { name: 'iris-demo', version: '1.0.0' },
    transitionVersion: { name: 'churn', version: '1.1.0' },
    decideApproval: { name: 'fraud', version: '2.0.0' },
    rollback: { name: 'churn' },
    setAlias: { name: 'churn', alias: 'champion' },
    deleteAlias: { name: 'churn', alias: 'champion' },
    productionHistory: { name: 'churn' },
    compareVersions: { name: 'churn' },
    putBaseline: { name: 'iris-demo' },
    getBaseline: { name: 'iris-demo' },
    checkDrift: { name: 'iris-demo' },
    listDriftReports: { name: 'iris-demo' },
    listQualityReports: { name: 'iris-demo' },
    getPerformance: { name: 'iris-demo' },
    getFairness: { name: 'iris-demo' },
    putPolicy: { name: 'iris-demo' },
    getPolicy: { name: 'iris-demo' },
    getOnline: { name: 'iris-demo' },
    resetOnline: { name: 'iris-demo' },
    ackAlert: { alertId: '0123456789abcdef0123456789abcdef' },
    deleteWebhook: { webhookId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' },
    predict: { name: 'iris-demo' },
    explain: { name: 'iris-demo' },
    stats: { name: 'iris-demo' },
    getExperiment: { experimentId: world.experimentId },
    setExperimentWeights: { experimentId: world.experimentId },
    startExperiment: { experimentId: world.experimentId },
    pauseExperiment: { experimentId: world.experimentId },
    concludeExperiment: { experimentId: world.experimentId },
    recordExperimentEvents: { experimentId: world.experimentId },
    getExperimentAssignment: { experimentId: world.experimentId },
    getExperimentResults: { experimentId: world.experimentId },
    listExperimentSnapshots: { experimentId: world.experimentId },
    retrainModel: { name: 'churn' },
    // A well-formed id no job has.
    getJob: { jobId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' },
    cancelJob: { jobId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' },
  };
  const queryOf: Partial<Record<OperationId, Record<string, string>>> = {
    listAudit: { limit: '5' },
    listKeys: { limit: '5' },
    listModels: { limit: '5' },
    listVersions: { limit: '5' },
    productionHistory: { limit: '5' },
    compareVersions: { a: '1.0.0', b: '1.1.0' },
    listDriftReports: { limit: '5' },
    listQualityReports: { limit: '5' },
    getPerformance: { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' },
    getFairness: { attribute: 'region', positive: 'setosa' },
    listAlerts: { limit: '5' },
    listWebhooks: { limit: '5' },
    stats: { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' },
    listExperiments: { limit: '5', model: 'churn' },
    getExperimentAssignment: { subject: 'user-1' },
    listExperimentSnapshots: { limit: '5' },
    listJobs: { limit: '5', model: 'churn' },
  };
  const target = (r: Route): Target => ({
    route: r,
    params: paramsOf[r.operationId] ?? {},
    query: queryOf[r.operationId] ?? {},
    body: validBodies[r.operationId],
  });
  const protectedRoutes = ROUTES.filter((r) => r.role !== 'none');
  // Routes that honour idempotency-key: the system and inference functions keep no idempotency
  // records (functions/handlers/system-api.ts, inference-api.ts), so PUT /v1/mode, predict,
  // explain and feedback ignore the header and a bad key there is not a malformation.
  const idempotent = (r: Route) => MUTATING.has(r.method) && r.fn !== 'system' && r.fn !== 'inference';
  const idempotentRoutes = ROUTES.filter(idempotent);
  const listRoutes = ROUTES.filter((r) => LIST_ROUTES.has(r.operationId));

  // ---- callers ----
  const NONE: Caller = { label: 'none' };
  const role = (r: Role): Caller => ({ label: r, key: world.keys[r] });
  const admin = world.keys.admin;
  const adminId = admin.split('_')[1] ?? '';
  const garbageFixed: Caller[] = [
    ['empty', ''],
    ['svl_', 'svl_'],
    ['nonsense', 'svl_nonsense'],
    ['null', 'null'],
    ['bearer-admin', `Bearer ${admin}`],
    ['admin-truncated', admin.slice(0, -1)],
    ['admin-extended', `${admin}A`],
    ['admin-lowercased', admin.toLowerCase()],
    ['admin-uppercased-prefix', admin.replace('svl_', 'SVL_')],
    ['admin-dashes', admin.replace(/_/g, '-')],
    ['admin-id-wrong-secret', `svl_${adminId}_${'A'.repeat(43)}`],
    ['zero-id', `svl_${'0'.repeat(26)}_${'A'.repeat(43)}`],
    ['sql', "' OR 1=1 --"],
    ['nosql', '{"$ne":null}'],
    ['path', '../../admin-key'],
    ['star', '*'],
  ].map(([label, key]) => ({ label: `garbage:${label}`, key }));
  const garbage: fc.Arbitrary<Caller> = fc.oneof(
    pick(garbageFixed),
    fc
      .string({ unit: printable, minLength: 1, maxLength: 80 })
      .map((key) => ({ label: 'garbage:random', key })),
  );
  // Bearer tokens the authorizer must refuse (it reads authorization before x-api-key).
  const b64uJson = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const adminClaims = {
    sub: adminId,
    role: 'admin',
    name: 'forged',
    iss: 'serval',
    aud: 'serval-api',
    jti: 'forged',
    iat: now,
    exp: now + 3600,
  };
  const hs256 = (claims: unknown, secret: string) => {
    const unsigned = `${b64uJson({ alg: 'HS256', typ: 'JWT' })}.${b64uJson(claims)}`;
    return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
  };
  const tamper = (jwt: string) => {
    const [h, , sig] = jwt.split('.');
    return `${h}.${b64uJson(adminClaims)}.${sig}`;
  };
  const flip = (jwt: string) => jwt.slice(0, -2) + (jwt.endsWith('AA') ? 'BB' : 'AA');
  const forgedBearers: Caller[] = [
    ['alg-none', `Bearer ${b64uJson({ alg: 'none', typ: 'JWT' })}.${b64uJson(adminClaims)}.`],
    ['alg-none-sig', `Bearer ${b64uJson({ alg: 'none', typ: 'JWT' })}.${b64uJson(adminClaims)}.x`],
    ['wrong-secret', `Bearer ${hs256(adminClaims, 'not-the-secret')}`],
    ['empty-secret', `Bearer ${hs256(adminClaims, '')}`],
    ['expired', `Bearer ${hs256({ ...adminClaims, iat: now - 7200, exp: now - 3600 }, 'x')}`],
    ['tampered-claims', `Bearer ${tamper(world.tokens.scientist)}`],
    ['bad-signature', `Bearer ${flip(world.tokens.approver)}`],
    ['revoked-key-token', `Bearer ${world.tokens.revoked}`],
    ['no-scheme', world.tokens.approver],
    ['basic', `Basic ${Buffer.from('admin:admin').toString('base64')}`],
    ['bearer-only', 'Bearer'],
    ['bearer-api-key', `Bearer ${admin}`],
    ['two-parts', 'Bearer a.b'],
    ['four-parts', 'Bearer a.b.c.d'],
    ['bearer-garbage', 'Bearer garbage'],
  ].map(([label, bearer]) => ({ label: `jwt:${label}`, bearer }));
  const revoked: Caller = { label: 'revoked-admin', key: world.revokedKey };
  const badCredential: fc.Arbitrary<Caller> = fc.oneof(
    { weight: 3, arbitrary: garbage },
    { weight: 1, arbitrary: fc.constant(revoked) },
    { weight: 2, arbitrary: pick(forgedBearers) },
    // a refused token next to a good admin key: the token is what counts
    {
      weight: 1,
      arbitrary: pick(forgedBearers).map((c) => ({ ...c, key: admin, label: `${c.label}+admin-key` })),
    },
  );
  const jwtCallers: Partial<Record<Role, Caller>> = {
    scientist: { label: 'scientist(jwt)', bearer: `Bearer ${world.tokens.scientist}` },
    approver: { label: 'approver(jwt)', bearer: `Bearer ${world.tokens.approver}` },
  };
  const anyCaller: fc.Arbitrary<Caller> = fc.oneof(
    fc.constant(NONE),
    badCredential,
    pick(ROLES.map(role)),
    pick(Object.values(jwtCallers)),
  );
  const sufficient = (r: Route): fc.Arbitrary<Caller> => {
    if (r.role === 'none') return fc.oneof(fc.constant(NONE), pick(ROLES.map(role)));
    const roles = ROLES.filter((x) => hasRole(x, r.role as Role));
    const jwts = roles.flatMap((x) => (jwtCallers[x] ? [jwtCallers[x]] : []));
    return fc.oneof(
      { weight: 4, arbitrary: pick(roles.map(role)) },
      ...(jwts.length ? [{ weight: 1, arbitrary: pick(jwts) }] : []),
    );
  };
  /** Only callers holding an API key (where the key itself is duplicated or varied). */
  const sufficientKey = (r: Route): fc.Arbitrary<Caller> =>
    pick(ROLES.filter((x) => r.role === 'none' || hasRole(x, r.role as Role)).map(role));
  const insufficient = (r: Route): fc.Arbitrary<Caller> => {
    const lower = ROLES.filter((x) => !hasRole(x, r.role as Role));
    const lowerJwt = lower.flatMap((x) => (jwtCallers[x] ? [jwtCallers[x]] : []));
    return fc.oneof(
      fc.constant(NONE),
      badCredential,
      ...(lower.length ? [pick(lower.map(role))] : []),
      ...(lowerJwt.length ? [pick(lowerJwt)] : []),
    );
  };
  /** Mostly callers that pass the role check, so what is malformed is what gets tested. */
  const mostlySufficient = (r: Route) =>
    fc.oneof({ weight: 5, arbitrary: sufficient(r) }, { weight: 1, arbitrary: anyCaller });

  // ---- request assembly ----
  interface Parts {
    readonly caller: Caller;
    readonly what: string;
    readonly method?: string;
    /** Complete request-target; defaults to the target's path and query. */
    readonly path?: string;
    readonly params?: Record<string, string>;
    readonly query?: Record<string, string>;
    /** Pre-encoded query string (without "?"), replacing `query`. */
    readonly rawQuery?: string;
    readonly body?: Body;
    /** null: no content-type header; default application/json when there is a body. */
    readonly contentType?: string | null;
    readonly headers?: readonly (readonly [string, string])[];
  }
  const make = (category: Category, t: Target, p: Parts): HostileRequest => {
    const params = { ...t.params, ...p.params };
    const query = { ...t.query, ...p.query };
    const path = p.path ?? fill(t.route, params) + (p.rawQuery !== undefined ? `?${p.rawQuery}` : qs(query));
    const headers: [string, string][] = [['host', 'localhost']];
    if (p.caller.key !== undefined) headers.push(['x-api-key', p.caller.key]);
    if (p.caller.bearer !== undefined) headers.push(['authorization', p.caller.bearer]);
    if (p.body !== undefined && p.contentType !== null) {
      headers.push(['content-type', p.contentType ?? 'application/json']);
    }
    headers.push(...(p.headers ?? []).map(([k, v]) => [k, v] as [string, string]));
    return {
      category,
      route: t.route.operationId,
      method: p.method ?? t.route.method,
      path,
      headers,
      body: p.body,
      caller: p.caller.label,
      what: p.what,
    };
  };
  const rawRequest = (category: Category, r: Route, what: string, bytes: string): HostileRequest => ({
    category,
    route: r.operationId,
    method: bytes.split(' ')[0] ?? '',
    path: '(raw)',
    headers: [],
    raw: Buffer.from(bytes, 'latin1'),
    caller: 'none',
    what,
  });
  /** The valid body of a route as JSON text (no-body routes: a non-empty object they must refuse). */
  const validJson = (t: Target) => JSON.stringify(t.body ?? {});
  const anyRoute = pick(ROUTES);

  // ---- broken JSON ----
  const BROKEN = [
    '{',
    '}',
    '{"',
    '{"name":}',
    "{'name':'x'}",
    '{"name":"x",}',
    '[1,2',
    '{"a":1}}',
    'NaN',
    'undefined',
    '{"a":1} trailing',
    '//c\n{}',
    '/*c*/{}',
    '{"a":01}',
    '{"a":.5}',
    '{"a":+1}',
    '{"a":0x10}',
    '{"a":"\\x41"}',
    '{"a":"\\u12"}',
    '{"a":"tab\there"}',
    '{"a":"line\nbreak"}',
    '\ufeff{}',
    '{"a":1,,"b":2}',
    'nul',
    'tru',
    '"unterminated',
    '{a:1}',
    '{"a" 1}',
    '{"a":[}',
    '\u0000',
    '   ',
    '\n',
    '{"a":Infinity}',
    '{"a":-}',
    '{"a":1e}',
    '{"a":"\\ud800\\"}',
    '{}{}',
    '[]]',
    '{"__proto__":}',
  ];
  const brokenText = (t: Target): fc.Arbitrary<string> => {
    const valid = validJson(t) === '{}' ? '{"a":{"b":[1,2,"c"]}}' : validJson(t);
    return fc.oneof(
      { weight: 3, arbitrary: pick(BROKEN) },
      {
        weight: 3,
        arbitrary: fc
          .integer({ min: 1, max: Math.max(1, valid.length - 1) })
          .map((n) => valid.slice(0, n))
          .filter((s) => !parses(s)),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.nat(), pick(['{', '}', '"', ',', ':', '[', ']', '\\', "'", 'x', '\u0000']))
          .map(([at, c]) => insert(valid, [c], [at]))
          .filter((s) => !parses(s)),
      },
      {
        weight: 1,
        arbitrary: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !parses(s)),
      },
    );
  };
  const brokenJson = anyRoute.chain((r) => {
    const t = target(r);
    return fc
      .record({
        caller: mostlySufficient(r),
        text: brokenText(t),
        ct: pick([
          'application/json',
          'application/json; charset=utf-8',
          'application/problem+json',
          'APPLICATION/JSON',
        ]),
      })
      .map(({ caller, text, ct }) =>
        make('broken-json', t, { caller, body: text, contentType: ct, what: 'body is not JSON' }),
      );
  });

  // ---- wrong types ----
  const jsonOtherThan = (kind: Kind): fc.Arbitrary<unknown> => {
    const num = pick([0, 1, -1, 3.5, 1e6]);
    const str = pick(['', 'true', '1', 'x', '[]', '{}', 'null']);
    const bool = fc.boolean();
    const nul = fc.constant(null);
    const arr = pick([[], [1], ['a'], [{}], [[]]]);
    const obj = pick([{}, { a: 1 }, { type: 'x' }]);
    switch (kind) {
      case 'string':
      case 'enum':
        return fc.oneof(num, bool, nul, arr, obj);
      case 'bool':
        return fc.oneof(num, str, nul, arr, obj);
      case 'number':
        return fc.oneof(str, bool, nul, arr, obj);
      case 'int':
        return fc.oneof(str, bool, nul, arr, obj, pick([1.5, 0.1, -0.5]));
      case 'intOrNull':
        return fc.oneof(str, bool, arr, obj, pick([1.5, 0.1, -0.5]));
      case 'record':
      case 'object':
        return fc.oneof(num, str, bool, nul, arr);
      case 'objectOrNull':
        return fc.oneof(num, str, bool, arr);
      case 'array':
        return fc.oneof(num, str, bool, nul, obj);
      case 'label':
        return fc.oneof(bool, nul, arr, obj);
    }
  };
  const WRONG_ENUMS: Record<string, string[]> = {
    role: ['root', 'Admin', 'ADMIN', 'superuser', 'admin ', 'approvers', ''],
    framework: ['ONNX', 'pytorch', 'tensorflow', '', 'onnx '],
    stage: ['PRODUCTION', 'prod', 'live', 'deleted', '', 'production ', 'Staging'],
    decision: ['approve', 'APPROVED', 'yes', 'ok', '', 'rejected '],
    mode: ['Maintenance', 'MAINTENANCE', 'off', 'readonly', '', 'serving ', 'maint'],
    alias: [
      'Production',
      'PRODUCTION',
      'prod',
      'latest ',
      ' latest',
      'staging',
      'champion',
      '',
      '1.0.0',
      'null',
    ],
  };
  const EXTRA_KEYS = [
    'isAdmin',
    'admin',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'Name',
    '',
    'id',
  ];
  const topLevelNonObjects = ['null', '[]', '[{}]', '1', '"str"', 'true', '0', '-1', '""'];
  const noBodyJunk = ['{"a":1}', '1', '"x"', 'true', 'false', 'null', '[1]', '{"":0}', '[[]]', '0'];
  /** Inference bodies wrong in a way only the inference route knows (see the tables above). */
  const inferenceCases = (t: Target): (readonly [string, string])[] => {
    const id = t.route.operationId;
    if (id === 'predict' || id === 'explain') {
      return [
        ...BAD_INSTANCES.map(
          ([text, what]) => [withRaw(withField(t.body!, 'instances', '@I@'), '@I@', text), what] as const,
        ),
        ...BAD_PREDICT_BODIES(id),
      ];
    }
    if (id === 'feedback') return [...BAD_FEEDBACK];
    return [];
  };
  const wrongBody = (t: Target): fc.Arbitrary<{ text: string; what: string }> => {
    const fields = BODY_FIELDS[t.route.operationId];
    if (!fields || !t.body) {
      return pick(noBodyJunk).map((text) => ({ text, what: `body ${text} on a route without one` }));
    }
    const valid = t.body;
    const names = Object.keys(fields);
    const enums = names.filter((f) => WRONG_ENUMS[f]);
    const special = inferenceCases(t);
    return fc.oneof(
      {
        weight: 5,
        arbitrary: pick(names).chain((f) =>
          jsonOtherThan(fields[f]!).map((v) => ({
            text: JSON.stringify(withField(valid, f, v)),
            what: `${f} has the wrong type (${JSON.stringify(v)})`,
          })),
        ),
      },
      ...(enums.length
        ? [
            {
              weight: 2,
              arbitrary: pick(enums).chain((f) =>
                pick(WRONG_ENUMS[f]!).map((v) => ({
                  text: JSON.stringify(withField(valid, f, v)),
                  what: `${f} is not one of its values (${JSON.stringify(v)})`,
                })),
              ),
            },
          ]
        : []),
      {
        weight: 2,
        arbitrary: fc
          // hasOwn, not `in`: every object has constructor, toString and __proto__ through its prototype
          .tuple(
            pick(EXTRA_KEYS.filter((k) => !Object.hasOwn(fields, k))),
            pick<unknown>([true, 1, 'admin', { a: 1 }]),
          )
          .map(([k, v]) => ({
            text: JSON.stringify(withField(valid, k, v)),
            what: `unknown field ${JSON.stringify(k)}`,
          })),
      },
      {
        weight: 1,
        arbitrary: pick(topLevelNonObjects).map((text) => ({
          text,
          what: `body is ${text}, not ${isArrayBody(valid) ? 'an array of items' : 'an object'}`,
        })),
      },
      ...(special.length
        ? [{ weight: 6, arbitrary: pick(special).map(([text, what]) => ({ text, what })) }]
        : []),
    );
  };
  const wrongQuery = (r: Route): fc.Arbitrary<{ query: Record<string, string>; what: string }> => {
    const limits = [
      'abc',
      '0',
      '-1',
      '101',
      '1.5',
      'NaN',
      'Infinity',
      '-Infinity',
      '[]',
      '{}',
      'true',
      '1,2',
    ];
    const options: fc.Arbitrary<{ query: Record<string, string>; what: string }>[] = [];
    if (LIST_ROUTES.has(r.operationId)) {
      options.push(pick(limits).map((limit) => ({ query: { limit }, what: `limit=${limit}` })));
      options.push(pick(['limit', 'cursor']).map((k) => ({ query: { [k]: '' }, what: `empty ${k}` })));
    }
    if (r.operationId === 'listVersions') {
      options.push(
        pick(['Production', 'prod', '1', 'true', 'draft ', '[]', 'all']).map((stage) => ({
          query: { stage },
          what: `stage=${stage}`,
        })),
      );
    }
    if (r.operationId === 'listAudit') {
      options.push(
        pick([
          'yesterday',
          '0',
          '2024-01-01',
          '2024-01-01 00:00:00',
          '1700000000',
          'true',
          '2024-13-01T00:00:00Z',
          '2024-02-30T00:00:00Z',
        ]).map((since) => ({ query: { since }, what: `since=${since}` })),
        pick(['Churn', 'churn!', '-churn', ' churn', '']).map((model) => ({
          query: { model },
          what: `model=${JSON.stringify(model)}`,
        })),
        fc.constant({ query: { actor: '' }, what: 'empty actor' }),
      );
    }
    if (r.operationId === 'compareVersions') {
      options.push(
        fc
          .tuple(pick(['a', 'b']), pick(['1', 'true', '[]', '1.0', '', 'latest']))
          .map(([k, v]) => ({ query: { [k]: v }, what: `${k}=${JSON.stringify(v)}` })),
        fc.constant({ query: { a: '' }, what: 'a missing' }),
      );
    }
    if (r.operationId === 'stats') {
      options.push(
        fc
          .tuple(pick(['from', 'to']), pick(BAD_DATETIMES))
          .map(([k, v]) => ({ query: { [k]: v }, what: `${k}=${JSON.stringify(v)}` })),
        pick(BAD_WINDOWS).map(([from, to, what]) => ({ query: { from, to }, what })),
        pick(['latest', 'production', '1', '1.0', 'v1.0.0', '', '1.0.0.0', 'null']).map((version) => ({
          query: { version },
          what: `version=${JSON.stringify(version)}`,
        })),
      );
    }
    return fc.oneof(...options);
  };
  const wrongTypes = anyRoute.chain((r) => {
    const t = target(r);
    const viaBody = fc
      .record({ caller: mostlySufficient(r), b: wrongBody(t) })
      .map(({ caller, b }) => make('wrong-types', t, { caller, body: b.text, what: b.what }));
    if (!QUERY_ROUTES.has(r.operationId)) return viaBody;
    const viaQuery = fc.record({ caller: mostlySufficient(r), q: wrongQuery(r) }).map(({ caller, q }) =>
      make('wrong-types', t, {
        caller,
        // compare: removing one side is "a missing", so the empty value stands for absence
        rawQuery:
          q.what === 'a missing'
            ? 'b=1.1.0'
            : Object.entries({ ...t.query, ...q.query })
                .map(([k, v]) => `${pct(k)}=${pct(v)}`)
                .join('&'),
        what: q.what,
      }),
    );
    return fc.oneof(viaBody, viaQuery);
  });

  // ---- huge numbers ----
  const HUGE = [
    '1e309',
    '-1e309',
    '1e999999',
    '123456789012345678901234567890',
    '9007199254740993',
    '1.7976931348623157e309',
    '-0',
    '1e-400',
    '4.9e-325',
    '1e+300',
    '-9223372036854775809',
  ];
  const OVERFLOW = ['1e309', '-1e309', '1e999999', '1.7976931348623157e309', '-1e400'];
  const HUGE_QUERY = ['1e400', '99999999999999999999', '9007199254740993', '1e308', '-1e309', '1e-400'];
  /**
   * Feature values outside float32 (and outside iris-demo's [0, 30]): never -0 or an underflow
   * such as 1e-400, which parse to 0 and are valid.
   */
  const HUGE_FEATURE = [
    ...OVERFLOW,
    '3.5e38',
    '-3.5e38',
    '3.4028236e38',
    '1e39',
    '1.7976931348623157e308',
    '1e+300',
    '9007199254740993',
    '123456789012345678901234567890',
    '-9223372036854775809',
  ];
  const HUGE_VERSIONS = [
    '9999999.0.0',
    '1.9999999.0',
    '1.0.99999999999999999999',
    '1e309.0.0',
    '18446744073709551616.0.0',
  ];
  const predictTemplates = (
    extra: Fields = {},
  ): { body: unknown; huge: 'any' | 'overflow' | 'feature' }[] => [
    {
      body: { version: IRIS_VERSION, instances: [[...IRIS_ROW.slice(0, 3), '@N@']], ...extra },
      huge: 'feature',
    },
    {
      body: { version: IRIS_VERSION, instances: [['@N@', ...IRIS_ROW.slice(1)]], ...extra },
      huge: 'feature',
    },
    {
      body: { version: IRIS_VERSION, instances: [{ ...IRIS_OBJECT, petal_length: '@N@' }], ...extra },
      huge: 'feature',
    },
    {
      body: { version: IRIS_VERSION, instances: [IRIS_ROW, [...IRIS_ROW.slice(0, 3), '@N@']] },
      huge: 'feature',
    },
    { body: { version: IRIS_VERSION, instances: '@N@' }, huge: 'any' },
    { body: { version: IRIS_VERSION, instances: ['@N@'] }, huge: 'any' },
    { body: { version: '@N@', instances: [IRIS_ROW] }, huge: 'any' },
    { body: { alias: '@N@', instances: [IRIS_ROW] }, huge: 'any' },
    { body: { version: IRIS_VERSION, instances: [IRIS_ROW], subject: '@N@' }, huge: 'any' },
  ];
  const hugeBodies: Partial<Record<OperationId, { body: unknown; huge: 'any' | 'overflow' | 'feature' }[]>> =
    {
      predict: [
        ...predictTemplates(),
        ...predictTemplates({ explain: true }).slice(0, 1),
        { body: { version: IRIS_VERSION, instances: [IRIS_ROW], explain: '@N@' }, huge: 'any' },
      ],
      explain: predictTemplates(),
      feedback: [
        { body: [{ predictionId: '@N@', actual: 'versicolor' }], huge: 'any' },
        // a finite number is a valid regression label: only literals that overflow to ±Infinity
        { body: [{ predictionId: UNKNOWN_PREDICTION, actual: '@N@' }], huge: 'overflow' },
      ],
      createKey: [
        { body: { name: '@N@', role: 'viewer' }, huge: 'any' },
        { body: { name: 'x', role: '@N@' }, huge: 'any' },
        { body: { name: 'x', role: 'viewer', expiresAt: '@N@' }, huge: 'any' },
      ],
      createModel: [
        { body: { name: '@N@' }, huge: 'any' },
        { body: { name: 'hostile-n', requireValidation: '@N@' }, huge: 'any' },
        { body: { name: 'hostile-n', allowUnservableProduction: '@N@' }, huge: 'any' },
        { body: { name: 'hostile-n', description: '@N@' }, huge: 'any' },
        { body: { name: 'hostile-n', minValidationRows: '@N@' }, huge: 'any' },
        // ±Infinity: a minimum accuracy must lie in [0, 1]
        { body: { name: 'hostile-n', requiredThresholds: { accuracy: { min: '@N@' } } }, huge: 'overflow' },
      ],
      updateModel: [
        { body: { requireValidation: '@N@' }, huge: 'any' },
        { body: { allowUnservableProduction: '@N@' }, huge: 'any' },
        { body: { minValidationRows: '@N@' }, huge: 'any' },
        { body: { requiredThresholds: { accuracy: { min: '@N@' } } }, huge: 'overflow' },
        { body: { description: '@N@' }, huge: 'any' },
        { body: { tags: { a: '@N@' } }, huge: 'any' },
      ],
      registerVersion: [
        { body: { artifact: { base64: b64('x') }, metrics: { auc: '@N@' } }, huge: 'overflow' },
        {
          body: { artifact: { base64: b64('x') }, dataset: { uri: 's3://b/k', rows: '@N@' } },
          huge: 'overflow',
        },
        { body: { artifact: { base64: '@N@' } }, huge: 'any' },
        { body: { artifact: { base64: b64('x') }, version: '@N@' }, huge: 'any' },
        { body: { artifact: { base64: b64('x') }, sha256: '@N@' }, huge: 'any' },
      ],
      validateVersion: [
        { body: { ...world.validateBody, latencyBudgetMs: '@N@' }, huge: 'overflow' },
        { body: { ...world.validateBody, latencyRuns: '@N@' }, huge: 'overflow' },
        {
          body: {
            dataset: { instances: [[1, 2, 3, '@N@']], labels: world.validateBody.dataset.labels.slice(0, 1) },
          },
          huge: 'overflow',
        },
        { body: { ...world.validateBody, thresholds: { accuracy: { min: '@N@' } } }, huge: 'overflow' },
      ],
      transitionVersion: [
        { body: { stage: '@N@' }, huge: 'any' },
        { body: { stage: 'archived', comment: '@N@' }, huge: 'any' },
      ],
      decideApproval: [{ body: { decision: '@N@' }, huge: 'any' }],
      issueToken: [{ body: { ttlSeconds: '@N@' }, huge: 'any' }],
      setMode: [
        { body: { mode: '@N@' }, huge: 'any' },
        { body: { mode: 'maintenance', comment: '@N@' }, huge: 'any' },
      ],
      rollback: [
        { body: { toVersion: '@N@' }, huge: 'any' },
        { body: { comment: '@N@' }, huge: 'any' },
      ],
    };
  const hugeNumbers = anyRoute.chain((r) => {
    const t = target(r);
    const options: fc.Arbitrary<HostileRequest>[] = [];
    const templates = hugeBodies[r.operationId];
    if (templates) {
      options.push(
        fc
          .record({
            caller: mostlySufficient(r),
            tpl: pick(templates),
            n: pick(HUGE),
            o: pick(OVERFLOW),
            f: pick(HUGE_FEATURE),
          })
          .map(({ caller, tpl, n, o, f }) => {
            const literal = tpl.huge === 'overflow' ? o : tpl.huge === 'feature' ? f : n;
            return make('huge-numbers', t, {
              caller,
              body: withRaw(tpl.body, '@N@', literal),
              what: `${literal} where the schema wants something else`,
            });
          }),
      );
    } else {
      options.push(
        fc
          .record({ caller: mostlySufficient(r), n: pick(HUGE) })
          .map(({ caller, n }) => make('huge-numbers', t, { caller, body: n, what: `body is ${n}` })),
      );
    }
    if (LIST_ROUTES.has(r.operationId)) {
      options.push(
        fc
          .record({ caller: mostlySufficient(r), n: pick(HUGE_QUERY) })
          .map(({ caller, n }) =>
            make('huge-numbers', t, { caller, query: { limit: n }, what: `limit=${n}` }),
          ),
      );
    }
    if (r.operationId === 'compareVersions') {
      options.push(
        fc
          .record({ caller: mostlySufficient(r), v: pick([...HUGE_VERSIONS, ...HUGE]), k: pick(['a', 'b']) })
          .map(({ caller, v, k }) =>
            make('huge-numbers', t, { caller, query: { [k]: v }, what: `${k}=${v}` }),
          ),
      );
    }
    if (r.path.includes('{version}')) {
      options.push(
        fc.record({ caller: mostlySufficient(r), v: pick(HUGE_VERSIONS) }).map(({ caller, v }) =>
          make('huge-numbers', t, {
            caller,
            params: { version: v },
            body: t.body ? JSON.stringify(t.body) : undefined,
            what: `version ${v}`,
          }),
        ),
      );
    }
    if (r.operationId === 'stats') {
      options.push(
        fc
          .record({ caller: mostlySufficient(r), v: pick([...HUGE, ...HUGE_QUERY]), k: pick(['from', 'to']) })
          .map(({ caller, v, k }) =>
            make('huge-numbers', t, { caller, query: { [k]: v }, what: `${k}=${v}` }),
          ),
        fc
          .record({ caller: mostlySufficient(r), v: pick(HUGE_VERSIONS) })
          .map(({ caller, v }) =>
            make('huge-numbers', t, { caller, query: { version: v }, what: `version=${v}` }),
          ),
      );
    }
    if (r.path.includes('{keyId}')) {
      options.push(
        fc
          .record({ caller: mostlySufficient(r), v: pick(HUGE) })
          .map(({ caller, v }) =>
            make('huge-numbers', t, { caller, params: { keyId: v }, what: `keyId ${v}` }),
          ),
      );
    }
    return fc.oneof(...options);
  });

  // ---- deep nesting ----
  const depth = fc.oneof(
    fc.integer({ min: 50, max: 2_000 }),
    fc.integer({ min: 2_000, max: 20_000 }),
    fc.integer({ min: 20_000, max: 100_000 }),
  );
  const shape = pick(['array', 'object', 'mixed'] as const);
  const deepNesting = anyRoute.chain((r) => {
    const t = target(r);
    const fields = BODY_FIELDS[r.operationId];
    const placements: fc.Arbitrary<{ field?: string }>[] = [fc.constant({})];
    if (fields && t.body) {
      placements.push(
        pick(Object.keys(fields).filter((f) => f !== 'params')).map((field) => ({ field })),
        // params take any JSON, so the body also lacks the artifact: it is invalid at every depth
        ...(r.operationId === 'registerVersion' ? [fc.constant({ field: 'params' })] : []),
        // a feature value nested inside an otherwise valid row
        ...(INSTANCE_ROUTES.has(r.operationId) ? [fc.constant({ field: '#value' })] : []),
      );
    }
    return fc
      .record({ caller: mostlySufficient(r), depth, shape, where: fc.oneof(...placements) })
      .map(({ caller, depth: d, shape: s, where }) => {
        const field = where.field;
        let body: () => string;
        let what: string;
        if (field === undefined) {
          body = () => nest(d, s);
          what = `body nested ${d} deep (${s})`;
        } else if (field === 'params') {
          body = () => withRaw({ params: { x: '@D@' } }, '@D@', nest(d, s));
          what = `params.x nested ${d} deep (${s}), no artifact`;
        } else if (field === '#value') {
          const instances = [[...IRIS_ROW.slice(0, 3), '@D@']];
          body = () => withRaw(withField(t.body!, 'instances', instances), '@D@', nest(d, s));
          what = `petal_width of instance 0 nested ${d} deep (${s})`;
        } else {
          body = () => withRaw(withField(t.body!, field, '@D@'), '@D@', nest(d, s));
          what = `${field} nested ${d} deep (${s})`;
        }
        return make('deep-nesting', t, { caller, body, what });
      });
  });

  // ---- long strings ----
  const len = fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 65, max: 300 }) },
    { weight: 3, arbitrary: fc.integer({ min: 300, max: 5_000 }) },
    { weight: 2, arbitrary: fc.integer({ min: 5_000, max: 12_000 }) },
  );
  const longText = (n: number, c: string) => c.repeat(Math.ceil(n / c.length)).slice(0, Math.max(n, 1));
  const registerBody = validBodies.registerVersion as Fields;
  const longPredict = (base: Fields): ((n: number) => { body: unknown; what: string })[] => [
    (n) => ({ body: { ...base, subject: longText(257 + n, 's') }, what: `subject of ${257 + n} (max 256)` }),
    (n) => ({ body: { ...base, version: `1.0.${longText(n, '1')}` }, what: 'long version' }),
    (n) => ({ body: { instances: base.instances, alias: longText(n, 'production') }, what: `alias of ${n}` }),
    (n) => ({
      body: { ...base, instances: [{ ...IRIS_OBJECT, [longText(129 + n, 'f')]: 1 }] },
      what: `unknown feature name of ${129 + n}`,
    }),
    (n) => ({
      body: { ...base, instances: [{ ...IRIS_OBJECT, [`${longText(n, '_')}petal_width`]: 1 }] },
      what: 'a feature name behind a long prefix',
    }),
    (n) => ({
      body: { ...base, instances: [[...IRIS_ROW.slice(0, 3), longText(n, '9')]] },
      what: `a ${n}-digit number as a string`,
    }),
    (n) => ({
      body: { ...base, instances: [[...IRIS_ROW.slice(0, 3), longText(n, 'x')]] },
      what: `a ${n}-character string value`,
    }),
  ];
  const longBodies: Partial<Record<OperationId, ((n: number) => { body: unknown; what: string })[]>> = {
    predict: longPredict(validBodies.predict as Fields),
    explain: longPredict(validBodies.explain as Fields),
    feedback: [
      (n) => ({
        body: [{ predictionId: UNKNOWN_PREDICTION, actual: longText(257 + n, 'a') }],
        what: `actual of ${257 + n} (max 256)`,
      }),
      (n) => ({
        body: [{ predictionId: longText(26 + n, 'A'), actual: 'versicolor' }],
        what: `predictionId of ${26 + n}`,
      }),
      (n) => ({
        body: [{ predictionId: UNKNOWN_PREDICTION, actual: 'versicolor', [longText(n, 'k')]: 1 }],
        what: `an unknown field of ${n} characters`,
      }),
    ],
    createKey: [
      (n) => ({ body: { name: longText(129 + n, 'k'), role: 'viewer' }, what: `key name of ${129 + n}` }),
      (n) => ({ body: { name: 'k', role: longText(n, 'admin') }, what: `role of ${n}` }),
      (n) => ({
        body: { name: 'k', role: 'viewer', expiresAt: `2099-01-01T00:00:00${longText(n, '0')}Z` },
        what: `expiresAt of ${n + 21}`,
      }),
    ],
    createModel: [
      (n) => ({ body: { name: longText(n, 'm') }, what: `model name of ${n}` }),
      (n) => ({
        body: { name: 'hostile-l', description: longText(4097 + n, 'd') },
        what: 'description > 4096',
      }),
      (n) => ({
        body: { name: 'hostile-l', tags: { [longText(129 + n, 't')]: 'v' } },
        what: 'tag key > 128',
      }),
      (n) => ({ body: { name: 'hostile-l', tags: { t: longText(257 + n, 'v') } }, what: 'tag value > 256' }),
    ],
    updateModel: [
      (n) => ({ body: { description: longText(4097 + n, 'd') }, what: 'description > 4096' }),
      (n) => ({ body: { tags: { t: longText(257 + n, 'v') } }, what: 'tag value > 256' }),
    ],
    registerVersion: [
      (n) => ({
        body: { ...registerBody, description: longText(4097 + n, 'd') },
        what: 'description > 4096',
      }),
      (n) => ({
        body: { ...registerBody, sha256: longText(65 + n, 'a') },
        what: 'sha256 > 64',
      }),
      (n) => ({
        body: { ...registerBody, dataset: { uri: `s3://b/${longText(2049 + n, 'u')}` } },
        what: 'dataset.uri > 2048',
      }),
      (n) => ({
        body: { ...registerBody, metrics: { [longText(129 + n, 'm')]: 1 } },
        what: 'metric name > 128',
      }),
      (n) => ({
        body: { ...registerBody, version: `1.0.${longText(n, '1')}` },
        what: 'long version',
      }),
      (n) => ({
        body: {
          ...registerBody,
          runtime: { type: 'sagemaker', endpointName: longText(64 + n, 'e') },
        },
        what: 'endpointName > 63',
      }),
    ],
    validateVersion: [
      (n) => ({
        body: { dataset: { instances: [[1, 2, 3, 4]], labels: [longText(257 + n, 'l')] } },
        what: 'label > 256',
      }),
      (n) => ({
        body: { dataset: { instances: [[1, 2, 3, longText(257 + n, 'v')]], labels: ['a'] } },
        what: 'instance value > 256',
      }),
    ],
    transitionVersion: [
      (n) => ({ body: { stage: 'archived', comment: longText(4097 + n, 'c') }, what: 'comment > 4096' }),
      (n) => ({ body: { stage: longText(n, 'staging') }, what: `stage of ${n}` }),
    ],
    decideApproval: [
      (n) => ({ body: { decision: 'approved', comment: longText(4097 + n, 'c') }, what: 'comment > 4096' }),
    ],
    setMode: [
      (n) => ({ body: { mode: 'maintenance', comment: longText(4097 + n, 'c') }, what: 'comment > 4096' }),
      (n) => ({ body: { mode: longText(n, 'maintenance') }, what: `mode of ${n}` }),
    ],
    rollback: [
      (n) => ({ body: { comment: longText(4097 + n, 'c') }, what: 'comment > 4096' }),
      (n) => ({ body: { toVersion: longText(n, '1.0.0') }, what: `toVersion of ${n}` }),
    ],
  };
  const longStrings = anyRoute.chain((r) => {
    const t = target(r);
    const options: fc.Arbitrary<HostileRequest>[] = [];
    const bodies = longBodies[r.operationId];
    if (bodies) {
      options.push(
        fc.record({ caller: mostlySufficient(r), n: len, f: pick(bodies) }).map(({ caller, n, f }) => {
          const { body, what } = f(n);
          return make('long-strings', t, { caller, body: JSON.stringify(body), what });
        }),
      );
    } else {
      options.push(
        fc.record({ caller: mostlySufficient(r), n: len }).map(({ caller, n }) =>
          make('long-strings', t, {
            caller,
            body: JSON.stringify(longText(n, 'x')),
            what: `a ${n}-char JSON string body`,
          }),
        ),
      );
    }
    for (const param of ['name', 'version', 'keyId']) {
      if (!r.path.includes(`{${param}}`)) continue;
      const value = (n: number) =>
        param === 'name'
          ? longText(n, 'abc')
          : param === 'version'
            ? `${longText(n, '1')}.0.0`
            : longText(n, 'A');
      options.push(
        fc.record({ caller: mostlySufficient(r), n: len }).map(({ caller, n }) =>
          make('long-strings', t, {
            caller,
            params: { [param]: value(n) },
            body: t.body ? JSON.stringify(t.body) : undefined,
            what: `${param} of ${n} characters`,
          }),
        ),
      );
    }
    if (LIST_ROUTES.has(r.operationId)) {
      options.push(
        fc.record({ caller: mostlySufficient(r), n: len }).map(({ caller, n }) =>
          make('long-strings', t, {
            caller,
            query: { cursor: longText(2049 + n, 'Q') },
            what: 'cursor > 2048',
          }),
        ),
      );
    }
    if (r.operationId === 'listAudit') {
      options.push(
        fc
          .record({ caller: mostlySufficient(r), n: len, k: pick(['actor', 'model', 'since']) })
          .map(({ caller, n, k }) =>
            make('long-strings', t, {
              caller,
              query: { [k]: longText(129 + n, 'z') },
              what: `${k} of ${129 + n}`,
            }),
          ),
      );
    }
    if (r.operationId === 'compareVersions') {
      options.push(
        fc.record({ caller: mostlySufficient(r), n: len }).map(({ caller, n }) =>
          make('long-strings', t, {
            caller,
            query: { b: `1.0.${longText(n, '9')}` },
            what: 'long version b',
          }),
        ),
      );
    }
    if (r.operationId === 'stats') {
      options.push(
        fc.record({ caller: mostlySufficient(r), n: len, k: pick(['from', 'to']) }).map(({ caller, n, k }) =>
          make('long-strings', t, {
            caller,
            // Not a long fraction of a second: z.iso.datetime takes any number of digits there.
            query: { [k]: n % 2 ? `2026-01-01T00:00:00Z${longText(n, '0')}` : longText(n, '2') },
            what: `${k} of ${n}+ characters`,
          }),
        ),
        fc.record({ caller: mostlySufficient(r), n: len }).map(({ caller, n }) =>
          make('long-strings', t, {
            caller,
            query: { version: `1.0.${longText(n, '0')}` },
            what: 'long version',
          }),
        ),
      );
    }
    if (r.role !== 'none') {
      options.push(
        fc.record({ n: fc.integer({ min: 100, max: 8_000 }), c: printable }).map(({ n, c }) =>
          make('long-strings', t, {
            caller: { label: 'garbage:long', key: `svl_${longText(n, c)}` },
            body: t.body ? JSON.stringify(t.body) : undefined,
            what: `x-api-key of ${n + 4}`,
          }),
        ),
      );
    }
    if (idempotent(r)) {
      options.push(
        fc.record({ caller: sufficient(r), n: fc.integer({ min: 129, max: 8_000 }) }).map(({ caller, n }) =>
          make('long-strings', t, {
            caller,
            body: t.body ? JSON.stringify(t.body) : undefined,
            headers: [['idempotency-key', longText(n, 'i')]],
            what: `idempotency-key of ${n}`,
          }),
        ),
      );
    }
    options.push(
      fc
        .record({ caller: mostlySufficient(r), n: fc.integer({ min: 100, max: 6_000 }) })
        .map(({ caller, n }) =>
          make('long-strings', t, {
            caller,
            body: validJson(t),
            contentType: `application/${longText(n, 'x')}`,
            what: `content-type of ${n + 12}`,
          }),
        ),
    );
    // Past Node's 16 KiB header limit (request line included): rare, all the same finding.
    const rare: fc.Arbitrary<HostileRequest>[] = [];
    if (r.path.includes('{name}')) {
      rare.push(
        fc
          .record({ caller: mostlySufficient(r), n: fc.integer({ min: 17_000, max: 30_000 }) })
          .map(({ caller, n }) =>
            make('long-strings', t, {
              caller,
              params: { name: longText(n, 'n') },
              what: `URL over 16 KiB (${n})`,
            }),
          ),
      );
    }
    return fc.oneof(
      ...options.map((arbitrary) => ({ arbitrary, weight: 10 })),
      ...rare.map((arbitrary) => ({ arbitrary, weight: 1 })),
    );
  });

  // ---- unicode and control characters ----
  const oddChars = fc.array(pick([...UNICODE, ...CONTROL]), { minLength: 1, maxLength: 3 });
  const positions = fc.array(fc.nat(), { minLength: 3, maxLength: 3 });
  const corrupt = (base: string, homoglyphs: string[] = []) =>
    fc.oneof(
      { weight: 4, arbitrary: fc.tuple(oddChars, positions).map(([cs, at]) => insert(base, cs, at)) },
      { weight: 1, arbitrary: homoglyphs.length ? pick(homoglyphs) : fc.constant(`${base}\u0000`) },
    );
  const unicodeControl = anyRoute.chain((r) => {
    const t = target(r);
    const options: fc.Arbitrary<HostileRequest>[] = [];
    const strict = STRICT_STRING_FIELDS[r.operationId];
    if (strict && t.body) {
      const baseOf: Record<string, string> = {
        role: 'viewer',
        expiresAt: '2099-01-01T00:00:00Z',
        name: 'hostile-u',
        version: '9.9.9',
        sha256: 'a'.repeat(64),
        framework: 'onnx',
        parent: '1.0.0',
        stage: 'archived',
        decision: 'approved',
        toVersion: '1.0.0',
        mode: 'maintenance',
        alias: 'latest',
        predictionId: UNKNOWN_PREDICTION,
      };
      options.push(
        pick(strict).chain((f) =>
          fc
            .record({
              caller: mostlySufficient(r),
              v: corrupt(
                baseOf[f]!,
                f === 'name'
                  ? HOMOGLYPHS.name
                  : f.includes('ersion')
                    ? HOMOGLYPHS.version
                    : (HOMOGLYPHS[f] ?? []),
              ),
            })
            .map(({ caller, v }) =>
              make('unicode-control', t, {
                caller,
                body: JSON.stringify(withField(t.body!, f, v)),
                what: `${f} ${JSON.stringify(v)}`,
              }),
            ),
        ),
      );
      // invalid UTF-8 bytes inside a constrained string
      options.push(
        fc
          .record({
            caller: mostlySufficient(r),
            f: pick(strict),
            bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
          })
          .map(({ caller, f, bytes }) => {
            const bad = Buffer.from([0xff, ...bytes.map((b) => b | 0x80)]);
            const [head, tail] = JSON.stringify(withField(t.body!, f, '@B@')).split('@B@');
            return make('unicode-control', t, {
              caller,
              body: Buffer.concat([Buffer.from(head!), bad, Buffer.from(tail!)]),
              what: `${f} with invalid UTF-8 bytes`,
            });
          }),
      );
    } else {
      options.push(
        fc
          .record({
            caller: mostlySufficient(r),
            s: fc.tuple(oddChars, positions).map(([cs, at]) => insert('x', cs, at)),
          })
          .map(({ caller, s }) =>
            make('unicode-control', t, {
              caller,
              body: JSON.stringify({ [s]: s }),
              what: `unicode body on a route without one`,
            }),
          ),
      );
    }
    for (const param of ['name', 'version', 'keyId']) {
      if (!r.path.includes(`{${param}}`)) continue;
      const base =
        param === 'name' ? t.params.name! : param === 'version' ? t.params.version! : world.liveKeyId;
      options.push(
        fc
          .record({
            caller: mostlySufficient(r),
            v: corrupt(
              base,
              param === 'name' ? HOMOGLYPHS.name : param === 'version' ? HOMOGLYPHS.version : [],
            ),
          })
          .map(({ caller, v }) =>
            make('unicode-control', t, {
              caller,
              params: { [param]: v },
              body: t.body ? JSON.stringify(t.body) : undefined,
              what: `${param} ${JSON.stringify(v)}`,
            }),
          ),
        fc.record({ caller: mostlySufficient(r), esc: pick(BAD_UTF8_ESCAPES) }).map(({ caller, esc }) =>
          make('unicode-control', t, {
            caller,
            path:
              fill(t.route, { ...t.params, [param]: '@P@' }).replace('%40P%40', `${pct(base)}${esc}`) +
              qs(t.query),
            body: t.body ? JSON.stringify(t.body) : undefined,
            what: `${param} with non-UTF-8 escape ${esc}`,
          }),
        ),
      );
    }
    if (INSTANCE_ROUTES.has(r.operationId) && t.body) {
      // a feature name with odd characters is an unknown feature; a string value is not a number
      options.push(
        fc
          .record({
            caller: mostlySufficient(r),
            j: fc.nat({ max: IRIS_FEATURES.length - 1 }),
            name: fc.oneof(
              { weight: 3, arbitrary: fc.tuple(oddChars, positions) },
              { weight: 1, arbitrary: pick(HOMOGLYPHS.feature!) },
            ),
          })
          .map(({ caller, j, name }) => {
            const feature = IRIS_FEATURES[j]!;
            const key = typeof name === 'string' ? name : insert(feature, name[0], name[1]);
            const instance = objectText(IRIS_ENTRIES.map(([f, v]) => [f === feature ? key : f, v]));
            return make('unicode-control', t, {
              caller,
              body: withRaw(withField(t.body!, 'instances', '@I@'), '@I@', `[${instance}]`),
              what: `feature name ${JSON.stringify(key)}`,
            });
          }),
        fc.record({ caller: mostlySufficient(r), v: corrupt(String(IRIS_ROW[3])) }).map(({ caller, v }) =>
          make('unicode-control', t, {
            caller,
            body: JSON.stringify(withField(t.body!, 'instances', [[...IRIS_ROW.slice(0, 3), v]])),
            what: `petal_width ${JSON.stringify(v)} (a string)`,
          }),
        ),
      );
    }
    if (QUERY_ROUTES.has(r.operationId)) {
      const key = r.operationId === 'compareVersions' ? 'a' : r.operationId === 'stats' ? 'from' : 'limit';
      const base = key === 'a' ? '1.0.0' : key === 'from' ? t.query.from! : '10';
      const homoglyphs =
        key === 'a'
          ? HOMOGLYPHS.version
          : key === 'from'
            ? [
                '２026-01-01T00:00:00Z',
                '2026\u201001\u201001T00:00:00Z',
                '2026-01-01T00:00:00Ｚ',
                '2026-01-01\u042200:00:00Z',
                '٢٠٢٦-01-01T00:00:00Z',
              ]
            : ['１０', '١٠', '10\u0000'];
      options.push(
        fc
          .record({
            caller: mostlySufficient(r),
            // limit is coerced with Number(), which trims Unicode white space ("10\u2029" is 10):
            // lenient, not malformed, so such values are left out.
            v: corrupt(base, homoglyphs).filter(
              (v) => key !== 'limit' || !(Number.isInteger(Number(v)) && Number(v) >= 1 && Number(v) <= 100),
            ),
          })
          .map(({ caller, v }) =>
            make('unicode-control', t, { caller, query: { [key]: v }, what: `${key}=${JSON.stringify(v)}` }),
          ),
      );
    }
    if (r.role !== 'none') {
      options.push(
        fc.record({ c: pick(['é', 'ÿ', '\u00a0', '\u0080', '\u00ad', 'ß']), at: fc.nat() }).map(({ c, at }) =>
          make('unicode-control', t, {
            // strictly inside the key: JavaScript's trim() would strip a leading or trailing U+00A0
            caller: {
              label: 'garbage:latin1-in-admin-key',
              key: insert(admin, [c], [(at % (admin.length - 2)) + 1]),
            },
            body: t.body ? JSON.stringify(t.body) : undefined,
            what: 'x-api-key with a latin-1 character',
          }),
        ),
      );
    }
    if (idempotent(r)) {
      options.push(
        fc
          .record({ caller: sufficient(r), c: pick(['é', 'ÿ', '\t', '\u00a0']), at: fc.nat() })
          .map(({ caller, c, at }) =>
            make('unicode-control', t, {
              caller,
              body: t.body ? JSON.stringify(t.body) : undefined,
              headers: [['idempotency-key', insert('key-123', [c], [(at % 6) + 1])]],
              what: `idempotency-key with ${JSON.stringify(c)}`,
            }),
          ),
      );
    }
    // Control characters in a header or raw UTF-8 in the request line: only a raw socket can send them.
    options.push(
      fc
        .record({ c: pick(['\u0000', '\u0001', '\u001b', '\u007f']) })
        .map(({ c }) =>
          rawRequest(
            'unicode-control',
            r,
            `control character ${JSON.stringify(c)} in a header`,
            `${r.method} ${fill(r, t.params)} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Api-Key: svl_${c}x\r\n\r\n`,
          ),
        ),
      fc
        .record({ s: pick(['é', '中', '😀']) })
        .map(({ s }) =>
          rawRequest(
            'unicode-control',
            r,
            'raw UTF-8 in the request line',
            `${r.method} ${Buffer.from(fill(r, t.params) + s, 'utf8').toString('latin1')} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
          ),
        ),
    );
    return fc.oneof(
      ...options.map((arbitrary, i) => ({ arbitrary, weight: i >= options.length - 2 ? 1 : 8 })),
    );
  });

  // ---- path traversal ----
  const TRAVERSAL = [
    '..',
    '.',
    '../..',
    '../../auth/keys',
    '..%2f..',
    '%2e%2e',
    '%2E%2E%2F',
    '..\\..',
    '/etc/passwd',
    '....//....//',
    '..;',
    '%00',
    '.%2e',
    'churn/../fraud',
    'a/b',
    '~root',
    '$HOME',
    'churn%00.json',
    '../admin-key',
    '..%252f..',
    '%c0%ae%c0%ae',
    '\\\\server\\share',
    'file:///etc/passwd',
    'C:\\Windows',
    '../../../../../../proc/self/environ',
  ];
  const brokenBody = '{"hostile": ';
  /** A caller and body under which the route the server lands on must refuse the request. */
  const refusedAt = (method: string, rawPath: string): fc.Arbitrary<{ caller: Caller; body?: string }> => {
    let pathname: string;
    try {
      pathname = new URL(rawPath, 'http://localhost').pathname;
    } catch {
      return anyCaller.map((caller) => ({ caller }));
    }
    const landed = routeAt(method, pathname);
    if (!landed) return anyCaller.map((caller) => ({ caller }));
    if (landed.role === 'none') return anyCaller.map((caller) => ({ caller, body: brokenBody }));
    return fc.oneof(
      insufficient(landed).map((caller) => ({ caller })),
      sufficient(landed).map((caller) => ({ caller, body: brokenBody })),
    );
  };
  const traversalRequest = (t: Target, method: string, path: string, what: string) =>
    refusedAt(method, path).map(({ caller, body }) =>
      make('path-traversal', t, { caller, method, path, body, what: body ? `${what} (+ bad body)` : what }),
    );
  const pathTraversal = anyRoute.chain((r) => {
    const t = target(r);
    const options: fc.Arbitrary<HostileRequest>[] = [];
    for (const param of ['name', 'version', 'keyId']) {
      if (!r.path.includes(`{${param}}`)) continue;
      options.push(
        fc.record({ v: pick(TRAVERSAL), encoded: fc.boolean() }).chain(({ v, encoded }) => {
          const path = fill(r, { ...t.params, [param]: v }, encoded ? pct : (x) => x) + qs(t.query);
          return traversalRequest(
            t,
            r.method,
            path,
            `${param} ${encoded ? 'encoded' : 'raw'} ${JSON.stringify(v)}`,
          );
        }),
      );
    }
    // `..` segments after a real route, climbing into another (or out of /v1)
    const elsewhere = [
      'auth/keys',
      'models',
      'health',
      'audit',
      'etc/passwd',
      'admin-key',
      'endpoints.json',
      '',
    ];
    options.push(
      fc
        .record({
          ups: fc.integer({ min: 1, max: 8 }),
          to: pick(elsewhere),
          dots: pick(['..', '%2e%2e', '%2E%2E', '.%2e', '%2e.']),
        })
        .chain(({ ups, to, dots }) => {
          const path = `${fill(r, t.params)}${`/${dots}`.repeat(ups)}/${to}`;
          return traversalRequest(t, r.method, path, `${ups}× ${dots} then /${to}`);
        }),
    );
    // body fields and query values that name things
    const bodyField: Partial<Record<OperationId, string>> = {
      createModel: 'name',
      registerVersion: 'parent',
      rollback: 'toVersion',
      createKey: 'role',
      setMode: 'mode',
      predict: 'version',
      explain: 'version',
      feedback: 'predictionId',
    };
    const field = bodyField[r.operationId];
    if (field && t.body) {
      options.push(
        fc.record({ caller: mostlySufficient(r), v: pick(TRAVERSAL) }).map(({ caller, v }) =>
          make('path-traversal', t, {
            caller,
            body: JSON.stringify(withField(t.body!, field, v)),
            what: `${field} ${JSON.stringify(v)}`,
          }),
        ),
      );
    }
    if (INSTANCE_ROUTES.has(r.operationId) && t.body) {
      // path-like feature names: unknown features, never resolved against anything
      options.push(
        fc.record({ caller: mostlySufficient(r), v: pick(TRAVERSAL) }).map(({ caller, v }) =>
          make('path-traversal', t, {
            caller,
            body: JSON.stringify(withField(t.body!, 'instances', [{ ...IRIS_OBJECT, [v]: 1 }])),
            what: `feature name ${JSON.stringify(v)}`,
          }),
        ),
      );
    }
    if (
      r.operationId === 'listAudit' ||
      r.operationId === 'compareVersions' ||
      r.operationId === 'stats' ||
      LIST_ROUTES.has(r.operationId)
    ) {
      const key =
        r.operationId === 'listAudit'
          ? 'model'
          : r.operationId === 'compareVersions'
            ? 'a'
            : r.operationId === 'stats'
              ? 'version'
              : 'cursor';
      options.push(
        fc
          .record({ caller: mostlySufficient(r), v: pick(TRAVERSAL) })
          .map(({ caller, v }) =>
            make('path-traversal', t, { caller, query: { [key]: v }, what: `${key}=${JSON.stringify(v)}` }),
          ),
      );
    }
    return fc.oneof(...options);
  });

  // ---- bad base64 ----
  const BAD_BASE64 = [
    '!!!!',
    'abc',
    'ab=',
    'a===',
    '====',
    '=',
    'YQ',
    'YQ=',
    'YWJj=',
    'YWJjZA=',
    'YQ==YQ==',
    'YQ==\u0000',
    'Y Q = =x',
    'data:application/octet-stream;base64,YWJj',
    'YWJj-_-_',
    'YWéj',
    '%59%57%4a%6a',
    '\\u0059WJj',
    '.YWJj',
    'YWJj..',
    'YWJj\u200b',
    '0x4142',
    ' ',
    '\n\t',
    '',
    'A',
    'AA',
    'AAA',
    'AAAAA',
    'YWJ*',
  ];
  const base64ish = fc
    .string({ unit: pick('ABCxyz019+/=-_!*. é\u0000\n'.split('')), minLength: 1, maxLength: 64 })
    .filter((s) => !isBase64(s));
  const registerRoute = route('registerVersion');
  const badBase64 = fc
    .record({
      caller: mostlySufficient(registerRoute),
      model: pick(world.models),
      kind: fc.oneof(
        {
          weight: 4,
          arbitrary: fc.oneof(pick(BAD_BASE64), base64ish).map((v) => ({
            artifact: { base64: v } as unknown,
            what: `base64 ${JSON.stringify(v.slice(0, 40))}`,
          })),
        },
        {
          weight: 1,
          arbitrary: pick<unknown>([123, null, [], {}, true, ['YWJj']]).map((v) => ({
            artifact: { base64: v } as unknown,
            what: `base64 is ${JSON.stringify(v)}`,
          })),
        },
        {
          weight: 1,
          arbitrary: pick<unknown>([
            { base64: 'YWJj', upload: true },
            { upload: false },
            { upload: 'true' },
            {},
            { base64: 'YWJj', extra: 1 },
            'YWJj',
          ]).map((v) => ({ artifact: v, what: `artifact ${JSON.stringify(v)}` })),
        },
      ),
      sha: fc.oneof(
        { weight: 4, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constant('A'.repeat(64)) },
      ),
    })
    .map(({ caller, model, kind, sha }) =>
      make(
        'bad-base64',
        { ...target(registerRoute), params: { name: model } },
        {
          caller,
          body: JSON.stringify({
            artifact: kind.artifact,
            ...(sha ? { sha256: sha } : {}),
            metrics: { auc: 0.5 },
          }),
          what: kind.what,
        },
      ),
    );
  const mismatchedSha = fc
    .record({
      caller: sufficient(registerRoute),
      model: pick(world.models),
      text: fc.string({ minLength: 1, maxLength: 30 }),
    })
    .map(({ caller, model, text }) =>
      make(
        'bad-base64',
        { ...target(registerRoute), params: { name: model } },
        {
          caller,
          body: JSON.stringify({ artifact: { base64: b64(text) }, sha256: 'f'.repeat(64) }),
          what: 'valid base64 whose sha256 is not the declared one',
        },
      ),
    );
  const badBase64All = fc.oneof({ weight: 6, arbitrary: badBase64 }, { weight: 1, arbitrary: mismatchedSha });

  // ---- oversize bodies ----
  const bigSize = fc.oneof(
    fc.integer({ min: MAX_BODY_BYTES + 1, max: MAX_BODY_BYTES + 256 * 1024 }),
    fc.integer({ min: GATEWAY_MAX_BODY_BYTES + 1, max: GATEWAY_MAX_BODY_BYTES + 2 * 1024 * 1024 }),
  );
  const bigBody = (r: Route, size: number): { body: () => string; what: string } => {
    if (r.operationId === 'registerVersion') {
      const head = '{"artifact":{"base64":"';
      const tail = '"}}';
      const n = Math.ceil((size - head.length - tail.length) / 4) * 4;
      return {
        body: () => head + 'A'.repeat(n) + tail,
        what: `valid ${n}-char base64 artifact (${size} bytes)`,
      };
    }
    if (INSTANCE_ROUTES.has(r.operationId)) {
      // real rows: far past 10,000 instances too, but the byte limit must answer first
      const row = JSON.stringify(IRIS_ROW);
      const head = `{"version":"${IRIS_VERSION}","instances":[`;
      const rows = Math.ceil((size - head.length - 2) / (row.length + 1));
      return {
        body: () => `${head}${Array(rows).fill(row).join(',')}]}`,
        what: `${rows} valid instances (${size}+ bytes)`,
      };
    }
    if (r.operationId === 'feedback') {
      const item = JSON.stringify({ predictionId: UNKNOWN_PREDICTION, actual: 'versicolor' });
      const items = Math.ceil(size / (item.length + 1));
      return {
        body: () => `[${Array(items).fill(item).join(',')}]`,
        what: `${items} feedback items (${size}+ bytes)`,
      };
    }
    const head = '{"description":"';
    return {
      body: () => `${head}${'d'.repeat(Math.max(0, size - head.length - 2))}"}`,
      what: `${size}-byte JSON body`,
    };
  };
  const oversizeBig = fc
    .record({
      r: fc.oneof({ weight: 3, arbitrary: fc.constant(registerRoute) }, { weight: 2, arbitrary: anyRoute }),
      size: bigSize,
    })
    .chain(({ r, size }) =>
      sufficient(r).map((caller) => {
        const { body, what } = bigBody(r, size);
        return make('oversize-body', target(r), { caller, body, what });
      }),
    );
  const manyKeys = (n: number, prefix: string, value: (i: number) => unknown) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, value(i)]));
  const tooMany = fc.oneof(
    fc
      .record({
        extra: fc.integer({ min: 1, max: 500 }),
        r: pick([route('predict'), route('explain')]),
        objects: fc.boolean(),
      })
      .chain(({ extra, r, objects }) =>
        sufficient(r).map((caller) =>
          make('oversize-body', target(r), {
            caller,
            body: () =>
              JSON.stringify(
                withField(
                  target(r).body!,
                  'instances',
                  Array(10_000 + extra).fill(objects ? IRIS_OBJECT : IRIS_ROW),
                ),
              ),
            what: `${10_000 + extra} valid ${objects ? 'object ' : ''}instances (max 10,000)`,
          }),
        ),
      ),
    fc
      .record({ extra: fc.integer({ min: 1, max: 500 }), r: pick([route('predict'), route('explain')]) })
      .chain(({ extra, r }) =>
        sufficient(r).map((caller) =>
          make('oversize-body', target(r), {
            caller,
            body: JSON.stringify(withField(target(r).body!, 'instances', [Array(10_000 + extra).fill(1)])),
            what: `one instance of ${10_000 + extra} values (4 features)`,
          }),
        ),
      ),
    fc
      .record({ extra: fc.integer({ min: 1, max: 500 }), caller: sufficient(route('feedback')) })
      .map(({ extra, caller }) =>
        make('oversize-body', target(route('feedback')), {
          caller,
          body: JSON.stringify(
            Array.from({ length: 1_000 + extra }, () => ({
              predictionId: UNKNOWN_PREDICTION,
              actual: 'versicolor',
            })),
          ),
          what: `${1_000 + extra} feedback items (max 1,000)`,
        }),
      ),
    fc
      .record({
        n: fc.integer({ min: 51, max: 300 }),
        r: pick([route('createModel'), route('updateModel'), registerRoute]),
      })
      .chain(({ n, r }) =>
        sufficient(r).map((caller) =>
          make('oversize-body', target(r), {
            caller,
            body: JSON.stringify({ ...target(r).body, tags: manyKeys(n, 't', () => 'v') }),
            what: `${n} tags (max 50)`,
          }),
        ),
      ),
    fc
      .record({ n: fc.integer({ min: 201, max: 600 }), caller: sufficient(registerRoute) })
      .map(({ n, caller }) =>
        make('oversize-body', target(registerRoute), {
          caller,
          body: JSON.stringify({ artifact: { base64: b64('x') }, metrics: manyKeys(n, 'm', (i) => i) }),
          what: `${n} metrics (max 200)`,
        }),
      ),
    fc
      .record({ n: fc.integer({ min: 501, max: 1_000 }), caller: sufficient(registerRoute) })
      .map(({ n, caller }) =>
        make('oversize-body', target(registerRoute), {
          caller,
          body: JSON.stringify({ artifact: { base64: b64('x') }, params: manyKeys(n, 'p', (i) => i) }),
          what: `${n} params (max 500)`,
        }),
      ),
    fc
      .record({ n: fc.integer({ min: 65 * 1024, max: 200 * 1024 }), caller: sufficient(registerRoute) })
      .map(({ n, caller }) =>
        make('oversize-body', target(registerRoute), {
          caller,
          body: JSON.stringify({ artifact: { base64: b64('x') }, params: { blob: 'p'.repeat(n) } }),
          what: `params of ${n} bytes (max 64 KiB)`,
        }),
      ),
    fc
      .record({ extra: fc.integer({ min: 1, max: 500 }), caller: sufficient(route('validateVersion')) })
      .map(({ extra, caller }) => {
        const rows = 10_000 + extra;
        const [x] = world.validateBody.dataset.instances;
        const [y] = world.validateBody.dataset.labels;
        return make('oversize-body', target(route('validateVersion')), {
          caller,
          body: () =>
            JSON.stringify({ dataset: { instances: Array(rows).fill(x), labels: Array(rows).fill(y) } }),
          what: `${rows} validation rows (max 10,000)`,
        });
      }),
    fc
      .record({ extra: fc.integer({ min: 1, max: 500 }), caller: sufficient(route('validateVersion')) })
      .map(({ extra, caller }) =>
        make('oversize-body', target(route('validateVersion')), {
          caller,
          body: JSON.stringify({
            dataset: {
              instances: [Array(10_000 + extra).fill(1)],
              labels: [world.validateBody.dataset.labels[0]],
            },
          }),
          what: `one instance of ${10_000 + extra} values`,
        }),
      ),
  );

  // ---- wrong content types ----
  const WRONG_TYPES = [
    null,
    'text/plain',
    'text/plain; charset=utf-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=xyz',
    'application/xml',
    'text/json',
    'application/jsonp',
    'application/json5',
    'application/json-seq',
    'application/javascript',
    'json',
    '*/*',
    'application/*',
    'application',
    'application/octet-stream',
    'text/html',
    'image/png',
    'application/x-json',
    '; application/json',
    'application/json, text/plain',
    'application/ json',
    '',
  ];
  const contentType = anyRoute.chain((r) => {
    const t = target(r);
    return fc
      .record({ caller: mostlySufficient(r), ct: pick(WRONG_TYPES), form: fc.boolean() })
      .map(({ caller, ct, form }) => {
        const formBody = new URLSearchParams(
          Object.entries(t.body ?? {}).map(([k, v]) => [k, String(v)] as [string, string]),
        ).toString();
        // An empty body is no body at all (and rollback's is {}): that would be a valid request.
        const body = ct === 'application/x-www-form-urlencoded' && form && formBody ? formBody : validJson(t);
        return make('content-type', t, {
          caller,
          body,
          contentType: ct,
          what: ct === null ? 'no content-type' : `content-type ${JSON.stringify(ct)}`,
        });
      });
  });

  // ---- missing and duplicated headers ----
  const keyHeaderNames = ['x-api-key', 'X-Api-Key', 'X-API-KEY'];
  const headerCases = (r: Route): fc.Arbitrary<HostileRequest>[] => {
    const t = target(r);
    const body = t.body ? JSON.stringify(t.body) : undefined;
    const out: fc.Arbitrary<HostileRequest>[] = [];
    if (r.role !== 'none') {
      out.push(
        fc.constant(make('headers', t, { caller: NONE, body, what: 'no x-api-key' })),
        // every copy is refused, whichever copy a gateway would pick
        fc
          .array(
            fc.tuple(
              pick(keyHeaderNames),
              insufficient(r).filter((c) => c.key !== undefined && c.bearer === undefined),
            ),
            { minLength: 2, maxLength: 4 },
          )
          .map((copies) =>
            make('headers', t, {
              caller: NONE,
              body,
              headers: copies.map(([n, c]) => [n, c.key!] as const),
              what: `x-api-key ${copies.length}× (${copies.map(([, c]) => c.label).join(', ')})`,
            }),
          ),
        // a good key first, a bad one last: API Gateway keeps the last
        fc.record({ good: sufficientKey(r), bad: garbage }).map(({ good, bad }) =>
          make('headers', t, {
            caller: NONE,
            body,
            headers: [
              ['x-api-key', good.key!],
              ['x-api-key', bad.key!],
            ],
            what: `x-api-key twice: ${good.label} then ${bad.label}`,
          }),
        ),
        pick([
          ['authorization', 'Bearer garbage'],
          ['x-role', 'admin'],
          ['x-principal-id', 'bootstrap-admin'],
          ['x-amzn-requestcontext', '{"authorizer":{"role":"admin","principalId":"x"}}'],
          ['x-apigateway-event', '{"requestContext":{"authorizer":{"role":"admin"}}}'],
        ] as const).map(([n, v]) =>
          make('headers', t, { caller: NONE, body, headers: [[n, v]], what: `no key, spoofed ${n}` }),
        ),
      );
    }
    {
      const payload = body ?? '{}';
      out.push(
        sufficient(r).map((caller) =>
          make('headers', t, {
            caller,
            body: payload,
            contentType: null,
            what: 'JSON body without content-type',
          }),
        ),
        fc
          .record({
            caller: sufficient(r),
            types: fc.array(pick(['text/plain', 'application/xml', 'text/html']), {
              minLength: 1,
              maxLength: 3,
            }),
          })
          .map(({ caller, types }) =>
            make('headers', t, {
              caller,
              body: payload,
              contentType: null,
              headers: [
                ['content-type', 'application/json'],
                ...types.map((x) => ['content-type', x] as const),
              ],
              what: `content-type ${1 + types.length}×, last not JSON`,
            }),
          ),
      );
    }
    if (idempotent(r)) {
      out.push(
        sufficient(r).map((caller) =>
          make('headers', t, {
            caller,
            body,
            headers: [
              ['idempotency-key', 'good-key-1'],
              ['idempotency-key', 'bad key'],
            ],
            what: 'idempotency-key twice, last invalid',
          }),
        ),
      );
    }
    const path = fill(r, t.params) + qs(t.query);
    const line = `${r.method} ${path} HTTP/1.1\r\n`;
    out.push(
      pick([
        [
          'Content-Length twice',
          `${line}Host: l\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
        ],
        [
          'Content-Length and Transfer-Encoding',
          `${line}Host: l\r\nConnection: close\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        ],
        ['no Host', `${line}Connection: close\r\n\r\n`],
        [
          'Transfer-Encoding twice',
          `${line}Host: l\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        ],
      ] as const).map(([what, bytes]) => rawRequest('headers', r, what, bytes)),
    );
    return out;
  };
  const headersCat = anyRoute.chain((r) => {
    const cases = headerCases(r);
    return fc.oneof(...cases.map((arbitrary, i) => ({ arbitrary, weight: i === cases.length - 1 ? 1 : 5 })));
  });

  // ---- bad semvers ----
  const BAD_SEMVERS = [
    '1',
    '1.0',
    '1.0.0.0',
    '01.0.0',
    '1.00.0',
    '1.0.0-rc.1',
    '1.0.0+build',
    'v1.0.0',
    ' 1.0.0',
    '1.0.0 ',
    '1000000.0.0',
    '-1.0.0',
    '1.0.x',
    '1..0',
    '1.0.0%00',
    'latest',
    '*',
    '^1.0.0',
    '~1.0.0',
    '>=1.0.0',
    '1.0.0\n',
    '1.O.0',
    '0x1.0.0',
    '1e3.0.0',
  ];
  const semverParts = fc
    .array(pick(['0', '1', '01', '00', '1000000', 'x', '-1', '', ' 1', '1 ', '١', '+1', '1e3', '999999']), {
      minLength: 1,
      maxLength: 5,
    })
    .map((ps) => ps.join('.'))
    .filter((v) => !SEMVER.test(v) && v !== '.' && v !== '..' && v.length > 0);
  const badSemver = fc.oneof(pick(BAD_SEMVERS), semverParts);
  const semverCases = (r: Route): fc.Arbitrary<HostileRequest>[] => {
    const t = target(r);
    const out: fc.Arbitrary<HostileRequest>[] = [];
    if (r.path.includes('{version}')) {
      out.push(
        fc.record({ caller: mostlySufficient(r), v: badSemver }).map(({ caller, v }) =>
          make('bad-semver', t, {
            caller,
            params: { version: v },
            body: t.body ? JSON.stringify(t.body) : undefined,
            what: `version ${JSON.stringify(v)}`,
          }),
        ),
      );
    }
    const fieldOf: Partial<Record<OperationId, string[]>> = {
      registerVersion: ['version', 'parent'],
      rollback: ['toVersion'],
      predict: ['version'],
      explain: ['version'],
    };
    for (const f of fieldOf[r.operationId] ?? []) {
      out.push(
        fc.record({ caller: mostlySufficient(r), v: badSemver }).map(({ caller, v }) =>
          make('bad-semver', t, {
            caller,
            body: JSON.stringify(withField(t.body!, f, v)),
            what: `${f} ${JSON.stringify(v)}`,
          }),
        ),
      );
    }
    if (r.operationId === 'stats') {
      out.push(
        fc
          .record({ caller: mostlySufficient(r), v: badSemver })
          .map(({ caller, v }) =>
            make('bad-semver', t, { caller, query: { version: v }, what: `version=${JSON.stringify(v)}` }),
          ),
      );
    }
    if (r.operationId === 'compareVersions') {
      out.push(
        fc
          .record({ caller: mostlySufficient(r), v: badSemver, k: pick(['a', 'b']) })
          .map(({ caller, v, k }) =>
            make('bad-semver', t, { caller, query: { [k]: v }, what: `${k}=${JSON.stringify(v)}` }),
          ),
      );
    }
    return out;
  };
  const semverRoutes = ROUTES.filter((r) => semverCases(r).length > 0);
  const badSemverCat = pick(semverRoutes).chain((r) => fc.oneof(...semverCases(r)));

  // ---- bad cursors ----
  const listingAttrs: Record<string, string[]> = {
    listModels: ['pk', 'sk', 'gsi1pk', 'gsi1sk'],
    listVersions: ['pk', 'sk'],
    productionHistory: ['pk', 'sk'],
    listAudit: ['pk', 'sk', 'feed'],
    listKeys: ['keyId'],
  };
  const ownCursor: Record<string, CursorSource> = {
    listModels: 'models',
    listVersions: 'versions',
    productionHistory: 'history',
    listAudit: 'audit',
    listKeys: 'keys',
  };
  const cursorCases = (
    r: Route,
  ): fc.Arbitrary<{ cursor: string | string[]; what: string; query?: Record<string, string> }> => {
    const attrs = listingAttrs[r.operationId]!;
    const own = world.cursors[ownCursor[r.operationId]!];
    const obj = (over: Record<string, unknown>) => ({
      ...Object.fromEntries(attrs.map((a) => [a, `${a}-x`])),
      ...over,
    });
    const foreign: [string, string][] = (Object.entries(world.cursors) as [CursorSource, string][])
      .filter(([k]) => k !== ownCursor[r.operationId])
      .map(([k, v]) => [k, v]);
    const outOfRange: { cursor: string; what: string }[] =
      r.operationId === 'listVersions'
        ? [
            {
              cursor: b64u(JSON.stringify({ pk: 'MODEL#churn', sk: 'PROD#2020' })),
              what: 'versions cursor with a PROD# sort key',
            },
            {
              cursor: b64u(JSON.stringify({ pk: 'MODEL#churn', sk: '#MODEL' })),
              what: 'versions cursor at the model item',
            },
            {
              cursor: b64u(JSON.stringify({ pk: 'MODEL#churn', sk: 'zzz' })),
              what: 'versions cursor past the range',
            },
            { cursor: world.cursors.history, what: "production-history cursor on churn's versions" },
            { cursor: world.cursors.auditModel, what: "audit?model=churn cursor on churn's versions" },
          ]
        : r.operationId === 'productionHistory'
          ? [
              {
                cursor: b64u(JSON.stringify({ pk: 'MODEL#churn', sk: 'VERSION#000001.000000.000000' })),
                what: 'history cursor with a VERSION# sort key',
              },
              { cursor: world.cursors.versions, what: "versions cursor on churn's production history" },
              {
                cursor: world.cursors.auditModel,
                what: "audit?model=churn cursor on churn's production history",
              },
            ]
          : [];
    const options: fc.Arbitrary<{
      cursor: string | string[];
      what: string;
      query?: Record<string, string>;
    }>[] = [
      fc
        .string({ unit: printableWithSpace, minLength: 1, maxLength: 60 })
        .filter((s) => !/^[A-Za-z0-9_-]+$/.test(s))
        .map((cursor) => ({ cursor, what: 'cursor with characters outside base64url' })),
      fc.uint8Array({ minLength: 1, maxLength: 80 }).map((bytes) => ({
        cursor: Buffer.from(bytes).toString('base64url'),
        what: 'base64url of random bytes',
      })),
      pick(['null', '1', '"x"', '[]', '[{"pk":"a"}]', 'true', '{', '']).map((j) => ({
        cursor: b64u(j),
        what: `base64url of ${j || 'nothing'}`,
      })),
      pick<Record<string, unknown>>([
        {},
        { pk: 'x' },
        obj({ extra: 'y' }),
        { keyId: 'x', pk: 'y' },
        { PK: 'x', SK: 'y' },
      ]).map((o) => ({
        cursor: b64u(JSON.stringify(o)),
        what: `attributes ${Object.keys(o).join(',') || 'none'}`,
      })),
      pick<unknown>([1, null, true, '', { S: 'x' }, ['x'], 'v'.repeat(1025)]).map((v) => ({
        cursor: b64u(JSON.stringify(obj({ [attrs[0]!]: v }))),
        what: `${attrs[0]} is ${JSON.stringify(v).slice(0, 20)}`,
      })),
      fc
        .constant(Buffer.from(JSON.stringify(obj({ [attrs[0]!]: '>>>???' }))).toString('base64'))
        .map((s) => ({
          cursor: /[+/=]/.test(s) ? s : `${s}=`,
          what: 'standard base64 (+ / =)',
        })),
      fc.constant({ cursor: [own, '!!bad!!'], what: 'cursor twice, last invalid' }),
      fc
        .integer({ min: 2049, max: 6000 })
        .map((n) => ({ cursor: own.repeat(Math.ceil(n / own.length)).slice(0, n), what: `cursor of ${n}` })),
    ];
    if (foreign.length) {
      options.push(pick(foreign).map(([k, v]) => ({ cursor: v, what: `a ${k} cursor` })));
    }
    if (outOfRange.length) options.push(pick(outOfRange));
    const wrongPartition: Record<string, Record<string, unknown>> = {
      listModels: { gsi1pk: 'NOTMODELS' },
      listVersions: { pk: 'MODEL#fraud', sk: 'VERSION#000001.000000.000000' },
      productionHistory: { pk: 'MODEL#fraud', sk: 'PROD#x' },
      listAudit: { feed: 'NOT-ALL' },
    };
    const wp = wrongPartition[r.operationId];
    if (wp)
      options.push(
        fc.constant({ cursor: b64u(JSON.stringify(obj(wp))), what: 'right attributes, another partition' }),
      );
    if (r.operationId === 'listAudit') {
      options.push(
        fc.constant({
          cursor: world.cursors.audit,
          query: { model: 'churn' },
          what: 'the unfiltered audit cursor with ?model=churn',
        }),
        fc.constant({
          cursor: b64u(JSON.stringify({ pk: 'MODEL#fraud', sk: 'x' })),
          query: { model: 'churn' },
          what: 'a fraud audit cursor with ?model=churn',
        }),
        fc.constant({
          cursor: b64u(JSON.stringify({ pk: 'a', sk: 'b', actor: 'other' })),
          query: { actor: 'someone' },
          what: 'actor cursor for another actor',
        }),
      );
    }
    return fc.oneof(...options);
  };
  const badCursor = pick(listRoutes).chain((r) => {
    const t = target(r);
    return fc
      .record({ caller: sufficient(r), c: cursorCases(r), limit: pick(['1', '5', '100']) })
      .map(({ caller, c, limit }) => {
        const cursors = Array.isArray(c.cursor) ? c.cursor : [c.cursor];
        const query = { ...t.query, limit, ...c.query };
        const rawQuery = [
          ...Object.entries(query).map(([k, v]) => `${pct(k)}=${pct(v)}`),
          ...cursors.map((x) => `cursor=${pct(x)}`),
        ].join('&');
        return make('bad-cursor', t, { caller, rawQuery, what: c.what });
      });
  });

  // ---- unauthorised callers with valid requests ----
  const auth = pick(protectedRoutes).chain((r) => {
    const t = target(r);
    return insufficient(r).map((caller) =>
      make('auth', t, {
        caller,
        body: t.body ? JSON.stringify(t.body) : undefined,
        what: `valid request, caller ${caller.label} (needs ${r.role})`,
      }),
    );
  });

  // ---- invalid idempotency keys on valid requests ----
  const badIdempotencyKey = fc.oneof(
    pick(['', ' ', 'a b', 'key\u00e9', 'tab\tkey', '\u00ff', 'x'.repeat(129), 'k'.repeat(500)]),
    fc
      .tuple(
        fc.string({ unit: printable, minLength: 1, maxLength: 20 }),
        fc.string({ unit: printable, minLength: 1, maxLength: 20 }),
      )
      .map(([a, b]) => `${a} ${b}`),
    fc.integer({ min: 129, max: 2000 }).map((n) => 'i'.repeat(n)),
  );
  const idempotency = pick(idempotentRoutes).chain((r) => {
    const t = target(r);
    return fc.record({ caller: sufficient(r), key: badIdempotencyKey }).map(({ caller, key }) =>
      make('idempotency', t, {
        caller,
        body: t.body ? JSON.stringify(t.body) : undefined,
        headers: [['idempotency-key', key]],
        what: `idempotency-key ${JSON.stringify(key.slice(0, 30))}${key.length > 30 ? `… (${key.length})` : ''}`,
      }),
    );
  });

  // ---- wrong methods and paths that are no routes ----
  const UNROUTED = [
    '/v2/models',
    '/v1',
    '/v1/',
    '/',
    '/v1/model',
    '/v1/models/churn/versions/1.0.0/promote',
    '/v1/models/churn/versions/1.0.0/artifact/x',
    '/V1/MODELS',
    '/v1/models/',
    '/v1/models/churn/',
    '/v1/Models',
    '/v1/health/',
    '/v1/openapi.yaml',
    '/v1/auth',
    '/v1/auth/keys/',
    '/.env',
    '/favicon.ico',
    '/admin-key',
    '/v1/admin-key',
    '/endpoints.json',
    '/index.html',
    '/v1/models/churn/versions/',
    '/v1//models',
    '/v1/models//versions',
    '/v1/audit/',
    '/v1/predict',
    '/v1/models/iris-demo/predict/',
    '/v1/models/iris-demo/versions/1.0.0/predict',
    '/v1/models/iris-demo/predictions',
    '/v1/models/iris-demo/explain/1.0.0',
    '/v1/models/iris-demo/stats/',
    '/v1/predictions',
    '/v1/predictions/feedback/',
    `/v1/predictions/${UNKNOWN_PREDICTION}`,
    `/v1/predictions/${UNKNOWN_PREDICTION}/feedback`,
    '/v1/metrics/',
    '/metrics',
    '/v1/metrics.json',
  ];
  const routing = fc.oneof(
    anyRoute.chain((r) => {
      const t = target(r);
      const allowed = new Set<string>(ROUTES.filter((x) => x.path === r.path).map((x) => x.method));
      const wrong = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].filter((m) => !allowed.has(m));
      return fc.record({ caller: anyCaller, m: pick(wrong) }).map(({ caller, m }) =>
        make('routing', t, {
          caller,
          method: m,
          body: t.body ? JSON.stringify(t.body) : undefined,
          what: `${m} on ${r.path}`,
        }),
      );
    }),
    fc
      .record({
        caller: anyCaller,
        p: pick(UNROUTED),
        m: pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']),
        r: anyRoute,
      })
      .map(({ caller, p, m, r }) =>
        make('routing', target(r), {
          caller,
          method: m,
          path: p,
          body: m === 'GET' ? undefined : '{}',
          what: `${m} ${p}`,
        }),
      ),
  );

  // ---- HTTP the parser should refuse, or absolute-form targets ----
  const protocolCases = (r: Route): [string, string][] => {
    const t = target(r);
    const path = fill(r, t.params) + qs(t.query);
    const line = `${r.method} ${path} HTTP/1.1\r\n`;
    const h = 'Host: localhost\r\nConnection: close\r\n';
    const body = t.body ? JSON.stringify(t.body) : '{}';
    return [
      ['garbage request line', 'GARBAGE\r\n\r\n'],
      ['HTTP/9.9', `${r.method} ${path} HTTP/9.9\r\n${h}\r\n`],
      ['lower-case method', `${r.method.toLowerCase()} ${path} HTTP/1.1\r\n${h}\r\n`],
      ['leading space', ` ${line}${h}\r\n`],
      ['header without colon', `${line}${h}NoColonHere\r\n\r\n`],
      ['header name with spaces', `${line}${h}X Api Key: x\r\n\r\n`],
      ['obsolete line folding', `${line}${h}X-Api-Key: a\r\n folded\r\n\r\n`],
      ['bare LF line endings', `${line.replace('\r\n', '\n')}Host: l\nConnection: close\n\n`],
      [
        'Content-Length: abc',
        `${line}${h}Content-Type: application/json\r\nContent-Length: abc\r\n\r\n${body}`,
      ],
      [
        'Content-Length: -1',
        `${line}${h}Content-Type: application/json\r\nContent-Length: -1\r\n\r\n${body}`,
      ],
      [
        'Content-Length overflow',
        `${line}${h}Content-Type: application/json\r\nContent-Length: 99999999999999999999\r\n\r\n${body}`,
      ],
      [
        'Content-Length longer than the body',
        `${line}${h}Content-Type: application/json\r\nContent-Length: ${body.length + 50}\r\n\r\n${body}`,
      ],
      [
        'Content-Length shorter than the body',
        `${line}${h}Content-Type: application/json\r\nContent-Length: 1\r\n\r\n${body}GARBAGE\r\n\r\n`,
      ],
      [
        'bad chunk size',
        `${line}${h}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`,
      ],
      ['Transfer-Encoding: gzip', `${line}${h}Transfer-Encoding: gzip\r\n\r\n${body}`],
      [
        'truncated chunked body',
        `${line}${h}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nff\r\n${body}`,
      ],
      [
        '3000 headers',
        `${line}${h}${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`,
      ],
      ['absolute-form, bad IPv6 host', `${r.method} http://[bad${path} HTTP/1.1\r\n${h}\r\n`],
      ['absolute-form, port 99999', `${r.method} http://x:99999${path} HTTP/1.1\r\n${h}\r\n`],
      ['absolute-form, empty host with userinfo', `${r.method} http://user@${path} HTTP/1.1\r\n${h}\r\n`],
      ['absolute-form, bad percent in host', `${r.method} http://%zz${path} HTTP/1.1\r\n${h}\r\n`],
      ['authority-form target', `${r.method} example.com:80 HTTP/1.1\r\n${h}\r\n`],
      ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
      ['random bytes', ''],
    ];
  };
  const protocol = anyRoute.chain((r) =>
    fc
      .record({ c: pick(protocolCases(r)), noise: fc.uint8Array({ minLength: 1, maxLength: 64 }) })
      .map(({ c: [what, bytes], noise }) =>
        rawRequest(
          'protocol',
          r,
          what,
          bytes === '' ? `${Buffer.from(noise).toString('latin1').replace(/\r|\n/g, '')}\r\n\r\n` : bytes,
        ),
      ),
  );

  const minimal = (r: Route): Caller => (r.role === 'none' ? NONE : role(r.role as Role));
  const pinned: HostileRequest[] = [];
  for (const r of ROUTES) {
    // Routes with a body schema want an object; the others tolerate only an empty one ({}).
    const bodies = BODY_FIELDS[r.operationId] ? ['null', '[]', '""', '0'] : ['[]', 'null', '[0]', 'false'];
    for (const text of bodies) {
      pinned.push(
        make('wrong-types', target(r), { caller: minimal(r), body: text, what: `body is ${text}` }),
      );
    }
  }
  for (const shape of ['array', 'object'] as const) {
    pinned.push(
      make('deep-nesting', target(registerRoute), {
        caller: role('scientist'),
        body: () => withRaw({ params: { x: '@D@' } }, '@D@', nest(20_000, shape)),
        what: `params.x nested 20000 deep (${shape}), no artifact`,
      }),
    );
  }
  const siblingCursors: [OperationId, string, string][] = [
    ['listVersions', world.cursors.history, "production-history cursor on churn's versions"],
    ['listVersions', world.cursors.auditModel, "audit?model=churn cursor on churn's versions"],
    [
      'listVersions',
      b64u(JSON.stringify({ pk: 'MODEL#churn', sk: 'PROD#2020' })),
      'versions cursor, PROD# sort key',
    ],
    ['productionHistory', world.cursors.versions, "versions cursor on churn's production history"],
    ['productionHistory', world.cursors.auditModel, "audit?model=churn cursor on churn's production history"],
    ['listModels', world.cursors.versions, 'versions cursor on the model list'],
    ['listAudit', world.cursors.models, 'model-list cursor on the audit feed'],
    ['listKeys', world.cursors.audit, 'audit cursor on the key list'],
  ];
  for (const [id, cursor, what] of siblingCursors) {
    const r = route(id);
    pinned.push(make('bad-cursor', target(r), { caller: role('admin'), query: { cursor }, what }));
  }
  // Inference: every case of the tables above on every run, whatever the seed.
  for (const id of ['predict', 'explain'] as const) {
    const t = target(route(id));
    for (const [text, what] of inferenceCases(t)) {
      pinned.push(make('wrong-types', t, { caller: minimal(t.route), body: text, what }));
    }
    pinned.push(
      make('oversize-body', t, {
        caller: minimal(t.route),
        body: () => JSON.stringify(withField(t.body!, 'instances', Array(10_001).fill(IRIS_ROW))),
        what: '10,001 valid instances (max 10,000)',
      }),
    );
  }
  {
    const t = target(route('feedback'));
    for (const [text, what] of inferenceCases(t)) {
      pinned.push(make('wrong-types', t, { caller: minimal(t.route), body: text, what }));
    }
    pinned.push(
      make('oversize-body', t, {
        caller: minimal(t.route),
        body: JSON.stringify(Array(1_001).fill({ predictionId: UNKNOWN_PREDICTION, actual: 'versicolor' })),
        what: '1,001 feedback items (max 1,000)',
      }),
    );
  }
  {
    const t = target(route('stats'));
    const statsQuery = (query: Record<string, string>, what: string) =>
      pinned.push(make('wrong-types', t, { caller: minimal(t.route), query, what }));
    for (const v of BAD_DATETIMES) {
      statsQuery({ from: v }, `from=${JSON.stringify(v)}`);
      statsQuery({ to: v }, `to=${JSON.stringify(v)}`);
    }
    for (const [from, to, what] of BAD_WINDOWS) statsQuery({ from, to }, what);
    statsQuery({ version: 'latest' }, 'version=latest');
  }
  {
    // Prometheus text on success; a refusal is still the JSON error shape.
    const t = target(route('metrics'));
    for (const [text, what] of [
      ['{"format":"json"}', 'an object body'],
      ['"# HELP x"', 'a string body'],
      ['[{}]', 'an array body'],
    ] as const) {
      pinned.push(
        make('wrong-types', t, { caller: minimal(t.route), body: text, what: `${what} on GET /v1/metrics` }),
      );
    }
    pinned.push(
      make('content-type', t, {
        caller: minimal(t.route),
        body: '{}',
        contentType: 'text/plain; version=0.0.4',
        headers: [['accept', 'text/plain']],
        what: 'a Prometheus content-type on the request',
      }),
    );
  }
  for (const [what, bytes] of protocolCases(route('listModels')).filter(([w]) =>
    w.startsWith('absolute-form'),
  )) {
    pinned.push(rawRequest('protocol', route('listModels'), what, bytes));
  }

  const arbitraries: Record<Category, fc.Arbitrary<HostileRequest>> = {
    'broken-json': brokenJson,
    'wrong-types': wrongTypes,
    'huge-numbers': hugeNumbers,
    'deep-nesting': deepNesting,
    'long-strings': longStrings,
    'unicode-control': unicodeControl,
    'path-traversal': pathTraversal,
    'bad-base64': badBase64All,
    'oversize-body': fc.oneof({ weight: 1, arbitrary: oversizeBig }, { weight: 12, arbitrary: tooMany }),
    'content-type': contentType,
    headers: headersCat,
    'bad-semver': badSemverCat,
    'bad-cursor': badCursor,
    auth,
    idempotency,
    routing,
    protocol,
  };
  return { arbitraries, pinned };
}

/** Requests per category: ≥ 10,000 in all; the 10 MB bodies are kept few. */
export const PLAN: Readonly<Record<Category, number>> = {
  'broken-json': 900,
  'wrong-types': 1_000,
  'huge-numbers': 700,
  'deep-nesting': 450,
  'long-strings': 800,
  'unicode-control': 800,
  'path-traversal': 800,
  'bad-base64': 600,
  'oversize-body': 400,
  'content-type': 700,
  headers: 700,
  'bad-semver': 700,
  'bad-cursor': 800,
  auth: 700,
  idempotency: 500,
  routing: 400,
  protocol: 250,
};

/** Samples every category's plan from one seed (each category gets its own derived seed). */
export function generate(world: World, seed: number): HostileRequest[] {
  const { arbitraries, pinned } = hostileSuite(world);
  const sampled = CATEGORIES.flatMap((c, i) =>
    fc.sample(arbitraries[c], { seed: (seed + i * 7919) | 0, numRuns: PLAN[c] }),
  );
  return [...pinned, ...sampled];
}
