/** The worker's HTTP side: fetch with a timeout and no redirects, and the DNS address check. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsAddressCheck, fetchPoster } from '../../../functions/adapters/webhook-http.js';
import { describeError } from '../../../functions/core/webhooks/delivery.js';
import { domainError } from '../../support/expect-code.js';

let server: Server;
let base: string;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/redirect') res.writeHead(302, { location: `${base}/target` }).end();
    else if (req.url === '/hang') setTimeout(() => res.writeHead(200).end(), 3000).unref();
    else res.writeHead(204).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
});

describe('fetchPoster', () => {
  it('answers the status, does not follow redirects', async () => {
    const http = fetchPoster(2000);
    expect(await http.post(`${base}/ok`, '{}', { 'content-type': 'application/json' })).toEqual({
      status: 204,
    });
    expect(await http.post(`${base}/redirect`, '{}', {})).toEqual({ status: 302 });
    expect(hits).not.toContain('/target');
  });

  it('times out (a retryable failure)', async () => {
    const err = await fetchPoster(200)
      .post(`${base}/hang`, '{}', {})
      .catch((e: unknown) => e);
    expect(describeError(err)).toBe('timeout');
  });

  it('describes a refused connection without the URL', async () => {
    // A port that was just free: nothing listens there now.
    const probe = createServer();
    await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((ok) => probe.close(() => ok()));
    const err = await fetchPoster(2000)
      .post(`http://127.0.0.1:${port}/x`, '{}', {})
      .catch((e: unknown) => e);
    expect(describeError(err)).toBe('network error: ECONNREFUSED');
  });
});

describe('dnsAddressCheck', () => {
  it('refuses a name that resolves to a forbidden address', async () => {
    // localhost resolves to loopback, forbidden on AWS.
    await expect(dnsAddressCheck({})(new URL('https://localhost/x'))).rejects.toThrow(
      domainError('validation_failed'),
    );
    await expect(
      dnsAddressCheck({ allowInsecure: true })(new URL('http://localhost/x')),
    ).resolves.toBeUndefined();
  });

  it('leaves literal addresses (already checked) and unresolvable names (fetch fails, retried) alone', async () => {
    await expect(dnsAddressCheck({})(new URL('https://127.0.0.1/'))).resolves.toBeUndefined();
    await expect(dnsAddressCheck({})(new URL('https://no-such-host.invalid/'))).resolves.toBeUndefined();
  });

  it('refuses names resolving to private or IPv4-embedding addresses unless private targets are allowed', async () => {
    const resolvesTo = (address: string, family: number) => async () => [{ address, family }];
    const url = new URL('https://hooks.example.com/x');
    for (const [address, family] of [
      ['10.0.0.5', 4],
      ['172.20.1.1', 4],
      ['192.168.1.1', 4],
      ['100.64.0.1', 4],
      ['fd12::1', 6],
      ['::ffff:0:a9fe:a9fe', 6],
      ['64:ff9b::a9fe:a9fe', 6],
      ['::169.254.169.254', 6],
    ] as const) {
      await expect(dnsAddressCheck({}, resolvesTo(address, family))(url), address).rejects.toThrow(
        domainError('validation_failed'),
      );
    }
    await expect(
      dnsAddressCheck({ allowPrivate: true }, resolvesTo('10.0.0.5', 4))(url),
    ).resolves.toBeUndefined();
    // The opt-in covers private networks, never the metadata service.
    await expect(
      dnsAddressCheck({ allowPrivate: true }, resolvesTo('64:ff9b::a9fe:a9fe', 6))(url),
    ).rejects.toThrow(domainError('validation_failed'));
  });
});
