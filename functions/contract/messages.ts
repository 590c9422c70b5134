/**
 * The body of every queue's messages, as one zod schema per queue: the producer (a scheduler, a
 * core service through its queue port) and the consumer (the queue's worker) both type and read
 * messages through these, so the two sides cannot drift apart. Pure data like the rest of the
 * contract: nothing here imports the domain.
 */
import * as z from 'zod';
import { PredictionContext } from './prediction-context.js';
import type { QueueId } from './resources.js';

/**
 * One version for the integrity worker: a production artifact whose SHA-256 it recomputes, or
 * (`action: "expire"`) a pending version whose upload deadline passed, which it deletes.
 */
export const IntegrityMessage = z.object({
  model: z.string(),
  version: z.string(),
  action: z.literal('expire').optional(),
});
export type IntegrityMessage = z.infer<typeof IntegrityMessage>;

/**
 * One scheduled drift check. The window is exact, so a redelivery checks the same window.
 */
export const DriftMessage = z.object({ model: z.string(), from: z.iso.datetime(), to: z.iso.datetime() });
export type DriftMessage = z.infer<typeof DriftMessage>;

/** Event types are dotted lower-case names: `<subject>.<what happened>`, e.g. `alert.raised`. */
export const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** The envelope of every event, and exactly the JSON body a webhook receives. */
export const ServalEventSchema = z.strictObject({
  id: z.string().min(1).max(128),
  type: z.string().max(128).regex(EVENT_TYPE),
  at: z.iso.datetime({ offset: true }),
  data: z.record(z.string(), z.unknown()),
});

/**
 * One queued delivery of one event to one webhook. The secret and the URL are not in it: the
 * worker reads them from the store, so queue contents (and the DLQ) never carry them.
 */
export const DeliveryMessageSchema = z.strictObject({
  deliveryId: z.string().regex(/^[0-9a-f]{32}$/),
  webhookId: z.string().min(1).max(64),
  event: ServalEventSchema,
  attempt: z.number().int().min(1).max(100),
});
export type DeliveryMessageBody = z.infer<typeof DeliveryMessageSchema>;

const Label = z.union([z.string(), z.number()]);

/**
 * One captured request (or one part of a large one), as the inference function sends it. An
 * `ok` message carries one prediction (and instance, when captured) per prediction id.
 */
export const CaptureMessageSchema = z
  .object({
    v: z.literal(1),
    id: z.string().min(1).max(128),
    model: z.string().min(1).max(64),
    version: z.string().min(1).max(64),
    variant: z.string().max(64).optional(),
    /** Set when a running experiment routed the request (with variant). */
    experimentId: z.string().max(64).optional(),
    /** The allocation epoch the request was assigned under (SRM counts per epoch). */
    epoch: z.number().int().nonnegative().optional(),
    /** The subject the request was assigned by; absent: assigned at random. */
    subject: z.string().max(256).optional(),
    /** A shadow variant's copy: never returned to the client. */
    shadow: z.boolean().optional(),
    /** Shadow only, per row: 1 when the shadow's answer equals the control's, else 0. */
    agreement: z.array(z.number().min(0).max(1)).optional(),
    /** Shadow only, per row: |difference| of the scores (probability of the control's class, or value). */
    scoreDiff: z.array(z.number().finite().nonnegative()).optional(),
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
    /** One context for every row, or one per row (never fed to the model). */
    context: z.union([PredictionContext, z.array(PredictionContext)]).optional(),
    part: z.number().int().nonnegative().optional(),
  })
  .refine((m) => {
    const n = m.predictionIds?.length ?? 0;
    return (
      m.outcome !== 'ok' ||
      (m.predictions?.length === n &&
        (!m.instances || m.instances.length === n) &&
        (!Array.isArray(m.context) || m.context.length === n) &&
        (!m.agreement || m.agreement.length === n) &&
        (!m.scoreDiff || m.scoreDiff.length === n))
    );
  });
export type CaptureMessageBody = z.infer<typeof CaptureMessageSchema>;

/**
 * A capture queue body once decoded (see the capture queue adapter for the compression): the
 * queue packs many capture messages into one SQS message as a JSON array, or sends a single one.
 * Entries are checked one by one, so a malformed entry costs only itself: `malformed` counts them.
 */
export const CaptureQueueBody = z.unknown().transform((json) => {
  const entries = Array.isArray(json) ? json : [json];
  const messages: CaptureMessageBody[] = [];
  for (const entry of entries) {
    const parsed = CaptureMessageSchema.safeParse(entry);
    if (parsed.success) messages.push(parsed.data);
  }
  return { messages, malformed: entries.length - messages.length };
});
export type CaptureQueueBody = z.output<typeof CaptureQueueBody>;

/** One scheduled analysis of a running experiment. */
export const ExperimentMessage = z.object({ experimentId: z.string().min(1).max(64), at: z.iso.datetime() });
export type ExperimentMessage = z.infer<typeof ExperimentMessage>;

/**
 * One retraining job to run (its id: the job holds everything else), or, with `attempt`, a
 * continuation of a running one (after a time limit, a fanned-out rung, or a resume).
 */
export const RetrainMessage = z.object({
  jobId: z.string().min(1).max(64),
  attempt: z.number().int().min(2).max(100_000).optional(),
});
export type RetrainMessage = z.infer<typeof RetrainMessage>;

/** One trial of a job's search: the candidate is `rung`'s plan[index] in the job's checkpoint. */
export const TrialMessage = z.object({
  jobId: z.string().min(1).max(64),
  rung: z.number().int().min(0).max(100),
  index: z.number().int().min(0).max(100_000),
  /**
   * The attempt that fanned the rung out. The gather a trial may send names the next one, the same
   * for every trial of the fan-out, so the claim lets exactly one through. (Absent from messages
   * sent before it was added: then the job's attempt as the trial finds it.)
   */
  attempt: z.number().int().min(1).max(100_000).optional(),
});
export type TrialMessage = z.infer<typeof TrialMessage>;
/**
 * Labelled predictions of one model for its online learner (docs/online-learning.md): the ids
 * only, as the worker reads each prediction's features and its stored label (the first label
 * stands) from the prediction item, so a feedback retry that sends them again changes nothing.
 */
export const OnlineMessage = z.object({
  model: z.string().min(1).max(64),
  predictionIds: z.array(z.string().min(1).max(128)).min(1).max(1000),
});
export type OnlineMessage = z.infer<typeof OnlineMessage>;

/** What each queue's worker reads from one message body (after JSON.parse). */
export const QUEUE_MESSAGES = {
  integrity: IntegrityMessage,
  drift: DriftMessage,
  webhooks: DeliveryMessageSchema,
  captures: CaptureQueueBody,
  experiments: ExperimentMessage,
  retrain: RetrainMessage,
  trials: TrialMessage,
  online: OnlineMessage,
} as const satisfies Record<QueueId, z.ZodType>;

/** What a producer sends to queue Q, one message per SQS message. */
export type QueueMessage<Q extends QueueId> = z.input<(typeof QUEUE_MESSAGES)[Q]>;
