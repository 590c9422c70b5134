/**
 * From a capture message (the queue's wire form) to what is stored: S3 capture rows, one per
 * prediction, in the shape drift checks read ({predictionId, at, version, instance, prediction,
 * …}, instance keyed by feature name), and the CaptureBatch counted into the aggregates.
 */
import { createHash } from 'node:crypto';
import { hourStartOf } from './aggregates.js';
import type { CaptureBatch, CapturedPrediction, CaptureMessage } from './ports.js';

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
    ...(m.experimentId ? { experimentId: m.experimentId } : {}),
    ...(m.shadow ? { shadow: true } : {}),
    instance: named(m.instances?.[i], m.features),
    prediction: m.predictions?.[i] as string | number,
    ...(m.probabilities ? { probabilities: m.probabilities[i] } : {}),
    ...contextAt(m, i),
    latencyMs: m.latencyMs,
  }));
}

/** Row i's context: the request's one object, or its i-th. */
function contextAt(m: CaptureMessage, i: number): { context?: CapturedPrediction['context'] } {
  const c = m.context;
  if (c === undefined) return {};
  const row = Array.isArray(c) ? c[i] : c;
  return row === undefined ? {} : { context: row as CapturedPrediction['context'] };
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

/** Instances up to this much JSON are kept on the prediction item (online learning reads them). */
export const MAX_STORED_INSTANCE_BYTES = 4096;

/** The instance as JSON when small enough to store with the prediction, else undefined. */
export function storedInstance(instance: unknown): string | undefined {
  if (instance === undefined) return undefined;
  const json = JSON.stringify(instance);
  if (json === undefined || Buffer.byteLength(json, 'utf8') > MAX_STORED_INSTANCE_BYTES) return undefined;
  return json;
}

/**
 * A queue body's predictions as records. `keepInstances`: the model learns online, so each
 * prediction keeps its instance (small ones) for the learner; other models' items stay small.
 */
export function toCaptureBatch(m: CaptureMessage, keepInstances = false): CaptureBatch {
  const predictions: CapturedPrediction[] =
    m.outcome === 'ok' && m.predictionIds
      ? m.predictionIds.map((predictionId, i) => {
          const p = m.probabilities?.[i];
          const instance = keepInstances ? storedInstance(m.instances?.[i]) : undefined;
          return {
            predictionId,
            model: m.model,
            version: m.version,
            ...(m.variant ? { variant: m.variant } : {}),
            ...(m.experimentId ? { experimentId: m.experimentId } : {}),
            at: m.at,
            kind: m.kind ?? 'regression',
            predicted: m.predictions?.[i] as string | number,
            ...(p?.length ? { confidence: Math.max(...p), probabilities: p } : {}),
            ...contextAt(m, i),
            ...(instance !== undefined ? { instance } : {}),
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

/**
 * The id under which a group of capture messages (one queue body) is stored and counted: a
 * function of their ids, so the worker's redelivery and the inference's spill of the same group
 * write the same S3 objects and find the same marker, and nothing is counted or stored twice.
 */
export function captureGroupId(messageIds: readonly string[]): string {
  if (messageIds.length === 1 && /^[A-Za-z0-9._-]{1,128}$/.test(messageIds[0] as string)) {
    return messageIds[0] as string;
  }
  return `g-${createHash('sha256').update(messageIds.join('\n')).digest('hex').slice(0, 32)}`;
}
