/** Cursor paging, shared by every store that lists. */
export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}

export interface PageRequest {
  readonly limit: number;
  readonly cursor?: string;
}

/** Listings read whole go this many items at a time. */
export const READ_ALL_PAGE_SIZE = 100;

/**
 * Every item of a cursor-paged listing, read page by page on demand (stop iterating to stop
 * reading). For listings that are small by nature: a model's versions, the webhooks, the models.
 */
export async function* everyItem<T>(list: (page: PageRequest) => Promise<Page<T>>): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const page = await list({ limit: READ_ALL_PAGE_SIZE, cursor });
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}

/** Every item of a cursor-paged listing, in an array. */
export async function allItems<T>(list: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of everyItem(list)) items.push(item);
  return items;
}
