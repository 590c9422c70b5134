/**
 * The port through which the core runs a model. The onnxruntime adapter implements it
 * (functions/adapters/onnx-runner.ts); tests may use an in-memory fake.
 */

/** A dimension: a fixed size, a symbolic name (e.g. the batch 'N'), or null when unknown. */
export type TensorDim = number | string | null;

export interface TensorInfo {
  readonly name: string;
  /**
   * Element type as onnxruntime names it ('float32', 'float64', 'int64', 'int32', 'string',
   * 'bool', …), or 'non-tensor' for sequences and maps (e.g. scikit-learn's ZipMap output).
   */
  readonly type: string;
  /** null when the model does not declare a shape. */
  readonly dims: readonly TensorDim[] | null;
}

export type OutputData =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | readonly string[];

export interface OutputTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: OutputData;
}

/** Output name → tensor. Non-tensor outputs are not fetched. */
export type ModelOutputs = Readonly<Record<string, OutputTensor>>;

export interface LoadedModel {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /**
   * Runs one batch: `batch` is row-major [rows, features]. It is fed to `inputName` (default:
   * the first input), converted to the input's float type if that is float64.
   * Rejects with ModelRunError when the runtime refuses the batch.
   */
  run(
    batch: Float32Array,
    rows: number,
    features: number,
    inputName?: string,
    /** Outputs to fetch (default: every tensor output); fewer is faster. */
    outputNames?: readonly string[],
  ): Promise<ModelOutputs>;
  /**
   * run(), answering without a promise when the runtime runs synchronously (the warm predict
   * path, where an await is a measurable share of the request); throws ModelRunError instead of
   * rejecting when it refuses the batch at once. Optional: callers use run() without it.
   */
  runNow?(
    batch: Float32Array,
    rows: number,
    features: number,
    inputName?: string,
    outputNames?: readonly string[],
  ): ModelOutputs | Promise<ModelOutputs>;
  release(): Promise<void>;
}

export interface ModelRunner {
  /** Rejects with ModelLoadError when the bytes are not a model the runtime can execute. */
  load(bytes: Uint8Array): Promise<LoadedModel>;
}

/** The artifact could not be turned into a session (corrupt file, unsupported operator, …). */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

/** The runtime rejected a run (wrong input name, shape or type, or an error inside the graph). */
export class ModelRunError extends Error {
  override readonly name = 'ModelRunError';
}
