/**
 * What an ONNX artifact takes and gives, read from its graph without a runtime: the registry
 * derives a version's input/output schema from it when none is declared, and holds a declared
 * one against it, so a version that reaches production can actually serve.
 *
 * Exporters disagree about how a classifier answers. Besides Serval's own `label` +
 * `probabilities` [N, K], two shapes are common: a single sigmoid column [N, 1] holding
 * P(class 1) (PyTorch-style exports; read by the kernel's output plan), and skl2onnx's
 * `output_label` + `output_probability`, where the probabilities are either a tensor [N, K] or,
 * by default, a ZipMap: a sequence of {class: p} maps, which onnxruntime-node cannot hand back.
 * For those, `servableBytes` (servable.ts) also exposes ZipMap's input (the [N, K] tensor it is
 * built from) as a graph output, so serving reads the same numbers as a tensor.
 */
import { type DomainError, invalidModel, validationFailed } from '../kernel/errors.js';
import type { Feature, InputSchema, OutputSchema } from '../kernel/model-io.js';
import { describe, type OutputPlan, planOutputs } from '../kernel/outputs.js';
import type { TensorInfo } from '../kernel/runner.js';
import {
  OnnxFormatError,
  type OnnxModelInfo,
  type OnnxNode,
  type OnnxValueInfo,
  readOnnxModel,
} from './reader.js';
import { servingOutputs, zipMaps } from './servable.js';
import { fieldBytes, fieldInt, fieldString, readFields } from './wire.js';

/** What the registry records about a version's graph, for people and for the promotion check. */
export interface GraphSummary {
  readonly producer: string;
  readonly irVersion: number;
  readonly opsets: readonly { readonly domain: string; readonly version: number }[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

/** The graph of an ONNX artifact, or invalid_model when the bytes are not one. */
export function readGraph(bytes: Uint8Array): OnnxModelInfo {
  let info: OnnxModelInfo;
  try {
    info = readOnnxModel(bytes);
  } catch (err) {
    if (err instanceof OnnxFormatError) {
      throw invalidModel(`the artifact is not a loadable ONNX model (${err.message})`, {
        field: 'artifact',
        bytes: bytes.byteLength,
      });
    }
    throw err;
  }
  if (info.inputs.length === 0 || info.outputs.length === 0) {
    throw invalidModel('the ONNX graph declares no inputs or no outputs, so it cannot be fed or read', {
      field: 'artifact',
      inputs: info.inputs.length,
      outputs: info.outputs.length,
    });
  }
  if (info.opsets.length === 0) {
    throw invalidModel('the ONNX model imports no operator set (opset_import is empty)', {
      field: 'artifact',
    });
  }
  return info;
}

export function summarize(info: OnnxModelInfo): GraphSummary {
  return {
    producer: `${info.producerName} ${info.producerVersion}`.trim(),
    irVersion: info.irVersion,
    opsets: info.opsets.map((o) => ({ domain: o.domain || 'ai.onnx', version: o.version })),
    inputs: info.inputs,
    outputs: info.outputs,
  };
}

export interface SchemaMatch {
  readonly problems: readonly string[];
  readonly notes: readonly string[];
  readonly input: TensorInfo | undefined;
  readonly plan: OutputPlan | null;
  /** 1 when the graph fixes its batch to one row; null when the batch is dynamic. */
  readonly batchRows: number | null;
}

/** Does a declared schema fit a graph's inputs and outputs? Problems are refusals; notes are not. */
export function matchSchemas(
  inputs: readonly TensorInfo[],
  outputs: readonly TensorInfo[],
  inputSchema: InputSchema,
  outputSchema: OutputSchema,
): SchemaMatch {
  const problems: string[] = [];
  const notes: string[] = [];
  const features = inputSchema.features.length;
  const input = inputSchema.tensor ? inputs.find((i) => i.name === inputSchema.tensor) : inputs[0];
  let batchRows: number | null = null;
  if (!input) {
    problems.push(
      inputSchema.tensor
        ? `the model has no input named ${inputSchema.tensor}; its inputs are ${describe(inputs)}`
        : 'the model declares no inputs',
    );
  } else {
    if (inputs.length > 1) {
      problems.push(`the model takes ${inputs.length} inputs (${describe(inputs)}); Serval feeds one`);
    }
    if (input.type !== 'float32' && input.type !== 'float64') {
      problems.push(`input ${input.name} is ${input.type}; Serval feeds float32 (or float64) features`);
    }
    if (input.dims === null) {
      notes.push(`input ${input.name} declares no shape`);
    } else if (input.dims.length !== 2) {
      problems.push(`input ${input.name} has rank ${input.dims.length}; expected [N, ${features}]`);
    } else {
      const [batch, width] = input.dims;
      if (typeof width === 'number' && width !== features) {
        problems.push(`input ${input.name} takes ${width} features but the input schema lists ${features}`);
      } else if (typeof width !== 'number') {
        notes.push(`input ${input.name} has a dynamic feature dimension`);
      }
      if (typeof batch === 'number') {
        if (batch === 1) batchRows = 1;
        else
          problems.push(
            `input ${input.name} has a fixed batch dimension ${batch}; export it as dynamic (or 1)`,
          );
      }
    }
  }
  const planned = planOutputs(outputs, outputSchema);
  if (!planned.ok) problems.push(planned.reason);
  return { problems, notes, input, plan: planned.ok ? planned.plan : null, batchRows };
}

export interface ResolvedSchemas {
  readonly inputSchema: InputSchema;
  readonly outputSchema: OutputSchema;
  /** Which of the two were derived from the graph rather than declared. */
  readonly derived: readonly ('inputSchema' | 'outputSchema')[];
}

/**
 * The schemas a version serves with: the declared ones, checked against the graph, and the
 * missing ones derived from it. Refuses (validation_failed) a declaration the graph contradicts,
 * and a graph from which a missing schema cannot be derived, saying what to declare.
 */
export function resolveSchemas(
  bytes: Uint8Array,
  info: OnnxModelInfo,
  declared: { readonly inputSchema?: InputSchema; readonly outputSchema?: OutputSchema },
): ResolvedSchemas {
  const outputs = servingOutputs(info);
  const derived: ('inputSchema' | 'outputSchema')[] = [];
  const inputSchema = declared.inputSchema ?? deriveInput(info);
  if (!declared.inputSchema) derived.push('inputSchema');
  const outputSchema = declared.outputSchema ?? deriveOutput(bytes, info, outputs);
  if (!declared.outputSchema) derived.push('outputSchema');
  const match = matchSchemas(info.inputs, outputs, inputSchema, outputSchema);
  if (match.problems.length > 0) {
    throw validationFailed(`the schema does not fit the ONNX graph: ${match.problems.join('; ')}`, {
      field: derived.length === 2 ? 'artifact' : declared.inputSchema ? 'inputSchema' : 'outputSchema',
      problems: match.problems,
      graph: { inputs: describe(info.inputs), outputs: describe(outputs) },
    });
  }
  const classes = graphClasses(bytes, info);
  if (
    declared.outputSchema?.classes &&
    classes &&
    declared.outputSchema.kind !== 'regression' &&
    declared.outputSchema.classes.length !== classes.length
  ) {
    throw validationFailed(
      `outputSchema lists ${declared.outputSchema.classes.length} classes but the graph has ${classes.length} (${classes.join(', ')})`,
      { field: 'outputSchema.classes', graphClasses: classes },
    );
  }
  return { inputSchema, outputSchema, derived };
}

function cannotDerive(what: 'inputSchema' | 'outputSchema', why: string, info: OnnxModelInfo): DomainError {
  return validationFailed(
    `${what} was not given and cannot be derived from the ONNX graph: ${why}; declare it`,
    {
      field: what,
      graph: { inputs: describe(info.inputs), outputs: describe(servingOutputs(info)) },
    },
  );
}

function deriveInput(info: OnnxModelInfo): InputSchema {
  if (info.inputs.length !== 1) {
    throw cannotDerive('inputSchema', `the graph takes ${info.inputs.length} inputs; Serval feeds one`, info);
  }
  const input = info.inputs[0] as OnnxValueInfo;
  if (input.type !== 'float32' && input.type !== 'float64') {
    throw cannotDerive('inputSchema', `input ${input.name} is ${input.type}, not a float tensor`, info);
  }
  const width = input.dims?.length === 2 ? input.dims[1] : undefined;
  if (typeof width !== 'number' || width < 1) {
    throw cannotDerive('inputSchema', `input ${input.name} is not [N, k] with a fixed k`, info);
  }
  const named = metadataList(info, ['serval.features', 'feature_names', 'features']);
  const valid = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
  const names =
    named && named.length === width && named.every((n) => typeof n === 'string' && valid.test(n))
      ? (named as string[])
      : Array.from({ length: width }, (_, i) => `f${i}`);
  const features: Feature[] = names.map((name) => ({ name, type: 'float' }));
  return { features, tensor: input.name };
}

function deriveOutput(bytes: Uint8Array, info: OnnxModelInfo, outputs: readonly TensorInfo[]): OutputSchema {
  const task = info.metadata['serval.task'];
  const classes = graphClasses(bytes, info);
  const withClasses = (kind: 'binary' | 'multiclass', k: number): OutputSchema =>
    classes && classes.length === k ? { kind, classes: [...classes] } : { kind };
  if (task === 'regression') return { kind: 'regression' };
  const floats = outputs.filter((o) => o.type === 'float32' || o.type === 'float64' || o.type === 'float16');
  const wide = floats.find(
    (o) => o.dims?.length === 2 && (o.dims[1] === null || typeof o.dims[1] !== 'number' || o.dims[1] >= 2),
  );
  if (wide) {
    const k = typeof wide.dims?.[1] === 'number' ? (wide.dims[1] as number) : (classes?.length ?? null);
    if (k === null)
      throw cannotDerive('outputSchema', `output ${wide.name} has no fixed number of columns`, info);
    return withClasses(k === 2 ? 'binary' : 'multiclass', k);
  }
  const column = floats.find(
    (o) => o.dims === null || o.dims.length === 1 || (o.dims.length === 2 && o.dims[1] === 1),
  );
  if (column) {
    // One number per row is a probability only when the graph says so: a sigmoid makes it, or
    // the producer declared a binary task.
    const producer = info.nodes.find((n) => n.outputs.includes(column.name));
    if (task === 'binary' || producer?.op === 'Sigmoid') return withClasses('binary', 2);
    return { kind: 'regression' };
  }
  throw cannotDerive(
    'outputSchema',
    'no float output of shape [N], [N, 1] or [N, K] carries the answer',
    info,
  );
}

/**
 * Class labels the file itself states, in probability-column order: a ZipMap's labels, the table
 * its label output is looked up in (skl2onnx), or `serval.classes` metadata.
 */
export function graphClasses(bytes: Uint8Array, info: OnnxModelInfo): (string | number)[] | null {
  const zip = zipMaps(info).find((z) => z.classes);
  if (zip?.classes) return [...zip.classes];
  const fromLabel = labelTable(bytes, info);
  if (fromLabel) return fromLabel;
  const meta = metadataList(info, ['serval.classes', 'classes']);
  if (meta && meta.length >= 2 && meta.every((c) => typeof c === 'string' || typeof c === 'number')) {
    return meta as (string | number)[];
  }
  return null;
}

const LABEL_NAMES = ['output_label', 'label', 'labels'];

function labelTable(bytes: Uint8Array, info: OnnxModelInfo): (string | number)[] | null {
  const label = LABEL_NAMES.map((n) => info.outputs.find((o) => o.name === n)).find(Boolean);
  if (!label) return null;
  const byOutput = new Map<string, OnnxNode>();
  for (const n of info.nodes) for (const o of n.outputs) byOutput.set(o, n);
  let node = byOutput.get(label.name);
  // skl2onnx casts or reshapes the looked-up labels before they leave the graph.
  for (
    let hops = 0;
    node && ['Cast', 'Identity', 'Reshape', 'Squeeze'].includes(node.op) && hops < 4;
    hops++
  ) {
    node = byOutput.get(node.inputs[0] ?? '');
  }
  if (!node) return null;
  if (node.op === 'LabelEncoder') {
    const values = node.attributes.values_strings ?? node.attributes.values_int64s;
    const keys = node.attributes.keys_int64s;
    if (!values || (values.type !== 'strings' && values.type !== 'ints') || keys?.type !== 'ints')
      return null;
    const table: (string | number)[] = [];
    keys.value.forEach((k, i) => {
      if (k >= 0 && k < 10_000) table[k] = values.value[i] as string | number;
    });
    return table.length >= 2 && !table.includes(undefined as never) ? table : null;
  }
  if (node.op === 'Gather' || node.op === 'ArrayFeatureExtractor') {
    const table = readLabelInitializer(bytes, node.inputs[0] ?? '');
    return table && table.length >= 2 ? table : null;
  }
  return null;
}

/** An int64 or string initializer's values (small tables of class labels). */
function readLabelInitializer(bytes: Uint8Array, name: string): (string | number)[] | null {
  try {
    for (const { field, data } of readFields(bytes)) {
      if (field !== 7) continue;
      for (const g of readFields(fieldBytes(data))) {
        if (g.field !== 5) continue;
        let tName = '';
        let type = 0;
        let raw: Uint8Array | undefined;
        const ints: number[] = [];
        const strings: string[] = [];
        for (const f of readFields(fieldBytes(g.data))) {
          if (f.field === 8) tName = fieldString(f.data);
          else if (f.field === 2) type = Number(fieldInt(f.data));
          else if (f.field === 9) raw = fieldBytes(f.data);
          else if (f.field === 6) strings.push(new TextDecoder().decode(fieldBytes(f.data)));
          else if (f.field === 7) {
            if (f.data.wire === 'varint') ints.push(Number(fieldInt(f.data)));
            else
              for (const v of readFields(packedAsFields(fieldBytes(f.data))))
                ints.push(Number(fieldInt(v.data)));
          }
        }
        if (tName !== name) continue;
        if (type === 8) return strings;
        if (type === 7) {
          if (raw) {
            const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
            return Array.from({ length: raw.byteLength / 8 }, (_, i) =>
              Number(view.getBigInt64(i * 8, true)),
            );
          }
          return ints;
        }
        return null;
      }
    }
  } catch {
    return null;
  }
  return null;
}

/** Packed varints re-tagged as field-1 varints, so the one varint reader decodes them. */
function packedAsFields(packed: Uint8Array): Uint8Array {
  const out: number[] = [];
  let start = true;
  for (const b of packed) {
    if (start) out.push(0x08);
    out.push(b);
    start = (b & 0x80) === 0;
  }
  return Uint8Array.from(out);
}

function metadataList(info: OnnxModelInfo, keys: readonly string[]): unknown[] | null {
  for (const key of keys) {
    const raw = info.metadata[key];
    if (raw === undefined) continue;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // Not JSON: scikit-learn-minded writers often store a comma-separated list.
      return raw.split(',').map((s) => s.trim());
    }
  }
  return null;
}
