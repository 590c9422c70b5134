/**
 * local-aws-sqs as the local SQS: the current JSON protocol, long polling, visibility timeouts
 * and redrive to a dead-letter queue.
 *
 * It keeps queues and messages in memory only, so every start begins empty and the provisioner
 * re-creates the queues, and messages still queued when the local runtime stops are gone.
 *
 * It runs in a worker thread of its own. A backlog of captures is gigabytes of message bodies in
 * memory, and on the runtime's own heap every major garbage collection walked them: pauses of a
 * second and more, during which the API answered nothing and the inference function's sends
 * timed out and spilled (issue 13). On AWS the queue is not in the Lambda's process either. A
 * worker has its own heap and event loop, and clients reach it over HTTP as before.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { LOCAL_HOST } from '../ports.js';
import { LOCAL_REGION } from './clients.js';
import { localService } from './server.js';

export interface SqsLocalOptions {
  /** Port to listen on; one the OS picks when omitted. */
  readonly port?: number;
}

export interface SqsLocal {
  /** `http://127.0.0.1:<port>`, for AWS_ENDPOINT_URL_SQS. */
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * The worker's code: plain CommonJS evaluated by Node, so it runs the same under `npm start`
 * (tsx), vitest and any other loader. Long polls (up to 20 s) would otherwise hold close() open:
 * closeAllConnections drops them.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createSqsServer } = require(workerData.module);
createSqsServer({
  port: workerData.port,
  hostname: workerData.hostname,
  region: workerData.region,
  // AWS makes a deleted queue's name unusable for 60 s; locally that only gets in the way of
  // tests that tidy up after themselves.
  emulateQueueCreationLifecycle: false,
}).then(
  (server) => {
    const address = server.address();
    parentPort.postMessage({ port: address && typeof address === 'object' ? address.port : undefined });
    parentPort.on('message', () => {
      // process.exit in a worker ends the worker only; the queues' own timers (visibility
      // timeouts) would otherwise keep it alive after the server has closed.
      server.close(() => process.exit(0));
      server.closeAllConnections();
    });
  },
  (error) => {
    parentPort.postMessage({ error: error && error.message ? error.message : String(error) });
    parentPort.close();
  },
);
`;

/** How long a stop waits for the server to close before ending its thread. */
const STOP_GRACE_MS = 5_000;

export async function startSqsLocal(options: SqsLocalOptions = {}): Promise<SqsLocal> {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      module: createRequire(import.meta.url).resolve('local-aws-sqs'),
      port: options.port ?? 0,
      hostname: LOCAL_HOST,
      region: LOCAL_REGION,
    },
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const started = await new Promise<{ port?: number; error?: string }>((resolve) => {
    worker.once('message', resolve);
    worker.once('error', (error) => resolve({ error: error.message }));
    void exited.then(() => resolve({ error: 'its worker thread exited during start-up' }));
  });
  if (started.port === undefined) {
    await worker.terminate();
    throw new Error(`The local SQS server did not start: ${started.error ?? 'it reported no port'}.`);
  }
  return localService(started.port, async () => {
    worker.postMessage('stop');
    // A close that never finishes must not hold the runtime's stop: the thread is ended anyway.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([exited, new Promise<void>((ok) => (timer = setTimeout(ok, STOP_GRACE_MS)))]);
    clearTimeout(timer);
    await worker.terminate();
  });
}
