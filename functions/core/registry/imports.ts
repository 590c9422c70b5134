/**
 * Models trained elsewhere: what Serval takes out of a SageMaker training output (`model.tar.gz`
 * holding `model.onnx`) and an MLflow model directory (its `MLmodel` file: the onnx flavor's
 * model file, the signature as Serval's schemas, the input example, and the run's metrics and
 * params when they are beside it). The version's artifact is always the ONNX file itself, so
 * serving, verification and downloads work on imported versions as on any other.
 */
import { parse as parseYaml } from 'yaml';
import { encodeInstances } from '../kernel/encode.js';
import { invalidModel, validationFailed } from '../kernel/errors.js';
import { type InputSchema, InputSchema as InputSchemaType, type OutputSchema } from '../kernel/model-io.js';
import { ModelLoadError, ModelRunError, type ModelRunner } from '../kernel/runner.js';
import { type FileMap, readTarGz } from './archive.js';
import type { ImportFormat, ImportSource } from './types.js';

export { IMPORT_FORMATS, type ImportFormat, type ImportSource } from './types.js';

export interface Imported {
  readonly onnx: Uint8Array;
  readonly inputSchema?: InputSchema;
  readonly outputSchema?: OutputSchema;
  /** Instances of the MLflow input example, run once at registration. */
  readonly example?: readonly unknown[];
  readonly metrics: Record<string, number>;
  readonly params: Record<string, unknown>;
  readonly files: readonly string[];
  readonly mlflow?: ImportSource['mlflow'];
}

/** The model out of one source object (a file or an archive) of the given format. */
export async function unpackObject(format: ImportFormat, bytes: Uint8Array): Promise<Imported> {
  if (format === 'onnx') return { onnx: bytes, metrics: {}, params: {}, files: [] };
  const files = await readTarGz(bytes, format === 'mlflow' ? 'the MLflow archive' : 'model.tar.gz');
  return format === 'mlflow' ? unpackMlflow(files) : unpackSageMaker(files);
}

export function unpackSageMaker(files: FileMap): Imported {
  const onnx = files.get('model.onnx') ?? single(files, (p) => p.endsWith('/model.onnx'));
  if (!onnx) {
    throw validationFailed('model.tar.gz holds no model.onnx', {
      field: 'artifact',
      files: [...files.keys()].slice(0, 50),
    });
  }
  return { onnx, metrics: {}, params: {}, files: [...files.keys()] };
}

function single(files: FileMap, match: (path: string) => boolean): Uint8Array | undefined {
  const found = [...files].filter(([p]) => match(p));
  return found.length === 1 ? found[0]![1] : undefined;
}

/** An MLflow model directory, its paths relative to the directory (or to the archive's root). */
export function unpackMlflow(files: FileMap): Imported {
  const mlmodels = [...files.keys()].filter((p) => p === 'MLmodel' || p.endsWith('/MLmodel'));
  if (mlmodels.length !== 1) {
    throw validationFailed(
      mlmodels.length === 0
        ? 'no MLmodel file: an MLflow model directory has one at its root'
        : `several MLmodel files (${mlmodels.join(', ')}): import one model directory`,
      { field: 'artifact' },
    );
  }
  const dir = mlmodels[0]!.slice(0, -'MLmodel'.length);
  const at = (rel: string) => files.get(`${dir}${rel.replace(/^\.\//, '')}`);
  let doc: MLmodel;
  try {
    doc = (parseYaml(new TextDecoder().decode(at('MLmodel'))) ?? {}) as MLmodel;
  } catch (err) {
    throw validationFailed(`MLmodel is not valid YAML: ${(err as Error).message}`, { field: 'MLmodel' });
  }
  const flavor = doc.flavors?.onnx;
  if (!flavor) {
    throw validationFailed(
      `the MLflow model has no onnx flavor (flavors: ${Object.keys(doc.flavors ?? {}).join(', ') || 'none'}); Serval serves ONNX: log the model with mlflow.onnx`,
      { field: 'MLmodel.flavors' },
    );
  }
  // mlflow.onnx writes the file name under `data`; `onnx_model` is accepted for hand-made files.
  const modelFile = flavor.data ?? flavor.onnx_model ?? 'model.onnx';
  const onnx = at(modelFile);
  if (!onnx) throw validationFailed(`the onnx flavor names ${modelFile}, which is not in the directory`);
  const inputSchema = doc.signature?.inputs ? inputSchemaOf(doc.signature.inputs) : undefined;
  const outputSchema = doc.signature?.outputs ? outputSchemaOf(doc.signature.outputs) : undefined;
  const exampleFile = doc.saved_input_example_info?.artifact_path;
  const exampleBytes = exampleFile ? at(exampleFile) : undefined;
  if (exampleFile && !exampleBytes) {
    throw validationFailed(`MLmodel names the input example ${exampleFile}, which is not in the directory`);
  }
  const example = exampleBytes ? exampleInstances(exampleBytes, inputSchema) : undefined;
  // MLflow's file store keeps a run's metrics and params beside its artifacts: <run>/metrics,
  // <run>/params and <run>/artifacts/<model>/MLmodel. Also taken from inside the model directory.
  const runDir = dir.split('/').slice(0, -3).join('/');
  const runs = [dir, runDir === '' ? '' : `${runDir}/`];
  return {
    onnx,
    ...(inputSchema ? { inputSchema } : {}),
    ...(outputSchema ? { outputSchema } : {}),
    ...(example ? { example } : {}),
    metrics: runFiles(files, runs, 'metrics', lastMetricValue),
    params: runFiles(files, runs, 'params', (t) => t),
    files: [...files.keys()],
    mlflow: {
      ...(typeof doc.run_id === 'string' ? { runId: doc.run_id } : {}),
      ...(typeof doc.model_uuid === 'string' ? { modelUuid: doc.model_uuid } : {}),
      ...(typeof doc.mlflow_version === 'string' ? { version: doc.mlflow_version } : {}),
    },
  };
}

interface MLmodel {
  flavors?: Record<string, { data?: string; onnx_model?: string } | undefined>;
  signature?: { inputs?: string; outputs?: string };
  saved_input_example_info?: { artifact_path?: string };
  run_id?: unknown;
  model_uuid?: unknown;
  mlflow_version?: unknown;
}

interface ColumnSpec {
  readonly type?: string;
  readonly name?: string;
  readonly required?: boolean;
  readonly 'tensor-spec'?: { readonly dtype?: string; readonly shape?: readonly number[] };
}

function specList(json: string, what: string): ColumnSpec[] {
  let parsed: unknown;
  try {
    parsed = typeof json === 'string' ? JSON.parse(json) : json;
  } catch {
    throw validationFailed(`MLmodel signature.${what} is not JSON`, { field: `signature.${what}` });
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw validationFailed(`MLmodel signature.${what} is not a list of columns or tensors`);
  }
  return parsed as ColumnSpec[];
}

const NUMERIC_COLUMNS: Record<string, 'float' | 'int'> = {
  double: 'float',
  float: 'float',
  long: 'int',
  integer: 'int',
  boolean: 'int',
};

/** MLflow's signature inputs as Serval's input schema: a column spec's columns, or a tensor's width. */
export function inputSchemaOf(json: string): InputSchema {
  const specs = specList(json, 'inputs');
  let schema: unknown;
  if (specs.every((s) => s.type === 'tensor')) {
    if (specs.length !== 1) {
      throw validationFailed(`the signature has ${specs.length} input tensors; Serval feeds one`);
    }
    const spec = specs[0]!;
    const shape = spec['tensor-spec']?.shape ?? [];
    const width = shape.length === 2 ? shape[1] : undefined;
    if (typeof width !== 'number' || width < 1) {
      throw validationFailed(
        `the signature's input tensor has shape [${shape.join(', ')}]; Serval feeds [-1, k] with a fixed k`,
      );
    }
    schema = {
      features: Array.from({ length: width }, (_, i) => ({ name: `f${i}`, type: 'float' })),
      ...(spec.name ? { tensor: spec.name } : {}),
    };
  } else {
    schema = {
      features: specs.map((s, i) => {
        const type = NUMERIC_COLUMNS[s.type ?? ''];
        if (!type) {
          throw validationFailed(
            `signature input column ${s.name ?? i} is ${s.type}; Serval feeds numbers: declare inputSchema (with categories) instead`,
            { field: 'signature.inputs' },
          );
        }
        return { name: s.name ?? `f${i}`, type, ...(s.required === false ? { nullable: true } : {}) };
      }),
    };
  }
  const checked = InputSchemaType.safeParse(schema);
  if (!checked.success) {
    throw validationFailed(
      `the signature's inputs do not make a Serval input schema (${checked.error.issues[0]?.message}); declare inputSchema`,
      { field: 'signature.inputs' },
    );
  }
  return checked.data;
}

/** A single numeric output is a regression; anything else is left to the ONNX graph to tell. */
export function outputSchemaOf(json: string): OutputSchema | undefined {
  const specs = specList(json, 'outputs');
  if (specs.length !== 1) return undefined;
  const s = specs[0]!;
  if (s.type === 'tensor') {
    const shape = s['tensor-spec']?.shape ?? [];
    const dtype = s['tensor-spec']?.dtype ?? '';
    const oneColumn = shape.length === 1 || (shape.length === 2 && shape[1] === 1);
    return /^float/.test(dtype) && oneColumn ? { kind: 'regression' } : undefined;
  }
  return s.type === 'double' || s.type === 'float' ? { kind: 'regression' } : undefined;
}

/**
 * The instances of an input example in the forms MLflow saves: `{"inputs": rows}` (tf-serving),
 * `{"inputs": {name: rows}}`, `{"columns", "data"}` (pandas split, possibly under
 * `dataframe_split`), `{"instances": rows}`, or a bare list of rows (or one row).
 */
export function exampleInstances(bytes: Uint8Array, schema: InputSchema | undefined): unknown[] {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw validationFailed('the MLflow input example is not JSON', { field: 'input_example' });
  }
  const rows = (value: unknown): unknown[] | undefined => {
    if (!Array.isArray(value) || value.length === 0) return undefined;
    return value.every((v) => typeof v === 'number') ? [value] : value;
  };
  if (Array.isArray(doc)) return rows(doc) ?? fail();
  const o = (doc ?? {}) as Record<string, unknown>;
  const split = (o.dataframe_split ?? o) as { columns?: unknown; data?: unknown };
  if (Array.isArray(split.columns) && Array.isArray(split.data)) {
    const names = split.columns as string[];
    const known = schema && names.every((n) => schema.features.some((f) => f.name === n));
    return (split.data as unknown[][]).map((r) =>
      known ? Object.fromEntries(names.map((n, i) => [n, r[i]])) : r,
    );
  }
  const inputs = o.inputs ?? o.instances;
  if (inputs && typeof inputs === 'object' && !Array.isArray(inputs)) {
    const values = Object.values(inputs);
    if (values.length === 1) return rows(values[0]) ?? fail();
  }
  return rows(inputs) ?? fail();
}

function fail(): never {
  throw validationFailed('the MLflow input example is not in a form Serval reads (rows of numbers)', {
    field: 'input_example',
  });
}

function runFiles<T>(
  files: FileMap,
  dirs: readonly string[],
  kind: 'metrics' | 'params',
  value: (text: string) => T | undefined,
): Record<string, T> {
  for (const dir of dirs) {
    const prefix = `${dir}${kind}/`;
    const out: Record<string, T> = {};
    for (const [path, bytes] of files) {
      if (!path.startsWith(prefix) || path.slice(prefix.length).includes('/')) continue;
      const v = value(new TextDecoder().decode(bytes).trim());
      if (v !== undefined) out[path.slice(prefix.length)] = v;
    }
    if (Object.keys(out).length > 0) return out;
  }
  return {};
}

/** A metric file's lines are `timestamp value step`; the last line is the final value. */
function lastMetricValue(text: string): number | undefined {
  const last = text.split('\n').pop()?.trim().split(/\s+/);
  const v = last && last.length >= 2 ? Number(last[1]) : Number.NaN;
  return Number.isFinite(v) ? v : undefined;
}

/**
 * Runs the input example through the model once: an imported model that cannot predict its own
 * example is refused at registration rather than found out by the first caller.
 */
export async function smokeRun(
  runner: ModelRunner,
  onnx: Uint8Array,
  schema: InputSchema,
  instances: readonly unknown[],
): Promise<void> {
  const batch = encodeInstances(instances, schema);
  const features = schema.features.length;
  const rows = instances.length;
  let model: Awaited<ReturnType<ModelRunner['load']>> | undefined;
  try {
    model = await runner.load(onnx);
    const outputs = await model.run(batch, rows, features, schema.tensor);
    for (const [name, out] of Object.entries(outputs)) {
      if (out.dims[0] !== rows) {
        throw invalidModel(
          `the input example has ${rows} rows but output ${name} has ${out.dims[0]}; the model cannot serve`,
        );
      }
    }
  } catch (err) {
    if (err instanceof ModelLoadError || err instanceof ModelRunError) {
      throw invalidModel(`the model failed on its MLflow input example: ${err.message}`, {
        field: 'input_example',
      });
    }
    throw err;
  } finally {
    await model?.release().catch(() => undefined);
  }
}
