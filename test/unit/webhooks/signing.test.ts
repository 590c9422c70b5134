import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DELIVERY_HEADER,
  deliveryHeaders,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  signPayload,
  verifySignature,
} from '../../../functions/core/webhooks/signing.js';

const secret = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I';
const body = JSON.stringify({ id: 'e1', type: 'alert.raised', at: '2026-01-01T00:00:00Z', data: { x: 'é' } });
const t = 1_767_225_600;

/** What a receiver computes with nothing but node:crypto. */
function independent(s: string, ts: number, b: string): string {
  return createHmac('sha256', Buffer.from(s, 'utf8'))
    .update(Buffer.from(`${ts}.${b}`, 'utf8'))
    .digest('hex');
}

describe('webhook signatures', () => {
  it('signs t=<seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>, as an independent computation', () => {
    const header = signPayload(secret, body, t);
    expect(header).toBe(`t=${t},v1=${independent(secret, t, body)}`);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it('verifies its own signatures within the tolerance', () => {
    const header = signPayload(secret, body, t);
    expect(verifySignature(secret, header, body, 300, t)).toBe(true);
    expect(verifySignature(secret, header, body, 300, t + 299)).toBe(true);
    expect(verifySignature(secret, header, body, 300, t - 299)).toBe(true);
  });

  it('refuses a tampered body, the wrong secret, an old or future timestamp', () => {
    const header = signPayload(secret, body, t);
    expect(verifySignature(secret, header, body.replace('alert', 'alerT'), 300, t)).toBe(false);
    expect(verifySignature(`${secret}x`, header, body, 300, t)).toBe(false);
    expect(verifySignature(secret, header, `${body} `, 300, t)).toBe(false);
    expect(verifySignature(secret, header, body, 300, t + 301)).toBe(false);
    expect(verifySignature(secret, header, body, 300, t - 301)).toBe(false);
    // The timestamp is under the MAC: moving it forward breaks the signature.
    const moved = header.replace(`t=${t}`, `t=${t + 1000}`);
    expect(verifySignature(secret, moved, body, 300, t + 1000)).toBe(false);
  });

  it('refuses malformed headers', () => {
    const mac = independent(secret, t, body);
    for (const header of [
      undefined,
      null,
      '',
      `v1=${mac}`,
      `t=${t}`,
      `t=${t},v1=${mac.slice(0, 63)}`,
      `t=${t},v1=${mac.toUpperCase()}`,
      `t=abc,v1=${mac}`,
      `t=${t},t=${t},v1=${mac}`,
      `t=${t};v1=${mac}`,
      `t=${t},v1=${mac}`.padEnd(5000, ','),
    ]) {
      expect(verifySignature(secret, header, body, 300, t), String(header)).toBe(false);
    }
  });

  it('accepts any one matching v1 among several and ignores unknown schemes', () => {
    const mac = independent(secret, t, body);
    const other = independent('old-secret', t, body);
    expect(verifySignature(secret, `t=${t},v1=${other},v1=${mac}`, body, 300, t)).toBe(true);
    expect(verifySignature(secret, `t=${t}, v0=zz, v1=${mac}`, body, 300, t)).toBe(true);
    expect(verifySignature(secret, `t=${t},v1=${other}`, body, 300, t)).toBe(false);
  });

  it('uses the current time by default', () => {
    expect(verifySignature(secret, signPayload(secret, body), body)).toBe(true);
    const stale = Math.floor(Date.now() / 1000) - 3600;
    expect(verifySignature(secret, signPayload(secret, body, stale), body)).toBe(false);
  });

  it('delivery headers carry the event type, delivery id and signature', () => {
    const h = deliveryHeaders({
      secret,
      body,
      eventType: 'alert.raised',
      deliveryId: 'd'.repeat(32),
      timestamp: t,
    });
    expect(h[EVENT_HEADER]).toBe('alert.raised');
    expect(h[DELIVERY_HEADER]).toBe('d'.repeat(32));
    expect(h[SIGNATURE_HEADER]).toBe(`t=${t},v1=${independent(secret, t, body)}`);
    expect(h['content-type']).toBe('application/json');
  });
});
