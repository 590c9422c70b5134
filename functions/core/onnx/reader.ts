/**
 * Reads the header of an ONNX file — versions, producer, metadata_props and the graph's declared
 * inputs and outputs — without a runtime, so the registry can describe an artifact (and spot a
 * file that is not ONNX at all) where onnxruntime is not loaded.
 */
import { ElemType } from './graph.js';
import { fieldBytes, fieldInt, fieldString, ProtoDecodeError, readFields } from './wire.js';

export interface OnnxValueInfo {
  readonly name: string;
  /** Tensor element type name ('float32', 'int64', …), or 'non-tensor' for sequences and maps. */
  readonly type: string;
  /** Fixed sizes as numbers, symbolic ones as their names, unknown ones as null. */
  readonly dims: readonly (number | string | null)[] | null;
}

/** A node's attribute, as far as Serval reads them: numbers, strings and their lists. */
export type OnnxAttribute =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'strings'; readonly value: readonly string[] }
  | { readonly type: 'other' };

export interface OnnxNode {
  readonly op: string;
  /** '' (or 'ai.onnx') for the standard operators, 'ai.onnx.ml' for the classic-ML ones. */
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, OnnxAttribute>>;
}

export interface OnnxModelInfo {
  readonly irVersion: number;
  readonly opsets: readonly { readonly domain: string; readonly version: number }[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly graphName: string;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  /** The graph's nodes in file order (subgraphs of If/Loop are not descended into). */
  readonly nodes: readonly OnnxNode[];
}

export class OnnxFormatError extends Error {
  override readonly name = 'OnnxFormatError';
}

const TYPE_NAMES: Record<number, string> = {
  [ElemType.FLOAT]: 'float32',
  [ElemType.UINT8]: 'uint8',
  [ElemType.INT8]: 'int8',
  4: 'uint16',
  5: 'int16',
  [ElemType.INT32]: 'int32',
  [ElemType.INT64]: 'int64',
  [ElemType.STRING]: 'string',
  [ElemType.BOOL]: 'bool',
  [ElemType.FLOAT16]: 'float16',
  [ElemType.DOUBLE]: 'float64',
  12: 'uint32',
  13: 'uint64',
};

export function elemTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `type-${type}`;
}

export function readOnnxModel(bytes: Uint8Array): OnnxModelInfo {
  try {
    return decodeModel(bytes);
  } catch (err) {
    if (err instanceof ProtoDecodeError || err instanceof TypeError) {
      throw new OnnxFormatError(`not an ONNX model: ${err.message}`);
    }
    throw err;
  }
}

function decodeModel(bytes: Uint8Array): OnnxModelInfo {
  let irVersion: number | undefined;
  const opsets: { domain: string; version: number }[] = [];
  let producerName = '';
  let producerVersion = '';
  let docString = '';
  const metadata: Record<string, string> = {};
  let graph: Uint8Array | undefined;
  for (const { field, data } of readFields(bytes)) {
    if (field === 1) irVersion = Number(fieldInt(data));
    else if (field === 2) producerName = fieldString(data);
    else if (field === 3) producerVersion = fieldString(data);
    else if (field === 6) docString = fieldString(data);
    else if (field === 7) graph = fieldBytes(data);
    else if (field === 8) {
      let domain = '';
      let version = 0;
      for (const f of readFields(fieldBytes(data))) {
        if (f.field === 1) domain = fieldString(f.data);
        else if (f.field === 2) version = Number(fieldInt(f.data));
      }
      opsets.push({ domain, version });
    } else if (field === 14) {
      let key = '';
      let value = '';
      for (const f of readFields(fieldBytes(data))) {
        if (f.field === 1) key = fieldString(f.data);
        else if (f.field === 2) value = fieldString(f.data);
      }
      metadata[key] = value;
    }
  }
  if (irVersion === undefined || graph === undefined) {
    throw new OnnxFormatError('not an ONNX model: ir_version or graph missing');
  }
  let graphName = '';
  const inputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  const initializers = new Set<string>();
  const nodes: OnnxNode[] = [];
  for (const { field, data } of readFields(graph)) {
    if (field === 1) nodes.push(decodeNode(fieldBytes(data)));
    else if (field === 2) graphName = fieldString(data);
    else if (field === 5) {
      for (const f of readFields(fieldBytes(data))) if (f.field === 8) initializers.add(fieldString(f.data));
    } else if (field === 11) inputs.push(decodeValueInfo(fieldBytes(data)));
    else if (field === 12) outputs.push(decodeValueInfo(fieldBytes(data)));
  }
  return {
    irVersion,
    opsets,
    producerName,
    producerVersion,
    docString,
    metadata,
    graphName,
    // Before IR 4 initializers had to be listed among the inputs too; they are not fed by callers.
    inputs: inputs.filter((i) => !initializers.has(i.name)),
    outputs,
    nodes,
  };
}

function decodeNode(bytes: Uint8Array): OnnxNode {
  const inputs: string[] = [];
  const outputs: string[] = [];
  let op = '';
  let domain = '';
  const attributes: Record<string, OnnxAttribute> = {};
  for (const { field, data } of readFields(bytes)) {
    if (field === 1) inputs.push(fieldString(data));
    else if (field === 2) outputs.push(fieldString(data));
    else if (field === 4) op = fieldString(data);
    else if (field === 7) domain = fieldString(data);
    else if (field === 5) {
      const [name, attr] = decodeAttribute(fieldBytes(data));
      attributes[name] = attr;
    }
  }
  return { op, domain, inputs, outputs, attributes };
}

const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;
const ATTR_STRINGS = 8;

function decodeAttribute(bytes: Uint8Array): [string, OnnxAttribute] {
  let name = '';
  let type = 0;
  let f = 0;
  let i = 0;
  let s = '';
  const ints: number[] = [];
  const strings: string[] = [];
  for (const { field, data } of readFields(bytes)) {
    if (field === 1) name = fieldString(data);
    else if (field === 20) type = Number(fieldInt(data));
    else if (field === 2 && data.wire === 'fixed32') {
      f = new DataView(data.value.buffer, data.value.byteOffset, 4).getFloat32(0, true);
    } else if (field === 3) i = Number(fieldInt(data));
    else if (field === 4) s = bytesText(fieldBytes(data));
    else if (field === 8) {
      // Writers differ: proto2 repeats the field, packed writers put every value in one.
      if (data.wire === 'varint') ints.push(Number(fieldInt(data)));
      else ints.push(...readPackedVarints(fieldBytes(data)).map((v) => Number(BigInt.asIntN(64, BigInt(v)))));
    } else if (field === 9) strings.push(bytesText(fieldBytes(data)));
  }
  const attr: OnnxAttribute =
    type === ATTR_INT
      ? { type: 'int', value: i }
      : type === ATTR_FLOAT
        ? { type: 'float', value: f }
        : type === ATTR_STRING
          ? { type: 'string', value: s }
          : type === ATTR_INTS
            ? { type: 'ints', value: ints }
            : type === ATTR_STRINGS
              ? { type: 'strings', value: strings }
              : { type: 'other' };
  return [name, attr];
}

/** Attribute strings are bytes in ONNX; labels are UTF-8 in practice, and shown lossily if not. */
function bytesText(bytes: Uint8Array): string {
  return new TextDecoder('utf-8').decode(bytes);
}

function decodeValueInfo(bytes: Uint8Array): OnnxValueInfo {
  let name = '';
  let type = 'non-tensor';
  let dims: (number | string | null)[] | null = null;
  for (const { field, data } of readFields(bytes)) {
    if (field === 1) name = fieldString(data);
    else if (field === 2) {
      for (const t of readFields(fieldBytes(data))) {
        if (t.field !== 1) continue;
        for (const f of readFields(fieldBytes(t.data))) {
          if (f.field === 1) type = elemTypeName(Number(fieldInt(f.data)));
          else if (f.field === 2) {
            dims = [];
            for (const d of readFields(fieldBytes(f.data))) {
              if (d.field !== 1) continue;
              let dim: number | string | null = null;
              for (const v of readFields(fieldBytes(d.data))) {
                if (v.field === 1) dim = Number(fieldInt(v.data));
                else if (v.field === 2) dim = fieldString(v.data);
              }
              dims.push(dim);
            }
          }
        }
      }
    }
  }
  return { name, type, dims };
}

export interface FloatInitializer {
  readonly dims: readonly number[];
  readonly values: Float32Array;
}

/**
 * The graph's float32 initializers (weights) by name, from raw_data or float_data. Others
 * (int64 shapes, doubles) are skipped: explanations only need a linear model's float weights.
 */
export function readFloatInitializers(bytes: Uint8Array): Map<string, FloatInitializer> {
  const out = new Map<string, FloatInitializer>();
  try {
    for (const { field, data } of readFields(bytes)) {
      if (field !== 7) continue;
      for (const g of readFields(fieldBytes(data))) {
        if (g.field !== 5) continue;
        const init = decodeFloatTensor(fieldBytes(g.data));
        if (init) out.set(init.name, { dims: init.dims, values: init.values });
      }
    }
  } catch (err) {
    if (err instanceof ProtoDecodeError) throw new OnnxFormatError(`not an ONNX model: ${err.message}`);
    throw err;
  }
  return out;
}

function decodeFloatTensor(bytes: Uint8Array): { name: string; dims: number[]; values: Float32Array } | null {
  let name = '';
  const dims: number[] = [];
  let type = 0;
  let raw: Uint8Array | undefined;
  const floats: number[] = [];
  for (const { field, data } of readFields(bytes)) {
    if (field === 1) {
      if (data.wire === 'varint') dims.push(Number(fieldInt(data)));
      else for (const d of readPackedVarints(fieldBytes(data))) dims.push(d);
    } else if (field === 2) type = Number(fieldInt(data));
    else if (field === 8) name = fieldString(data);
    else if (field === 9) raw = fieldBytes(data);
    else if (field === 4) {
      const b = data.wire === 'fixed32' ? data.value : fieldBytes(data);
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i + 4 <= b.byteLength; i += 4) floats.push(view.getFloat32(i, true));
    }
  }
  if (type !== ElemType.FLOAT) return null;
  let values: Float32Array;
  if (raw) {
    values = new Float32Array(raw.byteLength / 4);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
  } else values = Float32Array.from(floats);
  return { name, dims, values };
}

function readPackedVarints(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const b of bytes) {
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) {
      out.push(value);
      value = 0;
      shift = 0;
    } else shift += 7;
  }
  return out;
}
