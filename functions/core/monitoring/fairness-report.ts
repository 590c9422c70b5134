/**
 * Fairness of a version's decisions (docs/fairness.md), from served traffic or from a dataset.
 *
 * From traffic (GET /v1/models/{name}/fairness): the rows are the captured predictions of the
 * window (capture files, which carry each prediction's `context`) whose context has the
 * attribute; labels are joined by prediction id from the labelled predictions of the same window
 * (by prediction time, so late labels count). Selection rates use every such row, labelled or
 * not; TPR and FPR only the labelled ones. Predictions captured without the attribute are counted
 * and left out.
 *
 * From a dataset (POST …/versions/{v}/fairness): the caller's instances are scored by the version
 * and judged against the caller's labels and attribute values; the summary is stored on the
 * version, where the promotion gate reads it.
 */
import type { Principal } from '../auth/principal.js';
import type { LabelledPredictions } from '../inference/ports.js';
import { unsupported, validationFailed } from '../kernel/errors.js';
import type { OutputSchema } from '../kernel/model-io.js';
import type { ModelRunner } from '../kernel/runner.js';
import type { ModelVersion } from '../registry/types.js';
import { type FairnessReport, type FairnessRow, fairnessReport } from './fairness.js';
import { type PerformanceDeps, versionFor, windowOf } from './performance-report.js';
import type { CaptureSource } from './ports.js';

/** Rows one traffic report reads at most (the bootstrap resamples each 1000 times). */
export const MAX_FAIRNESS_ROWS = 50_000;
export const FAIRNESS_RESAMPLES = 1000;

export interface FairnessQuery {
  readonly attribute: string;
  readonly version?: string;
  readonly from?: string;
  readonly to?: string;
  readonly positive?: string;
  readonly seed?: number;
}

export interface TrafficFairness {
  readonly model: string;
  readonly version: string;
  readonly attribute: string;
  readonly positive: string;
  readonly window: { readonly from: string; readonly to: string };
  /** Captured predictions with the attribute in their context (the rows judged). */
  readonly rows: number;
  /** Of them, labelled. */
  readonly labelled: number;
  /** Captured predictions of the window without the attribute (left out). */
  readonly withoutAttribute: number;
  /** More rows than maxRows: the report covers the first maxRows read. */
  readonly truncated: boolean;
  readonly maxRows: number;
  readonly report: FairnessReport;
}

/** The class a decision is positive for: the one named, else a binary model's second class. */
export function positiveClass(schema: OutputSchema | undefined, positive: string | undefined): string {
  if (!schema || schema.kind === 'regression') {
    throw unsupported('fairness judges decisions: it needs a classifier (binary or multiclass)', {
      kind: schema?.kind ?? null,
    });
  }
  const classes = (schema.classes ?? []).map(String);
  if (positive !== undefined) {
    if (classes.length > 0 && !classes.includes(positive)) {
      throw validationFailed(`positive must be one of the model's classes: ${classes.join(', ')}`, {
        field: 'positive',
        classes,
      });
    }
    return positive;
  }
  if (schema.kind === 'binary' && classes.length === 2) return classes[1]!;
  throw validationFailed('name the positive class: the model is not binary with named classes', {
    field: 'positive',
  });
}

export async function trafficFairness(
  deps: Pick<PerformanceDeps, 'registry' | 'clock'> & {
    readonly labels: LabelledPredictions;
    readonly captures: CaptureSource;
    readonly maxRows?: number;
  },
  model: string,
  query: FairnessQuery,
): Promise<TrafficFairness> {
  const { from, to } = windowOf(query, deps.clock.now());
  const v = await versionFor(deps.registry, model, query.version);
  const positive = positiveClass(v.outputSchema, query.positive);
  const maxRows = deps.maxRows ?? MAX_FAIRNESS_ROWS;
  const labels = await deps.labels.labelled(model, from, to, { version: v.version, limit: 10 * maxRows });
  const actual = new Map(labels.rows.map((r) => [r.predictionId, String(r.actual)]));
  const rows: FairnessRow[] = [];
  let withoutAttribute = 0;
  let truncated = false;
  const partitions = await deps.captures.partitions(model, [v.version], from, to);
  read: for (const p of partitions) {
    for await (const row of deps.captures.rows(p)) {
      const t = Date.parse(row.at);
      if (!(t >= from.getTime() && t < to.getTime()) || row.shadow || row.version !== v.version) continue;
      if (row.prediction === undefined) continue;
      const value = row.context?.[query.attribute];
      if (value === undefined || value === null) {
        withoutAttribute++;
        continue;
      }
      if (rows.length >= maxRows) {
        truncated = true;
        break read;
      }
      const label = row.predictionId === undefined ? undefined : actual.get(row.predictionId);
      rows.push({
        group: String(value),
        predicted: String(row.prediction) === positive,
        ...(label !== undefined ? { actual: label === positive } : {}),
      });
    }
  }
  return {
    model,
    version: v.version,
    attribute: query.attribute,
    positive,
    window: { from: from.toISOString(), to: to.toISOString() },
    rows: rows.length,
    labelled: rows.filter((r) => r.actual !== undefined).length,
    withoutAttribute,
    truncated,
    maxRows,
    report: fairnessReport(rows, { resamples: FAIRNESS_RESAMPLES, seed: query.seed ?? 0 }),
  };
}

/** The scalar summary the promotion gate compares (FairnessGateRule.metric). */
export const GATE_METRICS = [
  'demographicParityDifference',
  'demographicParityRatio',
  'equalOpportunityDifference',
  'equalizedOddsDifference',
] as const;
export type GateMetric = (typeof GATE_METRICS)[number];

/** What is stored on a version after a dataset fairness run: the summary, not the rows. */
export function storedSummary(
  report: FairnessReport,
  extra: { attribute: string; positive: string; rows: number },
): Record<string, unknown> {
  return {
    ...extra,
    demographicParityDifference: report.demographicParityDifference,
    demographicParityRatio: report.demographicParityRatio,
    equalOpportunityDifference: report.equalOpportunityDifference,
    equalizedOddsDifference: report.equalizedOddsDifference,
    fourFifthsRule: report.fourFifthsRule,
    groups: report.groups,
    unreliableGroups: report.unreliableGroups,
    bootstrap: report.bootstrap,
  };
}

/** Distinct attribute values a dataset run may have: each group's rates are stored on the version. */
export const MAX_FAIRNESS_GROUPS = 50;

export interface DatasetFairnessInput {
  readonly attribute: string;
  readonly positive?: string | number;
  readonly seed?: number;
  readonly dataset: {
    readonly instances: readonly unknown[];
    readonly labels: readonly (string | number)[];
    readonly groups: readonly (string | number | boolean)[];
  };
}

export interface DatasetFairness {
  readonly model: string;
  readonly version: string;
  readonly attribute: string;
  readonly positive: string;
  readonly rows: number;
  readonly report: FairnessReport;
  readonly ranAt: string;
}

/**
 * Scores the dataset with the version's verified artifact, judges its decisions by group, and
 * stores the summary on the version (audited), where the promotion gate reads it.
 */
export async function datasetFairness(
  gate: {
    predict(
      principal: Principal,
      name: string,
      version: string,
      instances: readonly unknown[],
      runner: ModelRunner,
    ): Promise<{ version: ModelVersion; predictions: (string | number)[] }>;
    recordFairness(
      principal: Principal,
      name: string,
      version: string,
      attribute: string,
      summary: Record<string, unknown>,
    ): Promise<ModelVersion>;
  },
  principal: Principal,
  name: string,
  version: string,
  input: DatasetFairnessInput,
  runner: ModelRunner,
): Promise<DatasetFairness> {
  const { instances, labels, groups } = input.dataset;
  if (labels.length !== instances.length || groups.length !== instances.length) {
    throw validationFailed(
      `${instances.length} instances need as many labels and groups (got ${labels.length} and ${groups.length})`,
      { field: 'dataset' },
    );
  }
  const distinct = new Set(groups.map(String));
  if (distinct.size > MAX_FAIRNESS_GROUPS) {
    throw validationFailed(`at most ${MAX_FAIRNESS_GROUPS} distinct groups`, {
      field: 'dataset.groups',
      given: distinct.size,
    });
  }
  const { version: v, predictions } = await gate.predict(principal, name, version, instances, runner);
  const positive = positiveClass(
    v.outputSchema,
    input.positive === undefined ? undefined : String(input.positive),
  );
  const rows: FairnessRow[] = predictions.map((p, i) => ({
    group: String(groups[i]),
    predicted: String(p) === positive,
    actual: String(labels[i]) === positive,
  }));
  const report = fairnessReport(rows, { resamples: FAIRNESS_RESAMPLES, seed: input.seed ?? 0 });
  const stored = await gate.recordFairness(
    principal,
    name,
    v.version,
    input.attribute,
    storedSummary(report, { attribute: input.attribute, positive, rows: rows.length }),
  );
  return {
    model: name,
    version: v.version,
    attribute: input.attribute,
    positive,
    rows: rows.length,
    report,
    ranAt: stored.fairness?.[input.attribute]?.ranAt ?? '',
  };
}
