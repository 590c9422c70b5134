import type { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  MAX_BATCH_BYTES,
  QueueSender,
  type SqsSend,
  SqsSender,
} from '../../../functions/adapters/sqs-sender.js';

type Entry = { Id?: string; MessageBody?: string; DelaySeconds?: number };

/** Records every SendMessageBatch; `fail(call)` names the entries SQS refuses in that call. */
function fakeSqs(fail: (call: number) => number = () => 0) {
  const calls: Entry[][] = [];
  const client: SqsSend = {
    send: (async (command: SendMessageBatchCommand) => {
      const entries = (command.input.Entries ?? []) as Entry[];
      calls.push(entries);
      const refused = fail(calls.length - 1);
      return {
        Successful: entries.slice(refused).map((e) => ({ Id: e.Id })),
        Failed: entries.slice(0, refused).map((e) => ({ Id: e.Id, Code: 'ThrottlingException' })),
      };
    }) as SqsSend['send'],
  };
  return { client, calls };
}

describe('SqsSender', () => {
  it('sends at most 10 entries a call, in order, with ids unique within each call', async () => {
    const sqs = fakeSqs();
    const bodies = Array.from({ length: 25 }, (_, i) => ({ body: `m${i}` }));
    expect(await new SqsSender(sqs.client, 'q', 'tests').sendBodies(bodies)).toBe(25);
    expect(sqs.calls.map((c) => c.length)).toEqual([10, 10, 5]);
    expect(sqs.calls.flat().map((e) => e.MessageBody)).toEqual(bodies.map((b) => b.body));
    for (const call of sqs.calls) expect(new Set(call.map((e) => e.Id)).size).toBe(call.length);
  });

  it("keeps each call's bodies within SQS's batch size", async () => {
    const sqs = fakeSqs();
    const big = 'x'.repeat(90_000);
    await new SqsSender(sqs.client, 'q', 'tests').sendBodies(
      Array.from({ length: 5 }, () => ({ body: big })),
    );
    expect(sqs.calls.map((c) => c.length)).toEqual([2, 2, 1]);
    for (const call of sqs.calls) {
      const bytes = call.reduce((n, e) => n + Buffer.byteLength(e.MessageBody ?? ''), 0);
      expect(bytes).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    }
  });

  it('sends nothing for nothing', async () => {
    const sqs = fakeSqs();
    expect(await new SqsSender(sqs.client, 'q', 'tests').sendBodies([])).toBe(0);
    expect(sqs.calls).toEqual([]);
  });

  it('reports refused entries and stops there', async () => {
    const sqs = fakeSqs((call) => (call === 1 ? 2 : 0));
    const bodies = Array.from({ length: 30 }, (_, i) => ({ body: `m${i}` }));
    await expect(new SqsSender(sqs.client, 'q', 'widgets').sendBodies(bodies)).rejects.toThrow(
      'SQS refused 2 of 10 widgets (ThrottlingException, ThrottlingException)',
    );
    expect(sqs.calls).toHaveLength(2);
  });

  it("clamps delays to SQS's 0–900 s and sets none when not asked", async () => {
    const sqs = fakeSqs();
    await new SqsSender(sqs.client, 'q', 'tests').sendBodies([
      { body: 'a', delaySeconds: 1200 },
      { body: 'b', delaySeconds: -3 },
      { body: 'c', delaySeconds: 12.6 },
      { body: 'd' },
    ]);
    expect(sqs.calls[0]?.map((e) => e.DelaySeconds)).toEqual([900, 0, 13, undefined]);
  });
});

describe('QueueSender', () => {
  it("sends each message as its JSON, to the queue's URL", async () => {
    const urls: string[] = [];
    const sqs = fakeSqs();
    const client: SqsSend = {
      send: ((command: SendMessageBatchCommand) => {
        urls.push(command.input.QueueUrl ?? '');
        return sqs.client.send(command);
      }) as SqsSend['send'],
    };
    const queue = new QueueSender<'integrity'>(client, 'https://sqs/integrity', 'integrity messages');
    await queue.send([
      { model: 'm', version: '1.0.0' },
      { model: 'n', version: '2.0.0' },
    ]);
    expect(urls).toEqual(['https://sqs/integrity']);
    expect(sqs.calls[0]?.map((e) => JSON.parse(e.MessageBody ?? ''))).toEqual([
      { model: 'm', version: '1.0.0' },
      { model: 'n', version: '2.0.0' },
    ]);
  });
});
