/**
 * Per-key rate limits through the started local runtime (`npm start` entry, real authorizer and
 * DynamoDB Local underneath): a burst over the limit is refused with 429 `rate_limited` and
 * `retry-after`, another key is unaffected, and the key is admitted again after waiting.
 *
 * The runtime is configured to 5 requests/s with bursts of 10. How many requests of a burst pass
 * depends on how long the burst takes to get through the authorizer, so the bounds below are
 * computed from the measured duration rather than assumed (a slow 2-core machine spreads the
 * burst out and so earns more refills).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, apiClient, type ServalProcess, startServal } from '../support/serval-process.js';

const RATE = 5;
const BURST = 10;
const CONCURRENT = 30;

let serval: ServalProcess;
let admin: ReturnType<typeof apiClient>;

async function newKey(name: string): Promise<ReturnType<typeof apiClient>> {
  const res = await admin('POST', '/v1/auth/keys', { name, role: 'viewer' });
  expect(res.status).toBe(201);
  return apiClient(serval.url, res.body.key);
}

beforeAll(async () => {
  serval = await startServal({
    env: { SERVAL_RATE_LIMIT: String(RATE), SERVAL_RATE_BURST: String(BURST) },
  });
  admin = apiClient(serval.url, serval.adminKey);
});

afterAll(async () => {
  await serval?.stop();
});

describe('rate limits (local runtime)', () => {
  it('refuses a burst over the limit per key with retry-after; other keys are unaffected; the key recovers', async () => {
    const alice = await newKey('burst-alice');
    const bob = await newKey('burst-bob');

    // Bob sends a few requests in the middle of alice's burst, within his own burst allowance.
    const started = performance.now();
    const [burst, bobs] = await Promise.all([
      Promise.all(Array.from({ length: CONCURRENT }, () => alice('GET', '/v1/models'))),
      Promise.all(Array.from({ length: BURST / 2 }, () => bob('GET', '/v1/models'))),
    ]);
    const seconds = (performance.now() - started) / 1000;

    const ok = burst.filter((r) => r.status === 200);
    const refused = burst.filter((r) => r.status === 429);
    expect(
      burst.map((r) => r.status).filter((s) => s !== 200 && s !== 429),
      'only 200 or 429',
    ).toEqual([]);
    // A fresh key's bucket holds BURST tokens; at most RATE per second more arrive while the
    // burst is under way (+1 for a token that was nearly complete when it started).
    const maxAdmitted = BURST + Math.floor(RATE * seconds) + 1;
    expect(ok.length, `admitted in ${seconds.toFixed(2)} s`).toBeGreaterThanOrEqual(BURST);
    expect(ok.length, `admitted in ${seconds.toFixed(2)} s`).toBeLessThanOrEqual(maxAdmitted);
    expect(refused.length).toBe(CONCURRENT - ok.length);
    expect(refused.length).toBeGreaterThanOrEqual(1);

    let retryAfter = 0;
    for (const r of refused) {
      const header = r.headers.get('retry-after');
      expect(header).toMatch(/^[1-9]\d*$/);
      expect(r.body).toEqual({
        error: {
          code: 'rate_limited',
          message: expect.any(String),
          details: expect.objectContaining({ retryAfterSeconds: Number(header) }),
        },
      });
      retryAfter = Math.max(retryAfter, Number(header));
    }
    // 1/RATE s to the next token, rounded up to whole seconds.
    expect(retryAfter).toBe(1);

    // Bob's bucket, and the per-IP bucket of the public routes, are not alice's.
    expect(bobs.map((r: ApiResponse) => r.status)).toEqual(Array(BURST / 2).fill(200));
    expect((await apiClient(serval.url)('GET', '/v1/health')).status).toBe(200);

    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    const again = await alice('GET', '/v1/models');
    expect(again.status).toBe(200);
  });
});
