/** What the API shows of domain objects: storage keys and concurrency counters stay inside. */
import type { Experiment } from '../core/experiments/definition.js';
import { aliasesOf } from '../core/registry/aliases.js';
import type { Model, ModelVersion } from '../core/registry/types.js';

export function modelView(m: Model) {
  return {
    name: m.name,
    description: m.description,
    tags: m.tags,
    productionVersion: m.productionVersion ?? null,
    latestVersion: m.latestVersion ?? null,
    aliases: aliasesOf(m),
    versionCount: m.versionCount,
    requireValidation: m.requireValidation,
    fallback: m.fallback ?? true,
    allowUnservableProduction: m.allowUnservableProduction ?? false,
    minValidationRows: m.minValidationRows ?? null,
    requiredThresholds: m.requiredThresholds ?? null,
    promotionGate: m.promotionGate ?? null,
    createdAt: m.createdAt,
    createdBy: m.createdBy,
    updatedAt: m.updatedAt,
  };
}

export function versionView(v: ModelVersion) {
  return {
    model: v.model,
    version: v.version,
    stage: v.stage,
    status: v.status,
    framework: v.framework,
    runtime: v.runtime,
    sha256: v.artifact.sha256,
    size: v.artifact.size ?? null,
    inputSchema: v.inputSchema ?? null,
    outputSchema: v.outputSchema ?? null,
    derivedSchemas: v.derivedSchemas ?? [],
    graph: v.graph ?? null,
    metrics: v.metrics,
    params: v.params,
    dataset: v.dataset ? { ...v.dataset, verified: v.dataset.verified ?? false } : null,
    source: v.source ?? null,
    parent: v.parent ?? null,
    tags: v.tags,
    description: v.description,
    approval: v.approval ?? null,
    validation: v.validation
      ? { passed: v.validation.passed, ranAt: v.validation.ranAt, by: v.validation.by }
      : null,
    // What the approver sees of each stored fairness run: the summaries the gate compares.
    fairness: Object.fromEntries(
      Object.entries(v.fairness ?? {}).map(([attribute, f]) => [
        attribute,
        {
          ranAt: f.ranAt,
          by: f.by,
          rows: f.report.rows ?? null,
          positive: f.report.positive ?? null,
          demographicParityDifference: f.report.demographicParityDifference ?? null,
          demographicParityRatio: f.report.demographicParityRatio ?? null,
          equalOpportunityDifference: f.report.equalOpportunityDifference ?? null,
          equalizedOddsDifference: f.report.equalizedOddsDifference ?? null,
          fourFifthsRule: f.report.fourFifthsRule ?? null,
          unreliableGroups: f.report.unreliableGroups ?? [],
        },
      ]),
    ),
    unusableReason: v.unusableReason ?? null,
    lastVerifiedAt: v.lastVerifiedAt ?? null,
    uploadExpiresAt: v.uploadExpiresAt ?? null,
    failedUploads: v.failedUploads ?? 0,
    lastFailedUpload: v.lastFailedUpload ?? null,
    createdAt: v.createdAt,
    createdBy: v.createdBy,
    updatedAt: v.updatedAt,
  };
}

/**
 * An experiment as stored, with its current weights (variant → percentage) read from the
 * allocation; the allocation stays, since clients reproduce assignment from it. The revision and
 * the running minima of the p-values (sequential, shown through the results) stay inside.
 */
export function experimentView(e: Experiment) {
  const { revision: _revision, sequential: _pMin, ...shown } = e;
  const counts = new Map<string, number>();
  for (const slot of e.allocation.slots) {
    const name = e.allocation.variants[slot]!;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return { ...shown, weights: Object.fromEntries(e.variants.map((v) => [v.name, counts.get(v.name) ?? 0])) };
}

/** Results without the running minima the service keeps for itself (sequential). */
export function resultsView<T extends { readonly sequential?: unknown }>(results: T): Omit<T, 'sequential'> {
  const { sequential: _pMin, ...rest } = results;
  return rest;
}
