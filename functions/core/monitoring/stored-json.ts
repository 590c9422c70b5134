/**
 * Checks stored JSON documents on their way back in: what fails is reported as an integrity
 * failure (the document was written by us, so a bad one is damage, not a client mistake).
 */
import type { z } from 'zod';
import { integrityFailed } from '../kernel/errors.js';

/** Parses `json` (a string or parsed JSON) against `schema`; `what` names the document in errors. */
export function parseStoredJson<S extends z.ZodType>(json: unknown, schema: S, what: string): z.output<S> {
  let data = json;
  if (typeof json === 'string') {
    try {
      data = JSON.parse(json);
    } catch {
      throw integrityFailed(`${what} is not valid JSON`);
    }
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw integrityFailed(
      `invalid ${what}: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'unknown'}`,
      {
        issues: parsed.error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message })),
      },
    );
  }
  return parsed.data;
}
