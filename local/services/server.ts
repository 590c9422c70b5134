/**
 * What the in-process stand-ins (S3, SQS, SageMaker) share once their server listens: the handle
 * with their URL and port, whose stop() runs once however often it is called, and the close of a
 * Node HTTP server that does not wait for SDK clients' keep-alive sockets or open long polls.
 */
import type { Server } from 'node:http';
import { LOCAL_HOST } from '../ports.js';

export interface LocalService {
  /** `http://127.0.0.1:<port>`, for the service's AWS_ENDPOINT_URL_* variable. */
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** The handle of a stand-in listening on `port`; `close` runs on the first stop() only. */
export function localService(port: number, close: () => Promise<void>): LocalService {
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://${LOCAL_HOST}:${port}`,
    port,
    stop() {
      stopping ??= close();
      return stopping;
    },
  };
}

/** The port a listening server reports; when it reports none, closes it and fails naming `service`. */
export function listeningPort(server: Server, service: string): number {
  const address = server.address();
  if (!address || typeof address === 'string') {
    server.close();
    throw new Error(`The local ${service} server did not report its port.`);
  }
  return address.port;
}

/** Closes `server`, dropping the open connections that would otherwise hold close() open. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
