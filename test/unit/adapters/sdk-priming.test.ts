/**
 * primeSend's bounds (functions/adapters/sdk-priming.ts): whatever the client does with a primed
 * command, init is not failed or held up. Unit tests of its error paths with a stand-in for the
 * client; test/integration/bundled-sdk.test.ts runs it on the real clients.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PRIME_TIMEOUT_MS, primeSend } from '../../../functions/adapters/sdk-priming.js';

const command = () => ({ middlewareStack: { add: () => {} } });
const answer = { headers: {} };

afterEach(() => {
  vi.useRealTimers();
});

describe('primeSend', () => {
  it('resolves true when the client takes the answer', async () => {
    expect(await primeSend(command(), async () => ({}), answer)).toBe(true);
  });

  it('resolves false, never rejects, when the client refuses it', async () => {
    expect(await primeSend(command(), () => Promise.reject(new Error('refused')), answer)).toBe(false);
  });

  it(`gives up after ${PRIME_TIMEOUT_MS} ms on a client that never finishes`, async () => {
    vi.useFakeTimers();
    let settled: boolean | undefined;
    void primeSend(command(), () => new Promise(() => {}), answer).then((v) => {
      settled = v;
    });
    await vi.advanceTimersByTimeAsync(PRIME_TIMEOUT_MS - 1);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(false);
  });
});
