/**
 * The validation gate: runs the validation report on a version's stored artifact and records
 * its summary on the version, where a model's `requireValidation` policy looks for it.
 */
import type { Principal } from '../auth/principal.js';
import { conflict, integrityFailed } from '../kernel/errors.js';
import type { ModelRunner } from '../kernel/runner.js';
import type { Lifecycle } from './lifecycle.js';
import { type RegistryRecords, sha256Hex } from './records.js';
import type { Model, ModelVersion } from './types.js';
import { judgeThresholds, predictDataset, thresholdText, validateModel } from './validation.js';
import type { ValidationReport, ValidationRequest } from './validation-report.js';

export class ValidationGate {
  constructor(
    private readonly records: RegistryRecords,
    private readonly lifecycle: Pick<Lifecycle, 'markUnusable'>,
  ) {}

  /** Checks the artifact's SHA-256 first: a report on other bytes than the registered ones would be worthless. */
  async validate(
    principal: Principal,
    name: string,
    version: string,
    request: ValidationRequest,
    runner: ModelRunner,
  ): Promise<ValidationReport> {
    const { v, bytes } = await this.verifiedArtifact(principal, name, version);
    const report = await validateModel({
      artifact: bytes,
      inputSchema: v.inputSchema,
      outputSchema: v.outputSchema,
      request,
      runner,
    });
    await this.record(principal, name, version, report as unknown as { passed: boolean });
    return report;
  }

  /** The version's answers on a dataset, from its verified artifact (fairness on a dataset). */
  async predict(
    principal: Principal,
    name: string,
    version: string,
    instances: readonly unknown[],
    runner: ModelRunner,
  ): Promise<{ version: ModelVersion; predictions: (string | number)[] }> {
    const { v, bytes } = await this.verifiedArtifact(principal, name, version);
    const predictions = await predictDataset({
      artifact: bytes,
      inputSchema: v.inputSchema,
      outputSchema: v.outputSchema,
      instances,
      runner,
    });
    return { version: v, predictions };
  }

  /**
   * Stores a fairness summary on the version under its attribute (the latest per attribute
   * stands), audited as version.fairness: the promotion gate's fairness rules read it there.
   */
  async recordFairness(
    principal: Principal,
    name: string,
    version: string,
    attribute: string,
    summary: Record<string, unknown>,
  ): Promise<ModelVersion> {
    const v = await this.records.getVersion(name, version);
    return this.records.updateVersion(principal, v, 'version.fairness', (cur) => ({
      ...cur,
      fairness: {
        ...cur.fairness,
        [attribute]: { ranAt: this.records.now(), by: principal.id, report: summary },
      },
    }));
  }

  /**
   * The version's artifact after its SHA-256 is checked: a report on other bytes than the
   * registered ones would be worthless.
   */
  private async verifiedArtifact(
    principal: Principal,
    name: string,
    version: string,
  ): Promise<{
    v: ModelVersion & Required<Pick<ModelVersion, 'inputSchema' | 'outputSchema'>>;
    bytes: Uint8Array;
  }> {
    const v = await this.records.getVersion(name, version);
    if (v.status !== 'ready') throw conflict(`version ${version} is ${v.status}`, { status: v.status });
    if (v.framework !== 'onnx') {
      throw conflict('validation runs ONNX artifacts; this version is served by a SageMaker endpoint', {
        framework: v.framework,
      });
    }
    if (!v.inputSchema || !v.outputSchema) {
      throw conflict('validation needs the inputSchema and outputSchema the version was registered with', {
        inputSchema: Boolean(v.inputSchema),
        outputSchema: Boolean(v.outputSchema),
      });
    }
    const bytes = await this.records.deps.artifacts.get(v.artifact.key, v.artifact.versionId);
    const actual = bytes ? await sha256Hex(bytes) : 'missing';
    if (actual !== v.artifact.sha256) {
      await this.lifecycle.markUnusable(
        principal,
        v,
        'stored artifact does not match its recorded sha256',
        actual,
      );
      throw integrityFailed(
        'the stored artifact does not match its recorded sha256; the version is unusable',
        {
          expected: v.artifact.sha256,
          actual,
        },
      );
    }
    return {
      v: v as ModelVersion & Required<Pick<ModelVersion, 'inputSchema' | 'outputSchema'>>,
      bytes: bytes!,
    };
  }

  /** Records a report that ran elsewhere. */
  async record(
    principal: Principal,
    name: string,
    version: string,
    report: { passed: boolean; [k: string]: unknown },
  ): Promise<ModelVersion> {
    const v = await this.records.getVersion(name, version);
    return this.records.updateVersion(principal, v, 'version.validate', (cur) => ({
      ...cur,
      validation: { passed: report.passed, ranAt: this.records.now(), by: principal.id, report },
    }));
  }
}

/** Why a version's validation does not satisfy the model's policy for production, if it does not. */
export interface ValidationShortfall {
  readonly message: string;
  readonly details: Record<string, unknown>;
}

/**
 * Whether the version's latest report lets it reach production under the model's policy: with
 * `requireValidation`, it must have passed, on at least `minValidationRows` rows, with every
 * `requiredThresholds` bound met by its metrics. The report's own thresholds are the caller's
 * choice, so they are not what decides: a report on one row with no thresholds passes its own
 * checks but not a policy that asks for more.
 */
export function validationShortfall(
  model: Pick<Model, 'requireValidation' | 'minValidationRows' | 'requiredThresholds'>,
  v: Pick<ModelVersion, 'validation'>,
): ValidationShortfall | null {
  if (!model.requireValidation) return null;
  const validation = v.validation;
  if (!validation) return { message: 'no validation report', details: { validation: 'none' } };
  if (validation.passed !== true) {
    return { message: 'its latest validation report failed', details: { validation: 'failed' } };
  }
  const report = validation.report;
  const rows = typeof report.rows === 'number' ? report.rows : null;
  if (model.minValidationRows !== undefined && (rows === null || rows < model.minValidationRows)) {
    return {
      message: `its latest validation report ran on ${rows ?? 'an unknown number of'} rows; the model requires at least ${model.minValidationRows}`,
      details: { validation: 'too_few_rows', rows, minValidationRows: model.minValidationRows },
    };
  }
  const required = model.requiredThresholds ?? {};
  const metrics =
    report.metrics && typeof report.metrics === 'object' ? (report.metrics as Record<string, unknown>) : null;
  const missed = judgeThresholds(metrics, required).filter((t) => !t.passed);
  if (missed.length > 0) {
    return {
      message: `its latest validation report misses the model's required thresholds: ${missed.map(thresholdText).join('; ')}`,
      details: { validation: 'thresholds_missed', thresholds: missed },
    };
  }
  return null;
}
