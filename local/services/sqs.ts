/**
 * local-aws-sqs, in-process, as the local SQS: the current JSON protocol, long polling,
 * visibility timeouts and redrive to a dead-letter queue.
 *
 * It keeps queues and messages in memory only, so every start begins empty and the provisioner
 * re-creates the queues, and messages still queued when the local runtime stops are gone.
 */
import type { Server } from 'node:http';
import { createSqsServer } from 'local-aws-sqs';
import { LOCAL_HOST } from '../ports.js';
import { LOCAL_REGION } from './clients.js';
import { closeServer, listeningPort, localService } from './server.js';

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

export async function startSqsLocal(options: SqsLocalOptions = {}): Promise<SqsLocal> {
  const server: Server = await createSqsServer({
    port: options.port ?? 0,
    hostname: LOCAL_HOST,
    region: LOCAL_REGION,
    // AWS makes a deleted queue's name unusable for 60 s; locally that only gets in the way of
    // tests that tidy up after themselves.
    emulateQueueCreationLifecycle: false,
  });
  // Long polls (up to 20 s) would otherwise hold close() open: closeServer drops them.
  return localService(listeningPort(server, 'SQS'), () => closeServer(server));
}
