import { connect, createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { assertPortFree, freePort, reservePort } from '../../../local/ports.js';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('ports', () => {
  it('freePort returns a port that can be bound', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    await assertPortFree(port);
    const server = await listen(port);
    server.close();
  });

  it('assertPortFree says clearly when a port is taken', async () => {
    const port = await freePort();
    const server = await listen(port);
    try {
      await expect(assertPortFree(port)).rejects.toThrow(
        `Port ${port} on 127.0.0.1 is already in use; stop the program listening there or choose another port.`,
      );
    } finally {
      server.close();
    }
  });

  it('reservePort holds a port until released: nothing else can bind it, the OS hands it to no one', async () => {
    const port = await freePort();
    const held = await reservePort(port);
    const others: Server[] = [];
    try {
      await expect(assertPortFree(port)).rejects.toThrow(/already in use/);
      for (let i = 0; i < 50; i++) others.push(await listen(0));
      const given = others.map((o) => (o.address() as { port: number }).port);
      expect(given).not.toContain(port);
    } finally {
      for (const o of others) o.close();
      await held.release();
    }
    await assertPortFree(port);
    await held.release(); // a second release changes nothing
  });

  it('reservePort answers early clients 503 with retry-after, and a silent client cannot stall the release', async () => {
    const port = await freePort();
    const held = await reservePort(port);
    // A client that connects and never sends a byte: the held port must not wait for it.
    const silent = connect(port, '127.0.0.1');
    await new Promise((ok) => silent.once('connect', ok));
    const res = await fetch(`http://127.0.0.1:${port}/v1/health`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toEqual({
      error: { code: 'unavailable', message: 'Serval is starting; retry in a moment', details: {} },
    });
    const started = Date.now();
    await held.release();
    expect(Date.now() - started).toBeLessThan(1_000);
    silent.destroy();
    await assertPortFree(port);
  });
});
