/**
 * What inference needs from the outside world besides the registry and the model runner:
 * a SageMaker endpoint to delegate to, a queue for captured predictions, a store that joins
 * feedback to predictions and keeps the hourly serving aggregates, and a metrics sink.
 * Adapters: functions/adapters/sagemaker-runtime.ts, sqs-capture-queue.ts, dynamo-predictions.ts,
 * serving-metrics.ts; test/support/memory-stores.ts has in-memory versions.
 */
import type { ServingExperiment } from '../experiments/serving.js';
import type { OutputSchema } from '../kernel/model-io.js';

// ---------------------------------------------------------------------------------------------
// SageMaker delegation

/**
 * What an endpoint answered, normalised: class probabilities per row (classifiers), or one value
 * per row (regressors, or classifiers that answer a class index). Exactly one is present and it
 * has one entry per row sent.
 */
export type EndpointAnswer =
  | { readonly probabilities: number[][]; readonly values?: undefined }
  | { readonly values: number[]; readonly probabilities?: undefined };

export interface EndpointInvoker {
  /**
   * Sends encoded rows (already checked against the input schema) to the endpoint as
   * `{"instances": rows}` (application/json). Rejects with the errors below; never with a raw SDK
   * error.
   */
  invoke(endpointName: string, rows: readonly (readonly number[])[]): Promise<EndpointAnswer>;
}

/** The endpoint's model failed on the input (SageMaker ModelError), or answered something unreadable. */
export class EndpointModelError extends Error {
  override readonly name = 'EndpointModelError';
  constructor(
    message: string,
    readonly details: { readonly endpoint: string; readonly originalStatusCode?: number } & Record<
      string,
      unknown
    >,
  ) {
    super(message);
  }
}

/**
 * The endpoint cannot answer now: throttled, not ready, missing, unreachable or too slow.
 * `retryAfterSeconds` is set when a retry later is the right move (throttling, not ready).
 */
export class EndpointUnavailable extends Error {
  override readonly name = 'EndpointUnavailable';
  constructor(
    message: string,
    readonly reason: 'throttled' | 'timeout' | 'not_found' | 'not_ready' | 'service_error' | 'network',
    readonly details: { readonly endpoint: string } & Record<string, unknown>,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Capture

/** One prediction as the capture worker records it (and as feedback finds it by id). */
export interface CapturedPrediction {
  readonly predictionId: string;
  readonly model: string;
  readonly version: string;
  readonly variant?: string;
  /** The experiment whose variant served it: feedback counts its accuracy there. */
  readonly experimentId?: string;
  /** ISO time the request was served. */
  readonly at: string;
  readonly kind: OutputSchema['kind'];
  /** The label or value the client received. */
  readonly predicted: string | number;
  /** Probability of the predicted class (classifiers only). */
  readonly confidence?: number;
  /** Every class's probability in output-schema order (classifiers that give them). */
  readonly probabilities?: readonly number[];
  /** What the request said about this prediction besides its inputs (never fed to the model). */
  readonly context?: Readonly<Record<string, string | number | boolean | null>>;
  /**
   * The request's instance as JSON, when it is at most MAX_STORED_INSTANCE_BYTES: online learning
   * (docs/online-learning.md) reads a labelled prediction's features from here. A string, because
   * DynamoDB numbers cannot hold every JSON number (1e200) and a failed write would lose the group.
   */
  readonly instance?: string;
}

/**
 * One served request as counted into the aggregates: a batch of predictions, or a failure.
 * `messageId` identifies the capture message, so a redelivery is counted once.
 */
export interface CaptureBatch {
  readonly messageId: string;
  readonly model: string;
  readonly version: string;
  /** ISO start of the UTC hour the request was served in. */
  readonly hourStart: string;
  readonly outcome: 'ok' | 'error';
  /** Error code when outcome is 'error' (e.g. 'integrity_failed', 'model_error'). */
  readonly errorCode?: string;
  /** Server-side time to answer, in milliseconds. */
  readonly latencyMs: number;
  /** Empty when outcome is 'error'. */
  readonly predictions: readonly CapturedPrediction[];
  /**
   * false for the later parts of a request split across messages: their predictions are
   * counted, but not another request, latency or error (default true).
   */
  readonly countsRequest?: boolean;
}

export interface FeedbackItem {
  readonly predictionId: string;
  readonly actual: string | number;
}

/**
 * joined: counted into the aggregates; duplicate: this prediction already had feedback (the
 * first one stands); unknown: no captured prediction with this id (yet: captures land within
 * seconds), nothing stored.
 */
export type FeedbackStatus = 'joined' | 'duplicate' | 'unknown';

export interface FeedbackResult {
  readonly predictionId: string;
  readonly status: FeedbackStatus;
  readonly model?: string;
  readonly version?: string;
  /**
   * What the experiment's accuracy needs (not part of the HTTP answer): set on `joined` and, when
   * the store knows the stored label, on `duplicate`, for predictions an experiment's variant
   * served. `actual` is the label that stands (the first one).
   */
  readonly experiment?: {
    readonly id: string;
    readonly variant: string;
    readonly kind: OutputSchema['kind'];
    readonly predicted: string | number;
    readonly actual: string | number;
  };
}

/** Counts of one model version in one UTC hour. Latency buckets: see core/kernel/latency-histogram.ts. */
export interface HourAggregate {
  readonly model: string;
  readonly version: string;
  readonly hourStart: string;
  readonly requests: number;
  readonly errors: number;
  /** Predictions served (rows across requests). */
  readonly predictions: number;
  /** Latency histogram: bucket index → requests. */
  readonly latency: Readonly<Record<number, number>>;
  readonly confidenceSum: number;
  readonly confidenceCount: number;
  readonly feedback: {
    readonly count: number;
    /** Regression: Σ|e|, Σe², Σe with e = predicted − actual. */
    readonly absErrorSum: number;
    readonly squaredErrorSum: number;
    readonly errorSum: number;
    /** Classification: `${JSON.stringify(actual)}|${JSON.stringify(predicted)}` → count. */
    readonly confusion: Readonly<Record<string, number>>;
  };
  /**
   * Predictions answered in this hour that the capture path gave up on (neither the queue nor the
   * spill took them): answered = predictions + lostPredictions. Absent: none known.
   */
  readonly lostPredictions?: number;
}

export interface PredictionStore {
  /**
   * Stores the batch's predictions (for the feedback join) and adds the request to its hour's
   * aggregate. Idempotent per messageId: a redelivered message changes nothing.
   */
  record(batch: CaptureBatch): Promise<void>;
  /** Joins each item to its captured prediction; each prediction takes feedback once. */
  feedback(items: readonly FeedbackItem[]): Promise<FeedbackResult[]>;
  /** Aggregates of a model with hourStart in [from, to), oldest first. */
  aggregates(model: string, from: Date, to: Date): Promise<HourAggregate[]>;
}

/** A captured prediction with its label, as performance and fairness read them. */
export interface LabelledPrediction {
  readonly predictionId: string;
  readonly version: string;
  /** When it was served: the window it counts in, however late its label came. */
  readonly at: string;
  readonly kind: OutputSchema['kind'];
  readonly predicted: string | number;
  readonly actual: string | number;
  readonly probabilities?: readonly number[];
  readonly context?: Readonly<Record<string, string | number | boolean | null>>;
}

export interface LabelledPredictions {
  /**
   * Labelled predictions of a model served in [from, to), oldest first, at most `limit`
   * (`truncated` when more exist). Labels land here seconds after feedback (an index).
   */
  labelled(
    model: string,
    from: Date,
    to: Date,
    options: { readonly version?: string; readonly limit: number },
  ): Promise<{ rows: LabelledPrediction[]; truncated: boolean }>;
}

/** The wire form of a capture message on the queue (JSON); produced by the inference service. */
export interface CaptureMessage {
  /** Format version. */
  readonly v: 1;
  readonly id: string;
  readonly model: string;
  readonly version: string;
  readonly variant?: string;
  /** Set (with variant and epoch) when a running experiment routed the request. */
  readonly experimentId?: string;
  /** The allocation epoch it was assigned under: exposures are counted per epoch. */
  readonly epoch?: number;
  /** The subject it was assigned by; absent: assigned at random (the request is its own unit). */
  readonly subject?: string;
  /** A shadow variant's copy of a request: never returned, and not a served request. */
  readonly shadow?: boolean;
  /** Shadow only, per row: 1 when the shadow's answer equals the control's, else 0. */
  readonly agreement?: readonly number[];
  /**
   * Shadow only, per row: |difference| of the probabilities the two give the control's predicted
   * class, or of the values (regression). Absent when either answered without probabilities.
   */
  readonly scoreDiff?: readonly number[];
  readonly at: string;
  readonly latencyMs: number;
  readonly outcome: 'ok' | 'error';
  readonly errorCode?: string;
  readonly kind?: OutputSchema['kind'];
  /** Feature names in input-schema order: positional instances are captured as objects. */
  readonly features?: readonly string[];
  readonly predictionIds?: readonly string[];
  readonly instances?: readonly unknown[];
  readonly predictions?: readonly (string | number)[];
  readonly probabilities?: readonly (readonly number[])[];
  /** The request's context: one object for every row, or one per row (never fed to the model). */
  readonly context?:
    | Readonly<Record<string, string | number | boolean | null>>
    | readonly Readonly<Record<string, string | number | boolean | null>>[];
  /**
   * Set when a request too large for one queue message was split: the part's 0-based index.
   * Only part 0 counts as a request (latency, request count); every part carries predictions.
   */
  readonly part?: number;
}

// ---------------------------------------------------------------------------------------------
// Experiments

/**
 * The model's running experiment, as serving needs it (functions/handlers/inference-wiring.ts
 * reads it from the experiments store). Read through a short cache; a failed read serves
 * production.
 */
export interface ExperimentReader {
  running(model: string): Promise<ServingExperiment | undefined>;
}

/**
 * A capture message already in the form the queue carries: its JSON, and what a loss report
 * needs. Made while a large message waits in the buffer (CaptureBuffer), so that the buffer keeps
 * a string instead of the request's and the answer's arrays: thousands of small objects per
 * message, which every garbage collection until the flush would walk.
 */
export interface SealedCapture {
  /** The message's JSON, as the queue carries it (a message that needs a split is not sealed). */
  readonly sealed: string;
  readonly id: string;
  readonly model: string;
  readonly version: string;
  readonly at: string;
  /** The predictions it carries: its rows when answered, 0 for an error. */
  readonly predictions: number;
}

/** What the capture buffer holds and hands on: a message, or a message sealed while it waited. */
export type BufferedCapture = CaptureMessage | SealedCapture;

export interface CaptureQueue {
  /** Sends capture messages; resolves when the queue has accepted them. */
  send(messages: readonly BufferedCapture[]): Promise<void>;
  /**
   * The message in the form send will carry, made now; undefined when making it now would cost
   * the request too much (the queue then serialises it when it sends it), and throws what
   * serialising it throws. A queue without seal is sent the messages as they were buffered.
   */
  seal?(message: CaptureMessage): SealedCapture | undefined;
}

// ---------------------------------------------------------------------------------------------
// Serving metrics

export interface ServedRequest {
  readonly model: string;
  readonly version: string;
  readonly outcome: 'ok' | 'error';
  readonly errorCode?: string;
  readonly latencyMs: number;
  readonly rows: number;
  readonly runtime: 'lambda' | 'sagemaker';
  readonly fallback: boolean;
}

export interface ServingMetrics {
  /** Must not throw and must be cheap: called on the hot path. */
  served(r: ServedRequest): void;
  integrityFailure(model: string, version: string): void;
  /** Captured predictions the capture path gave up on (neither queue nor spill took them). */
  capturesLost?(model: string, version: string, predictions: number): void;
  /** Emits what `served` only recorded; called once the answer is out (Lambda: after it). */
  flush?(): void;
}

// ---------------------------------------------------------------------------------------------
// Explanations

/** Background rows for explanations: a sample of the model's baseline, as instances. */
export interface BackgroundSource {
  /** Up to `limit` rows (objects keyed by feature name); undefined when the model has no baseline. */
  rows(model: string, version: string, limit: number): Promise<readonly unknown[] | undefined>;
}
