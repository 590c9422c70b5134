/**
 * Runs `fn` over `items` with at most `limit` calls in flight, results in input order. Folds and
 * trials are independent, so a caller whose `fn` hands work elsewhere (worker threads, a queue
 * of training jobs) gets them run side by side; with in-process synchronous work it is a loop.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R> | R,
): Promise<R[]> {
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError('concurrency must be an integer ≥ 1');
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
