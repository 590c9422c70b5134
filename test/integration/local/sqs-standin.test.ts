/**
 * The SQS stand-in on its worker thread (local/services/sqs.ts): it does not listen on the
 * caller's thread, a stop ends it promptly even with messages in flight (their visibility timers
 * would keep a thread alive until its grace runs out), and a port already taken is refused with
 * the stand-in's name in the message.
 */
import { createServer } from 'node:net';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { localSqsClient } from '../../../local/services/clients.js';
import { startSqsLocal } from '../../../local/services/sqs.js';

describe('the SQS stand-in on its own thread', () => {
  it('listens on a thread of its own, not this one', async () => {
    const listening = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    const before = listening();
    const server = await startSqsLocal();
    const sqs = localSqsClient(server.endpoint);
    try {
      // It serves...
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'elsewhere' }));
      expect((await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' }))).MessageId).toBeTruthy();
      // ...but its listening socket is not among this thread's handles (on this thread's event
      // loop, a GC of its backlog paused everything else here).
      expect(listening()).toBe(before);
    } finally {
      sqs.destroy();
      await server.stop();
    }
  });

  it('stops within its grace with a message in flight, and frees its port', async () => {
    const server = await startSqsLocal();
    const sqs = localSqsClient(server.endpoint);
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: 'held', Attributes: { VisibilityTimeout: '600' } }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'in flight' }));
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1 }));
    expect(got.Messages).toHaveLength(1);
    sqs.destroy();
    const started = Date.now();
    await server.stop();
    // Well inside the 5 s grace after which the thread would be ended regardless.
    expect(Date.now() - started).toBeLessThan(4_000);
    // Nothing listens there any more.
    const probe = createServer();
    await new Promise<void>((ok, fail) => probe.once('error', fail).listen(server.port, '127.0.0.1', ok));
    await new Promise((ok) => probe.close(ok));
  });

  it('refuses a port in use, naming the stand-in', async () => {
    const taken = createServer();
    await new Promise<void>((ok) => taken.listen(0, '127.0.0.1', ok));
    const port = (taken.address() as { port: number }).port;
    try {
      await expect(startSqsLocal({ port })).rejects.toThrow(/local SQS server did not start/);
    } finally {
      await new Promise((ok) => taken.close(ok));
    }
  });
});
