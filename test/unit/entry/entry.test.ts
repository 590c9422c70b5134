import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, ScheduledEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { FUNCTIONS, type FunctionId } from '../../../functions/contract/resources.js';
import { apiEntry, lambdaHandler, queueEntry, scheduleEntry } from '../../../functions/handlers/entry.js';
import { importEntry } from '../../../local/handlers.js';

const Message = z.object({ n: z.number() });

function record(messageId: string, body: string): SQSRecord {
  return { messageId, body } as SQSRecord;
}

function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

function context(awsRequestId: string): Context {
  return {
    awsRequestId,
    functionName: 'serval-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:serval-test',
    memoryLimitInMB: '512',
  } as Context;
}

/** A logger whose JSON lines are kept, so a test can see what each line carried. */
function capturedLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  const logger = new Logger({ serviceName: 'serval-test', logLevel: 'DEBUG' });
  const lines = () =>
    out
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('queueEntry', () => {
  it('answers exactly the failing record in batchItemFailures and processes the others', async () => {
    const { logger } = capturedLogger();
    const handled: number[] = [];
    const worker = queueEntry({
      logger,
      schema: Message,
      name: 'test',
      handle: async ({ n }) => {
        if (n === 2) throw new Error('store unreachable');
        handled.push(n);
      },
    });
    const res = await worker(
      sqsEvent(record('a', '{"n":1}'), record('b', '{"n":2}'), record('c', '{"n":3}')),
      context('req-q'),
    );
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'b' }] });
    expect(handled).toEqual([1, 3]);
  });

  it('answers every id when every record fails, rather than failing the invocation', async () => {
    const { logger } = capturedLogger();
    const worker = queueEntry({
      logger,
      schema: Message,
      name: 'test',
      handle: async () => {
        throw new Error('down');
      },
    });
    const res = await worker(sqsEvent(record('a', '{"n":1}'), record('b', '{"n":2}')));
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['a', 'b']);
  });

  it('drops a malformed body (not JSON, or not the schema) with a log line, never retrying it', async () => {
    const { logger, lines } = capturedLogger();
    const handle = vi.fn(async (_message: { n: number }) => undefined);
    const worker = queueEntry({ logger, schema: Message, name: 'test', handle });
    const res = await worker(
      sqsEvent(record('x', 'not json'), record('y', '{"n":"one"}'), record('z', '{"n":1}')),
      context('req-m'),
    );
    expect(res).toEqual({ batchItemFailures: [] });
    expect(handle).toHaveBeenCalledTimes(1);
    expect(handle.mock.calls[0]?.[0]).toEqual({ n: 1 });
    const dropped = lines().filter((l) => l.message === 'malformed test message dropped');
    expect(dropped.map((l) => l.messageId)).toEqual(['x', 'y']);
  });

  it('reads bodies through its decode, and a body that does not decode is malformed', async () => {
    const { logger } = capturedLogger();
    const handle = vi.fn(async (_message: { n: number }) => undefined);
    const worker = queueEntry({
      logger,
      schema: Message,
      name: 'test',
      decode: (body) => {
        if (!body.startsWith('b64:')) throw new Error('not ours');
        return JSON.parse(Buffer.from(body.slice(4), 'base64').toString('utf8'));
      },
      handle,
    });
    const encoded = `b64:${Buffer.from('{"n":7}').toString('base64')}`;
    const res = await worker(sqsEvent(record('a', encoded), record('b', '{"n":8}')));
    expect(res).toEqual({ batchItemFailures: [] });
    expect(handle.mock.calls.map((c) => c[0])).toEqual([{ n: 7 }]);
  });

  it('handles records one after another unless told to run them concurrently', async () => {
    const { logger } = capturedLogger();
    const run = async (parallel: boolean) => {
      let running = 0;
      let most = 0;
      const worker = queueEntry({
        logger,
        schema: Message,
        name: 'test',
        parallel,
        handle: async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((r) => setTimeout(r, 5));
          running--;
        },
      });
      await worker(sqsEvent(record('a', '{"n":1}'), record('b', '{"n":2}'), record('c', '{"n":3}')));
      return most;
    };
    expect(await run(false)).toBe(1);
    expect(await run(true)).toBe(3);
  });

  it("gives the record handler's log lines the invocation's request id", async () => {
    const { logger, lines } = capturedLogger();
    const worker = queueEntry({
      logger,
      schema: Message,
      name: 'test',
      handle: async ({ n }) => logger.info('handled', { n }),
    });
    await worker(sqsEvent(record('a', '{"n":1}')), context('req-queue-1'));
    const line = lines().find((l) => l.message === 'handled');
    expect(line?.function_request_id).toBe('req-queue-1');
    expect(line?.function_name).toBe('serval-test');
  });
});

describe('apiEntry', () => {
  const event = {} as never;

  for (const lean of [false, true]) {
    it(`gives the API's log lines the request id${lean ? ' (lean)' : ''}`, async () => {
      const { logger, lines } = capturedLogger();
      const entry = apiEntry(
        logger,
        async () => {
          logger.info('served');
          return { statusCode: 200, body: '{}' };
        },
        { lean },
      );
      expect((await entry(event, context(`req-api-${lean}`))).statusCode).toBe(200);
      expect(lines().find((l) => l.message === 'served')?.function_request_id).toBe(`req-api-${lean}`);
      // Without a Lambda context (the local runtime's tests call handlers bare), it still serves.
      expect((await entry(event)).statusCode).toBe(200);
    });
  }
});

describe('scheduleEntry', () => {
  it('runs the scheduled work with the invocation context and returns its answer', async () => {
    const { logger, lines } = capturedLogger();
    const entry = scheduleEntry(logger, async (e: ScheduledEvent) => {
      logger.info('swept', { rule: e.resources[0] });
      return { enqueued: 3 };
    });
    const scheduled = { resources: ['arn:aws:events:rule/x'] } as ScheduledEvent;
    expect(await entry(scheduled, context('req-sched'))).toEqual({ enqueued: 3 });
    const line = lines().find((l) => l.message === 'swept');
    expect(line?.function_request_id).toBe('req-sched');
    expect(line?.rule).toBe('arn:aws:events:rule/x');
  });
});

describe('lambdaHandler', () => {
  const fakeCreate = () => {
    const create = vi.fn((_env: Record<string, string | undefined>) => async (n: number) => n * 2);
    return create;
  };

  it('on Lambda, builds during init and never again per event', async () => {
    const create = fakeCreate();
    const handler = await lambdaHandler(create, { AWS_LAMBDA_FUNCTION_NAME: 'serval-x' });
    expect(create).toHaveBeenCalledTimes(1);
    expect([await handler(1), await handler(2)]).toEqual([2, 4]);
    expect(create).toHaveBeenCalledTimes(1);
  });

  it('elsewhere (a module imported for createHandler), builds once on the first call', async () => {
    const create = fakeCreate();
    const handler = await lambdaHandler(create, {});
    expect(create).not.toHaveBeenCalled();
    expect(await Promise.all([handler(1), handler(2)])).toEqual([2, 4]);
    expect(create).toHaveBeenCalledTimes(1);
  });
});

describe('handler modules', () => {
  // Every function's wiring is built by createHandler itself: given no bindings at all, it fails
  // at creation, naming the variable, not on its first event.
  for (const id of Object.keys(FUNCTIONS) as FunctionId[]) {
    it(`${id}: createHandler builds its wiring at creation`, async () => {
      const mod = (await importEntry(FUNCTIONS[id].entry)) as {
        createHandler: (env: Record<string, string>) => unknown;
        handler: unknown;
      };
      expect(typeof mod.handler).toBe('function');
      expect(() => mod.createHandler({})).toThrow(/environment variable SERVAL_\w+ is not set/);
    });
  }
});
