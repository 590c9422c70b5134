/**
 * The whole platform on one machine: the AWS stand-ins, the HTTP API served through the local
 * gateway, the SQS-driven workers and the schedules — all running the same handlers as Lambda.
 */

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AUTH_CACHE_TTL_ENV } from '../functions/contract/limits.js';
import {
  BINDINGS,
  BUCKETS,
  dlqEnv,
  FUNCTIONS,
  type FunctionId,
  QUEUES,
  SCHEDULES,
  SECRETS,
  TABLES,
} from '../functions/contract/resources.js';
import type { ApiKeys } from '../functions/core/auth/api-keys.js';
import { SYSTEM_PRINCIPAL } from '../functions/core/auth/principal.js';
import { buildDashboard } from '../web/build.js';
import { runsInBackground, spawnBackground } from './background.js';
import { dashboardResponder } from './dashboard.js';
import { closeGateway, createGateway } from './gateway.js';
import { importEntry, loadHandlers } from './handlers.js';
import { exposedListeners, LOCAL_HOST, reservePort } from './ports.js';
import {
  type NamedQueue,
  PENDING_FILE,
  queueDepths,
  restoreQueuedMessages,
  saveQueuedMessages,
} from './queue-persistence.js';
import { rateLimiterFromEnv } from './rate-limit.js';
import { localSqsClient } from './services/clients.js';
import { dynamoDbProcessesUsing } from './services/dynamodb.js';
import { type LocalAws, startLocalAws } from './services/index.js';

export const MANIFEST = 'serval.json';
const MANIFEST_FORMAT = 1;
const PREFIX = 'serval';

export interface RuntimeOptions {
  readonly dataDir: string;
  readonly port: number;
  /** One line per service started, and warnings. */
  readonly log?: (line: string) => void;
  /** Multiplier for schedule intervals (tests fire them fast). */
  readonly scheduleScale?: number;
  /**
   * Something the runtime cannot recover from while running (DynamoDB Local keeps dying), in one
   * sentence; the caller should stop() and exit. Default: logged.
   */
  readonly onFatal?: (message: string) => void;
  /**
   * How long stop() waits for the workers to empty the queues before saving what is left to the
   * data directory (SERVAL_STOP_DRAIN_MS; default 3 s).
   */
  readonly stopDrainMs?: number;
}

/**
 * Stop's budget: requests in progress, the capture buffer, the queues, then the workers' last
 * invocations, all within STOP_BUDGET_MS; stopping the stand-ins afterwards takes well under a
 * second, so the whole stop stays within 10 s.
 */
const STOP_BUDGET_MS = 8_500;
const STOP_HTTP_GRACE_MS = 4_000;
const STOP_FLUSH_MS = 1_000;
const STOP_DRAIN_MS = 3_000;
/** Kept for the workers' last invocations whatever the drain took. */
const STOP_WORKERS_MIN_MS = 1_500;

export interface Runtime {
  readonly url: string;
  readonly adminKey: string;
  readonly adminKeyCreated: boolean;
  readonly dataDir: string;
  readonly aws: LocalAws;
  fireSchedule(id: keyof typeof SCHEDULES): Promise<void>;
  stop(): Promise<void>;
}

/** A problem the user can fix, said in one sentence (no stack trace). */
export class StartupError extends Error {}

interface Manifest {
  readonly format: number;
  readonly prefix: string;
  readonly createdAt: string;
}

/** Ensures the data dir is ours (or new), so we never build on top of something we don't understand. */
function openDataDir(dataDir: string): Manifest {
  const manifestPath = join(dataDir, MANIFEST);
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true });
  if (!existsSync(manifestPath)) {
    const entries = readdirSync(dataDir).filter((e) => !e.startsWith('.'));
    if (entries.length > 0) {
      throw new StartupError(
        `The data directory ${dataDir} is not empty and has no ${MANIFEST}, so it is not a Serval data directory (or it is damaged); point SERVAL_DATA_DIR elsewhere or move it away.`,
      );
    }
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      prefix: PREFIX,
      createdAt: new Date().toISOString(),
    };
    writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  }
  let manifest: Partial<Manifest>;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Partial<Manifest>;
  } catch {
    throw new StartupError(
      `The data directory ${dataDir} is damaged: ${MANIFEST} is not readable JSON; restore it or move the directory away to start fresh.`,
    );
  }
  if (manifest.format !== MANIFEST_FORMAT || typeof manifest.prefix !== 'string') {
    throw new StartupError(
      `The data directory ${dataDir} has a ${MANIFEST} this version of Serval does not understand (format ${String(manifest.format)}); move it away to start fresh.`,
    );
  }
  return manifest as Manifest;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One runtime per data directory: a second start would corrupt DynamoDB Local's files. A stale
 * lock (its holder is dead) is not enough to go ahead: the holder's JVM may have outlived it (an
 * older Serval, a `kill -9` before children died with their parent), and a second JVM on the same
 * files corrupts them just the same.
 */
function takeLock(dataDir: string): () => void {
  const lockPath = join(dataDir, 'serval.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeFileSync(fd, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
      closeSync(fd);
      const release = () => rmSync(lockPath, { force: true });
      const dbPath = join(dataDir, 'dynamodb');
      const jvms = dynamoDbProcessesUsing(dbPath);
      if (jvms.length > 0) {
        release();
        throw new StartupError(
          `A DynamoDB Local left over from an earlier Serval (process ${jvms.join(', ')}) still uses ${dbPath}; stop it (kill ${jvms.join(' ')}) and start again, as two databases on the same files corrupt them.`,
        );
      }
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder: { pid?: number; url?: string } = {};
      try {
        holder = JSON.parse(readFileSync(lockPath, 'utf8'));
      } catch {
        // An unreadable lock is stale by definition: nobody finished writing it.
      }
      if (holder.pid && holder.pid !== process.pid && processAlive(holder.pid)) {
        throw new StartupError(
          `Serval is already running with the data directory ${dataDir} (process ${holder.pid}${holder.url ? `, ${holder.url}` : ''}); stop it first or use another SERVAL_DATA_DIR.`,
        );
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new StartupError(`Could not take the lock ${lockPath}; remove it if no Serval is running.`);
}

function updateLock(dataDir: string, url: string): void {
  writeFileSync(join(dataDir, 'serval.lock'), JSON.stringify({ pid: process.pid, url }));
}

/**
 * The JWT signing secrets, as Secrets Manager holds them on AWS: JSON {current, previous?}.
 * Created once; `npx serval jwt rotate` (or an edit) rotates it, reaching functions within a minute.
 */
function ensureJwtSecret(dataDir: string): string {
  const path = join(dataDir, 'jwt-secret.json');
  if (!existsSync(path)) {
    writeFileSync(path, `${JSON.stringify({ current: randomBytes(48).toString('base64url') })}\n`, {
      mode: 0o600,
    });
  }
  return path;
}

/** Creates the bootstrap admin key on first start; later starts reuse it if it still works. */
async function ensureAdminKey(dataDir: string, keys: ApiKeys, log: (l: string) => void) {
  const path = join(dataDir, 'admin-key');
  if (existsSync(path)) {
    const existing = readFileSync(path, 'utf8').trim();
    try {
      await keys.authenticate(existing);
      return { key: existing, created: false };
    } catch {
      log(`warning: ${path} no longer matches an active key; creating a new admin key`);
    }
  }
  const { key } = await keys.create(SYSTEM_PRINCIPAL, { name: 'bootstrap-admin', role: 'admin' });
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  return { key, created: true };
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const log = options.log ?? (() => undefined);
  const dataDir = resolve(options.dataDir);
  const manifest = openDataDir(dataDir);
  const releaseLock = takeLock(dataDir);
  const cleanups: (() => Promise<void> | void)[] = [releaseLock];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    // Held until the gateway takes it, so no stand-in is given it meanwhile (they listen on 0).
    let heldPort: { release(): Promise<void> } | undefined;
    try {
      heldPort = options.port === 0 ? undefined : await reservePort(options.port);
    } catch (err) {
      throw new StartupError((err as Error).message);
    }
    cleanups.push(() => heldPort?.release());
    let aws: LocalAws;
    let stopping = false;
    const fatal = (message: string) => {
      if (stopping) return;
      log(`error: ${message}`);
      options.onFatal?.(message);
    };
    // While DynamoDB Local's JVM boots (about two seconds), the functions' code loads: the
    // background thread's on that thread, the API functions' and the dashboard's here. Each was
    // loaded after the stand-ins, in turn, and that made most of a start.
    const backgroundThread = spawnBackground(log, fatal);
    cleanups.push(() => backgroundThread.stop());
    const apiFunctions = Object.fromEntries(
      Object.entries(FUNCTIONS).filter(([, def]) => !runsInBackground(def)),
    ) as typeof FUNCTIONS;
    // Failures are not lost: loadHandlers imports the same modules again and throws.
    for (const def of Object.values(apiFunctions)) importEntry(def.entry).catch(() => undefined);
    const dashboardBuild = buildDashboard();
    dashboardBuild.catch(() => undefined);
    try {
      aws = await startLocalAws({
        dataDir,
        prefix: manifest.prefix,
        onWarning: (message) => log(`warning: ${message}`),
        superviseDynamoDb: { onRestart: (line) => log(`dynamodb  ${line}`), onGiveUp: fatal },
      });
    } catch (err) {
      throw new StartupError((err as Error).message);
    }
    cleanups.push(() => aws.stop());
    log(`dynamodb  DynamoDB Local      ${aws.endpoints.dynamodb}  (data: ${join(dataDir, 'dynamodb')})`);
    log(`s3        s3rver              ${aws.endpoints.s3}  (data: ${join(dataDir, 's3')})`);
    log(
      `sqs       local-aws-sqs       ${aws.endpoints.sqs}  (in memory; what is queued at stop is kept in ${join(dataDir, PENDING_FILE)})`,
    );
    log(
      `sagemaker runtime stand-in    ${aws.endpoints.sagemaker}  (endpoint X = ${join(aws.sagemakerDir, 'X.onnx')})`,
    );
    log(
      `sagemaker training stand-in   ${aws.endpoints.sagemakerTraining}  (training jobs run Serval's own trainer; in memory)`,
    );
    // The stand-in checks no role; a policy without its own roleArn passes this one.
    process.env.SERVAL_TRAINING_ROLE_ARN ??= 'arn:aws:iam::000000000000:role/serval-local-training';
    process.env.SERVAL_SAGEMAKER_POLL_SECONDS ??= '2';

    // The SDK finds the stand-ins through AWS_ENDPOINT_URL_<SERVICE> (process-wide, as a Lambda
    // runtime's environment would be); each function gets only the resource variables of its
    // BINDINGS, exactly as the CDK stack sets them.
    for (const [k, v] of Object.entries(aws.env)) if (k.startsWith('AWS_')) process.env[k] = v;
    const secrets = { [SECRETS.jwt.env]: pathToFileURL(ensureJwtSecret(dataDir)).href };
    const allEnv = { ...aws.env, ...secrets };
    process.env.POWERTOOLS_LOG_LEVEL ??= process.env.SERVAL_LOG_LEVEL ?? 'WARN';
    const envFor = (fn: FunctionId) => functionEnv(fn, allEnv);

    // The API functions and the authorizer; the others run on the background thread.
    const handlers = await loadHandlers(envFor, undefined, apiFunctions);
    const { authorizer } = handlers;
    if (!authorizer) throw new Error('FUNCTIONS defines no authorizer');
    const shared = await import('../functions/handlers/shared.js');

    const admin = await ensureAdminKey(dataDir, shared.apiKeys(aws.env), log);
    if (admin.created) await seedDemo(shared, aws.env, log);

    // Built in memory at every start (esbuild takes well under a second), so a fresh clone serves
    // the current dashboard with no build step and nothing built lands in the repository.
    const dashboard = await dashboardBuild.then(dashboardResponder, (err: Error) => {
      log(`warning: the dashboard did not build (${err.message.split('\n')[0]}); serving the API only`);
      return undefined;
    });

    const server: Server = createGateway({
      handlers: handlers.api,
      authorizer,
      fallback: dashboard,
      onError: (err) => log(`error: ${(err as Error).message}`),
      // Per-key limits as the usage plan applies them on AWS; SERVAL_RATE_* (docs/local-runtime.md).
      rateLimiter: rateLimiterFromEnv(process.env),
    });
    await heldPort?.release();
    heldPort = undefined;
    await new Promise<void>((ok, fail) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        fail(
          new StartupError(
            err.code === 'EADDRINUSE'
              ? `Port ${options.port} is already in use; stop what uses it or set SERVAL_PORT to another port.`
              : `The API server could not listen on ${LOCAL_HOST}:${options.port} (${err.code ?? err.message}).`,
          ),
        ),
      );
      server.listen(options.port, LOCAL_HOST, () => ok());
    });
    server.keepAliveTimeout = 5_000;
    cleanups.push(
      () =>
        new Promise<void>((ok) => {
          server.close(() => ok());
          server.closeAllConnections();
        }),
    );
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const url = `http://${LOCAL_HOST}:${port}`;
    updateLock(dataDir, url);
    log(`api       API Gateway (local) ${url}/v1`);
    if (dashboard) log(`web       dashboard           ${url}/`);
    checkLoopbackOnly([process.pid, aws.dynamodbPid], log);

    const sqs = localSqsClient(aws.endpoints.sqs);
    cleanups.push(() => sqs.destroy());
    const namedQueues: NamedQueue[] = (Object.keys(QUEUES) as (keyof typeof QUEUES)[]).flatMap((id) => [
      { name: id, url: aws.resources.queues[id].url },
      { name: `${id}-dlq`, url: aws.resources.queues[id].dlqUrl },
    ]);
    try {
      const { restored, dropped } = await restoreQueuedMessages(sqs, namedQueues, dataDir);
      const total = Object.values(restored).reduce((a, b) => a + b, 0);
      if (total > 0 || dropped > 0) {
        log(
          `sqs       re-sent ${total} message(s) saved at the last stop (${describeCounts(restored)})${dropped ? `; ${dropped} for queues that no longer exist dropped` : ''}`,
        );
      }
    } catch (err) {
      throw new StartupError((err as Error).message);
    }
    // The queue workers and scheduled functions run on a thread of their own (background.ts).
    const background = await backgroundThread
      .start({
        envs: Object.fromEntries(
          (Object.keys(FUNCTIONS) as FunctionId[])
            .filter((fn) => runsInBackground(FUNCTIONS[fn]))
            .map((fn) => [fn, envFor(fn)]),
        ),
        sqsEndpoint: aws.endpoints.sqs,
        queues: aws.resources.queues,
        scheduleScale: options.scheduleScale,
      })
      .catch((err: Error) => {
        throw new StartupError(`The background functions did not start: ${err.message}`);
      });
    for (const [id, def] of Object.entries(QUEUES) as [
      keyof typeof QUEUES,
      (typeof QUEUES)[keyof typeof QUEUES],
    ][]) {
      const q = aws.resources.queues[id];
      log(`worker    ${def.worker.padEnd(19)} polls ${localNameOf(q.url)} (batch ${def.batchSize})`);
    }
    for (const [key, s] of Object.entries(SCHEDULES)) {
      log(
        `schedule  ${s.id.padEnd(19)} ${describePeriod(background.periods[key]!, s.rateMinutes)} → ${s.target}`,
      );
    }

    writeFileSync(
      join(dataDir, 'endpoints.json'),
      `${JSON.stringify(
        {
          api: `${url}/v1`,
          region: aws.env.AWS_REGION,
          credentials: {
            accessKeyId: aws.env.AWS_ACCESS_KEY_ID,
            secretAccessKey: aws.env.AWS_SECRET_ACCESS_KEY,
          },
          endpoints: aws.endpoints,
          tables: aws.resources.tables,
          buckets: aws.resources.buckets,
          queues: aws.resources.queues,
        },
        null,
        2,
      )}\n`,
    );

    /**
     * The order matters: no new requests, then the ones in progress finish (their captures join
     * the buffer), the buffer goes to the queue, the workers get a bounded chance to empty the
     * queues, and only once they have stopped is what is left saved for the next start.
     */
    const drainAndSave = async () => {
      stopping = true;
      const started = Date.now();
      const finished = await closeGateway(server, STOP_HTTP_GRACE_MS);
      if (!finished) log('warning: requests still running after the grace period were cut');
      await within(STOP_FLUSH_MS, Promise.all(handlers.flushes.map((f) => f())));
      const mains = namedQueues.filter((q) => !q.name.endsWith('-dlq'));
      const budgetEnd = started + STOP_BUDGET_MS;
      const drainMs = options.stopDrainMs ?? STOP_DRAIN_MS;
      const deadline = Math.min(Date.now() + drainMs, budgetEnd - STOP_WORKERS_MIN_MS);
      while (Date.now() < deadline) {
        const depths = await queueDepths(sqs, mains).catch(() => undefined);
        if (depths && Object.values(depths).every((d) => d.visible + d.inFlight + d.delayed === 0)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // A worker in the middle of a batch finishes it, so its messages are deleted, not stranded
      // invisible where the save below cannot reach them.
      await within(Math.max(STOP_WORKERS_MIN_MS, budgetEnd - Date.now()), background.stop());
      try {
        const { saved, unreachable } = await saveQueuedMessages(sqs, namedQueues, dataDir);
        const total = Object.values(saved).reduce((a, b) => a + b, 0);
        const lost = Object.values(unreachable).reduce((a, b) => a + b, 0);
        log(
          total > 0
            ? `sqs       ${total} message(s) still queued (${describeCounts(saved)}) saved to ${join(dataDir, PENDING_FILE)}; the next start sends them again`
            : 'sqs       every queue is empty',
        );
        if (lost > 0) {
          log(
            `warning: ${lost} message(s) held by a failed worker invocation could not be saved (${describeCounts(unreachable)})`,
          );
        }
      } catch (err) {
        log(`warning: queued messages could not be saved: ${(err as Error).message}`);
      }
      log(`stopping the stand-ins (${((Date.now() - started) / 1000).toFixed(1)} s so far)`);
    };

    let stopped: Promise<void> | undefined;
    return {
      url,
      adminKey: admin.key,
      adminKeyCreated: admin.created,
      dataDir,
      aws,
      fireSchedule: (id) => background.fireNow(SCHEDULES[id].id),
      stop: () => {
        stopped ??= drainAndSave()
          .catch((err) => log(`warning: stop: ${(err as Error).message}`))
          .then(cleanup);
        return stopped;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * A fresh data directory gets a small real model (ONNX logistic regression) and its dataset, so a
 * newcomer has something to look at, validate and promote at once.
 */
async function seedDemo(
  shared: typeof import('../functions/handlers/shared.js'),
  env: Record<string, string>,
  log: (l: string) => void,
) {
  const { makeDemoModel } = await import('../functions/core/training/demo.js');
  const demo = makeDemoModel();
  const { registryServices } = await import('../functions/handlers/registry-wiring.js');
  const registry = registryServices(env);
  if (await registry.models.get(demo.name).catch(() => undefined)) return;
  const datasetKey = `datasets/${demo.name}/train.csv`;
  await shared
    .artifactStore(env)
    .put(datasetKey, new TextEncoder().encode(demo.datasetCsv), demo.dataset.sha256);
  const bucket = env[BUCKETS.artifacts.env];
  await registry.models.create(SYSTEM_PRINCIPAL, {
    name: demo.name,
    description: demo.description,
    tags: demo.tags,
  });
  await registry.artifacts.register(SYSTEM_PRINCIPAL, demo.name, {
    version: demo.version,
    artifact: { base64: Buffer.from(demo.onnx).toString('base64') },
    framework: 'onnx',
    runtime: { type: 'lambda' },
    inputSchema: demo.inputSchema,
    outputSchema: demo.outputSchema,
    metrics: demo.metrics,
    params: demo.params,
    dataset: { ...demo.dataset, uri: `s3://${bucket}/${datasetKey}` },
    description: 'logistic regression trained by Serval on a synthetic iris-like dataset',
  });
  log(
    `demo      model ${demo.name}@${demo.version} registered (draft; predict with "version":"${demo.version}"), dataset s3://${bucket}/${datasetKey}`,
  );
}

const PASSTHROUGH_ENV = [
  'SERVAL_WEBHOOK_BACKOFF_SCALE',
  'SERVAL_WEBHOOK_ALLOW_PRIVATE',
  'SERVAL_ROUTE_CACHE_MS',
  // The authorizer's cache TTL: the same variable the stack sets on AWS (functions/contract/limits.ts).
  AUTH_CACHE_TTL_ENV,
  'SERVAL_SAGEMAKER_ENDPOINTS',
  'SERVAL_IMPORT_BUCKETS',
  'SERVAL_RETRAIN_STALE_AFTER_MS',
  'SERVAL_SAGEMAKER_POLL_SECONDS',
  'SERVAL_TRAINING_ROLE_ARN',
  'SERVAL_TRAINING_JOB_PREFIX',
];

/** The variables a function receives: its bound resources (BINDINGS) and its stage. */
export function functionEnv(fn: FunctionId, all: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { SERVAL_STAGE: 'local' };
  const take = (name: string) => {
    const value = all[name];
    if (value === undefined) throw new Error(`no local value for ${name}`);
    env[name] = value;
  };
  const b = BINDINGS[fn];
  for (const id of Object.keys(b.tables ?? {}) as (keyof typeof TABLES)[]) take(TABLES[id].env);
  for (const id of Object.keys(b.buckets ?? {}) as (keyof typeof BUCKETS)[]) take(BUCKETS[id].env);
  for (const [id, modes] of Object.entries(b.queues ?? {}) as [
    keyof typeof QUEUES,
    { queue?: string; dlq?: string },
  ][]) {
    if (modes.queue) take(QUEUES[id].env);
    if (modes.dlq) take(dlqEnv(QUEUES[id].env));
  }
  for (const id of Object.keys(b.secrets ?? {}) as (keyof typeof SECRETS)[]) take(SECRETS[id].env);
  // b.topics: no SNS stand-in locally, so the topic variables stay unset and alerts go to webhooks.
  // Tuning knobs (not resources) pass through from the runtime's own environment.
  for (const name of PASSTHROUGH_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Resolves when `work` does or after `ms`, whichever is first; stop must not hang on one step. */
function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((ok) => {
      timer = setTimeout(ok, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function describeCounts(counts: Record<string, number>): string {
  return (
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([name, n]) => `${name}: ${n}`)
      .join(', ') || 'none'
  );
}

/**
 * Every stand-in accepts any credentials, so none may be reachable from the network. They are all
 * told to bind 127.0.0.1; this checks what the kernel says they did (the runtime's own sockets and
 * the JVM's), so a stand-in that ignores its host option cannot go unnoticed.
 */
function checkLoopbackOnly(pids: number[], log: (l: string) => void): void {
  const exposed = exposedListeners(pids);
  if (exposed === undefined) {
    log('warning: cannot check that the stand-ins listen on 127.0.0.1 only (no /proc on this system)');
    return;
  }
  if (exposed.length === 0) return;
  const where = exposed.map((l) => `${l.address}:${l.port} (process ${l.pid})`).join(', ');
  const message = `A stand-in listens beyond 127.0.0.1 on ${where}, where anyone on the network could use it with any credentials; install a JDK (javac) so DynamoDB Local can be bound to 127.0.0.1, or set SERVAL_ALLOW_EXPOSED_STANDINS=1 to run anyway.`;
  if (process.env.SERVAL_ALLOW_EXPOSED_STANDINS === '1') log(`WARNING: ${message}`);
  else throw new StartupError(message);
}

function localNameOf(queueUrl: string): string {
  return queueUrl.split('/').pop() ?? queueUrl;
}

/**
 * A schedule's period as it will really fire: with SERVAL_SCHEDULE_SCALE the hourly sweep may run
 * every few seconds, and the banner must say so rather than repeat the AWS rate.
 */
export function describePeriod(periodMs: number, rateMinutes: number): string {
  if (periodMs === rateMinutes * 60_000) return `every ${rateMinutes} min`;
  const scaled =
    periodMs >= 60_000 ? `${+(periodMs / 60_000).toFixed(2)} min` : `${+(periodMs / 1000).toFixed(2)} s`;
  return `every ${scaled} (${rateMinutes} min on AWS, scaled)`;
}
