/**
 * Which variant of the model's running experiment answers a request (docs/inference.md,
 * "Experiments"). The running experiment is read through the same short cache as routing
 * (ROUTE_CACHE_MS): a read per prediction would cost more than the prediction. A read that fails
 * is logged and the model is served as if no experiment ran, until the next read: an experiment
 * must never make a prediction fail.
 *
 * ab / canary: a request with a subject gets the subject's sticky variant (core/experiments/
 * assignment.ts; one compiled assigner per experiment and allocation epoch); one without is
 * assigned at random by the weights. shadow: the control answers every request and the shadow
 * variant gets a copy after the answer (service.ts).
 */
import { assigner, SLOTS } from '../experiments/assignment.js';
import type { Variant } from '../experiments/definition.js';
import type { ServingExperiment } from '../experiments/serving.js';
import type { Clock } from '../kernel/clock.js';
import type { ExperimentReader } from './ports.js';
import { ROUTE_CACHE_MS } from './routing.js';

/** The variant a request is served by, and what its capture records. */
export interface ExperimentRoute {
  readonly experiment: ServingExperiment;
  readonly variant: Variant;
  /** shadow: the variant that gets a copy of the request after the answer. */
  readonly shadow?: Variant;
}

/**
 * An experiment prepared for the hot path: its assigner and one route per allocation index, built
 * once per experiment and epoch, so assigning a request allocates nothing.
 */
interface Compiled {
  readonly experiment: ServingExperiment;
  readonly pick: (subject: string) => number;
  /** By allocation variant index; undefined where the allocation names an unknown variant. */
  readonly routes: readonly (ExperimentRoute | undefined)[];
  readonly shadow?: ExperimentRoute;
}

interface Entry {
  readonly value: Compiled | undefined;
  readonly at: number;
}

export interface ExperimentRouterOptions {
  readonly ttl?: number;
  /** Uniform in [0, 1): the assignment of requests without a subject. */
  readonly random?: () => number;
  readonly log?: { warn(message: string, extra?: Record<string, unknown>): void };
}

export class ExperimentRouter {
  private readonly cache = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Compiled | undefined>>();
  /** One compiled form per experiment id and epoch (the allocation changes only with the epoch). */
  private readonly compiled = new Map<string, Compiled>();
  private readonly ttl: number;
  private readonly random: () => number;

  constructor(
    private readonly reader: ExperimentReader,
    private readonly clock: Clock,
    private readonly options: ExperimentRouterOptions = {},
  ) {
    this.ttl = options.ttl ?? ROUTE_CACHE_MS;
    this.random = options.random ?? Math.random;
  }

  /**
   * The variant for a request to `model`, or undefined: serve as usual. Synchronous while the
   * cached read is fresh (nearly always): an await per request costs more than the assignment.
   */
  route(
    model: string,
    subject: string | undefined,
  ): ExperimentRoute | undefined | Promise<ExperimentRoute | undefined> {
    const hit = this.cache.get(model);
    if (hit && this.clock.now().getTime() - hit.at < this.ttl) return this.pick(hit.value, subject);
    return this.running(model).then((c) => this.pick(c, subject));
  }

  private pick(c: Compiled | undefined, subject: string | undefined): ExperimentRoute | undefined {
    if (!c) return undefined;
    if (c.shadow) return c.shadow;
    const index =
      subject !== undefined
        ? c.pick(subject)
        : c.experiment.allocation.slots[Math.min(SLOTS - 1, Math.floor(this.random() * SLOTS))]!;
    return c.routes[index];
  }

  private compile(e: ServingExperiment): Compiled | undefined {
    const key = `${e.id}#${e.epoch}`;
    const known = this.compiled.get(key);
    if (known) return known;
    const control = e.variants.find((v) => v.control);
    let c: Compiled | undefined;
    if (e.kind === 'shadow') {
      const shadow = e.variants.find((v) => !v.control);
      c =
        control && shadow
          ? { experiment: e, pick: () => 0, routes: [], shadow: { experiment: e, variant: control, shadow } }
          : undefined;
    } else {
      const routes = e.allocation.variants.map((name) => {
        const variant = e.variants.find((v) => v.name === name);
        if (!variant) {
          this.options.log?.warn('experiment allocation names an unknown variant; serving production', {
            experimentId: e.id,
            variant: name,
          });
        }
        return variant ? { experiment: e, variant } : undefined;
      });
      c = { experiment: e, pick: assigner(e.allocation, e.seed), routes };
    }
    // Few experiments run per container; dropping them all now and then bounds the map.
    if (this.compiled.size >= 64) this.compiled.clear();
    if (c) this.compiled.set(key, c);
    return c;
  }

  private async running(model: string): Promise<Compiled | undefined> {
    const now = this.clock.now().getTime();
    // Concurrent requests after expiry share one read.
    let pending = this.loading.get(model);
    if (!pending) {
      pending = this.reader
        .running(model)
        .catch((error: unknown) => {
          this.options.log?.warn('running experiment not read; serving production', {
            model,
            error: String(error),
          });
          return undefined;
        })
        .then((e) => {
          const value = e ? this.compile(e) : undefined;
          this.cache.set(model, { value, at: now });
          return value;
        })
        .finally(() => this.loading.delete(model));
      this.loading.set(model, pending);
    }
    return pending;
  }
}
