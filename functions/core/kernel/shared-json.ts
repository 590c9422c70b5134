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

/** Marked values; undefined until their text is first needed. */
const shared = new WeakMap<object, string | undefined>();

/** Marks a value whose JSON will be wanted more than once (it must not change from now on). */
export function shareJson(value: object): void {
  if (!shared.has(value)) shared.set(value, undefined);
}

/** The JSON text of a marked value (serialised on first use), or undefined for any other value. */
function sharedText(value: object): string | undefined {
  const text = shared.get(value);
  if (text !== undefined || !shared.has(value)) return text;
  const json = JSON.stringify(value);
  shared.set(value, json);
  return json;
}

function hasToJson(value: object): boolean {
  return typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

/**
 * JSON.stringify(value), with the text of marked values held directly by `value` (a plain
 * object) reused instead of serialised again. Anything else (no marked value among its own,
 * an array, a toJSON that would see a different key) is JSON.stringify's own work.
 */
export function stringifyShared(value: object): string {
  if (Array.isArray(value) || hasToJson(value)) return JSON.stringify(value);
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
