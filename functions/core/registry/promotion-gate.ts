/**
 * What a version must show before production, beyond approval (docs/registry.md, "Promotion
 * gate"): the model's validation policy (validation-gate.ts), fairness bounds on the fairness
 * reports stored on the version (POST …/versions/{v}/fairness), and no open high-severity
 * data-quality alert on the model. Every failed check is reported at once, so one refusal says
 * everything that stands in the way.
 */
import * as z from 'zod';
import type { Model, ModelVersion } from './types.js';
import { validationShortfall } from './validation-gate.js';

/** The fairness summaries a rule can bound (functions/core/monitoring/fairness.ts). */
export const FAIRNESS_GATE_METRICS = [
  'demographicParityDifference',
  'demographicParityRatio',
  'equalOpportunityDifference',
  'equalizedOddsDifference',
] as const;
export type FairnessGateMetric = (typeof FAIRNESS_GATE_METRICS)[number];

export const FairnessGateRule = z
  .strictObject({
    /** The attribute the version's fairness report was stored under. */
    attribute: z.string().min(1).max(64),
    metric: z.enum(FAIRNESS_GATE_METRICS),
    max: z.number().min(0).max(1).optional(),
    min: z.number().min(0).max(1).optional(),
  })
  .refine((r) => r.max !== undefined || r.min !== undefined, 'give max or min');
export type FairnessGateRule = z.infer<typeof FairnessGateRule>;

export const PromotionGate = z.strictObject({
  fairness: z.array(FairnessGateRule).max(20).optional(),
  /**
   * Refuse production while the model has an open data-quality alert of severity high (inputs
   * the model cannot read as it should: type mismatches, missing columns, malformed rows).
   */
  noOpenCriticalQualityAlert: z.boolean().optional(),
});
export type PromotionGate = z.infer<typeof PromotionGate>;

/** An open alert as the gate sees it (from the monitoring table, through RegistryDeps.alerts). */
export interface OpenAlert {
  readonly id: string;
  readonly kind?: string;
  readonly severity: string;
  readonly title: string;
}

export interface FailedCheck {
  readonly check: 'validation' | 'fairness' | 'quality_alert';
  readonly message: string;
  readonly details: Record<string, unknown>;
}

/**
 * Every check of the model's gate the version fails. `alerts` is the model's open alerts, or
 * undefined when they were not read (rollback, or no rule needs them).
 */
export function gateFailures(
  model: Pick<Model, 'requireValidation' | 'minValidationRows' | 'requiredThresholds' | 'promotionGate'>,
  v: Pick<ModelVersion, 'validation' | 'fairness'>,
  alerts: readonly OpenAlert[] | undefined,
): FailedCheck[] {
  const failed: FailedCheck[] = [];
  const shortfall = validationShortfall(model, v);
  if (shortfall) {
    failed.push({
      check: 'validation',
      message: `a passing validation report is required: ${shortfall.message}`,
      details: shortfall.details,
    });
  }
  for (const rule of model.promotionGate?.fairness ?? []) {
    const f = fairnessFailure(rule, v);
    if (f) failed.push(f);
  }
  if (model.promotionGate?.noOpenCriticalQualityAlert && alerts) {
    const critical = alerts.filter((a) => a.kind === 'quality' && a.severity === 'high');
    if (critical.length > 0) {
      failed.push({
        check: 'quality_alert',
        message: `${critical.length} open high-severity data-quality alert${critical.length === 1 ? '' : 's'} (${critical
          .map((a) => a.id)
          .join(', ')}): acknowledge once resolved`,
        details: { alerts: critical.map((a) => ({ id: a.id, title: a.title })) },
      });
    }
  }
  return failed;
}

function fairnessFailure(rule: FairnessGateRule, v: Pick<ModelVersion, 'fairness'>): FailedCheck | null {
  const bound = [rule.max !== undefined ? `≤ ${rule.max}` : '', rule.min !== undefined ? `≥ ${rule.min}` : '']
    .filter(Boolean)
    .join(' and ');
  const base = {
    attribute: rule.attribute,
    metric: rule.metric,
    max: rule.max ?? null,
    min: rule.min ?? null,
  };
  const stored =
    v.fairness && Object.hasOwn(v.fairness, rule.attribute) ? v.fairness[rule.attribute] : undefined;
  if (!stored) {
    return {
      check: 'fairness',
      message: `no fairness report on attribute ${rule.attribute}: POST …/fairness with a dataset first (${rule.metric} must be ${bound})`,
      details: { ...base, value: null, reason: 'no_report' },
    };
  }
  const estimate = stored.report[rule.metric] as { value?: unknown } | undefined;
  const value = typeof estimate?.value === 'number' ? estimate.value : null;
  if (value === null) {
    return {
      check: 'fairness',
      message: `${rule.metric} on ${rule.attribute} is undefined in the stored report (fewer than two groups with the rate's denominator)`,
      details: { ...base, value: null, reason: 'undefined' },
    };
  }
  if ((rule.max !== undefined && value > rule.max) || (rule.min !== undefined && value < rule.min)) {
    return {
      check: 'fairness',
      message: `${rule.metric} on ${rule.attribute} is ${Number(value.toFixed(4))}, must be ${bound}`,
      details: { ...base, value, ranAt: stored.ranAt, reason: 'out_of_bounds' },
    };
  }
  return null;
}
