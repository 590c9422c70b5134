/**
 * Work after the response, on Lambda: an internal extension (Lambda Extensions API, in the
 * function's own process) keeps the execution environment from freezing until the work is done,
 * while the runtime has already sent the answer. The inference function sends its capture buffer
 * this way, so a prediction's caller never waits for SQS.
 *
 * Protocol (docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html): during init,
 * POST /2020-01-01/extension/register with `Lambda-Extension-Name` and {"events": ["INVOKE"]}
 * (internal extensions cannot take SHUTDOWN); the answer's `Lambda-Extension-Identifier` goes on
 * every later call. GET /2020-01-01/extension/event/next long-polls for the next invocation;
 * calling it again tells Lambda this extension is done with the previous one. Lambda freezes the
 * environment only once the runtime and every extension have called next: the time between the
 * response and our next call is billed, never seen by the caller.
 */
import { Agent, request } from 'node:http';

export interface PostResponseOptions {
  /** host:port of the Runtime API (Lambda sets AWS_LAMBDA_RUNTIME_API). */
  readonly runtimeApi: string;
  readonly name: string;
  /** Runs once an invocation's answer is out; its failure is logged, never thrown. */
  readonly work: () => Promise<void>;
  readonly log?: { warn(message: string, extra?: Record<string, unknown>): void };
}

interface NextEvent {
  readonly eventType: string;
  readonly requestId?: string;
  readonly deadlineMs?: number;
}

/** One agent, no pooling games: two sequential calls per invocation. */
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function call(
  runtimeApi: string,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`http://${runtimeApi}${path}`, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export class PostResponseExtension {
  /** Request ids whose handler has finished and whose work has not run yet. */
  private readonly finishedIds = new Set<string>();
  private waiting: { requestId: string; resolve: () => void } | undefined;
  private running = true;

  private constructor(
    private readonly options: PostResponseOptions,
    private readonly id: string,
  ) {}

  /**
   * Registers during init and starts the event loop. Must complete before the runtime asks for
   * its first invocation (a top-level await in the handler module), or Lambda refuses the
   * registration. Resolves undefined when the Runtime API refuses: the caller then does its work
   * before answering, as without an extension.
   */
  static async register(options: PostResponseOptions): Promise<PostResponseExtension | undefined> {
    let res: Awaited<ReturnType<typeof call>>;
    try {
      res = await call(
        options.runtimeApi,
        'POST',
        '/2020-01-01/extension/register',
        { 'Lambda-Extension-Name': options.name, 'content-type': 'application/json' },
        JSON.stringify({ events: ['INVOKE'] }),
      );
    } catch (err) {
      options.log?.warn('the Lambda extension could not register; work runs before each answer', {
        error: String(err),
      });
      return undefined;
    }
    const id = res.headers['lambda-extension-identifier'];
    if (res.status !== 200 || typeof id !== 'string') {
      options.log?.warn('the Lambda extension could not register; work runs before each answer', {
        status: res.status,
        body: res.body.slice(0, 500),
      });
      return undefined;
    }
    const extension = new PostResponseExtension(options, id);
    void extension.loop();
    return extension;
  }

  /** False once the Runtime API is gone: the handler must do its work itself again. */
  get active(): boolean {
    return this.running;
  }

  /** The handler has answered this invocation: its work may run. */
  finished(requestId: string): void {
    if (this.waiting?.requestId === requestId) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve();
    } else {
      this.finishedIds.add(requestId);
    }
  }

  private async loop(): Promise<void> {
    for (;;) {
      let event: NextEvent;
      try {
        const res = await call(this.options.runtimeApi, 'GET', '/2020-01-01/extension/event/next', {
          'Lambda-Extension-Identifier': this.id,
        });
        if (res.status !== 200)
          throw new Error(`event/next answered ${res.status}: ${res.body.slice(0, 200)}`);
        event = JSON.parse(res.body) as NextEvent;
      } catch (err) {
        // Without the Runtime API there is no next invocation to serve: Lambda will reset the
        // environment. Nothing more to do here.
        this.options.log?.warn('the Lambda extension lost the Runtime API', { error: String(err) });
        this.running = false;
        this.finishedIds.clear();
        return;
      }
      if (event.eventType !== 'INVOKE' || event.requestId === undefined) continue;
      await this.handlerDone(event.requestId, event.deadlineMs);
      // The handler has returned, but the runtime posts its answer a few callbacks later: the
      // work (serialising captures is CPU) waits one event-loop turn so the answer goes first.
      await new Promise((resolve) => setImmediate(resolve));
      try {
        await this.options.work();
      } catch (err) {
        this.options.log?.warn('post-response work failed', { error: String(err) });
      }
    }
  }

  /** Resolves when the handler reports the invocation finished, or at its deadline. */
  private handlerDone(requestId: string, deadlineMs?: number): Promise<void> {
    if (this.finishedIds.delete(requestId)) return Promise.resolve();
    // Ids of invocations that never reached us are stale once a newer one starts.
    this.finishedIds.clear();
    return new Promise((resolve) => {
      const timer =
        deadlineMs !== undefined ? setTimeout(done, Math.max(0, deadlineMs - Date.now())) : undefined;
      const self = this;
      function done() {
        if (timer) clearTimeout(timer);
        if (self.waiting?.requestId === requestId) self.waiting = undefined;
        resolve();
      }
      this.waiting = { requestId, resolve: done };
    });
  }
}
