/**
 * The local runtime's background functions, on a worker thread of their own: the queue workers
 * (their SQS event sources) and the scheduled functions. On AWS each is its own Lambda, in its
 * own process; in one event loop with the gateway, a capture batch being recorded (SDK calls to
 * S3 and DynamoDB, JSON of thousands of rows) held every API request arriving meanwhile, which was
 * most of the local HTTP path's p99 (issue 13). A worker thread has its own event loop and heap
 * and reaches the stand-ins over HTTP, as the API thread does; nothing else is shared but the
 * environment (SHARE_ENV), which the runtime completes after the thread has started.
 *
 * The same module is the worker's entry: started with BACKGROUND_MARK in its workerData, it loads
 * the queue and schedule functions' code at once; on `start` it builds them with the environments
 * it is given, starts their pollers and the scheduler, and then answers `fire` and `stop`
 * messages. Log lines go to the runtime's log through the parent.
 */
import { isMainThread, parentPort, SHARE_ENV, Worker, workerData } from 'node:worker_threads';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  FUNCTIONS,
  type FunctionDef,
  type FunctionId,
  QUEUES,
  SCHEDULES,
} from '../functions/contract/resources.js';
import type { LocalResources } from './provision.js';

const BACKGROUND_MARK = 'serval-background';

/** What runs on the background thread: the queue workers and the scheduled functions. */
export function runsInBackground(def: FunctionDef): boolean {
  return def.kind === 'queue' || def.kind === 'schedule';
}

export interface BackgroundOptions {
  /** Each function's environment (functionEnv), for the queue and schedule functions. */
  readonly envs: Readonly<Partial<Record<FunctionId, Record<string, string>>>>;
  readonly sqsEndpoint: string;
  readonly queues: LocalResources['queues'];
  readonly scheduleScale?: number;
}

export interface Background {
  /** Each schedule's period as the scheduler runs it (scaled), by SCHEDULES key. */
  readonly periods: Readonly<Record<string, number>>;
  /** Runs a schedule's target now; resolves when it has run. */
  fireNow(scheduleId: string): Promise<void>;
  /** Stops the pollers (a batch in progress finishes) and the scheduler; then the thread ends. */
  stop(): Promise<void>;
}

type ToParent =
  | { readonly kind: 'ready'; readonly periods: Record<string, number> }
  | { readonly kind: 'log'; readonly line: string }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'fired'; readonly id: number; readonly error?: string }
  | { readonly kind: 'stopped' };

type ToWorker =
  | { readonly kind: 'start'; readonly options: BackgroundOptions }
  | { readonly kind: 'fire'; readonly id: number; readonly scheduleId: string }
  | { readonly kind: 'stop' };

/** The background thread, started and loading its functions' code, not yet running them. */
export interface BackgroundThread {
  /** Gives the thread its functions' environments and the queues; resolves once it is polling. */
  start(options: BackgroundOptions): Promise<Background>;
  /** Ends the thread, whether start() was called or not. */
  stop(): Promise<void>;
}

/**
 * Starts the background thread now, so that it loads its functions' code while the stand-ins
 * boot (DynamoDB Local's JVM takes about two seconds); its start() then only builds and polls.
 * `log` gets its lines; `onExit` is told if the thread ends other than by stop().
 */
export function spawnBackground(
  log: (line: string) => void,
  onExit: (message: string) => void,
): BackgroundThread {
  // The runtime runs its TypeScript through tsx, whose loader a worker thread does not inherit:
  // the worker registers it, then imports this module. The environment is shared, not copied:
  // the stand-ins' AWS_ENDPOINT_URL_* and credentials are set after the thread starts.
  const tsx = import.meta.resolve('tsx/esm/api');
  const worker = new Worker(
    `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); });`,
    { eval: true, workerData: { mark: BACKGROUND_MARK }, env: SHARE_ENV },
  );
  let stopping = false;
  let nextFire = 0;
  const fired = new Map<number, { ok: () => void; fail: (e: Error) => void }>();
  let stopped: (() => void) | undefined;
  let ready: { ok: (periods: Record<string, number>) => void; fail: (e: Error) => void } | undefined;
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    ready?.fail(err);
  };
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (m: ToParent) => {
    if (m.kind === 'ready') ready?.ok(m.periods);
    else if (m.kind === 'log') log(m.line);
    else if (m.kind === 'failed') fail(new Error(m.message));
    else if (m.kind === 'fired') {
      const waiting = fired.get(m.id);
      fired.delete(m.id);
      if (m.error === undefined) waiting?.ok();
      else waiting?.fail(new Error(m.error));
    } else if (m.kind === 'stopped') stopped?.();
  });
  worker.once('error', (err) => {
    fail(err);
    if (!stopping) onExit(`the background functions' thread failed: ${err.message}`);
  });
  void exited.then(() => {
    fail(new Error('the background thread exited during start-up'));
    for (const w of fired.values()) w.fail(new Error('the background thread has exited'));
    fired.clear();
  });
  let stopping$: Promise<void> | undefined;
  const stop = () => {
    stopping = true;
    stopping$ ??= (async () => {
      const done = new Promise<void>((ok) => {
        stopped = ok;
      });
      worker.postMessage({ kind: 'stop' } satisfies ToWorker);
      await Promise.race([done, exited]);
      await worker.terminate();
    })();
    return stopping$;
  };
  return {
    stop,
    async start(options) {
      const periods = new Promise<Record<string, number>>((ok, reject) => {
        ready = { ok, fail: reject };
        if (failure) reject(failure);
      });
      worker.postMessage({ kind: 'start', options } satisfies ToWorker);
      try {
        return {
          periods: await periods,
          fireNow: (scheduleId) =>
            new Promise<void>((ok, reject) => {
              const id = nextFire++;
              fired.set(id, { ok, fail: reject });
              worker.postMessage({ kind: 'fire', id, scheduleId } satisfies ToWorker);
            }),
          stop,
        };
      } catch (err) {
        await worker.terminate();
        throw err;
      }
    },
  };
}

/** The worker's side: the queue and schedule functions, their pollers and the scheduler. */
function bootWorker(): void {
  const port = parentPort;
  if (!port) return;
  // The modules load at once, the functions' own with them (import() keeps each for later).
  const loading = Promise.all([
    import('./handlers.js'),
    import('./event-source.js'),
    import('./scheduler.js'),
    import('./services/clients.js'),
  ]);
  void loading
    .then(([{ importEntry }]) =>
      Promise.all(
        Object.values(FUNCTIONS).flatMap((def) => (runsInBackground(def) ? [importEntry(def.entry)] : [])),
      ),
    )
    .catch(() => undefined); // a module that fails to load fails start(), which imports it again
  let started = false;
  // A stop that comes while start() is still loading is kept for runInWorker, which listens later.
  const state = { stopRequested: false };
  port.on('message', (m: ToWorker) => {
    if (m.kind === 'start' && !started) {
      started = true;
      void runInWorker(port, m.options, loading, state);
    } else if (m.kind === 'stop') {
      if (started) state.stopRequested = true;
      else port.postMessage({ kind: 'stopped' } satisfies ToParent);
    }
  });
}

async function runInWorker(
  port: NonNullable<typeof parentPort>,
  options: BackgroundOptions,
  loading: Promise<
    [
      typeof import('./handlers.js'),
      typeof import('./event-source.js'),
      typeof import('./scheduler.js'),
      typeof import('./services/clients.js'),
    ]
  >,
  state: { readonly stopRequested: boolean },
): Promise<void> {
  const send = (m: ToParent) => port.postMessage(m);
  const log = (line: string) => send({ kind: 'log', line });
  try {
    const [{ loadHandlers }, { startQueuePoller }, { startScheduler }, { localSqsClient }] = await loading;
    // Exactly the functions the runtime gave an environment: it decides what runs here.
    const given = Object.fromEntries(
      (Object.keys(options.envs) as FunctionId[]).map((fn) => [fn, FUNCTIONS[fn]]),
    ) as typeof FUNCTIONS;
    const handlers = await loadHandlers((fn) => options.envs[fn] ?? {}, undefined, given);
    const sqs = localSqsClient(options.sqsEndpoint);
    const client = uncancellableReceives(sqs);
    const pollers = (
      Object.entries(QUEUES) as [keyof typeof QUEUES, (typeof QUEUES)[keyof typeof QUEUES]][]
    ).map(([id, def]) => {
      const worker = handlers.queue[def.worker];
      if (!worker) throw new Error(`queue ${id} has no worker`);
      const q = options.queues[id];
      return startQueuePoller({
        client,
        waitTimeSeconds: POLL_WAIT_SECONDS,
        queueUrl: q.url,
        queueArn: q.arn,
        batchSize: def.batchSize,
        maxBatchingWindowSeconds: 'maxBatchingWindowSeconds' in def ? def.maxBatchingWindowSeconds : 0,
        handler: worker,
        functionName: `serval-${def.worker}`,
        // The worker's Lambda timeout (lib/serval-stack.ts workerTimeout), for remaining-time budgets.
        timeoutSeconds: Math.floor(def.visibilityTimeoutSeconds / 6),
        onError: (err) => log(`warning: worker ${def.worker}: ${(err as Error).message}`),
      });
    });
    const scheduler = startScheduler({
      schedules: SCHEDULES,
      scale: options.scheduleScale,
      invoke: async (target, event) => {
        const fn = handlers.schedule[target];
        if (!fn) throw new Error(`schedule target ${target} is not wired`);
        await fn(event);
      },
      onError: (id, err) => log(`warning: schedule ${id}: ${(err as Error).message}`),
    });
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void Promise.all([scheduler.stop(), ...pollers.map((p) => p.stop())])
        .catch((err: Error) => log(`warning: stopping the background functions: ${err.message}`))
        .then(() => sqs.destroy())
        .then(() => send({ kind: 'stopped' }));
    };
    port.on('message', (m: ToWorker) => {
      if (m.kind === 'fire') {
        scheduler.fireNow(m.scheduleId).then(
          () => send({ kind: 'fired', id: m.id }),
          (err: Error) => send({ kind: 'fired', id: m.id, error: err.message }),
        );
      } else if (m.kind === 'stop') stop();
    });
    if (state.stopRequested) stop();
    send({ kind: 'ready', periods: { ...scheduler.periods } });
  } catch (err) {
    send({ kind: 'failed', message: (err as Error).message });
  }
}

/**
 * The workers' long polls, short so a stop waits for them at most this long (see
 * uncancellableReceives); idle, that is one receive a second per queue, in the background thread.
 */
const POLL_WAIT_SECONDS = 1;

/**
 * The pollers' SQS client, whose receives a poller's stop does not cut short. A long poll the
 * server has already answered would take its messages with it when cut: invisible for the
 * visibility timeout, beyond the reach of the save at stop, and gone when the process exits.
 * Left to run out (POLL_WAIT_SECONDS), the receive returns its messages and the poller handles
 * them before it stops.
 */
export function uncancellableReceives(client: SQSClient): SQSClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return (command: Parameters<SQSClient['send']>[0], options?: { abortSignal?: AbortSignal }) =>
        target.send(
          command,
          command instanceof ReceiveMessageCommand ? { ...options, abortSignal: undefined } : options,
        );
    },
  });
}

if (!isMainThread && (workerData as { mark?: string } | null)?.mark === BACKGROUND_MARK) bootWorker();
