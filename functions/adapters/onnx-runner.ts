/**
 * The ModelRunner port on onnxruntime-node (CPU). Sessions are created from bytes — the caller
 * has already fetched and checksummed the artifact — and report their inputs and outputs from
 * the session's own metadata, which is what the runtime will actually enforce.
 *
 * Runs go straight to the native session by default. onnxruntime-node's public
 * `InferenceSession.run` defers every run by one `setImmediate` and then runs it on the main
 * thread anyway: nothing is offloaded, but the event-loop turn costs about as much as the whole
 * run of a small model (measured: 14 µs vs 7 µs for a 4-feature logistic model at batch 1;
 * docs/inference.md). The native session is the same object the public API wraps, loaded with
 * the same options; `direct: false` uses the public API instead, and tests hold both to the same
 * answers.
 */
import { createRequire } from 'node:module';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  type LoadedModel,
  ModelLoadError,
  type ModelOutputs,
  ModelRunError,
  type ModelRunner,
  type TensorDim,
  type TensorInfo,
} from '../core/kernel/runner.js';

export interface OnnxRunnerOptions {
  /**
   * Threads per operator. Default 1: a Lambda has one or two vCPUs and Serval's models are small,
   * where spinning worker threads cost more than they save. Raise it for large models on big hosts.
   */
  readonly intraOpNumThreads?: number;
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Run on onnxruntime-node's native session without the public API's event-loop deferral
   * (default true). Falls back to the public API when this onnxruntime-node has no native binding
   * module at dist/binding.js (where 1.30 keeps it).
   */
  readonly direct?: boolean;
}

type Ort = typeof import('onnxruntime-node');
type TensorClass = Ort['Tensor'];

/** What onnxruntime-node's native addon exposes (dist/binding.js in 1.30; `direct` falls back without it). */
interface NativeMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  /** ONNX TensorProto.DataType. */
  readonly type: number;
  /** -1 for a symbolic dimension, whose name is in symbolicDimensions. */
  readonly shape: readonly number[];
  readonly symbolicDimensions: readonly string[];
}
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  readonly inputMetadata: readonly NativeMetadata[];
  readonly outputMetadata: readonly NativeMetadata[];
  run(feeds: Record<string, Tensor>, fetches: Record<string, null>, options: object): Record<string, Tensor>;
  dispose(): void;
}
interface NativeBinding {
  readonly binding: { readonly InferenceSession: new () => NativeSession };
  initOrt(): void;
}

/**
 * The smallest model a session can be made of: y = Identity(x), one float [1, 1] in and out (114
 * bytes, written by functions/core/onnx/graph.ts: test/unit/inference/onnx-runner.test.ts checks
 * that it is). The preload makes and runs a session of it.
 */
export const PRIME_MODEL: Uint8Array = Buffer.from(
  'CAgSBnNlcnZhbBoBMSIKZGV2LnNlcnZhbCgBOk8KHAoBeBIBeRoKaWRlbnRpdHlfMCIISWRlbnRpdHkSBXByaW1lWhMKAXgSDgoMCAESCAoCCAEKAggBYhMKAXkSDgoMCAESCAoCCAEKAggBQgQKABAR',
  'base64',
);

let ortModule: Promise<Ort> | undefined;
let nativeModule: NativeBinding | null | undefined;
const requireHere = createRequire(import.meta.url);

/**
 * onnxruntime-node is loaded on the first model load, not at import: the registry function bundles
 * this adapter for validation only, and its other routes should not pay for the native library on
 * every cold start.
 *
 * It is loaded with `require`, not `import()`: it is CommonJS, and importing it from a module runs
 * Node's translator, which reads and lexes its and onnxruntime-common's sources for their export
 * names first. That was 9 of the 24 ms the load cost a cold start (docs/inference.md, round 7).
 * The microtask keeps a failed load a rejection, as `import()` made it.
 */
function ort(): Promise<Ort> {
  ortModule ??= Promise.resolve().then(() => requireHere('onnxruntime-node') as Ort);
  return ortModule;
}

/** The native binding next to the onnxruntime-node that `ort()` loads, or null without one. */
function native(): NativeBinding | null {
  if (nativeModule === undefined) {
    try {
      const mod = requireHere('onnxruntime-node/dist/binding.js') as Partial<NativeBinding>;
      nativeModule =
        typeof mod.initOrt === 'function' && typeof mod.binding?.InferenceSession === 'function'
          ? (mod as NativeBinding)
          : null;
    } catch {
      nativeModule = null;
    }
  }
  return nativeModule;
}

/** ONNX TensorProto.DataType → onnxruntime's type names, as onnxruntime-node's backend maps them. */
const ELEMENT_TYPES: Readonly<Record<number, string>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  21: 'uint4',
  22: 'int4',
};

/** Feeds a batch and fetches outputs by name: the one thing the two session kinds differ in. */
type Execute = (feeds: Record<string, Tensor>, fetch: readonly string[]) => ModelOutputs;
type ExecuteAsync = (feeds: Record<string, Tensor>, fetch: readonly string[]) => Promise<ModelOutputs>;

export class OnnxRuntimeRunner implements ModelRunner {
  constructor(private readonly options: OnnxRunnerOptions = {}) {}

  /**
   * Loads onnxruntime-node and its native library at init, in a microtask after the caller's own
   * work: for a function whose every request needs a model (inference), so that a cold start's
   * first request does not load them after its route and artifact reads. (Round 6 overlapped an
   * `import()` with those reads instead; `require` at init costs 9–14 ms less CPU, which outweighs
   * the overlap unless each read waits more than a few ms: docs/inference.md, round 7.)
   *
   * It also does what the process's first session and first run would otherwise do once: it
   * creates onnxruntime's environment (16–24 ms of native work on this machine, the largest single
   * item of a cold start's first request), then loads and runs PRIME_MODEL, which takes the first
   * real session's creation from about 5 ms to under 1 ms and its first run from 0.75 to 0.2 ms
   * (docs/inference.md, rounds 12 and 13). On a cold start the total is the same, but an
   * environment initialised ahead of its first request (provisioned concurrency, or Lambda's own
   * pre-initialisation) no longer pays it in that request. Resolves when done; never rejects (a
   * library that does not load fails the first `load`, as it would have without this).
   */
  preload(): Promise<void> {
    return ort()
      .then(async () => {
        if (this.options.direct !== false) native()?.initOrt();
        const model = await this.load(PRIME_MODEL);
        await model.run(new Float32Array(1), 1, 1);
        await model.release();
      })
      .catch(() => {});
  }

  async load(bytes: Uint8Array): Promise<LoadedModel> {
    const { InferenceSession, Tensor } = await ort();
    const options = {
      intraOpNumThreads: this.options.intraOpNumThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential' as const,
      graphOptimizationLevel: this.options.graphOptimizationLevel ?? 'all',
      // Warnings (e.g. about unused initializers) would otherwise go to stderr on every load.
      logSeverityLevel: 3 as const,
    };
    const binding = this.options.direct === false ? null : native();
    try {
      if (binding) return loadNative(binding, bytes, options, Tensor);
      const session = await InferenceSession.create(bytes, options);
      return new OnnxLoadedModel(
        session.inputMetadata.map(publicInfo),
        session.outputMetadata.map(publicInfo),
        Tensor,
        (feeds, fetch) => session.run(feeds, fetch as string[]) as unknown as Promise<ModelOutputs>,
        () => session.release(),
      );
    } catch (err) {
      throw new ModelLoadError(`onnxruntime could not load the model: ${message(err)}`, { cause: err });
    }
  }
}

function loadNative(binding: NativeBinding, bytes: Uint8Array, options: object, T: TensorClass): LoadedModel {
  binding.initOrt();
  const session = new binding.binding.InferenceSession();
  session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, options);
  // The native run takes fetches as {name: null}; built once per list of names (callers keep
  // their list, so one object serves every run).
  const fetchObjects = new WeakMap<readonly string[], Record<string, null>>();
  const noOptions = {};
  return new OnnxLoadedModel(
    session.inputMetadata.map(nativeInfo),
    session.outputMetadata.map(nativeInfo),
    T,
    (feeds, fetch) => {
      let fetches = fetchObjects.get(fetch);
      if (!fetches) {
        fetches = Object.fromEntries(fetch.map((n) => [n, null]));
        fetchObjects.set(fetch, fetches);
      }
      // Tensors of onnxruntime-common, as the public API returns them (initOrt hands the addon
      // that class).
      return session.run(feeds, fetches, noOptions) as unknown as ModelOutputs;
    },
    async () => session.dispose(),
  );
}

class OnnxLoadedModel implements LoadedModel {
  private readonly inputTypes: ReadonlyMap<string, string>;
  /** Sequences and maps (e.g. scikit-learn's ZipMap) are left unfetched: they have no tensor form. */
  private readonly fetches: readonly string[];

  constructor(
    readonly inputs: readonly TensorInfo[],
    readonly outputs: readonly TensorInfo[],
    private readonly TensorClass: TensorClass,
    private readonly execute: Execute | ExecuteAsync,
    private readonly dispose: () => Promise<void>,
  ) {
    this.inputTypes = new Map(inputs.map((i) => [i.name, i.type]));
    this.fetches = outputs.filter((o) => o.type !== 'non-tensor').map((o) => o.name);
  }

  async run(
    batch: Float32Array,
    rows: number,
    features: number,
    inputName?: string,
    outputNames?: readonly string[],
  ): Promise<ModelOutputs> {
    return this.runNow(batch, rows, features, inputName, outputNames);
  }

  runNow(
    batch: Float32Array,
    rows: number,
    features: number,
    inputName?: string,
    outputNames?: readonly string[],
  ): ModelOutputs | Promise<ModelOutputs> {
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
    const fetch = outputNames ?? this.fetches;
    for (const input of this.inputs) {
      if (input.name !== name) throw new ModelRunError(`the model also needs input ${input.name}`);
    }
    let outputs: ModelOutputs | Promise<ModelOutputs>;
    try {
      // onnxruntime's tensors already carry type, dims and data: handed out as they are (read-only).
      outputs = this.execute({ [name]: tensor }, fetch);
    } catch (err) {
      throw rejected(err);
    }
    return outputs instanceof Promise
      ? outputs.catch((err: unknown) => {
          throw rejected(err);
        })
      : outputs;
  }

  release(): Promise<void> {
    return this.dispose();
  }
}

function publicInfo(meta: InferenceSession.ValueMetadata): TensorInfo {
  if (!meta.isTensor) return { name: meta.name, type: 'non-tensor', dims: null };
  // onnxruntime reports an undeclared shape as []; a symbolic dimension by its name, and an
  // unnamed dynamic one as a negative number or an empty name.
  const dims: TensorDim[] | null =
    meta.shape.length === 0
      ? null
      : meta.shape.map((d) => (typeof d === 'number' ? (d < 0 ? null : d) : d === '' ? null : d));
  return { name: meta.name, type: meta.type, dims };
}

function nativeInfo(meta: NativeMetadata): TensorInfo {
  if (!meta.isTensor) return { name: meta.name, type: 'non-tensor', dims: null };
  const dims: TensorDim[] | null =
    meta.shape.length === 0
      ? null
      : meta.shape.map((d, i) => (d >= 0 ? d : meta.symbolicDimensions[i] || null));
  return { name: meta.name, type: ELEMENT_TYPES[meta.type] ?? `onnx-type-${meta.type}`, dims };
}

function rejected(err: unknown): ModelRunError {
  return new ModelRunError(`onnxruntime rejected the run: ${message(err)}`, { cause: err });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
