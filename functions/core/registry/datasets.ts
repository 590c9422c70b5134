/**
 * A version's training dataset reference. When the dataset lives in Serval's own artifacts
 * bucket, Serval can read it, so the SHA-256 recorded on the version is one Serval computed (or
 * checked against the caller's) rather than whatever the caller said; `verified` tells which.
 * Datasets elsewhere cannot be read (no credentials, and no fetching of arbitrary locations), so
 * their digest stays the caller's claim and `verified` is false.
 */
import { ARTIFACT_PREFIXES } from '../../contract/artifact-keys.js';
import { integrityFailed, validationFailed } from '../kernel/errors.js';
import type { ArtifactStore } from './ports.js';
import type { DatasetRef } from './types.js';

export async function verifiedDataset(
  artifacts: Pick<ArtifactStore, 'keyOf' | 'digest'>,
  dataset: DatasetRef | undefined,
): Promise<DatasetRef | undefined> {
  if (!dataset) return undefined;
  const key = artifacts.keyOf(dataset.uri);
  if (key === undefined) return { ...dataset, verified: false };
  // Serval reads its bucket's datasets under datasets/ only (the registry's grant): a version
  // cannot name a model artifact or captured predictions as its dataset and learn their digest.
  if (!key.startsWith(ARTIFACT_PREFIXES.datasets)) {
    throw validationFailed(
      `datasets in the artifacts bucket are read from ${ARTIFACT_PREFIXES.datasets} only`,
      { field: 'dataset.uri' },
    );
  }
  const stored = await artifacts.digest(key);
  if (!stored) {
    throw validationFailed(`dataset ${dataset.uri} does not exist in the artifacts bucket`, {
      field: 'dataset.uri',
    });
  }
  if (dataset.sha256 !== undefined && dataset.sha256 !== stored.sha256) {
    throw integrityFailed('the dataset does not match the declared dataset.sha256', {
      field: 'dataset.sha256',
      expected: dataset.sha256,
      actual: stored.sha256,
    });
  }
  return { ...dataset, sha256: stored.sha256, verified: true };
}
