/**
 * The artifact as serving loads it. skl2onnx's classifiers end in a ZipMap by default: a sequence
 * of {class: p} maps that onnxruntime-node cannot hand back; serving reads the [N, K] tensor the
 * ZipMap is built from, which `servableBytes` exposes as a graph output (signature.ts says more
 * about the shapes exporters give). A module of its own: serving needs only this at a cold start,
 * and the rest of reading a graph's signature is the registry's (docs/inference.md, round 8).
 */
import type { TensorInfo } from '../kernel/runner.js';
import { type OnnxModelInfo, readOnnxModel } from './reader.js';
import { ProtoWriter } from './wire.js';

/** A ZipMap that turns a probability tensor into a graph output of class → p maps. */
export interface ZipMapHead {
  readonly tensor: string;
  readonly output: string;
  readonly classes: readonly (string | number)[] | null;
}

export function zipMaps(info: OnnxModelInfo): ZipMapHead[] {
  const outputs = new Set(info.outputs.map((o) => o.name));
  const heads: ZipMapHead[] = [];
  for (const n of info.nodes) {
    if (n.op !== 'ZipMap' || n.domain !== 'ai.onnx.ml') continue;
    const [tensor] = n.inputs;
    const [output] = n.outputs;
    if (!tensor || !output || !outputs.has(output)) continue;
    const ints = n.attributes.classlabels_int64s;
    const strings = n.attributes.classlabels_strings;
    const classes = ints?.type === 'ints' ? ints.value : strings?.type === 'strings' ? strings.value : null;
    heads.push({ tensor, output, classes });
  }
  return heads;
}

/**
 * The outputs serving can read: the graph's outputs, plus the probability tensor behind each
 * ZipMap (what `servableBytes` adds), as float32 [batch, K].
 */
export function servingOutputs(info: OnnxModelInfo): TensorInfo[] {
  const outputs: TensorInfo[] = [...info.outputs];
  for (const z of zipMaps(info)) {
    if (outputs.some((o) => o.name === z.tensor)) continue;
    outputs.push({ name: z.tensor, type: 'float32', dims: [null, z.classes?.length ?? null] });
  }
  return outputs;
}

/**
 * The artifact as serving loads it: unchanged, unless a ZipMap hides the probability tensor,
 * which is then added as a graph output. The checksum is of the registered bytes; this copy
 * exists only in memory. Bytes that do not parse are returned as they are, for the runtime to judge.
 */
export function servableBytes(bytes: Uint8Array): Uint8Array {
  let info: OnnxModelInfo;
  try {
    info = readOnnxModel(bytes);
  } catch {
    return bytes;
  }
  const hidden = zipMaps(info).filter((z) => !info.outputs.some((o) => o.name === z.tensor));
  if (hidden.length === 0) return bytes;
  // A ModelProto may carry its graph field more than once; protobuf parsers merge the
  // occurrences, so appending a graph holding only the extra outputs adds them to the graph.
  const extra = new ProtoWriter()
    .message(7, (g) => {
      for (const z of hidden) {
        g.message(12, (v) => {
          v.string(1, z.tensor);
          v.message(2, (type) =>
            type.message(1, (tensor) => {
              tensor.int(1, 1); // FLOAT
              tensor.message(2, (shape) => {
                shape.message(1, () => undefined); // batch: unknown
                if (z.classes) shape.message(1, (dim) => dim.int(1, z.classes?.length ?? 0));
                else shape.message(1, () => undefined);
              });
            }),
          );
        });
      }
    })
    .finish();
  const out = new Uint8Array(bytes.byteLength + extra.byteLength);
  out.set(bytes, 0);
  out.set(extra, bytes.byteLength);
  return out;
}
