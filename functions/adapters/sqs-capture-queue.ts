/**
 * CaptureQueue on SQS. Serialisation happens here, off the response path. Capture messages are
 * packed into SQS messages as JSON arrays of up to MAX_MESSAGE_BYTES: at thousands of requests
 * a second, one SQS call per request (or per ten) would cost the process more than the
 * predictions. A capture message over the limit on its own (a large batch) is split by rows into
 * parts that each fit; only part 0 counts as the request in the serving aggregates. Bodies are
 * sent compressed when that is shorter (encodeBody); the capture worker reads both (decodeBody).
 */
import { promisify } from 'node:util';
import { deflateRaw, inflateRawSync } from 'node:zlib';
import { isSealed, predictionsIn } from '../core/inference/capture.js';
import type {
  BufferedCapture,
  CaptureMessage,
  CaptureQueue,
  SealedCapture,
} from '../core/inference/ports.js';
import { stringifyShared } from '../core/kernel/shared-json.js';
import { MAX_BATCH_BYTES, type SqsSend, SqsSender } from './sqs-sender.js';

/** One SQS message may be as large as a whole batch. */
export const MAX_MESSAGE_BYTES = MAX_BATCH_BYTES;

export class SqsCaptureQueue implements CaptureQueue {
  private readonly sender: SqsSender;

  constructor(sqs: SqsSend, queueUrl: string) {
    this.sender = new SqsSender(sqs, queueUrl, 'capture messages');
  }

  /**
   * The message's JSON as a send writes it, made now (see CaptureBuffer); undefined for one over
   * MAX_MESSAGE_BYTES, whose split serialises every part again: in the background, not here.
   */
  seal(message: CaptureMessage): SealedCapture | undefined {
    const body = wholeBody(message);
    if (body === undefined) return undefined;
    return {
      sealed: body,
      id: message.id,
      model: message.model,
      version: message.version,
      at: message.at,
      predictions: predictionsIn(message),
    };
  }

  async send(messages: readonly BufferedCapture[]): Promise<void> {
    // Packed and encoded here rather than through a typed QueueSender: many capture messages
    // share one SQS message (see CaptureQueueBody in functions/contract/messages.ts).
    const serialised: string[] = [];
    let sinceYield = 0;
    for (const m of messages) {
      for (const s of jsonOf(m)) {
        serialised.push(s);
        sinceYield += s.length;
      }
      // A round of large batches is tens of megabytes of JSON (about 1 ms per 100 kB): in one
      // go it would hold the event loop for as long, and every request arriving meanwhile would
      // wait for it (the local runtime, or a Lambda's next invocation behind the extension).
      // Serialised in slices with a turn of the event loop between them, a request waits for
      // one slice at most; the work and the bodies are the same.
      if (sinceYield >= YIELD_EVERY_CHARS) {
        sinceYield = 0;
        await nextTurn();
      }
    }
    // Compressed on libuv's threads, not this one (encodeBody).
    const bodies = await Promise.all(
      pack(serialised).map(async (json) => ({ body: await encodeBody(json) })),
    );
    await this.sender.sendBodies(bodies);
  }
}

/** Serialised JSON (UTF-16 characters) between two turns of the event loop during a send. */
export const YIELD_EVERY_CHARS = 64_000;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The JSON bodies a send of these messages puts on the queue, in order. The spill groups a batch
 * the same way, which is what lets the worker recognise a group that arrived both ways.
 */
export function captureBodies(messages: readonly BufferedCapture[]): string[] {
  return pack(messages.flatMap((m) => jsonOf(m)));
}

/** A buffered capture's JSON: made when it was sealed, or now. */
function jsonOf(m: BufferedCapture): readonly string[] {
  return isSealed(m) ? [m.sealed] : serialise(m);
}

/** Marks a body that is base64 of raw DEFLATE of the JSON (JSON bodies start with [ or {). */
export const DEFLATE_PREFIX = 'deflate:';
/** Below this, compressing saves too little to pay for itself. */
const COMPRESS_FROM_BYTES = 2048;
/** What a compressed body may inflate to: more than any body Serval writes (MAX_MESSAGE_BYTES). */
const MAX_INFLATED_BYTES = 4 * MAX_MESSAGE_BYTES;

const deflateRawAsync = promisify(deflateRaw);

/**
 * A body as sent: JSON, or DEFLATE_PREFIX + base64(deflate(JSON)) when that is shorter. Capture
 * JSON compresses 3–6×, and the SDK's JSON protocol escapes every character of a message body in
 * JavaScript, so compressing costs less CPU than it saves; SQS also bills per 64 KB of a message.
 * Compressed off the event loop: a full body takes about 3 ms of deflate, which on this thread
 * was a 3 ms stall for whichever request arrived meanwhile.
 */
export async function encodeBody(json: string): Promise<string> {
  if (json.length < COMPRESS_FROM_BYTES) return json;
  const packed = DEFLATE_PREFIX + (await deflateRawAsync(json, { level: 1 })).toString('base64');
  return packed.length < json.length ? packed : json;
}

/** The JSON of a body as encodeBody sent it; throws on a compressed body that does not inflate. */
export function decodeBody(body: string): string {
  if (!body.startsWith(DEFLATE_PREFIX)) return body;
  return inflateRawSync(Buffer.from(body.slice(DEFLATE_PREFIX.length), 'base64'), {
    maxOutputLength: MAX_INFLATED_BYTES,
  }).toString('utf8');
}

/** Serialised capture messages as JSON-array bodies of at most MAX_MESSAGE_BYTES each. */
export function pack(serialised: readonly string[]): string[] {
  const bodies: string[] = [];
  let current: string[] = [];
  let bytes = 2; // the brackets
  for (const s of serialised) {
    const size = Buffer.byteLength(s) + 1; // and its comma
    if (current.length > 0 && bytes + size > MAX_MESSAGE_BYTES) {
      bodies.push(`[${current.join(',')}]`);
      current = [];
      bytes = 2;
    }
    current.push(s);
    bytes += size;
  }
  if (current.length) bodies.push(`[${current.join(',')}]`);
  return bodies;
}

/** The message's JSON when it fits one queue message; undefined when it must be split. */
function wholeBody(m: CaptureMessage): string | undefined {
  // Byte for byte JSON.stringify(m), with the arrays the HTTP answer already serialised spliced in.
  const body = stringifyShared(m);
  return Buffer.byteLength(body) <= MAX_MESSAGE_BYTES ? body : undefined;
}

/** One message as JSON bodies of at most MAX_MESSAGE_BYTES each (halving the rows until they fit). */
export function serialise(m: CaptureMessage): string[] {
  const body = wholeBody(m);
  if (body !== undefined) return [body];
  const rows = m.predictionIds?.length ?? 0;
  if (rows <= 1) {
    // One row that alone exceeds the limit: keep what monitoring needs least: drop its instance.
    return [stringifyShared({ ...m, instances: undefined, truncated: true })];
  }
  const parts: string[] = [];
  const half = Math.ceil(rows / 2);
  const base = m.part ?? 0;
  const halves: [number, number][] = [
    [0, half],
    [half, rows],
  ];
  for (const [i, [from, to]] of halves.entries()) {
    const slice = <T>(xs: readonly T[] | undefined) => xs?.slice(from, to);
    const piece: CaptureMessage = {
      ...m,
      id: i === 0 ? m.id : `${m.id}.${from}`,
      predictionIds: slice(m.predictionIds),
      instances: slice(m.instances),
      predictions: slice(m.predictions),
      probabilities: slice(m.probabilities),
      agreement: slice(m.agreement),
      scoreDiff: slice(m.scoreDiff),
      context: Array.isArray(m.context)
        ? (slice(m.context as readonly unknown[]) as CaptureMessage['context'])
        : m.context,
      part: i === 0 ? base : base + from,
    };
    parts.push(...serialise(piece));
  }
  return parts;
}
