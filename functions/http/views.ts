/** What the API shows of domain objects: storage keys and concurrency counters stay inside. */
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
    parent: v.parent ?? null,
    tags: v.tags,
    description: v.description,
    approval: v.approval ?? null,
    validation: v.validation
      ? { passed: v.validation.passed, ranAt: v.validation.ranAt, by: v.validation.by }
      : null,
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
