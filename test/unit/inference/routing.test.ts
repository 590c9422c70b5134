import { describe, expect, it } from 'vitest';
import { ROUTE_CACHE_MS, VersionRouter } from '../../../functions/core/inference/routing.js';
import type { Model, ModelVersion } from '../../../functions/core/registry/types.js';

/**
 * The route cache under steady traffic: a request near the end of an entry's life re-reads it in
 * the background, so the request after the expiry does not wait for the registry (a slow read
 * would otherwise stall it), and nothing is served staler than ROUTE_CACHE_MS.
 */
describe('VersionRouter refresh ahead', () => {
  function rig() {
    let t = 0;
    const clock = {
      now: () => new Date(t),
      advance: (ms: number) => {
        t += ms;
      },
    };
    let production = '1.0.0';
    let reads = 0;
    /** While set, reads hang until it is released: a slow DynamoDB. */
    let gate: Promise<void> | undefined;
    const store = {
      getModel: async (name: string) => {
        reads++;
        await gate;
        return { name, productionVersion: production } as unknown as Model;
      },
      getVersion: async (model: string, version: string) => {
        reads++;
        await gate;
        return { model, version, status: 'ready', stage: 'production' } as unknown as ModelVersion;
      },
      listProductionChanges: async () => ({ items: [] }),
    };
    const router = new VersionRouter(store, clock);
    return {
      router,
      clock,
      promote: (v: string) => {
        production = v;
      },
      reads: () => reads,
      hold: () => {
        let release!: () => void;
        gate = new Promise<void>((r) => (release = r));
        return () => {
          gate = undefined;
          release();
        };
      },
    };
  }

  /** The route, or 'waiting' when it does not settle within a few turns. */
  const settle = async <T>(p: Promise<T>): Promise<T | 'waiting'> =>
    Promise.race([p, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), 20))]);

  it('re-reads in the background near expiry, so the request after it does not wait', async () => {
    const r = rig();
    expect((await r.router.route('m', {})).version.version).toBe('1.0.0');
    r.clock.advance(ROUTE_CACHE_MS * 0.8);
    // Still fresh: answered from the cache at once, and the re-read starts behind it.
    expect((await r.router.route('m', {})).version.version).toBe('1.0.0');
    await new Promise((ok) => setTimeout(ok, 5));
    r.clock.advance(ROUTE_CACHE_MS * 0.3);
    // Past the first read's expiry: the background reads answer, with no wait even though the
    // registry is now slow.
    const release = r.hold();
    const routed = await settle(r.router.route('m', {}));
    release();
    expect(routed).not.toBe('waiting');
    expect(routed !== 'waiting' && routed.version.version).toBe('1.0.0');
  });

  it('never serves a read older than ROUTE_CACHE_MS', async () => {
    const r = rig();
    await r.router.route('m', {});
    r.promote('2.0.0');
    r.clock.advance(ROUTE_CACHE_MS);
    expect((await r.router.route('m', {})).version.version).toBe('2.0.0');
  });

  it('reads nothing in the background while an entry is young', async () => {
    const r = rig();
    await r.router.route('m', {});
    const before = r.reads();
    r.clock.advance(ROUTE_CACHE_MS * 0.5);
    await r.router.route('m', {});
    await new Promise((ok) => setTimeout(ok, 5));
    expect(r.reads()).toBe(before);
  });
});
