/**
 * What the registry's stores return, in one place for both (DynamoDB, and the in-memory one of
 * the tests): reads leave soft-deleted items out, listings filter models by query. A module of
 * its own: the inference function reads the registry at a cold start without its services.
 */
import type { ModelQuery } from './ports.js';
import type { Deletion, Model } from './types.js';

/** The item, unless it is soft-deleted: what every store read returns by default. */
export function notDeleted<T extends { readonly deleted?: Deletion }>(item: T | undefined): T | undefined {
  return item?.deleted ? undefined : item;
}

/**
 * Whether a model belongs in a listing: not deleted, `q` a case-insensitive substring of its name
 * or description, and every tag filter among its tags. Both stores page with it, so a page is
 * filled with matches rather than cut short by them.
 */
export function matchesModelQuery(m: Model, query: Pick<ModelQuery, 'q' | 'tags'>): boolean {
  if (m.deleted) return false;
  if (query.q) {
    const needle = query.q.toLowerCase();
    if (!m.name.toLowerCase().includes(needle) && !m.description.toLowerCase().includes(needle)) {
      return false;
    }
  }
  return (query.tags ?? []).every((t) => Object.hasOwn(m.tags, t.key) && m.tags[t.key] === t.value);
}
