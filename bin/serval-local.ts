/**
 * `npm start`: the whole Serval platform on this machine. Prints one line per service, the API
 * URL and the bootstrap admin key; Ctrl-C (or SIGTERM) stops everything it started.
 */
import { join } from 'node:path';
import { StartupError, startRuntime } from '../local/runtime.js';

const port = Number(process.env.SERVAL_PORT ?? 3000);
const dataDir = process.env.SERVAL_DATA_DIR ?? '.serval';

function fail(message: string): never {
  process.stderr.write(`serval: ${message}\n`);
  process.exit(1);
}

if (!Number.isInteger(port) || port < 0 || port > 65535)
  fail(`SERVAL_PORT must be a port number, not "${process.env.SERVAL_PORT}".`);

const started = Date.now();
console.log(`Serval — starting the local platform (data: ${dataDir})`);
try {
  const runtime = await startRuntime({
    dataDir,
    port,
    log: (line) => console.log(`  ${line}`),
    scheduleScale: process.env.SERVAL_SCHEDULE_SCALE ? Number(process.env.SERVAL_SCHEDULE_SCALE) : undefined,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log('');
  console.log(`Serval is ready in ${seconds} s`);
  console.log(`  API        ${runtime.url}/v1   (OpenAPI: ${runtime.url}/v1/openapi.json)`);
  console.log(
    `  admin key  ${runtime.adminKey}   (${runtime.adminKeyCreated ? 'created now' : 'from an earlier start'}; saved in ${join(runtime.dataDir, 'admin-key')})`,
  );
  console.log(`  endpoints  ${join(runtime.dataDir, 'endpoints.json')}   (stand-in URLs and resource names)`);
  console.log(
    `  try        curl -H "x-api-key: $(cat ${join(dataDir, 'admin-key')})" ${runtime.url}/v1/models`,
  );
  console.log('Press Ctrl-C to stop.');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\nServal stopping (${signal})…`);
    await runtime.stop();
    console.log('Serval stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
} catch (err) {
  if (err instanceof StartupError) fail(err.message);
  process.stderr.write(`serval: could not start: ${(err as Error).message}\n`);
  process.exit(1);
}
