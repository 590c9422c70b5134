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
import type { ServingExperiment, Variant } from '../experiments/definition.js';
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

interface Entry {
  readonly value: ServingExperiment | undefined;
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
  private readonly loading = new Map<string, Promise<ServingExperiment | undefined>>();
  /** One compiled assigner per experiment id and epoch (the allocation changes only with the epoch). */
  private readonly assigners = new Map<string, (subject: string) => number>();
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

  /** The variant for a request to `model`, or undefined: serve as usual. */
  async route(model: string, subject: string | undefined): Promise<ExperimentRoute | undefined> {
    const e = await this.running(model);
    if (!e) return undefined;
    const control = e.variants.find((v) => v.control);
    if (e.kind === 'shadow') {
      const shadow = e.variants.find((v) => !v.control);
      return control && shadow ? { experiment: e, variant: control, shadow } : undefined;
    }
    const index = subject !== undefined ? this.assignerOf(e)(subject) : this.randomIndex(e);
    const name = e.allocation.variants[index];
    const variant = e.variants.find((v) => v.name === name);
    if (!variant) {
      this.options.log?.warn('experiment allocation names an unknown variant; serving production', {
        experimentId: e.id,
        variant: name,
      });
      return undefined;
    }
    return { experiment: e, variant };
  }

  private randomIndex(e: ServingExperiment): number {
    const slot = Math.min(SLOTS - 1, Math.floor(this.random() * SLOTS));
    return e.allocation.slots[slot]!;
  }

  private assignerOf(e: ServingExperiment): (subject: string) => number {
    const key = `${e.id}#${e.epoch}`;
    let pick = this.assigners.get(key);
    if (!pick) {
      // Few experiments run per container; dropping them all now and then bounds the map.
      if (this.assigners.size >= 64) this.assigners.clear();
      pick = assigner(e.allocation, e.seed);
      this.assigners.set(key, pick);
    }
    return pick;
  }

  private async running(model: string): Promise<ServingExperiment | undefined> {
    const now = this.clock.now().getTime();
    const hit = this.cache.get(model);
    if (hit && now - hit.at < this.ttl) return hit.value;
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
        .then((value) => {
          this.cache.set(model, { value, at: now });
          return value;
        })
        .finally(() => this.loading.delete(model));
      this.loading.set(model, pending);
    }
    return pending;
  }
}
