/**
 * How a model's outputs are read, given the version's OutputSchema. Shared by validation (which
 * checks the plan can be made) and prediction (which applies it), so both read a model the same
 * way. A regressor's prediction is its one float output; a classifier's is the argmax of its
 * probability output (ties → the lower class index, like ONNX ArgMax), mapped to `classes`.
 * A binary classifier may instead give one column [N, 1] (or [N]) holding P(class 1), as a
 * sigmoid head exported from PyTorch does; it is served as the two columns [1 − p, p].
 */
import type { OutputSchema } from './model-io.js';
import type { ModelOutputs, OutputData, OutputTensor, TensorDim, TensorInfo } from './runner.js';

export type OutputPlan =
  | { readonly kind: 'regression'; readonly output: string }
  | {
      readonly kind: 'binary' | 'multiclass';
      readonly probabilities: string;
      /**
       * Expected number of probability columns, when the schema or the graph fixes it; 1 for a
       * binary model whose single column is P(class 1).
       */
      readonly columns: number | null;
    };

export type PlanResult =
  | { readonly ok: true; readonly plan: OutputPlan }
  | { readonly ok: false; readonly reason: string };

const FLOAT_TYPES = new Set(['float32', 'float64', 'float16']);
const PROBABILITY_NAMES = ['probabilities', 'output_probability', 'probability', 'probs', 'proba'];
const REGRESSION_NAMES = ['y', 'variable', 'prediction', 'predictions', 'output'];

const isFloatTensor = (t: TensorInfo): boolean => FLOAT_TYPES.has(t.type);
const isFlexible = (d: TensorDim | undefined): boolean => d === null || typeof d === 'string';

export function expectedColumns(schema: OutputSchema): number | null {
  if (schema.kind === 'binary') return 2;
  if (schema.kind === 'multiclass') return schema.classes?.length ?? null;
  return null;
}

/** Picks the output that carries the answer, judged from the declared types and shapes. */
export function planOutputs(outputs: readonly TensorInfo[], schema: OutputSchema): PlanResult {
  if (schema.kind === 'regression') {
    const fits = outputs.filter(
      (o) =>
        isFloatTensor(o) &&
        (o.dims === null ||
          o.dims.length === 1 ||
          (o.dims.length === 2 && (o.dims[1] === 1 || isFlexible(o.dims[1])))),
    );
    const chosen = REGRESSION_NAMES.map((n) => fits.find((o) => o.name === n)).find(Boolean) ?? fits[0];
    if (!chosen) {
      return { ok: false, reason: 'a regression model needs a float output of shape [N] or [N, 1]' };
    }
    return { ok: true, plan: { kind: 'regression', output: chosen.name } };
  }
  const want = expectedColumns(schema);
  const fits = outputs.filter((o) => {
    if (!isFloatTensor(o)) return false;
    if (o.dims === null) return true;
    if (o.dims.length !== 2) return false;
    const last = o.dims[1];
    if (isFlexible(last)) return true;
    return want === null ? (last as number) >= 2 : last === want;
  });
  const chosen = PROBABILITY_NAMES.map((n) => fits.find((o) => o.name === n)).find(Boolean) ?? fits[0];
  if (!chosen && schema.kind === 'binary') {
    const single = outputs.find(
      (o) =>
        isFloatTensor(o) &&
        o.dims !== null &&
        (o.dims.length === 1 || (o.dims.length === 2 && o.dims[1] === 1)),
    );
    if (single) return { ok: true, plan: { kind: 'binary', probabilities: single.name, columns: 1 } };
  }
  if (!chosen) {
    const cols = want === null ? 'K ≥ 2' : String(want);
    return {
      ok: false,
      reason: `a ${schema.kind} model needs a float probability output of shape [N, ${cols}]; outputs are ${describe(outputs)}`,
    };
  }
  const declared = chosen.dims?.[1];
  const columns = want ?? (typeof declared === 'number' ? declared : null);
  return { ok: true, plan: { kind: schema.kind, probabilities: chosen.name, columns } };
}

export function describe(values: readonly TensorInfo[]): string {
  if (values.length === 0) return 'none';
  return values
    .map((v) => `${v.name}: ${v.type}[${v.dims ? v.dims.map((d) => d ?? '?').join(', ') : '?'}]`)
    .join(', ');
}

/** The model answered with something the plan cannot read (e.g. a shape the graph did not declare). */
export class OutputShapeError extends Error {
  override readonly name = 'OutputShapeError';
}

export interface DecodedRegression {
  readonly kind: 'regression';
  readonly values: number[];
}

export interface DecodedClassification {
  readonly kind: 'binary' | 'multiclass';
  /** Index of the predicted class per row. */
  readonly classIndex: number[];
  /** Per row, K probabilities in class order. */
  readonly probabilities: number[][];
}

export type Decoded = DecodedRegression | DecodedClassification;

export function decodeOutputs(outputs: ModelOutputs, plan: OutputPlan, rows: number): Decoded {
  if (plan.kind === 'regression') {
    const t = outputs[plan.output];
    if (!t) throw new OutputShapeError(`the model did not return output ${plan.output}`);
    const width = t.dims.length === 0 ? 1 : t.dims.slice(1).reduce((a, b) => a * b, 1);
    if ((t.dims[0] ?? 1) !== rows || width !== 1) {
      throw new OutputShapeError(
        `output ${plan.output} has shape [${t.dims}], expected [${rows}] or [${rows}, 1]`,
      );
    }
    return { kind: 'regression', values: toNumbers(t.data) };
  }
  const t = outputs[plan.probabilities];
  if (!t) throw new OutputShapeError(`the model did not return output ${plan.probabilities}`);
  if (plan.columns === 1) return decodeSingleColumn(t, plan.probabilities, rows);
  const k = t.dims[1];
  if (
    t.dims.length !== 2 ||
    t.dims[0] !== rows ||
    k === undefined ||
    k < 2 ||
    (plan.columns !== null && k !== plan.columns)
  ) {
    const cols = plan.columns ?? 'K';
    throw new OutputShapeError(
      `output ${plan.probabilities} has shape [${t.dims}], expected [${rows}, ${cols}]`,
    );
  }
  const flat = toNumbers(t.data);
  const probabilities: number[][] = [];
  const classIndex: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = flat.slice(r * k, (r + 1) * k);
    let best = 0;
    for (let c = 1; c < k; c++) if ((row[c] as number) > (row[best] as number)) best = c;
    probabilities.push(row);
    classIndex.push(best);
  }
  return { kind: plan.kind, classIndex, probabilities };
}

function decodeSingleColumn(t: OutputTensor, name: string, rows: number): DecodedClassification {
  if (t.dims[0] !== rows || !(t.dims.length === 1 || (t.dims.length === 2 && t.dims[1] === 1))) {
    throw new OutputShapeError(`output ${name} has shape [${t.dims}], expected [${rows}, 1] or [${rows}]`);
  }
  const p = toNumbers(t.data);
  const probabilities: number[][] = [];
  const classIndex: number[] = [];
  for (let r = 0; r < rows; r++) {
    const p1 = p[r] as number;
    // A logit or a score would pass for a probability and give nonsense answers: refuse it.
    if (!(p1 >= 0 && p1 <= 1)) {
      throw new OutputShapeError(
        `output ${name} gave ${p1} for row ${r}; a single-column binary output must be P(class 1) in [0, 1] (add a sigmoid)`,
      );
    }
    probabilities.push([1 - p1, p1]);
    // Ties go to class 0, as ArgMax over [1 − p, p] would.
    classIndex.push(p1 > 0.5 ? 1 : 0);
  }
  return { kind: 'binary', classIndex, probabilities };
}

function toNumbers(data: OutputData): number[] {
  const out: number[] = new Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    out[i] = typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? Number.NaN : (v as number);
  }
  return out;
}

/** The label a client sees for a class index: the schema's class, or the index itself. */
export function classLabel(schema: OutputSchema, index: number): string | number {
  return schema.classes?.[index] ?? index;
}
