/**
 * `npm start`: the whole Serval platform on this machine. Prints one line per service, the API
 * URL and the bootstrap admin key; Ctrl-C (or SIGTERM, or SIGHUP) stops everything it started.
 *
 * The npm script execs node (no `sh` in between that would swallow npm's SIGTERM), and the process
 * also stops when whoever started it goes away without a signal (npm killed with SIGKILL): it is
 * then re-parented, which it notices within a second.
 */
import { join } from 'node:path';
import { StartupError, startRuntime } from '../local/runtime.js';

const port = Number(process.env.SERVAL_PORT ?? 3000);
const dataDir = process.env.SERVAL_DATA_DIR ?? '.serval';
const drainMs = process.env.SERVAL_STOP_DRAIN_MS;

function fail(message: string): never {
  process.stderr.write(`serval: ${message}\n`);
  process.exit(1);
}

if (!Number.isInteger(port) || port < 0 || port > 65535)
  fail(`SERVAL_PORT must be a port number, not "${process.env.SERVAL_PORT}".`);
if (drainMs !== undefined && !(Number(drainMs) >= 0))
  fail(`SERVAL_STOP_DRAIN_MS must be a number of milliseconds, not "${drainMs}".`);

const parent = process.ppid;
let shutdown: (reason: string, code?: number) => void = (reason) => {
  // A signal during start-up: nothing is fully up yet; the JVM dies with us (its stdin closes).
  process.stderr.write(`serval: stopped during start-up (${reason})\n`);
  process.exit(1);
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGHUP', () => shutdown('SIGHUP'));
setInterval(() => {
  if (process.ppid !== parent) shutdown('the process that started Serval has exited');
}, 1000).unref();

// On Node 20 the AWS SDK warns, in eight lines and once for each copy of it loaded (twice here,
// in the middle of the list of services), that its releases after the first week of January 2027
// will need Node 22. The releases package-lock.json pins run on Node 20, so the banner says it
// once, in one line, instead.
const sdkNeedsNewerNode =
  Number(process.versions.node.split('.')[0]) < 22 &&
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined;
if (sdkNeedsNewerNode) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// From the process's own start, so the figure includes loading the code, as a user waits for it.
const started = Date.now() - performance.now();
console.log(`Serval — starting the local platform (data: ${dataDir})`);
if (sdkNeedsNewerNode) {
  console.log(
    `  note      Node ${process.version}: the AWS SDK's releases after the first week of January 2027 need Node 22 or newer`,
  );
}
try {
  const runtime = await startRuntime({
    dataDir,
    port,
    log: (line) => console.log(`  ${line}`),
    scheduleScale: process.env.SERVAL_SCHEDULE_SCALE ? Number(process.env.SERVAL_SCHEDULE_SCALE) : undefined,
    stopDrainMs: drainMs === undefined ? undefined : Number(drainMs),
    onFatal: (message) => {
      process.stderr.write(`serval: ${message}\n`);
      shutdown('fatal', 1);
    },
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log('');
  console.log(`Serval is ready in ${seconds} s`);
  console.log(`  dashboard  ${runtime.url}/   (sign in with the admin key below)`);
  console.log(`  API        ${runtime.url}/v1   (OpenAPI: ${runtime.url}/v1/openapi.json)`);
  // The key is shown whole only to a person at a terminal; output that goes to a file or a pipe
  // (a log, CI) gets a masked form and where the key is, so no log ever holds it.
  const keyPath = join(runtime.dataDir, 'admin-key');
  const shown = process.stdout.isTTY ? runtime.adminKey : maskKey(runtime.adminKey);
  console.log(
    `  admin key  ${shown}   (${runtime.adminKeyCreated ? 'created now' : 'from an earlier start'}; saved in ${keyPath}${process.stdout.isTTY ? '' : '; shown whole only on a terminal'})`,
  );
  console.log(`  endpoints  ${join(runtime.dataDir, 'endpoints.json')}   (stand-in URLs and resource names)`);
  console.log(
    `  try        curl -H "x-api-key: $(cat ${join(dataDir, 'admin-key')})" ${runtime.url}/v1/models`,
  );
  console.log('Press Ctrl-C to stop.');

  let stopping = false;
  shutdown = (reason, code = 0) => {
    if (stopping) {
      // A second Ctrl-C: the user does not want to wait; the JVM still dies with us.
      if (reason === 'SIGINT' || reason === 'SIGTERM') process.exit(130);
      return;
    }
    stopping = true;
    const t0 = Date.now();
    console.log(`\nServal stopping (${reason})…`);
    void runtime.stop().finally(() => {
      console.log(`Serval stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
      process.exit(code);
    });
  };
} catch (err) {
  if (err instanceof StartupError) fail(err.message);
  process.stderr.write(`serval: could not start: ${(err as Error).message}\n`);
  process.exit(1);
}

/** A key as a log may show it: its first 8 and last 4 characters. */
function maskKey(key: string): string {
  return key.length <= 16 ? '…' : `${key.slice(0, 8)}…${key.slice(-4)}`;
}
