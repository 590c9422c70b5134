/**
 * The key layout of the artifacts bucket. One description for the code that builds keys (core
 * registry and monitoring, the S3 adapters), the lifecycle rules (lib/constructs/storage.ts) and
 * the per-prefix grants of BINDINGS (functions/contract/resources.ts): a key the code writes and
 * the grant that allows it cannot drift apart. It is part of the product, too: users upload
 * datasets under `datasets/` and read captured predictions under `captures/`.
 *
 * Pure data: imports nothing.
 */

export const ARTIFACT_PREFIXES = {
  /** `models/<name>/<version>/<id>`: registered artifacts; no presigned URL is ever issued here. */
  models: 'models/',
  /**
   * `uploads/<name>/<version>/<id>`: the drop box of presigned uploads. Completion copies a
   * verified upload under models/, so a URL still valid afterwards cannot touch what serves.
   */
  uploads: 'uploads/',
  /** Training and reference datasets, uploaded by users; Serval only reads them. */
  datasets: 'datasets/',
  /** Models trained elsewhere, put there by users to be imported (docs/import.md); only read. */
  imports: 'imports/',
  /** `captures/<model>/<version>/<YYYY-MM-DD>/<HH>/<id>.jsonl.gz`: captured predictions. */
  captures: 'captures/',
  /** `baselines/<model>/<version>/<id>.json`: baseline profiles. */
  baselines: 'baselines/',
  /** `jobs/<jobId>/checkpoint.json`: a retraining job's search state, to continue or resume it. */
  jobs: 'jobs/',
} as const;

/** Suffix of a capture file: what the capture worker writes and drift checks read as data. */
export const CAPTURE_FILE_SUFFIX = '.jsonl.gz';

/** Directory, inside a captured hour, of the window sketches drift checks keep beside it. */
export const SKETCH_DIR = '_sketches/';

/** Suffix of a sketch (and of a baseline profile): JSON documents. */
export const JSON_SUFFIX = '.json';

/**
 * Object key patterns, in IAM's wildcard syntax (`*` matches any run of characters, `/`
 * included), so they can be granted as they are. The capture and sketch patterns differ in their
 * suffix: the capture worker cannot overwrite a sketch, and a function that writes sketches cannot
 * plant a capture file that a drift check would read as data.
 */
export const ARTIFACT_KEY_PATTERNS = {
  models: `${ARTIFACT_PREFIXES.models}*`,
  uploads: `${ARTIFACT_PREFIXES.uploads}*`,
  datasets: `${ARTIFACT_PREFIXES.datasets}*`,
  imports: `${ARTIFACT_PREFIXES.imports}*`,
  captureFiles: `${ARTIFACT_PREFIXES.captures}*${CAPTURE_FILE_SUFFIX}`,
  /** Everything under captures/: the capture files and the sketches beside them. */
  captures: `${ARTIFACT_PREFIXES.captures}*`,
  sketches: `${ARTIFACT_PREFIXES.captures}*/${SKETCH_DIR}*${JSON_SUFFIX}`,
  baselines: `${ARTIFACT_PREFIXES.baselines}*${JSON_SUFFIX}`,
  jobCheckpoints: `${ARTIFACT_PREFIXES.jobs}*${JSON_SUFFIX}`,
  /**
   * `jobs/<id>/sagemaker/{train/,output/}…`: a SageMaker training job's channel (written by the
   * worker, read by the training role) and its output (written by the role, read by the worker).
   */
  jobTraining: `${ARTIFACT_PREFIXES.jobs}*/sagemaker/*`,
  jobTrainingInput: `${ARTIFACT_PREFIXES.jobs}*/sagemaker/train/*`,
  jobTrainingOutput: `${ARTIFACT_PREFIXES.jobs}*/sagemaker/output/*`,
} as const;

/** Whether `key` matches an IAM object key pattern (`*` any run of characters, `?` one). */
export function keyMatches(pattern: string, key: string): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(key);
}
