/**
 * Port helpers for the local runtime and its stand-ins. Everything listens on 127.0.0.1 only: the
 * stand-ins accept any credentials, so they must never be reachable from the network.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
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

/** A listening TCP socket: its local address as the kernel reports it, and its port. */
export interface Listener {
  readonly pid: number;
  readonly address: string;
  readonly port: number;
}

/**
 * The listening TCP sockets of these processes that are reachable beyond loopback (bound to
 * 0.0.0.0, ::, or a real interface), read from /proc: the sockets a process holds are its
 * `socket:[inode]` descriptors, and /proc/net/tcp{,6} says which inodes listen where. Undefined
 * where there is no /proc (macOS): the caller cannot check, and says so.
 */
export function exposedListeners(pids: readonly number[]): Listener[] | undefined {
  const table = new Map<string, { address: string; port: number }>();
  try {
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        if (file.endsWith('6')) continue; // IPv6 disabled
        throw err;
      }
      for (const line of text.split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        // local_address rem_address st … inode (column 9); 0A is LISTEN.
        if (cols.length < 10 || cols[3] !== '0A') continue;
        const [hex, portHex] = cols[1]!.split(':');
        table.set(cols[9]!, { address: hex!, port: Number.parseInt(portHex!, 16) });
      }
    }
  } catch {
    return undefined;
  }
  const exposed: Listener[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      const socket = inode ? table.get(inode) : undefined;
      if (socket && !isLoopbackHex(socket.address)) {
        exposed.push({ pid, address: formatHexAddress(socket.address), port: socket.port });
      }
    }
  }
  return exposed;
}

/** /proc/net/tcp{,6} print each 32-bit word of the address in host (little-endian) byte order. */
function hexAddressBytes(hex: string): number[] {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8);
    for (let b = 6; b >= 0; b -= 2) bytes.push(Number.parseInt(word.slice(b, b + 2), 16));
  }
  return bytes;
}

export function isLoopbackHex(hex: string): boolean {
  const bytes = hexAddressBytes(hex);
  if (bytes.length === 4) return bytes[0] === 127;
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 15) && bytes[15] === 1) return true; // ::1
  return zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff && bytes[12] === 127; // ::ffff:127.x
}

function formatHexAddress(hex: string): string {
  const bytes = hexAddressBytes(hex);
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return `[${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}]`;
}
