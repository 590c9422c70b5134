/**
 * The webhook worker's network: POSTing a delivery (core/webhooks/ports.ts HttpPoster) and the
 * DNS check of a receiver's address at delivery time.
 *
 * The URL is checked again at delivery time, and names are resolved and their addresses checked
 * too: DNS may point a name that was harmless at registration at a metadata address now. (fetch
 * resolves the name again itself, so this narrows a DNS-rebinding window rather than closing it;
 * redirects are never followed, so a receiver cannot bounce the call elsewhere.)
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { assertAllowedUrl, type UrlPolicy } from '../core/net/url-policy.js';
import type { HttpPoster } from '../core/webhooks/ports.js';
import { ATTEMPT_TIMEOUT_MS } from '../core/webhooks/retry.js';

/** POST with fetch: a timeout per attempt, no redirects followed, the response body discarded. */
export function fetchPoster(timeoutMs: number = ATTEMPT_TIMEOUT_MS): HttpPoster {
  return {
    async post(url, body, headers) {
      const res = await fetch(url, {
        method: 'POST',
        body,
        headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Release the connection without reading what the receiver sent (it could be anything).
      await res.body?.cancel().catch(() => {});
      return { status: res.status };
    },
  };
}

/**
 * Refuses a host name that resolves to an address the URL policy forbids (169.254.169.254, a
 * private address without the opt-in, …). `resolve` replaces the system resolver in tests.
 */
export function dnsAddressCheck(
  policy: UrlPolicy,
  resolve: (host: string) => Promise<readonly { address: string; family: number }[]> = (host) =>
    lookup(host, { all: true, verbatim: true }),
): (url: URL) => Promise<void> {
  return async (url) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) return; // literal addresses were checked with the URL itself
    // A failed lookup is a network error like any other: fetch will fail and the attempt retried.
    const addresses = await resolve(host).catch(() => []);
    for (const { address, family } of addresses) {
      const literal = family === 6 ? `[${address}]` : address;
      assertAllowedUrl(`${url.protocol}//${literal}/`, policy, 'url');
    }
  };
}
