/**
 * Which version answers a request: an explicit version, an alias, or production, and the newest
 * earlier production version when that one cannot serve.
 *
 * Routing reads the registry through a short cache (ROUTE_CACHE_MS): a DynamoDB read per
 * prediction would cost far more than the prediction itself. A promotion is therefore served by
 * the first request after the cache expires, at most ROUTE_CACHE_MS later (docs/inference.md).
 */

import type { Clock } from '../kernel/clock.js';
import { conflict, notFound, validationFailed } from '../kernel/errors.js';
import { aliasTarget, isManagedAlias } from '../registry/aliases.js';
import type { RegistryStore } from '../registry/ports.js';
import type { Model, ModelVersion } from '../registry/types.js';
import type { PredictInput } from './predict-request.js';
import { sessionKey } from './sessions.js';

/** How long routing trusts its last read of a model and its versions. */
export const ROUTE_CACHE_MS = 1_000;
/**
 * From this share of ROUTE_CACHE_MS on, a request that finds the entry still fresh also starts
 * its re-read in the background: under steady traffic the entry is replaced before it expires,
 * so no request waits for DynamoDB (a read that happens to be slow would otherwise stall the one
 * request that finds the entry expired: the tail of the latency). Nothing is served staler than
 * before: a value counts from when its read started, and an expired entry is still re-read on
 * the request path.
 */
export const REFRESH_AHEAD_SHARE = 0.75;

interface Cached<T> {
  readonly value: T;
  readonly at: number;
}

export interface Route {
  readonly model: Model;
  readonly version: ModelVersion;
  /** The caller named the version: no fallback to another one. */
  readonly pinned: boolean;
}

export class VersionRouter {
  private readonly models = new Map<string, Cached<Model | undefined>>();
  private readonly versions = new Map<string, Cached<ModelVersion | undefined>>();
  private readonly fallbacks = new Map<string, Cached<ModelVersion | undefined>>();
  /** Background re-reads under way, by cache and key. */
  private readonly refreshing = new Map<Map<string, unknown>, Map<string, Promise<unknown>>>();
  /**
   * Reads of a missing or expired entry under way, by cache and key: a request that needs the
   * same entry meanwhile waits for that read rather than starting its own (see prefetch).
   */
  private readonly loading = new Map<Map<string, unknown>, Map<string, Promise<unknown>>>();

  constructor(
    private readonly store: Pick<RegistryStore, 'getModel' | 'getVersion' | 'listProductionChanges'>,
    private readonly clock: Clock,
    private readonly ttl: number = ROUTE_CACHE_MS,
  ) {}

  async route(name: string, input: Pick<PredictInput, 'version' | 'alias'>): Promise<Route> {
    return this.routeNow(name, input);
  }

  /**
   * route(), with the route itself (no promise) when the model and the version are both fresh in
   * the cache: the warm predict path, where each await is a measurable share of the request.
   * Throws instead of rejecting; callers inside an async function see the same rejection.
   */
  routeNow(name: string, input: Pick<PredictInput, 'version' | 'alias'>): Route | Promise<Route> {
    if (input.version !== undefined && input.alias !== undefined) {
      throw validationFailed('give either version or alias, not both', { fields: ['version', 'alias'] });
    }
    const model = this.modelNow(name);
    if (!(model instanceof Promise)) return this.routeIn(name, input, model);
    // A named version need not wait for the model's read: both are read at once, and routeIn
    // joins the version's read (a cold start's first request waits one round trip less).
    if (input.version !== undefined) this.prefetchVersion(name, input.version);
    return model.then((m) => this.routeIn(name, input, m));
  }

  /**
   * Starts reading the model now, when the cache does not hold it fresh, for a caller that will
   * route to it once something else it reads at the same time has answered (the running
   * experiment). The route then joins this read. A failure is left to that route to report.
   */
  prefetch(name: string): void {
    // The raw read, not modelNow: a model cached as missing is for the route to report.
    started(this.cached(this.models, name, () => this.store.getModel(name)));
  }

  private prefetchVersion(name: string, version: string): void {
    started(this.versionNow(name, version));
  }

  private routeIn(
    name: string,
    input: Pick<PredictInput, 'version' | 'alias'>,
    model: Model,
  ): Route | Promise<Route> {
    const alias = input.alias ?? 'production';
    const target = input.version ?? aliasTarget(model, alias);
    if (target === undefined) {
      if (alias === 'production') {
        throw conflict(`model ${name} has no production version; name a version or promote one`, {
          model: name,
          alias,
        });
      }
      if (alias === 'latest') throw conflict(`model ${name} has no versions yet`, { model: name, alias });
      throw notFound(`model ${name} has no alias ${alias}`, { model: name, alias });
    }
    // Production falls back to the previous production version; a version named by the caller,
    // or by an alias a person set, answers as itself or not at all.
    const pinned = input.version !== undefined || !isManagedAlias(alias);
    const version = this.versionNow(name, target);
    return version instanceof Promise
      ? version.then((v) => routeTo(name, target, model, v, pinned))
      : routeTo(name, target, model, version, pinned);
  }

  async model(name: string): Promise<Model> {
    return this.modelNow(name);
  }

  private modelNow(name: string): Model | Promise<Model> {
    const model = this.cached(this.models, name, () => this.store.getModel(name));
    return model instanceof Promise ? model.then((m) => existing(name, m)) : existing(name, model);
  }

  async version(name: string, version: string): Promise<ModelVersion | undefined> {
    return this.versionNow(name, version);
  }

  private versionNow(
    name: string,
    version: string,
  ): ModelVersion | undefined | Promise<ModelVersion | undefined> {
    return this.cached(this.versions, `${name}@${version}`, () => this.store.getVersion(name, version));
  }

  /** The cached value itself while fresh (no await on the hit path), else its read. */
  private cached<T>(cache: Map<string, Cached<T>>, key: string, load: () => Promise<T>): T | Promise<T> {
    const now = this.clock.now().getTime();
    const hit = cache.get(key);
    if (hit && now - hit.at < this.ttl) {
      if (now - hit.at >= this.ttl * REFRESH_AHEAD_SHARE) this.refreshAhead(cache, key, load, now);
      return hit.value;
    }
    const pending = readsOf(this.loading, cache);
    const inFlight = pending.get(key) as Promise<T> | undefined;
    if (inFlight) return inFlight;
    const reading = load().then((value) => {
      // Unless forget() dropped the read meanwhile (its next use must read again itself).
      if (pending.get(key) === reading) cache.set(key, { value, at: now });
      return value;
    });
    pending.set(key, reading);
    const done = () => {
      if (pending.get(key) === reading) pending.delete(key);
    };
    reading.then(done, done);
    return reading;
  }

  private refreshAhead<T>(cache: Map<string, Cached<T>>, key: string, load: () => Promise<T>, now: number) {
    const pending = readsOf(this.refreshing, cache);
    if (pending.has(key)) return;
    const reading = load().then(
      (value) => {
        // Unless forget() dropped the entry meanwhile (its next use must read again itself).
        if (pending.get(key) === reading) cache.set(key, { value, at: now });
      },
      // A failed re-read changes nothing: the entry expires and the request path reads again.
      () => undefined,
    );
    pending.set(key, reading);
    void reading.finally(() => {
      if (pending.get(key) === reading) pending.delete(key);
    });
  }

  /** Drops a version read, so its next use sees what the registry now says of it. */
  forget(v: ModelVersion): void {
    const key = `${v.model}@${v.version}`;
    this.versions.delete(key);
    this.refreshing.get(this.versions)?.delete(key);
    this.loading.get(this.versions)?.delete(key);
  }

  /** The newest earlier production version that is ready, other than the failing one. */
  async fallbackFor(
    model: Model,
    failing: ModelVersion,
    isBroken: (v: ModelVersion) => boolean,
  ): Promise<ModelVersion | undefined> {
    return await this.cached(this.fallbacks, sessionKey(failing), async () => {
      const page = await this.store.listProductionChanges(model.name, { limit: 25 });
      const seen = new Set<string>([failing.version]);
      for (const change of page.items) {
        for (const candidate of [change.previous, change.version]) {
          if (candidate === undefined || seen.has(candidate)) continue;
          seen.add(candidate);
          const v = await this.store.getVersion(model.name, candidate);
          if (v && v.status === 'ready' && v.stage !== 'archived' && !isBroken(v)) return v;
        }
      }
      return undefined;
    });
  }
}

/** A read started ahead of its use: its failure is for that use to report, not unhandled here. */
function started(read: unknown): void {
  if (read instanceof Promise) read.catch(() => undefined);
}

/** The reads under way in one cache, by key. */
function readsOf(
  all: Map<Map<string, unknown>, Map<string, Promise<unknown>>>,
  cache: Map<string, unknown>,
): Map<string, Promise<unknown>> {
  let reads = all.get(cache);
  if (!reads) {
    reads = new Map();
    all.set(cache, reads);
  }
  return reads;
}

function existing(name: string, model: Model | undefined): Model {
  if (!model) throw notFound(`model ${name} does not exist`, { model: name });
  return model;
}

function routeTo(
  name: string,
  target: string,
  model: Model,
  version: ModelVersion | undefined,
  pinned: boolean,
): Route {
  if (!version) throw notFound(`model ${name} has no version ${target}`, { model: name, version: target });
  return { model, version, pinned };
}
