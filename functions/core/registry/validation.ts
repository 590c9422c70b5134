/**
 * The validation report behind POST /v1/models/{name}/versions/{v}/validate: does the artifact
 * load, does it match its declared schemas, do its metrics on the caller's validation set meet
 * the thresholds, and does a single-row prediction fit the latency budget.
 *
 * A model that fails a check is a report with `passed: false`, not an error; a request whose
 * dataset does not fit the input schema (or whose labels are not classes of the model) is the
 * caller's mistake and throws a validation_failed error (with the instance's details for instances).
 */
import { encodeInstances } from '../kernel/encode.js';
import { conflict, modelFailed, validationFailed } from '../kernel/errors.js';
import type { InputSchema, OutputSchema } from '../kernel/model-io.js';
import {
  classLabel,
  type Decoded,
  decodeOutputs,
  expectedColumns,
  type OutputPlan,
} from '../kernel/outputs.js';
import type { LoadedModel, ModelRunner } from '../kernel/runner.js';
import { servableBytes } from '../onnx/servable.js';
import { matchSchemas } from '../onnx/signature.js';
import { classificationMetrics, regressionMetrics } from '../training/metrics.js';
import {
  DEFAULT_LATENCY_RUNS,
  type LatencyReport,
  MAX_VALIDATION_ROWS,
  type ReportMetrics,
  type ThresholdResult,
  type Thresholds,
  type ValidationCheck,
  type ValidationReport,
  type ValidationRequest,
} from './validation-report.js';

const WARMUP_RUNS = 5;
/** Stop timing once this much wall time is spent, so a slow model cannot outlive the Lambda. */
const LATENCY_TIME_CAP_MS = 10_000;
/** Rows per run when scoring the dataset: large enough to amortise calls, small enough for memory. */
const SCORING_BATCH = 1024;

export interface ValidateModelInput {
  readonly artifact: Uint8Array;
  readonly inputSchema: InputSchema;
  readonly outputSchema: OutputSchema;
  /** Parsed with `ValidationRequest` by the caller (or any value that satisfies it). */
  readonly request: ValidationRequest;
  readonly runner: ModelRunner;
  /** Monotonic milliseconds for latency timing (default performance.now). */
  readonly now?: () => number;
  /** Wall clock for `ranAt` (default new Date()). */
  readonly clock?: () => Date;
}

export async function validateModel(input: ValidateModelInput): Promise<ValidationReport> {
  const { inputSchema, outputSchema, request, runner } = input;
  const now = input.now ?? (() => performance.now());
  const ranAt = (input.clock ?? (() => new Date()))().toISOString();
  const rows = request.dataset.instances.length;
  if (rows === 0 || rows > MAX_VALIDATION_ROWS) {
    throw validationFailed(`the validation set needs 1 to ${MAX_VALIDATION_ROWS} rows`, {
      field: 'dataset.instances',
    });
  }
  if (request.dataset.labels.length !== rows) {
    throw validationFailed(`${request.dataset.labels.length} labels for ${rows} instances`, {
      field: 'dataset.labels',
    });
  }
  // The caller's data is judged before the model, so a bad request fails the same way whatever
  // the artifact is.
  const batch = encodeInstances(request.dataset.instances, inputSchema);
  const features = inputSchema.features.length;
  const targets = readLabels(request.dataset.labels, outputSchema);

  const checks: ValidationCheck[] = [];
  const finish = (rest: Partial<ValidationReport>): ValidationReport => {
    for (const name of ['loads', 'schema', 'metrics', 'latency'] as const) {
      if (!checks.some((c) => c.name === name)) {
        checks.push({
          name,
          passed: false,
          skipped: true,
          message: 'not run: an earlier check failed',
          details: {},
        });
      }
    }
    return {
      passed: checks.every((c) => c.passed),
      checks,
      metrics: null,
      thresholds: [],
      latency: null,
      model: null,
      rows,
      ranAt,
      ...rest,
    };
  };

  let model: LoadedModel;
  try {
    model = await runner.load(servableBytes(input.artifact));
  } catch (err) {
    checks.push({
      name: 'loads',
      passed: false,
      skipped: false,
      message: `the artifact does not load: ${errorText(err)}`,
      details: { bytes: input.artifact.length },
    });
    return finish({});
  }
  try {
    checks.push({
      name: 'loads',
      passed: true,
      skipped: false,
      message: 'the artifact loads',
      details: { bytes: input.artifact.length },
    });
    const modelInfo = { inputs: model.inputs, outputs: model.outputs };
    const schema = checkSchema(model, inputSchema, outputSchema);
    checks.push(schema.check);
    if (!schema.ok) return finish({ model: modelInfo });
    const { inputName, plan, batchRows } = schema;

    let metrics: ReportMetrics | null = null;
    let thresholds: ThresholdResult[] = [];
    let decoded: Decoded | null = null;
    let runError: string | null = null;
    try {
      decoded = await score(model, batch, rows, features, inputName, plan, batchRows);
    } catch (err) {
      runError = errorText(err);
    }
    if (decoded) {
      metrics = computeMetrics(decoded, targets, outputSchema);
      thresholds = judgeThresholds(metrics, request.thresholds ?? {});
      const failed = thresholds.filter((t) => !t.passed);
      checks.push({
        name: 'metrics',
        passed: failed.length === 0,
        skipped: false,
        message:
          thresholds.length === 0
            ? `metrics computed on ${rows} rows; no thresholds set`
            : failed.length === 0
              ? `all ${thresholds.length} thresholds met on ${rows} rows`
              : `${failed.length} of ${thresholds.length} thresholds missed: ${failed.map(thresholdText).join('; ')}`,
        details: { rows, thresholds },
      });
    } else {
      checks.push({
        name: 'metrics',
        passed: false,
        skipped: false,
        message: `the model failed on the validation set: ${runError}`,
        details: { rows },
      });
    }

    let latency: LatencyReport | null = null;
    try {
      latency = await timeSingleRows(model, batch, rows, features, inputName, request, now);
      const budget = latency.budgetMs;
      const passed = budget === null || latency.p95Ms <= budget;
      checks.push({
        name: 'latency',
        passed,
        skipped: false,
        message:
          budget === null
            ? `p95 ${fmt(latency.p95Ms)} ms over ${latency.runs} single-row runs; no budget set`
            : `p95 ${fmt(latency.p95Ms)} ms ${passed ? 'within' : 'over'} the ${budget} ms budget (${latency.runs} single-row runs)`,
        details: { ...latency },
      });
    } catch (err) {
      checks.push({
        name: 'latency',
        passed: false,
        skipped: false,
        message: `a single-row prediction failed: ${errorText(err)}`,
        details: {},
      });
    }
    return finish({ model: modelInfo, metrics, thresholds, latency });
  } finally {
    await model.release().catch(() => undefined);
  }
}

/**
 * The version's answers on a dataset's instances (labels or values, in order), for judgements
 * other than validation (fairness on a dataset). An artifact that does not load or match its
 * schemas is a conflict: there is nothing to judge.
 */
export async function predictDataset(input: {
  readonly artifact: Uint8Array;
  readonly inputSchema: InputSchema;
  readonly outputSchema: OutputSchema;
  readonly instances: readonly unknown[];
  readonly runner: ModelRunner;
}): Promise<(string | number)[]> {
  const { inputSchema, outputSchema } = input;
  const rows = input.instances.length;
  const batch = encodeInstances(input.instances, inputSchema);
  let model: LoadedModel;
  try {
    model = await input.runner.load(servableBytes(input.artifact));
  } catch (err) {
    throw conflict(`the artifact does not load: ${errorText(err)}`);
  }
  try {
    const schema = checkSchema(model, inputSchema, outputSchema);
    if (!schema.ok) throw conflict(`the artifact does not match its schemas: ${schema.check.message}`);
    let decoded: Decoded;
    try {
      decoded = await score(
        model,
        batch,
        rows,
        inputSchema.features.length,
        schema.inputName,
        schema.plan,
        schema.batchRows,
      );
    } catch (err) {
      throw modelFailed(`the model failed on the dataset: ${errorText(err)}`);
    }
    return decoded.kind === 'regression'
      ? decoded.values
      : decoded.classIndex.map((i) => classLabel(outputSchema, i));
  } finally {
    await model.release().catch(() => undefined);
  }
}

type Targets = { kind: 'regression'; values: number[] } | { kind: 'classes'; indices: number[] };

/**
 * Labels as class indices (classification) or numbers (regression). A label matches a class when
 * equal, or when both print the same ("1" and 1), since JSON clients disagree about quoting.
 */
function readLabels(labels: readonly (number | string)[], schema: OutputSchema): Targets {
  if (schema.kind === 'regression') {
    return {
      kind: 'regression',
      values: labels.map((l, i) => {
        if (typeof l !== 'number' || !Number.isFinite(l)) {
          throw validationFailed(`label ${i} must be a number for a regression model`, {
            field: 'dataset.labels',
            row: i,
          });
        }
        return l;
      }),
    };
  }
  const classes = schema.classes ?? (schema.kind === 'binary' ? [0, 1] : null);
  if (schema.kind === 'binary' && classes && classes.length !== 2) {
    throw validationFailed(`a binary model has 2 classes, the output schema lists ${classes.length}`, {
      field: 'outputSchema.classes',
    });
  }
  return {
    kind: 'classes',
    indices: labels.map((l, i) => {
      if (classes) {
        let idx = classes.indexOf(l);
        if (idx < 0) idx = classes.findIndex((c) => String(c) === String(l));
        if (idx < 0) {
          throw validationFailed(`label ${i} (${JSON.stringify(l)}) is not one of the model's classes`, {
            field: 'dataset.labels',
            row: i,
            classes,
          });
        }
        return idx;
      }
      // Without declared classes, labels are column indices of the probability output.
      const n = typeof l === 'number' ? l : Number(l);
      if (!Number.isInteger(n) || n < 0) {
        throw validationFailed(`label ${i} must be a class index (the output schema declares no classes)`, {
          field: 'dataset.labels',
          row: i,
        });
      }
      return n;
    }),
  };
}

type SchemaResult =
  | { ok: true; check: ValidationCheck; inputName: string; plan: OutputPlan; batchRows: number | null }
  | { ok: false; check: ValidationCheck };

function checkSchema(model: LoadedModel, inputSchema: InputSchema, outputSchema: OutputSchema): SchemaResult {
  const features = inputSchema.features.length;
  const { problems, notes, input, plan, batchRows } = matchSchemas(
    model.inputs,
    model.outputs,
    inputSchema,
    outputSchema,
  );
  const planned = plan ? { ok: true as const, plan } : { ok: false as const };
  const details = {
    input: input ? input.name : null,
    features,
    output: planned.ok
      ? planned.plan.kind === 'regression'
        ? planned.plan.output
        : planned.plan.probabilities
      : null,
    expectedColumns: expectedColumns(outputSchema),
    problems,
    notes,
  };
  if (problems.length > 0 || !input || !planned.ok) {
    return {
      ok: false,
      check: { name: 'schema', passed: false, skipped: false, message: problems.join('; '), details },
    };
  }
  const message = `graph input "${input.name}" takes the ${features} schema features; ${outputSchema.kind} answers read from output "${details.output}"${
    notes.length ? ` (${notes.join('; ')})` : ''
  }`;
  return {
    ok: true,
    check: { name: 'schema', passed: true, skipped: false, message, details },
    inputName: input.name,
    plan: planned.plan,
    batchRows,
  };
}

async function score(
  model: LoadedModel,
  batch: Float32Array,
  rows: number,
  features: number,
  inputName: string,
  plan: OutputPlan,
  batchRows: number | null,
): Promise<Decoded> {
  const step = batchRows ?? SCORING_BATCH;
  const parts: Decoded[] = [];
  for (let start = 0; start < rows; start += step) {
    const n = Math.min(step, rows - start);
    const out = await model.run(
      batch.subarray(start * features, (start + n) * features),
      n,
      features,
      inputName,
    );
    parts.push(decodeOutputs(out, plan, n));
  }
  for (const p of parts) {
    const values = p.kind === 'regression' ? p.values : p.probabilities.flat();
    if (!values.every(Number.isFinite))
      throw new Error('the model produced non-finite outputs (NaN or Infinity)');
  }
  const first = parts[0] as Decoded;
  if (first.kind === 'regression') {
    return { kind: 'regression', values: parts.flatMap((p) => (p.kind === 'regression' ? p.values : [])) };
  }
  const classIndex: number[] = [];
  const probabilities: number[][] = [];
  for (const p of parts) {
    if (p.kind === 'regression') continue;
    if ((p.probabilities[0]?.length ?? 0) !== (first.probabilities[0]?.length ?? 0)) {
      throw new Error('the number of probability columns changed between batches');
    }
    classIndex.push(...p.classIndex);
    probabilities.push(...p.probabilities);
  }
  return { kind: first.kind, classIndex, probabilities };
}

function computeMetrics(decoded: Decoded, targets: Targets, schema: OutputSchema): ReportMetrics {
  if (decoded.kind === 'regression') {
    if (targets.kind !== 'regression') throw new Error('unreachable: regression output with class labels');
    return { kind: 'regression', ...regressionMetrics(targets.values, decoded.values) };
  }
  if (targets.kind !== 'classes') throw new Error('unreachable: class output with numeric targets');
  const k = decoded.probabilities[0]?.length ?? 0;
  targets.indices.forEach((idx, i) => {
    if (idx >= k) {
      throw validationFailed(`label ${i} (${idx}) is not a class index of a model with ${k} classes`, {
        field: 'dataset.labels',
        row: i,
      });
    }
  });
  const classes = schema.classes ?? Array.from({ length: k }, (_, i) => i);
  return {
    kind: decoded.kind,
    classes,
    ...classificationMetrics({
      actual: targets.indices,
      predicted: decoded.classIndex,
      classes: k,
      positive: 1,
      probabilities: decoded.probabilities,
    }),
  };
}

const THRESHOLD_BOUNDS: Record<string, 'min' | 'max'> = {
  accuracy: 'min',
  precision: 'min',
  recall: 'min',
  f1: 'min',
  auc: 'min',
  logLoss: 'max',
  rmse: 'max',
  mae: 'max',
  r2: 'min',
};

/**
 * Each threshold against the metrics: a metric the metrics lack (accuracy of a regressor, or a
 * report without metrics) misses its threshold.
 */
export function judgeThresholds(
  metrics: ReportMetrics | Record<string, unknown> | null,
  thresholds: Thresholds,
): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  for (const [metric, spec] of Object.entries(thresholds)) {
    if (!spec) continue;
    const bound = THRESHOLD_BOUNDS[metric] as 'min' | 'max';
    const threshold = 'min' in spec ? spec.min : spec.max;
    const raw = metrics ? (metrics as Record<string, unknown>)[metric] : undefined;
    const value = typeof raw === 'number' ? raw : null;
    const passed = value !== null && (bound === 'min' ? value >= threshold : value <= threshold);
    results.push({ metric, bound, threshold, value, passed });
  }
  return results;
}

export function thresholdText(t: ThresholdResult): string {
  if (t.value === null) return `${t.metric} is not available for this model`;
  return `${t.metric} ${fmt(t.value)} ${t.bound === 'min' ? '<' : '>'} ${t.threshold}`;
}

async function timeSingleRows(
  model: LoadedModel,
  batch: Float32Array,
  rows: number,
  features: number,
  inputName: string,
  request: ValidationRequest,
  now: () => number,
): Promise<LatencyReport> {
  const runs = request.latencyRuns ?? DEFAULT_LATENCY_RUNS;
  const row = (i: number): Float32Array => {
    const r = i % rows;
    return batch.subarray(r * features, (r + 1) * features);
  };
  // The first runs pay for lazy allocation inside the runtime; a warm Lambda does not.
  for (let i = 0; i < Math.min(WARMUP_RUNS, runs); i++) await model.run(row(i), 1, features, inputName);
  const times: number[] = [];
  const started = now();
  for (let i = 0; i < runs; i++) {
    const t0 = now();
    await model.run(row(i), 1, features, inputName);
    const t1 = now();
    times.push(Math.max(0, t1 - t0));
    if (t1 - started > LATENCY_TIME_CAP_MS) break;
  }
  times.sort((a, b) => a - b);
  return {
    runs: times.length,
    p50Ms: quantile(times, 0.5),
    p95Ms: quantile(times, 0.95),
    maxMs: times[times.length - 1] as number,
    meanMs: times.reduce((a, b) => a + b, 0) / times.length,
    budgetMs: request.latencyBudgetMs ?? null,
  };
}

/** Linear interpolation between order statistics (numpy's default) on sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of no values');
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
