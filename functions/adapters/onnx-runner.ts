/**
 * The ModelRunner port on onnxruntime-node (CPU). Sessions are created from bytes — the caller
 * has already fetched and checksummed the artifact — and report their inputs and outputs from
 * the session's own metadata, which is what the runtime will actually enforce.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  type LoadedModel,
  ModelLoadError,
  type ModelOutputs,
  ModelRunError,
  type ModelRunner,
  type TensorDim,
  type TensorInfo,
} from '../core/inference/runner.js';

export interface OnnxRunnerOptions {
  /**
   * Threads per operator. Default 1: a Lambda has one or two vCPUs and Serval's models are small,
   * where spinning worker threads cost more than they save. Raise it for large models on big hosts.
   */
  readonly intraOpNumThreads?: number;
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

type Ort = typeof import('onnxruntime-node');
let ortModule: Promise<Ort> | undefined;

/**
 * onnxruntime-node is loaded on the first model load, not at import: the registry function bundles
 * this adapter for validation only, and its other routes should not pay for the native library on
 * every cold start.
 */
function ort(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node');
  return ortModule;
}

export class OnnxRuntimeRunner implements ModelRunner {
  constructor(private readonly options: OnnxRunnerOptions = {}) {}

  async load(bytes: Uint8Array): Promise<LoadedModel> {
    const { InferenceSession, Tensor } = await ort();
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(bytes, {
        intraOpNumThreads: this.options.intraOpNumThreads ?? 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: this.options.graphOptimizationLevel ?? 'all',
        // Warnings (e.g. about unused initializers) would otherwise go to stderr on every load.
        logSeverityLevel: 3,
      });
    } catch (err) {
      throw new ModelLoadError(`onnxruntime could not load the model: ${message(err)}`, { cause: err });
    }
    return new OnnxLoadedModel(session, Tensor);
  }
}

class OnnxLoadedModel implements LoadedModel {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  private readonly inputTypes: ReadonlyMap<string, string>;
  /** Sequences and maps (e.g. scikit-learn's ZipMap) are left unfetched: they have no tensor form. */
  private readonly fetches: readonly string[];

  constructor(
    private readonly session: InferenceSession,
    private readonly TensorClass: typeof Tensor,
  ) {
    this.inputs = session.inputMetadata.map(info);
    this.outputs = session.outputMetadata.map(info);
    this.inputTypes = new Map(this.inputs.map((i) => [i.name, i.type]));
    this.fetches = this.outputs.filter((o) => o.type !== 'non-tensor').map((o) => o.name);
  }

  async run(
    batch: Float32Array,
    rows: number,
    features: number,
    inputName?: string,
    outputNames?: readonly string[],
  ): Promise<ModelOutputs> {
    const name = inputName ?? this.inputs[0]?.name;
    if (name === undefined) throw new ModelRunError('the model has no inputs');
    const type = this.inputTypes.get(name);
    if (type === undefined) throw new ModelRunError(`the model has no input named ${name}`);
    if (!Number.isInteger(rows) || !Number.isInteger(features) || batch.length !== rows * features) {
      throw new ModelRunError(`a batch of ${batch.length} values is not ${rows} rows × ${features} features`);
    }
    let tensor: Tensor;
    if (type === 'float32') tensor = new this.TensorClass('float32', batch, [rows, features]);
    else if (type === 'float64')
      tensor = new this.TensorClass('float64', Float64Array.from(batch), [rows, features]);
    else throw new ModelRunError(`input ${name} is ${type}; only float32 and float64 inputs can be fed`);
    let result: InferenceSession.ReturnType;
    try {
      result = await this.session.run({ [name]: tensor }, (outputNames ?? this.fetches) as string[]);
    } catch (err) {
      throw new ModelRunError(`onnxruntime rejected the run: ${message(err)}`, { cause: err });
    }
    // onnxruntime's tensors already carry type, dims and data: handed out as they are (read-only).
    return result as unknown as ModelOutputs;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function info(meta: InferenceSession.ValueMetadata): TensorInfo {
  if (!meta.isTensor) return { name: meta.name, type: 'non-tensor', dims: null };
  // onnxruntime reports an undeclared shape as []; a symbolic dimension by its name, and an
  // unnamed dynamic one as a negative number or an empty name.
  const dims: TensorDim[] | null =
    meta.shape.length === 0
      ? null
      : meta.shape.map((d) => (typeof d === 'number' ? (d < 0 ? null : d) : d === '' ? null : d));
  return { name: meta.name, type: meta.type, dims };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
