/**
 * Pagination cursors are DynamoDB's LastEvaluatedKey, base64url-encoded. A cursor is client
 * input: decoding checks its shape and that it belongs to the same listing (same partition), so a
 * forged cursor is a 400, never a DynamoDB error.
 */
import { validationFailed } from '../core/kernel/errors.js';

export type Key = Record<string, string>;

export function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  if (!key) return undefined;
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor(
  cursor: string | undefined,
  attributes: readonly string[],
  expect: Key = {},
): Key | undefined {
  if (cursor === undefined) return undefined;
  const bad = () => validationFailed('cursor is not valid for this listing', { field: 'cursor' });
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad();
  const obj = parsed as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  if (keys.join('\u0000') !== [...attributes].sort().join('\u0000')) throw bad();
  for (const k of keys) {
    const v = obj[k];
    if (typeof v !== 'string' || v.length === 0 || v.length > 1024) throw bad();
  }
  for (const [k, v] of Object.entries(expect)) if (obj[k] !== v) throw bad();
  return obj as Key;
}
