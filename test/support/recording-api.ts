/**
 * A small node:http server standing in for the Serval API in the CLI's unit tests: it records
 * every request (in the shape the test asks for) and answers canned bodies keyed by
 * `METHOD /path` (without the query), or a 404 in the API's error shape. Registered as the test
 * file's hooks: started once, requests and answers cleared before each test, closed at the end.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach } from 'vitest';

/** A status and body, or a function giving one per request (an answer that changes over calls). */
export type Answer = readonly [number, unknown] | (() => readonly [number, unknown]);

export interface RecordingApi<R> {
  readonly requests: R[];
  /** Cleared before each test; set entries in the test. */
  readonly answers: Record<string, Answer>;
  /** The server's base URL, once started. */
  readonly url: string;
}

/** The body as JSON, or undefined when empty. */
export function jsonBody(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

export function recordingApiForFile<R>(
  record: (req: IncomingMessage, raw: Buffer) => R,
  notFoundMessage: (method: string, url: string) => string = (m, u) => `no route ${m} ${u}`,
): RecordingApi<R> {
  const requests: R[] = [];
  const answers: Record<string, Answer> = {};
  let server: Server | undefined;
  let url = '';
  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      requests.push(record(req, Buffer.concat(chunks)));
      const answer = answers[`${req.method} ${req.url!.split('?')[0]}`];
      const [status, body] =
        typeof answer === 'function'
          ? answer()
          : (answer ?? [
              404,
              { error: { code: 'not_found', message: notFoundMessage(req.method!, req.url!), details: {} } },
            ]);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));
  beforeEach(() => {
    requests.length = 0;
    for (const k of Object.keys(answers)) delete answers[k];
  });
  return {
    requests,
    answers,
    get url() {
      return url;
    },
  };
}
