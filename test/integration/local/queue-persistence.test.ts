/**
 * What is queued when the local runtime stops outlives local-aws-sqs, which keeps messages in
 * memory only: saved from one SQS stand-in, sent again to a fresh one, bodies and attributes intact.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  type NamedQueue,
  PENDING_FILE,
  restoreQueuedMessages,
  saveQueuedMessages,
} from '../../../local/queue-persistence.js';
import { localSqsClient } from '../../../local/services/clients.js';
import { startSqsLocal } from '../../../local/services/sqs.js';

async function queues(sqs: SQSClient): Promise<NamedQueue[]> {
  const out: NamedQueue[] = [];
  for (const name of ['captures', 'captures-dlq']) {
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: `serval-${name}` }))).QueueUrl!;
    out.push({ name, url });
  }
  return out;
}

async function drain(sqs: SQSClient, url: string) {
  const got: { body: string; attr?: string; bin?: string }[] = [];
  for (;;) {
    const res = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
    );
    if (!res.Messages?.length) return got;
    for (const m of res.Messages) {
      const bin = m.MessageAttributes?.blob?.BinaryValue;
      got.push({
        body: m.Body!,
        attr: m.MessageAttributes?.kind?.StringValue,
        ...(bin ? { bin: Buffer.from(bin).toString('hex') } : {}),
      });
    }
  }
}

describe('queued messages across a restart', () => {
  it('saves every visible message at stop and sends them again at the next start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'serval-qp-'));
    const first = await startSqsLocal();
    const sqs1 = localSqsClient(first.endpoint);
    const [main, dlq] = await queues(sqs1);
    const bodies = Array.from({ length: 23 }, (_, i) => JSON.stringify({ capture: i }));
    for (let i = 0; i < bodies.length; i += 10) {
      await sqs1.send(
        new SendMessageBatchCommand({
          QueueUrl: main!.url,
          Entries: bodies.slice(i, i + 10).map((b, j) => ({
            Id: String(j),
            MessageBody: b,
            MessageAttributes: {
              kind: { DataType: 'String', StringValue: 'capture' },
              blob: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 255]) },
            },
          })),
        }),
      );
    }
    await sqs1.send(
      new SendMessageBatchCommand({ QueueUrl: dlq!.url, Entries: [{ Id: '0', MessageBody: 'dead' }] }),
    );
    const result = await saveQueuedMessages(sqs1, [main!, dlq!], dataDir);
    expect(result.saved).toEqual({ captures: 23, 'captures-dlq': 1 });
    sqs1.destroy();
    await first.stop();

    // A new stand-in starts empty, as local-aws-sqs always does.
    const second = await startSqsLocal();
    const sqs2 = localSqsClient(second.endpoint);
    try {
      const fresh = await queues(sqs2);
      const { restored, dropped } = await restoreQueuedMessages(sqs2, fresh, dataDir);
      expect(restored).toEqual({ captures: 23, 'captures-dlq': 1 });
      expect(dropped).toBe(0);
      const back = await drain(sqs2, fresh[0]!.url);
      expect(back.map((m) => m.body).sort()).toEqual([...bodies].sort());
      expect(back.every((m) => m.attr === 'capture' && m.bin === '0102ff')).toBe(true);
      expect((await drain(sqs2, fresh[1]!.url)).map((m) => m.body)).toEqual(['dead']);
      // Sent once: a second start finds nothing to send again.
      expect((await restoreQueuedMessages(sqs2, fresh, dataDir)).restored).toEqual({});
    } finally {
      sqs2.destroy();
      await second.stop();
    }
  });

  it('sends no receive to a queue that holds nothing', async () => {
    // Each receive from local-aws-sqs takes 40 ms even when it may not wait; a stop saves sixteen
    // queues, most of them empty.
    const dataDir = mkdtempSync(join(tmpdir(), 'serval-qp-'));
    const server = await startSqsLocal();
    const sqs = localSqsClient(server.endpoint);
    const receivesFrom: string[] = [];
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ReceiveMessageCommand') {
          receivesFrom.push((args.input as { QueueUrl: string }).QueueUrl);
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    try {
      const [main, dlq] = await queues(sqs);
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: main!.url,
          Entries: ['a', 'b', 'c'].map((b, i) => ({ Id: String(i), MessageBody: b })),
        }),
      );
      const result = await saveQueuedMessages(sqs, [main!, dlq!], dataDir);
      expect(result.saved).toEqual({ captures: 3, 'captures-dlq': 0 });
      expect(receivesFrom.filter((url) => url === dlq!.url)).toEqual([]);
      expect(receivesFrom.filter((url) => url === main!.url).length).toBeGreaterThan(0);
      const file = JSON.parse(readFileSync(join(dataDir, PENDING_FILE), 'utf8'));
      expect(file.messages.map((m: { body: string }) => m.body).sort()).toEqual(['a', 'b', 'c']);
    } finally {
      sqs.destroy();
      await server.stop();
    }
  });

  it('refuses a damaged file in one sentence rather than dropping it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'serval-qp-'));
    writeFileSync(join(dataDir, PENDING_FILE), '{"format":1,"messages":[');
    const server = await startSqsLocal();
    const sqs = localSqsClient(server.endpoint);
    try {
      await expect(restoreQueuedMessages(sqs, await queues(sqs), dataDir)).rejects.toThrow(
        /not readable JSON/,
      );
      expect(readFileSync(join(dataDir, PENDING_FILE), 'utf8')).toContain('"format":1');
    } finally {
      sqs.destroy();
      await server.stop();
    }
  });
});
