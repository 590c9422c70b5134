/**
 * What predict needs of experiments: the serving view of a running one, and the metric its
 * exposures are counted under. Apart from definition.ts and results.ts because predict uses
 * neither the definitions' schemas nor the statistics, and building those schemas cost the
 * inference function's cold start several milliseconds (issue 13).
 */
import type { Allocation } from './assignment.js';
import type { Experiment, ExperimentKind, Variant } from './definition.js';

/** Units (subjects, or requests without one) assigned to each variant: what the SRM test counts. */
export const EXPOSURES = '__exposures';

/** Exposure counts are kept per allocation epoch: SRM compares them with that epoch's weights. */
export function exposureMetric(epoch: number): string {
  return `${EXPOSURES}#${epoch}`;
}

/** What serving needs of a running experiment: small, cached per model by the inference function. */
export interface ServingExperiment {
  readonly id: string;
  readonly kind: ExperimentKind;
  readonly seed: string;
  readonly allocation: Allocation;
  readonly epoch: number;
  readonly variants: readonly Variant[];
}

export function servingView(e: Experiment): ServingExperiment {
  return {
    id: e.id,
    kind: e.kind,
    seed: e.seed,
    allocation: e.allocation,
    epoch: e.epoch,
    variants: e.variants,
  };
}
