/**
 * The registry as a retraining job sees it (RetrainRegistry), in memory: one parent version, the
 * candidates the job registers (`1.0.1`, `1.0.2`, …) and the validation reports it records kept
 * for the test to read, and each version's answers on held-out rows given by the test.
 */
import type { LabelledPrediction } from '../../functions/core/inference/ports.js';
import type { IdGenerator } from '../../functions/core/kernel/clock.js';
import type { CapturedRow } from '../../functions/core/monitoring/ports.js';
import type { RegisterVersionInput } from '../../functions/core/registry/registration.js';
import type { ModelVersion } from '../../functions/core/registry/types.js';
import type { DatasetPorts } from '../../functions/core/retraining/dataset.js';
import type { RetrainRegistry, RowSource } from '../../functions/core/retraining/jobs.js';
import { makeDemoModel } from '../../functions/core/training/demo.js';

export interface RegisteredCandidate {
  readonly input: RegisterVersionInput;
  readonly version: string;
}

export interface RecordingRetrainRegistry extends RetrainRegistry {
  readonly registered: RegisteredCandidate[];
  readonly validations: { version: string; report: Record<string, unknown> }[];
}

/** The demo iris model's training rows, read from its CSV: a value that is a number as a number. */
export function irisRows(): Record<string, unknown>[] {
  const [head, ...lines] = makeDemoModel().datasetCsv.split('\n');
  const cols = (head as string).split(',');
  return lines.map((l) =>
    Object.fromEntries(l.split(',').map((v, i) => [cols[i], Number.isNaN(Number(v)) ? v : Number(v)])),
  );
}

/** A job's parent dataset, whatever its URI: `rows`, in order. */
export function rowSource(rows: readonly Record<string, unknown>[]): RowSource {
  return {
    rows: async function* () {
      yield* rows;
    },
  };
}

/**
 * Job ids 01JOB0001, 01JOB0002, … counted by this generator: one per test, so that the services
 * a test makes never hand out the same id twice.
 */
export function jobIds(): IdGenerator {
  let seq = 0;
  return { next: () => `01JOB${String(++seq).padStart(4, '0')}` };
}

/** The demo iris model's 1.0.0 (its schemas), trained on the dataset at `uri`: a job's parent. */
export function irisParent(uri: string): ModelVersion {
  const demo = makeDemoModel();
  return {
    model: 'iris-demo',
    version: '1.0.0',
    runtime: { type: 'lambda' },
    inputSchema: demo.inputSchema,
    outputSchema: demo.outputSchema,
    dataset: { uri },
  } as unknown as ModelVersion;
}

export function recordingRetrainRegistry(options: {
  /** The parent (read on every call, so a test may change it between jobs). */
  readonly parent: () => ModelVersion;
  /** The production version, if any (read on every call). */
  readonly production?: () => string | undefined;
  /** What `version` answers for one held-out instance (its index in the request given too). */
  readonly answer: (version: string, instance: number[], index: number) => string | number;
}): RecordingRetrainRegistry {
  const registered: RegisteredCandidate[] = [];
  const validations: { version: string; report: Record<string, unknown> }[] = [];
  return {
    registered,
    validations,
    getModel: async () => ({ latestVersion: '1.0.0', productionVersion: options.production?.() }),
    getVersion: async () => options.parent(),
    registerStaging: async (_p, _n, input) => {
      const version = `1.0.${registered.length + 1}`;
      registered.push({ input, version });
      return { ...options.parent(), version, stage: 'staging' } as ModelVersion;
    },
    recordValidation: async (_p, _n, version, report) => {
      validations.push({ version, report: report as Record<string, unknown> });
    },
    predict: async (_p, _n, version, instances) => instances.map((x, i) => options.answer(version, x, i)),
  };
}

/**
 * A job's dataset ports in memory: one hour of `captured` rows of version 1.0.0 before `now`,
 * each labelled by `label` (its kind, prediction and ground truth), and the objects the job
 * writes (rows.csv, manifest.json) kept in `objects` under their keys, at `s3://bucket/<key>`.
 */
export function memoryDatasetPorts(
  captured: readonly CapturedRow[],
  now: number,
  label: (row: CapturedRow, index: number) => Pick<LabelledPrediction, 'kind' | 'predicted' | 'actual'>,
): { readonly ports: DatasetPorts; readonly objects: Map<string, string> } {
  const objects = new Map<string, string>();
  const ports: DatasetPorts = {
    captures: {
      partitions: async () => [
        { version: '1.0.0', hourStart: new Date(now - 3_600_000).toISOString(), keys: ['k'] },
      ],
      rows: async function* () {
        yield* captured;
      },
    },
    labels: {
      labelled: async () => ({
        rows: captured.map((c, i) => ({
          predictionId: c.predictionId as string,
          version: '1.0.0',
          at: c.at,
          ...label(c, i),
        })),
        truncated: false,
      }),
    },
    put: async (key, body) => {
      objects.set(key, body);
      return `s3://bucket/${key}`;
    },
  };
  return { ports, objects };
}
