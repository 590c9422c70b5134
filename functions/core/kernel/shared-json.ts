/**
 * JSON text of values that are serialised more than once, produced once. A prediction's arrays
 * (predictions, probabilities, ids: tens of kilobytes at batch 1000) are serialised for the HTTP
 * answer and again, in the background, for its capture message; number-to-text of the
 * probabilities dominates both. A value marked with `shareJson` is serialised the first time
 * `stringifyShared` meets it, and that text is spliced into every later object that holds it.
 *
 * The output is JSON.stringify's, byte for byte: each shared value's text is JSON.stringify of
 * that value, and the object around it is written as JSON.stringify writes an object (own
 * enumerable string keys in their order, undefined, functions and symbols left out). A marked
 * value must not change once marked: the text is that of its first serialisation.
 */

/**
 * Exactly JSON.stringify(value) for the value it was given with, or undefined when it cannot
 * tell (then the value is serialised). Called once, when the text is first needed.
 */
export type JsonTextSource = () => string | undefined;

/** Marked values: their text, or where it may come from; undefined until first needed. */
const shared = new WeakMap<object, string | JsonTextSource | undefined>();
/** Objects that may hold marked values: only these are looked into. */
const holders = new WeakSet<object>();

/**
 * Arrays shorter than this serialise faster than sharing their text costs (the bookkeeping and
 * a JSON.stringify call per property instead of one): a batch of one is served as it was.
 */
const SHARE_FROM_LENGTH = 16;

/** Whether an array is long enough for sharing its JSON to pay. */
export function worthSharing(value: readonly unknown[]): boolean {
  return value.length >= SHARE_FROM_LENGTH;
}

/** Marks an object whose own properties may be marked values (see stringifyShared). */
export function holdsSharedJson(holder: object): void {
  holders.add(holder);
}

/**
 * Marks a value whose JSON will be wanted more than once (it must not change from now on).
 * `source` may know its text without serialising it (the request text it was parsed from).
 */
export function shareJson(value: object, source?: JsonTextSource): void {
  if (source !== undefined) shared.set(value, source);
  else if (!shared.has(value)) shared.set(value, undefined);
}

/** The JSON text of a marked value (made on first use), or undefined for any other value. */
function sharedText(value: object): string | undefined {
  const entry = shared.get(value);
  if (typeof entry === 'string' || (entry === undefined && !shared.has(value))) return entry;
  const json = (entry === undefined ? undefined : entry()) ?? JSON.stringify(value);
  shared.set(value, json);
  return json;
}

function hasToJson(value: object): boolean {
  return typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

/**
 * JSON.stringify(value), with the text of marked values held directly by `value` (an object
 * marked with holdsSharedJson) reused instead of serialised again. Anything else (an unmarked
 * object, no marked value among its own, an array, a toJSON that would see a different key) is
 * JSON.stringify's own work.
 */
export function stringifyShared(value: object): string {
  if (!holders.has(value) || Array.isArray(value) || hasToJson(value)) return JSON.stringify(value);
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let marked = false;
  for (const k of keys) {
    const v = record[k];
    if (typeof v !== 'object' || v === null) continue;
    // JSON.stringify calls a toJSON with the property's name; serialised alone it would get ''.
    if (hasToJson(v)) return JSON.stringify(value);
    if (shared.has(v)) marked = true;
  }
  if (!marked) return JSON.stringify(value);
  let out = '{';
  for (const k of keys) {
    const v = record[k];
    const text =
      typeof v === 'object' && v !== null ? (sharedText(v) ?? JSON.stringify(v)) : JSON.stringify(v);
    // undefined, a function or a symbol: JSON.stringify leaves the property out.
    if (text === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(k)}:${text}`;
  }
  return `${out}}`;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * The text of the member `key` of a JSON object's text, when it is exactly what JSON.stringify
 * writes for its parsed value; undefined when it may not be (or the key is absent, or given
 * twice). `json` must be text JSON.parse accepted. A request's instances, written so (as
 * JSON.stringify writes them: no whitespace, plain numbers), need not be serialised again for
 * their capture message. Some JSON.stringify output is answered undefined too (objects, arrays
 * nested deeper than rows, escapes, exponents, long numbers; see CANONICAL_NUMBER): the caller
 * serialises those as before.
 */
export function canonicalMemberText(json: string, key: string): string | undefined {
  let i = skipSpace(json, 0);
  if (json.charCodeAt(i) !== OPEN_OBJECT) return undefined;
  i = skipSpace(json, i + 1);
  if (json.charCodeAt(i) === CLOSE_OBJECT) return undefined;
  let found: string | undefined;
  for (;;) {
    // A member: "name" : value, the name as written (an escaped name is not compared).
    const nameEnd = stringEnd(json, i);
    const name = json.slice(i + 1, nameEnd - 1);
    i = skipSpace(json, nameEnd);
    if (json.charCodeAt(i) !== COLON) return undefined;
    i = skipSpace(json, i + 1);
    if (name === key || name.includes('\\')) {
      // JSON.parse keeps the last of repeated names, and an escaped one may be this one.
      if (found !== undefined || name !== key) return undefined;
      const end = canonicalEnd(json, i);
      if (end < 0) return undefined;
      found = json.slice(i, end);
      i = end;
    } else i = valueEnd(json, i);
    i = skipSpace(json, i);
    const c = json.charCodeAt(i);
    if (c === CLOSE_OBJECT) return found;
    if (c !== COMMA) return undefined;
    i = skipSpace(json, i + 1);
  }
}

function skipSpace(json: string, i: number): number {
  for (;;) {
    const c = json.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/** Past the closing quote of the (valid) string opening at i. */
function stringEnd(json: string, i: number): number {
  for (let j = i + 1; j < json.length; j++) {
    const c = json.charCodeAt(j);
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  return json.length;
}

/** Past the (valid) value starting at i. */
function valueEnd(json: string, i: number): number {
  let depth = 0;
  for (let j = i; j < json.length; j++) {
    const c = json.charCodeAt(j);
    if (c === QUOTE) {
      j = stringEnd(json, j) - 1;
      if (depth === 0) return j + 1;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) depth++;
    else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      // The object the value is a member of closes: the value (a number or literal) ended here.
      if (depth === 0) return j;
      depth--;
      if (depth === 0) return j + 1;
    } else if (depth === 0 && (c === COMMA || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) {
      return j;
    }
  }
  return json.length;
}

/**
 * A number as JSON.stringify writes it: no exponent, no trailing fraction zero, no -0, at most 15
 * digits (so the shortest text that reads back as the number is the one given) and, below 1, at
 * most five zeros after the point (1e-7 is written with an exponent). The digits are bounded
 * branch by branch (a 15-digit integer; up to 7 digits, a point and up to 8; 0. and up to 14),
 * not by a lookahead, which would triple the time of a whole match; so some canonical numbers
 * (12345678.5) are answered undefined, which only means they are serialised.
 */
const CANONICAL_NUMBER = String.raw`-?(?:[1-9]\d{0,6}(?:\.\d{0,7}[1-9])?|[1-9]\d{7,14}|0\.0{0,5}[1-9](?:\d{0,7}[1-9])?)|0`;
/** A string without escapes or surrogates (JSON.stringify escapes lone ones), or a literal. */
const CANONICAL_SCALAR = String.raw`(?:${CANONICAL_NUMBER}|"[^"\\\ud800-\udfff]*"|true|false|null)`;
const CANONICAL_ROW = String.raw`\[(?:${CANONICAL_SCALAR}(?:,${CANONICAL_SCALAR})*)?\]`;
const CANONICAL_ELEMENT = `(?:${CANONICAL_ROW}|${CANONICAL_SCALAR})`;
/**
 * An array of scalars and arrays of scalars (a batch of positional instances) written as
 * JSON.stringify writes it. A regular expression, not a loop over charCodeAt: V8 compiles it to
 * machine code, about five times faster on a batch of 1000 rows, and this runs once per request.
 */
const CANONICAL_ROWS = new RegExp(String.raw`\[(?:${CANONICAL_ELEMENT}(?:,${CANONICAL_ELEMENT})*)?\]`, 'y');

/**
 * Past the (valid) value starting at i when it is an array CANONICAL_ROWS matches; -1 otherwise
 * (deeper arrays and objects too: their text may well be canonical, but they are serialised).
 */
function canonicalEnd(json: string, i: number): number {
  CANONICAL_ROWS.lastIndex = i;
  return CANONICAL_ROWS.test(json) ? CANONICAL_ROWS.lastIndex : -1;
}
