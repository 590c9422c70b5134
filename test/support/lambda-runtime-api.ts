/**
 * The part of Lambda's Runtime API an internal extension talks to (register, event/next), served
 * locally so the extension's real HTTP code is exercised. The test plays Lambda: `invoke` hands
 * the extension an INVOKE event, and `released` resolves when the extension asks for the next
 * event, which is how Lambda learns the extension is done with that invocation.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RuntimeApiStandin {
  /** host:port, as AWS_LAMBDA_RUNTIME_API holds it. */
  readonly address: string;
  readonly registrations: { name: string | undefined; events: unknown }[];
  /** Starts an invocation; resolves when the extension next calls event/next (performance.now()). */
  invoke(requestId: string): Promise<number>;
  /** Whether the extension is waiting in event/next (true once it is done with the last event). */
  readonly polling: boolean;
  stop(): Promise<void>;
}

export async function startRuntimeApi(options: { refuse?: boolean } = {}): Promise<RuntimeApiStandin> {
  const registrations: { name: string | undefined; events: unknown }[] = [];
  const id = randomUUID();
  let poll: ServerResponse | undefined;
  let pollArrived: ((at: number) => void) | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/2020-01-01/extension/register') {
        if (options.refuse) {
          res.writeHead(403, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              errorMessage: 'extensions cannot register now',
              errorType: 'Extension.Forbidden',
            }),
          );
          return;
        }
        registrations.push({
          name: req.headers['lambda-extension-name'] as string | undefined,
          events: JSON.parse(Buffer.concat(chunks).toString('utf8')).events,
        });
        res.writeHead(200, { 'content-type': 'application/json', 'lambda-extension-identifier': id });
        res.end(
          JSON.stringify({
            functionName: 'serval-inference',
            functionVersion: '$LATEST',
            handler: 'index.handler',
          }),
        );
        return;
      }
      if (req.method === 'GET' && req.url === '/2020-01-01/extension/event/next') {
        if (req.headers['lambda-extension-identifier'] !== id) {
          res.writeHead(403).end('{"errorType":"Extension.Unknown"}');
          return;
        }
        poll = res;
        const arrived = pollArrived;
        pollArrived = undefined;
        arrived?.(performance.now());
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    registrations,
    get polling() {
      return poll !== undefined;
    },
    invoke(requestId) {
      if (!poll) throw new Error('the extension is not waiting for an event');
      const res = poll;
      poll = undefined;
      const released = new Promise<number>((ok) => {
        pollArrived = ok;
      });
      res.writeHead(200, {
        'content-type': 'application/json',
        'lambda-extension-event-identifier': randomUUID(),
      });
      res.end(
        JSON.stringify({
          eventType: 'INVOKE',
          deadlineMs: Date.now() + 30_000,
          requestId,
          invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:serval-inference',
          tracing: { type: 'X-Amzn-Trace-Id', value: 'Root=1-00000000-000000000000000000000000' },
        }),
      );
      return released;
    },
    async stop() {
      poll?.destroy();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
