/**
 * Port helpers for the local runtime and its stand-ins. Everything listens on 127.0.0.1 only: the
 * stand-ins accept any credentials, so they must never be reachable from the network.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';

export const LOCAL_HOST = '127.0.0.1';

/** A port that was free a moment ago (the OS picks it). Prefer listening on 0 directly where the
 * server allows it; this is for child processes that must be told their port up front. */
export function freePort(host: string = LOCAL_HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => (port ? resolve(port) : reject(new Error('The OS did not assign a port.'))));
    });
  });
}

/** Resolves when `port` can be bound on `host`; otherwise rejects with one sentence saying what to do. */
export async function assertPortFree(port: number, host: string = LOCAL_HOST): Promise<void> {
  await (await reservePort(port, host)).release();
}

/**
 * Binds `port` on `host` and holds it until `release()`. The local runtime holds its API port while
 * it starts the stand-ins, which listen on ports the OS picks: without the hold, the OS may hand
 * one of them the very port the API is about to take. Rejects as assertPortFree says.
 *
 * Whoever connects meanwhile (a readiness probe, a browser opened early, a script polling
 * /v1/health) is answered at once with 503 and `retry-after`, and the connection is closed:
 * a held socket nobody reads would keep the client waiting forever and, worse, keep `close()`
 * from ever completing, so the start would never get past the hold.
 */
export function reservePort(port: number, host: string = LOCAL_HOST): Promise<{ release(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = createHttpServer((_req, res) => {
      const body = JSON.stringify({
        error: { code: 'unavailable', message: 'Serval is starting; retry in a moment', details: {} },
      });
      res.writeHead(503, {
        'content-type': 'application/json',
        'retry-after': '1',
        connection: 'close',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
    // A client that connects and sends nothing must not hold the port either.
    server.requestTimeout = 2_000;
    server.headersTimeout = 2_000;
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new Error(
            `Port ${port} on ${host} is already in use; stop the program listening there or choose another port.`,
          ),
        );
      } else if (error.code === 'EACCES') {
        reject(
          new Error(`Port ${port} on ${host} needs privileges this process lacks; choose a port above 1023.`),
        );
      } else {
        reject(new Error(`Port ${port} on ${host} cannot be used: ${error.message}`));
      }
    });
    server.listen(port, host, () =>
      resolve({
        release: () =>
          new Promise<void>((done) => {
            if (!server.listening) return done();
            server.close(() => done());
            // close() waits for open connections; cut them so nothing a client does can stall the start.
            server.closeAllConnections();
          }),
      }),
    );
  });
}
