import { describe, expect, it } from 'vitest';
import type { DomainError } from '../../../functions/core/kernel/errors.js';
import {
  linearRegressionOnnx,
  logisticRegressionOnnx,
  mlpOnnx,
  softmaxRegressionOnnx,
} from '../../../functions/core/onnx/models.js';
import { OnnxFormatError, readOnnxModel } from '../../../functions/core/onnx/reader.js';
import { domainError } from '../../support/expect-code.js';

describe('ONNX writers (structure; numerics are checked against onnxruntime in test/integration/onnx)', () => {
  it('writes ir_version 8, opset 17 and the serval metadata', () => {
    const info = readOnnxModel(
      linearRegressionOnnx({
        weights: [1, 2, 3],
        bias: 4,
        featureNames: ['a', 'b', 'c'],
        metadata: { owner: 'team-x' },
      }),
    );
    expect(info.irVersion).toBe(8);
    expect(info.opsets).toEqual([{ domain: '', version: 17 }]);
    expect(info.producerName).toBe('serval');
    expect(info.metadata).toEqual({
      owner: 'team-x',
      'serval.kind': 'linear-regression',
      'serval.task': 'regression',
      'serval.input': 'input',
      'serval.features': '["a","b","c"]',
    });
    expect(info.inputs).toEqual([{ name: 'input', type: 'float32', dims: ['N', 3] }]);
    expect(info.outputs).toEqual([{ name: 'y', type: 'float32', dims: ['N', 1] }]);
  });

  it('can give a regression output of shape [N]', () => {
    const info = readOnnxModel(linearRegressionOnnx({ weights: [1], bias: 0, outputShape: 'vector' }));
    expect(info.outputs).toEqual([{ name: 'y', type: 'float32', dims: ['N'] }]);
  });

  it('declares label int64 [N] and probabilities float [N, K] for classifiers', () => {
    const logistic = readOnnxModel(
      logisticRegressionOnnx({ weights: [1, 2], bias: 0, classes: ['no', 'yes'] }),
    );
    expect(logistic.outputs).toEqual([
      { name: 'label', type: 'int64', dims: ['N'] },
      { name: 'probabilities', type: 'float32', dims: ['N', 2] },
    ]);
    expect(logistic.metadata['serval.classes']).toBe('["no","yes"]');
    expect(logistic.metadata['serval.task']).toBe('binary');

    const softmax = readOnnxModel(softmaxRegressionOnnx({ weights: [[1], [2], [3]], bias: [0, 0, 0] }));
    expect(softmax.outputs[1]).toEqual({ name: 'probabilities', type: 'float32', dims: ['N', 3] });
    expect(softmax.metadata['serval.task']).toBe('multiclass');
  });

  it('names the MLP task after its head', () => {
    const layer = (out: number, inp: number, activation: 'relu' | 'softmax' | 'sigmoid' | 'identity') => ({
      weights: Array.from({ length: out }, () => new Array<number>(inp).fill(0.1)),
      bias: new Array<number>(out).fill(0),
      activation,
    });
    const task = (head: 'softmax' | 'sigmoid' | 'identity', units: number) =>
      readOnnxModel(mlpOnnx({ layers: [layer(3, 2, 'relu'), layer(units, 3, head)] })).metadata[
        'serval.task'
      ];
    expect(task('softmax', 4)).toBe('multiclass');
    expect(task('softmax', 2)).toBe('binary');
    expect(task('sigmoid', 1)).toBe('binary');
    expect(task('identity', 2)).toBe('regression');
    const reg = readOnnxModel(mlpOnnx({ layers: [layer(3, 2, 'relu'), layer(2, 3, 'identity')] }));
    expect(reg.outputs).toEqual([{ name: 'y', type: 'float32', dims: ['N', 2] }]);
  });

  it('is deterministic: the same parameters give the same bytes', () => {
    const params = {
      weights: [
        [1, 2],
        [3, 4],
      ],
      bias: [0.5, -0.5],
      classes: ['x', 'y'],
    };
    // Two separate but equal parameter objects.
    const a = softmaxRegressionOnnx(structuredClone(params));
    const b = softmaxRegressionOnnx(structuredClone(params));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('stores weights as float32 raw data: 3 weights take 12 bytes of the file', () => {
    const small = linearRegressionOnnx({ weights: [1, 2, 3], bias: 0 });
    const big = linearRegressionOnnx({ weights: [1, 2, 3, 4, 5, 6], bias: 0 });
    // Three more float32 weights (12 bytes) and one more in the declared input shape's varint (same size).
    expect(big.length - small.length).toBe(12);
  });

  it.each([
    ['empty weights', () => linearRegressionOnnx({ weights: [], bias: 0 }), 'weights'],
    ['non-finite bias', () => logisticRegressionOnnx({ weights: [1], bias: Number.NaN }), 'bias'],
    ['beyond float32', () => linearRegressionOnnx({ weights: [1e39], bias: 0 }), 'weights[0]'],
    ['ragged matrix', () => softmaxRegressionOnnx({ weights: [[1, 2], [3]], bias: [0, 0] }), 'weights[1]'],
    ['bias length', () => softmaxRegressionOnnx({ weights: [[1], [2]], bias: [0] }), 'bias'],
    ['one class', () => softmaxRegressionOnnx({ weights: [[1]], bias: [0] }), 'weights'],
    [
      'feature names',
      () => linearRegressionOnnx({ weights: [1, 2], bias: 0, featureNames: ['a'] }),
      'featureNames',
    ],
    ['classes', () => logisticRegressionOnnx({ weights: [1], bias: 0, classes: ['a', 'b', 'c'] }), 'classes'],
    [
      'reserved metadata',
      () => linearRegressionOnnx({ weights: [1], bias: 0, metadata: { 'serval.kind': 'x' } }),
      'metadata.serval.kind',
    ],
    [
      'layer widths',
      () =>
        mlpOnnx({
          layers: [
            { weights: [[1, 1]], bias: [0], activation: 'relu' },
            { weights: [[1, 1]], bias: [0], activation: 'identity' },
          ],
        }),
      'layers[1].weights',
    ],
    [
      'hidden softmax',
      () =>
        mlpOnnx({
          layers: [
            { weights: [[1], [1]], bias: [0, 0], activation: 'softmax' },
            { weights: [[1, 1]], bias: [0], activation: 'identity' },
          ],
        }),
      'layers[0].activation',
    ],
    [
      'wide sigmoid head',
      () => mlpOnnx({ layers: [{ weights: [[1], [1]], bias: [0, 0], activation: 'sigmoid' }] }),
      'layers[0].activation',
    ],
  ])('rejects %s with a validation_failed error naming the field', (_name, write, field) => {
    try {
      write();
      expect.unreachable('should have thrown');
    } catch (err) {
      expect(err).toEqual(domainError('validation_failed'));
      expect((err as DomainError).code).toBe('validation_failed');
      expect((err as DomainError).details.field).toBe(field);
    }
  });
});

describe('readOnnxModel', () => {
  it('rejects bytes that are not an ONNX model', () => {
    expect(() => readOnnxModel(new TextEncoder().encode('{"not": "onnx"}'))).toThrow(OnnxFormatError);
    expect(() => readOnnxModel(new Uint8Array(0))).toThrow(OnnxFormatError);
  });
});
