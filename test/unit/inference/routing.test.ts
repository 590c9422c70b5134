import { describe, expect, it } from 'vitest';
import { ROUTE_CACHE_MS, VersionRouter } from '../../../functions/core/inference/routing.js';
import type { Model, ModelVersion } from '../../../functions/core/registry/types.js';

/**
 * The route cache under steady traffic: a request near the end of an entry's life re-reads it in
 * the background, so the request after the expiry does not wait for the registry (a slow read
 * would otherwise stall it), and nothing is served staler than ROUTE_CACHE_MS.
 */
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
  const calls: string[] = [];
  /** While set, reads hang until it is released: a slow DynamoDB. */
  let gate: Promise<void> | undefined;
  const store = {
    getModel: async (name: string) => {
      reads++;
      calls.push(`model ${name}`);
      await gate;
      return { name, productionVersion: production } as unknown as Model;
    },
    getVersion: async (model: string, version: string) => {
      reads++;
      calls.push(`version ${model}@${version}`);
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
    /** The reads started so far, in order. */
    calls: () => [...calls],
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

describe('VersionRouter refresh ahead', () => {
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

/**
 * Reads of entries the cache does not hold (a cold start's first request, or after an expiry):
 * what can be read at once is, and a request never reads what another has under way.
 */
describe('VersionRouter cold reads', () => {
  it('reads a named version at the same time as its model', async () => {
    const r = rig();
    const release = r.hold();
    const routed = r.router.route('m', { version: '1.0.0' });
    await new Promise((ok) => setTimeout(ok, 5));
    // Both reads are under way while the registry has answered neither.
    expect(r.calls()).toEqual(['model m', 'version m@1.0.0']);
    release();
    expect((await routed).version.version).toBe('1.0.0');
    expect(r.reads()).toBe(2);
  });

  it('reads the production version only once the model says which it is', async () => {
    const r = rig();
    const release = r.hold();
    const routed = r.router.route('m', {});
    await new Promise((ok) => setTimeout(ok, 5));
    expect(r.calls()).toEqual(['model m']);
    release();
    expect((await routed).version.version).toBe('1.0.0');
    expect(r.calls()).toEqual(['model m', 'version m@1.0.0']);
  });

  it('shares a read under way among the requests that need it', async () => {
    const r = rig();
    const release = r.hold();
    const first = r.router.route('m', {});
    const second = r.router.route('m', { version: '1.0.0' });
    r.router.prefetch('m');
    release();
    const routes = await Promise.all([first, second]);
    expect(routes.map((x) => x.version.version)).toEqual(['1.0.0', '1.0.0']);
    expect(r.calls()).toEqual(['model m', 'version m@1.0.0']);
  });

  it('lets a prefetched model be joined by the route that follows it', async () => {
    const r = rig();
    r.router.prefetch('m');
    expect(r.calls()).toEqual(['model m']);
    expect((await r.router.route('m', {})).version.version).toBe('1.0.0');
    expect(r.reads()).toBe(2);
  });

  it('reports a failed shared read to each request, and reads again after it', async () => {
    let fail = true;
    let reads = 0;
    const store = {
      getModel: async (name: string) => {
        reads++;
        await new Promise((ok) => setTimeout(ok, 1));
        if (fail) throw new Error('registry unavailable');
        return { name, productionVersion: '1.0.0' } as unknown as Model;
      },
      getVersion: async (model: string, version: string) =>
        ({ model, version, status: 'ready', stage: 'production' }) as unknown as ModelVersion,
      listProductionChanges: async () => ({ items: [] }),
    };
    const router = new VersionRouter(store, { now: () => new Date(0) });
    router.prefetch('m');
    const outcomes = await Promise.allSettled([router.route('m', {}), router.route('m', {})]);
    expect(outcomes.map((o) => o.status === 'rejected' && (o.reason as Error).message)).toEqual([
      'registry unavailable',
      'registry unavailable',
    ]);
    expect(reads).toBe(1);
    fail = false;
    expect((await router.route('m', {})).version.version).toBe('1.0.0');
    expect(reads).toBe(2);
  });
});
