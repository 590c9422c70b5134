/**
 * Small real ONNX artifacts for tests that need the registry to accept bytes but do not care
 * what the model computes: each tag gives different bytes (so a different SHA-256), and every
 * one is a linear regression (3 features unless told) the registry reads (schema f0, f1, f2 → regression).
 */
import { createHash } from 'node:crypto';
import { ElemType, GraphBuilder } from '../../functions/core/onnx/graph.js';
import { linearRegressionOnnx } from '../../functions/core/onnx/models.js';

export function tinyOnnx(tag: string, features = 3): Uint8Array {
  const weights = Array.from({ length: features }, (_, i) => i + 1);
  return linearRegressionOnnx({ weights, bias: 0, docString: `test artifact ${tag}` });
}

export const tinyOnnxBase64 = (tag: string, features = 3): string =>
  Buffer.from(tinyOnnx(tag, features)).toString('base64');

/** A registration by presigned upload of these bytes (declared SHA-256), as an ONNX Lambda version. */
export function uploadRegistration(bytes: Uint8Array, version?: string) {
  return {
    version,
    artifact: { upload: true as const },
    sha256: createHash('sha256').update(bytes).digest('hex'),
    framework: 'onnx' as const,
    runtime: { type: 'lambda' as const },
  };
}

/**
 * A well-formed ONNX file onnxruntime refuses to load (its one node is an operator that does not
 * exist): input float [N, features], outputs `label` int64 [N] and `probabilities` float [N, 2],
 * so the registry accepts it for a binary schema and only the runtime finds it broken.
 */
export function unloadableOnnx(features = 3): Uint8Array {
  const g = new GraphBuilder('broken');
  const x = g.input('input', ElemType.FLOAT, ['N', features]);
  g.node('NotAnOnnxOperator', [x], ['label', 'probabilities']);
  g.output('label', ElemType.INT64, ['N']);
  g.output('probabilities', ElemType.FLOAT, ['N', 2]);
  return g.encode({ docString: 'cannot be loaded' });
}
