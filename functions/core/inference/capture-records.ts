/**
 * From a capture message (the queue's wire form) to what is stored: S3 capture rows, one per
 * prediction, in the shape drift checks read ({predictionId, at, version, instance, prediction,
 * …}, instance keyed by feature name), and the CaptureBatch counted into the aggregates.
 */
import { z } from 'zod';
import { hourStartOf } from './aggregates.js';
import type { CaptureBatch, CapturedPrediction, CaptureMessage } from './ports.js';

const Label = z.union([z.string(), z.number()]);
const Message = z.object({
  v: z.literal(1),
  id: z.string().min(1).max(128),
  model: z.string().min(1).max(64),
  version: z.string().min(1).max(64),
  variant: z.string().max(64).optional(),
  at: z.iso.datetime({ offset: true }),
  latencyMs: z.number().finite().nonnegative(),
  outcome: z.enum(['ok', 'error']),
  errorCode: z.string().max(64).optional(),
  kind: z.enum(['regression', 'binary', 'multiclass']).optional(),
  features: z.array(z.string()).optional(),
  predictionIds: z.array(z.string()).optional(),
  instances: z.array(z.unknown()).optional(),
  predictions: z.array(Label).optional(),
  probabilities: z.array(z.array(z.number())).optional(),
  part: z.number().int().nonnegative().optional(),
});

/**
 * The capture messages of one queue message body: a JSON array of them (the queue packs many
 * into one SQS message) or a single one. `malformed` counts entries Serval did not write.
 */
export function parseCaptureBody(body: string): { messages: CaptureMessage[]; malformed: number } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { messages: [], malformed: 1 };
  }
  const entries = Array.isArray(json) ? json : [json];
  const messages: CaptureMessage[] = [];
  for (const entry of entries) {
    const m = checkMessage(entry);
    if (m) messages.push(m);
  }
  return { messages, malformed: entries.length - messages.length };
}

function checkMessage(json: unknown): CaptureMessage | undefined {
  const parsed = Message.safeParse(json);
  if (!parsed.success) return undefined;
  const m = parsed.data;
  const n = m.predictionIds?.length ?? 0;
  if (m.outcome === 'ok' && (m.predictions?.length !== n || (m.instances && m.instances.length !== n))) {
    return undefined;
  }
  return m as CaptureMessage;
}

export interface CaptureRow {
  readonly predictionId: string;
  readonly at: string;
  readonly version: string;
  readonly variant?: string;
  readonly instance: unknown;
  readonly prediction: string | number;
  readonly probabilities?: readonly number[];
  readonly latencyMs: number;
  [key: string]: unknown;
}

export function captureRows(m: CaptureMessage): CaptureRow[] {
  if (m.outcome !== 'ok' || !m.predictionIds) return [];
  return m.predictionIds.map((predictionId, i) => ({
    predictionId,
    at: m.at,
    version: m.version,
    ...(m.variant ? { variant: m.variant } : {}),
    instance: named(m.instances?.[i], m.features),
    prediction: m.predictions?.[i] as string | number,
    ...(m.probabilities ? { probabilities: m.probabilities[i] } : {}),
    latencyMs: m.latencyMs,
  }));
}

/** Positional instances become objects keyed by feature name, as drift checks read them. */
function named(instance: unknown, features: readonly string[] | undefined): unknown {
  if (!Array.isArray(instance) || !features || instance.length !== features.length) return instance;
  const out: Record<string, unknown> = {};
  features.forEach((f, j) => {
    out[f] = instance[j];
  });
  return out;
}

export function toCaptureBatch(m: CaptureMessage): CaptureBatch {
  const predictions: CapturedPrediction[] =
    m.outcome === 'ok' && m.predictionIds
      ? m.predictionIds.map((predictionId, i) => {
          const p = m.probabilities?.[i];
          return {
            predictionId,
            model: m.model,
            version: m.version,
            ...(m.variant ? { variant: m.variant } : {}),
            at: m.at,
            kind: m.kind ?? 'regression',
            predicted: m.predictions?.[i] as string | number,
            ...(p?.length ? { confidence: Math.max(...p) } : {}),
          };
        })
      : [];
  return {
    messageId: m.id,
    model: m.model,
    version: m.version,
    hourStart: hourStartOf(m.at),
    outcome: m.outcome,
    ...(m.errorCode ? { errorCode: m.errorCode } : {}),
    latencyMs: m.latencyMs,
    predictions,
    ...((m.part ?? 0) > 0 ? { countsRequest: false } : {}),
  };
}
