/**
 * Webhook signatures, in the scheme Stripe made familiar:
 *
 *   x-serval-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, `${t}.${body}`)>
 *
 * The timestamp is inside the MAC, so a captured delivery cannot be replayed later than the
 * receiver's tolerance (5 minutes by default). The key is the webhook's secret string as UTF-8
 * (not base64-decoded), and `body` is the raw request body exactly as received. A header may
 * carry several `v1=` entries (room for secret rotation); any one matching is enough.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-serval-signature';
export const EVENT_HEADER = 'x-serval-event';
export const DELIVERY_HEADER = 'x-serval-delivery';
export const DEFAULT_TOLERANCE_SECONDS = 300;

function mac(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

/** The `x-serval-signature` value for `body` at `timestamp` (unix seconds; default now). */
export function signPayload(
  secret: string,
  body: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError('the signature timestamp is whole unix seconds');
  }
  return `t=${timestamp},v1=${mac(secret, timestamp, body)}`;
}

/**
 * Whether `header` is a valid signature of `body` with `secret`, made within `toleranceSeconds`
 * of `now` (unix seconds) either way. Malformed headers are simply invalid; the comparison of
 * MACs is constant-time.
 */
export function verifySignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
  now: number = Date.now() / 1000,
): boolean {
  if (typeof header !== 'string' || header.length > 4096) return false;
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return false;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,15}$/.test(value)) return false;
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (/^[0-9a-f]{64}$/.test(value)) candidates.push(value);
    }
    // Other schemes (v0, a future v2) are ignored, so a receiver keeps working as they appear.
  }
  if (timestamp === undefined || candidates.length === 0) return false;
  if (Math.abs(now - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(mac(secret, timestamp, body), 'hex');
  let ok = false;
  // Every candidate is compared (no early exit), each in constant time.
  for (const c of candidates) ok = timingSafeEqual(expected, Buffer.from(c, 'hex')) || ok;
  return ok;
}

/** Every header of one delivery attempt. */
export function deliveryHeaders(input: {
  readonly secret: string;
  readonly body: string;
  readonly eventType: string;
  readonly deliveryId: string;
  /** Unix seconds. */
  readonly timestamp: number;
}): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'Serval-Webhooks/1',
    [EVENT_HEADER]: input.eventType,
    [DELIVERY_HEADER]: input.deliveryId,
    [SIGNATURE_HEADER]: signPayload(input.secret, input.body, input.timestamp),
  };
}
