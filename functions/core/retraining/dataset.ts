/**
 * The training rows of a retraining job (docs/retraining.md, "Dataset"): the parent's dataset
 * (when the policy includes it) plus the model's captured predictions joined with their feedback
 * labels over the policy's window, written to S3 as one CSV and a manifest (uri, sha256, rows,
 * sources). The rows are in a fixed order (the dataset's, then captured rows by serving time and
 * prediction id), so the same rows and split seed give the same model, byte for byte; the SHA-256
 * in the job's lineage is that of the CSV file as written.
 */
import type { LabelledPredictions } from '../inference/ports.js';
import type { CaptureSource } from '../monitoring/ports.js';
import { sha256Hex } from '../registry/records.js';

export interface DatasetPorts {
  readonly captures: Pick<CaptureSource, 'partitions' | 'rows'>;
  readonly labels: LabelledPredictions;
  /** Writes an object under the artifacts bucket; returns its s3:// URI. */
  put(key: string, body: string, contentType: string): Promise<string>;
}

export interface DatasetInput {
  readonly model: string;
  readonly jobId: string;
  readonly features: readonly string[];
  /** The parent's classes; empty for a regression model, whose labels are numbers. */
  readonly classes: readonly string[];
  /** The parent's rows (features, class index or value), already read; absent when the policy leaves them out. */
  readonly baseline?: { readonly uri: string; readonly x: number[][]; readonly y: number[] };
  readonly windowDays: number;
  readonly now: Date;
  readonly maxRows: number;
}

export interface TrainingSet {
  readonly x: number[][];
  readonly y: number[];
  readonly uri: string;
  readonly manifestUri: string;
  readonly sha256: string;
  readonly rows: number;
  readonly sources: Record<string, unknown>;
}

export async function buildTrainingSet(ports: DatasetPorts, input: DatasetInput): Promise<TrainingSet> {
  const { features, classes } = input;
  const regression = classes.length === 0;
  // A class index, or a regressor's value; undefined when the label is neither.
  const labelOf = (actual: string | number): number | undefined => {
    if (regression) {
      const v = typeof actual === 'number' ? actual : actual.trim() === '' ? Number.NaN : Number(actual);
      return Number.isFinite(v) ? v : undefined;
    }
    const at = classes.indexOf(String(actual));
    return at >= 0 ? at : undefined;
  };
  const x: number[][] = [...(input.baseline?.x ?? [])];
  const y: number[] = [...(input.baseline?.y ?? [])];
  const from = new Date(input.now.getTime() - input.windowDays * 86_400_000);
  let captured = 0;
  let unusable = 0;
  let truncated = false;
  if (input.windowDays > 0) {
    const room = Math.max(0, input.maxRows - x.length);
    const labelled = await ports.labels.labelled(input.model, from, input.now, { limit: room });
    truncated = labelled.truncated;
    const actual = new Map(labelled.rows.map((r) => [r.predictionId, r]));
    const versions = [...new Set(labelled.rows.map((r) => r.version))].sort();
    const found: { at: string; id: string; values: number[]; cls: number }[] = [];
    if (actual.size > 0) {
      for (const p of await ports.captures.partitions(input.model, versions, from, input.now)) {
        for await (const row of ports.captures.rows(p)) {
          const label = row.predictionId ? actual.get(row.predictionId) : undefined;
          if (!label || row.shadow) continue;
          actual.delete(row.predictionId as string);
          const values = featuresOf(row.instance, features);
          const cls = labelOf(label.actual);
          if (!values || cls === undefined) {
            unusable++;
            continue;
          }
          found.push({ at: label.at, id: label.predictionId, values, cls });
        }
      }
    }
    found.sort((a, b) => (a.at === b.at ? (a.id < b.id ? -1 : 1) : a.at < b.at ? -1 : 1));
    for (const f of found) {
      x.push(f.values);
      y.push(f.cls);
    }
    captured = found.length;
  }
  const csv = [
    [...features, 'label'].join(','),
    ...x.map((v, i) => [...v, regression ? y[i] : classes[y[i] as number]].join(',')),
  ]
    // No final newline: the file's SHA-256 is then the digest the service computes when it reads
    // these rows back (a continuation, a trial), so a checkpoint recognises its own rows.
    .join('\n');
  const sha256 = await sha256Hex(new TextEncoder().encode(csv));
  const prefix = `datasets/${input.model}/retraining/${input.jobId}`;
  const uri = await ports.put(`${prefix}/rows.csv`, csv, 'text/csv');
  const sources = {
    baseline: input.baseline ? { uri: input.baseline.uri, rows: input.baseline.x.length } : null,
    captured: {
      from: from.toISOString(),
      to: input.now.toISOString(),
      windowDays: input.windowDays,
      rows: captured,
      // Labelled predictions whose inputs could not be read as the features, or whose label is no
      // class (a regressor's: not a number).
      unusable,
      truncated,
    },
  };
  const manifest = {
    uri,
    sha256,
    rows: x.length,
    features,
    ...(regression ? { task: 'regression' } : { classes }),
    label: 'label',
    sources,
  };
  const manifestUri = await ports.put(
    `${prefix}/manifest.json`,
    JSON.stringify(manifest, null, 2),
    'application/json',
  );
  return { x, y, uri, manifestUri, sha256, rows: x.length, sources };
}

/** An instance as sent (positional, or keyed by feature name) as the features' numbers. */
function featuresOf(instance: unknown, features: readonly string[]): number[] | undefined {
  const raw = Array.isArray(instance)
    ? instance
    : instance && typeof instance === 'object'
      ? features.map((f) => (instance as Record<string, unknown>)[f])
      : undefined;
  if (!raw || raw.length !== features.length) return undefined;
  const values = raw.map((v) => (typeof v === 'number' ? v : Number.NaN));
  return values.every(Number.isFinite) ? values : undefined;
}
