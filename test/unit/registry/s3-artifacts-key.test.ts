import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../../functions/adapters/s3-artifacts.js';

describe('S3ArtifactStore.keyOf', () => {
  const store = new S3ArtifactStore({} as S3Client, 'serval-artifacts');

  it('names objects of its own bucket only, keys taken verbatim', () => {
    expect(store.keyOf('s3://serval-artifacts/datasets/iris-demo/train.csv')).toBe(
      'datasets/iris-demo/train.csv',
    );
    expect(store.keyOf('s3://serval-artifacts/a%20b/C.csv')).toBe('a%20b/C.csv');
    expect(store.keyOf('s3://serval-artifacts-other/x.csv')).toBeUndefined();
    expect(store.keyOf('s3://other/serval-artifacts/x.csv')).toBeUndefined();
    expect(store.keyOf('s3://serval-artifacts/')).toBeUndefined();
    expect(store.keyOf('https://serval-artifacts.s3.amazonaws.com/x.csv')).toBeUndefined();
  });
});
