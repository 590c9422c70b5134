/**
 * A small builder for ONNX ModelProto bytes (field numbers from onnx/onnx.proto). It knows only
 * what Serval's writers use: float/int64 initializers, tensor inputs and outputs with symbolic
 * or fixed dimensions, and int/float/ints attributes.
 */
import { float32LE, ProtoWriter } from './wire.js';

/** TensorProto.DataType values. */
export const ElemType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;
export type ElemType = (typeof ElemType)[keyof typeof ElemType];

/** ir_version 8 pairs with opset 17 (ONNX 1.12), which every onnxruntime since 1.13 reads. */
export const IR_VERSION = 8;
export const OPSET_VERSION = 17;

/** A fixed size, or a symbolic name for a dimension chosen at run time (the batch). */
export type Dim = number | string;

export type Attribute =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'strings'; readonly value: readonly string[] };

/** The classic-ML operator set (ZipMap, LabelEncoder, …) that scikit-learn exports use. */
export const ML_DOMAIN = 'ai.onnx.ml';
const ML_OPSET_VERSION = 3;

interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly domain: string;
  readonly attributes: Readonly<Record<string, Attribute>>;
}

interface InitializerSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: typeof ElemType.FLOAT | typeof ElemType.INT64;
  readonly raw: Uint8Array;
}

interface ValueSpec {
  readonly name: string;
  readonly type: ElemType;
  readonly dims: readonly Dim[];
  /** A sequence of maps from `type` to float (scikit-learn's ZipMap output) instead of a tensor. */
  readonly mapKey?: typeof ElemType.INT64 | typeof ElemType.STRING;
}

const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;
const ATTR_STRINGS = 8;

export class GraphBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly inits: InitializerSpec[] = [];
  private readonly inputs: ValueSpec[] = [];
  private readonly outputs: ValueSpec[] = [];
  private readonly names = new Set<string>();

  constructor(private readonly graphName: string) {}

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`duplicate value name ${name} in ONNX graph`);
    this.names.add(name);
    return name;
  }

  input(name: string, type: ElemType, dims: readonly Dim[]): string {
    this.inputs.push({ name: this.claim(name), type, dims });
    return name;
  }

  output(name: string, type: ElemType, dims: readonly Dim[]): void {
    this.outputs.push({ name, type, dims });
  }

  /** An output typed seq(map(key, float)), as ZipMap produces. */
  mapSequenceOutput(name: string, key: typeof ElemType.INT64 | typeof ElemType.STRING): void {
    this.outputs.push({ name, type: ElemType.FLOAT, dims: [], mapKey: key });
  }

  floats(name: string, dims: readonly number[], values: ArrayLike<number>): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== values.length)
      throw new Error(`initializer ${name}: ${values.length} values for shape [${dims}]`);
    this.inits.push({ name: this.claim(name), dims, type: ElemType.FLOAT, raw: float32LE(values) });
    return name;
  }

  int64s(name: string, dims: readonly number[], values: readonly number[]): string {
    const raw = new Uint8Array(values.length * 8);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => {
      view.setBigInt64(i * 8, BigInt(v), true);
    });
    this.inits.push({ name: this.claim(name), dims, type: ElemType.INT64, raw });
    return name;
  }

  node(
    op: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: Readonly<Record<string, Attribute>> = {},
    domain = '',
  ): string {
    for (const o of outputs) this.claim(o);
    this.nodes.push({
      op,
      inputs,
      outputs,
      attributes,
      domain,
      name: `${op.toLowerCase()}_${this.nodes.length}`,
    });
    return outputs[0] as string;
  }

  encode(meta: ModelMeta): Uint8Array {
    const w = new ProtoWriter();
    w.int(1, IR_VERSION);
    w.string(2, meta.producerName ?? 'serval');
    w.string(3, meta.producerVersion ?? '1');
    w.string(4, meta.domain ?? 'dev.serval');
    w.int(5, meta.modelVersion ?? 1);
    if (meta.docString) w.string(6, meta.docString);
    w.message(7, (g) => this.encodeGraph(g));
    w.message(8, (o) => {
      o.string(1, '');
      o.int(2, OPSET_VERSION);
    });
    if (this.nodes.some((n) => n.domain === ML_DOMAIN)) {
      w.message(8, (o) => {
        o.string(1, ML_DOMAIN);
        o.int(2, ML_OPSET_VERSION);
      });
    }
    for (const [key, value] of Object.entries(meta.metadata ?? {})) {
      w.message(14, (e) => {
        e.string(1, key);
        e.string(2, value);
      });
    }
    return w.finish();
  }

  private encodeGraph(g: ProtoWriter): void {
    for (const n of this.nodes) {
      g.message(1, (m) => {
        for (const i of n.inputs) m.string(1, i);
        for (const o of n.outputs) m.string(2, o);
        m.string(3, n.name);
        m.string(4, n.op);
        if (n.domain) m.string(7, n.domain);
        for (const [name, attr] of Object.entries(n.attributes))
          m.message(5, (a) => encodeAttribute(a, name, attr));
      });
    }
    g.string(2, this.graphName);
    for (const t of this.inits) {
      g.message(5, (m) => {
        for (const d of t.dims) m.int(1, d);
        m.int(2, t.type);
        m.string(8, t.name);
        m.bytes(9, t.raw);
      });
    }
    for (const v of this.inputs) g.message(11, (m) => encodeValueInfo(m, v));
    for (const v of this.outputs) g.message(12, (m) => encodeValueInfo(m, v));
  }
}

export interface ModelMeta {
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly domain?: string;
  readonly modelVersion?: number;
  readonly docString?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

function encodeAttribute(a: ProtoWriter, name: string, attr: Attribute): void {
  a.string(1, name);
  switch (attr.type) {
    case 'int':
      a.int(20, ATTR_INT);
      a.int(3, attr.value);
      break;
    case 'float':
      a.int(20, ATTR_FLOAT);
      a.float(2, attr.value);
      break;
    case 'ints':
      a.int(20, ATTR_INTS);
      // onnx.proto is proto2 without [packed=true] here, so each element is its own field.
      for (const v of attr.value) a.int(8, v);
      break;
    case 'strings':
      a.int(20, ATTR_STRINGS);
      for (const v of attr.value) a.string(9, v);
      break;
  }
}

function encodeValueInfo(m: ProtoWriter, v: ValueSpec): void {
  m.string(1, v.name);
  const key = v.mapKey;
  if (key !== undefined) {
    // TypeProto: sequence_type = 4 { elem_type = 1 }, map_type = 5 { key_type = 1, value_type = 2 }.
    m.message(2, (type) =>
      type.message(4, (seq) =>
        seq.message(1, (elem) =>
          elem.message(5, (map) => {
            map.int(1, key);
            map.message(2, (value) => value.message(1, (tensor) => tensor.int(1, v.type)));
          }),
        ),
      ),
    );
    return;
  }
  m.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.type);
      tensor.message(2, (shape) => {
        for (const d of v.dims) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}
