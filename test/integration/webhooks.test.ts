/**
 * Webhooks end to end on the stand-ins: the service registers webhooks in DynamoDB Local and
 * dispatches through the real local SQS queue, the worker (driven by the local event source, as
 * Lambda's event source mapping would) POSTs to a receiver on 127.0.0.1, and retries travel
 * back through SQS with DelaySeconds. Retry delays run at a tenth of their real length
 * (SERVAL_WEBHOOK_BACKOFF_SCALE=0.1: 1 s, 2 s, …).
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ulids } from '../../functions/adapters/system.js';
import { BINDINGS, type FunctionId, QUEUES, TABLES } from '../../functions/contract/resources.js';
import type { Principal } from '../../functions/core/auth/principal.js';
import { deliveryIdOf } from '../../functions/core/webhooks/service.js';
import { verifySignature } from '../../functions/core/webhooks/signing.js';
import type { DeliveryRecord, ServalEvent } from '../../functions/core/webhooks/types.js';
import { createHandler } from '../../functions/handlers/webhook-worker.js';
import {
  allowInsecureUrls,
  deliveryQueue,
  webhookService,
  webhookStore,
} from '../../functions/handlers/webhooks-wiring.js';
import { type QueuePoller, startQueuePoller } from '../../local/event-source.js';
import { localSqsClient } from '../../local/services/clients.js';
import { domainError } from '../support/expect-code.js';
import { type Standins, startStandins, useStandinsEnv } from '../support/standins.js';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

let aws: Standins;
let sqs: SQSClient;
let poller: QueuePoller;
let receiver: Server;
let base: string;
const received: Received[] = [];
/** Statuses a path answers with, in order; 200 once exhausted. */
const scripts = new Map<string, number[]>();
const workerErrors: unknown[] = [];
let restoreEnv: (() => void) | undefined;

const admin: Principal = { id: 'key-admin', name: 'admin', role: 'admin' };
/** The variables a function gets locally: its bound resources (as local/runtime.ts hands them out). */
function envOf(fn: FunctionId): Record<string, string> {
  const env: Record<string, string> = { SERVAL_STAGE: 'local', SERVAL_WEBHOOK_BACKOFF_SCALE: '0.1' };
  for (const t of Object.keys(BINDINGS[fn].tables ?? {}) as (keyof typeof TABLES)[]) {
    env[TABLES[t].env] = aws.env[TABLES[t].env]!;
  }
  for (const q of Object.keys(BINDINGS[fn].queues ?? {}) as (keyof typeof QUEUES)[]) {
    env[QUEUES[q].env] = aws.env[QUEUES[q].env]!;
  }
  return env;
}

const at = (path: string) => received.filter((r) => r.path === path);

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(25);
  }
}

function alertEvent(): ServalEvent {
  const id = ulids.next();
  return {
    id,
    type: 'alert.raised',
    at: new Date().toISOString(),
    data: { alertId: id, model: 'iris', version: '1.0.0', driftShare: 0.75, drifted: ['petal_length'] },
  };
}

const created: string[] = [];
async function register(path: string, events: ('alert' | 'lifecycle' | '*')[] = ['alert']) {
  const service = webhookService(envOf('monitoring'));
  const res = await service.create(admin, { url: `${base}${path}`, events }, { allowInsecure: true });
  created.push(res.webhook.id);
  return res;
}

async function deliveries(webhookId: string): Promise<DeliveryRecord[]> {
  return (await webhookStore(envOf('webhookWorker')).listDeliveries(webhookId, { limit: 10 })).items;
}

beforeAll(async () => {
  aws = await startStandins();
  // The SDK clients find the stand-ins through AWS_ENDPOINT_URL_* (as in the local runtime).
  restoreEnv = useStandinsEnv(aws);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const status = scripts.get(path)?.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  sqs = localSqsClient(aws.endpoints.sqs);
  const q = aws.resources.queues.webhooks;
  poller = startQueuePoller({
    client: sqs,
    queueUrl: q.url,
    queueArn: q.arn,
    batchSize: QUEUES.webhooks.batchSize,
    handler: createHandler(envOf('webhookWorker')),
    waitTimeSeconds: 1,
    onError: (e) => workerErrors.push(e),
  });
});

afterEach(async () => {
  const service = webhookService(envOf('monitoring'));
  for (const id of created.splice(0)) await service.delete(admin, id).catch(() => {});
});

afterAll(async () => {
  await poller?.stop();
  sqs?.destroy();
  await new Promise<void>((ok) => (receiver ? receiver.close(() => ok()) : ok()));
  receiver?.closeAllConnections();
  await aws?.stop();
  restoreEnv?.();
});

describe('webhooks through the local SQS queue', () => {
  it('delivers an alert exactly once to a subscribed receiver, with a valid signature', async () => {
    const { webhook, secret } = await register('/alerts', ['alert']);
    await register('/lifecycle-only', ['lifecycle']);
    const event = alertEvent();
    const service = webhookService(envOf('monitoring'));
    const queued = await service.dispatch(event);
    expect(queued).toEqual([{ webhookId: webhook.id, deliveryId: deliveryIdOf(event.id, webhook.id) }]);

    await waitFor(() => at('/alerts').length === 1);
    await sleep(1500); // nothing else arrives: no duplicate, no retry
    expect(at('/alerts')).toHaveLength(1);
    expect(at('/lifecycle-only')).toHaveLength(0);

    const got = at('/alerts')[0]!;
    expect(JSON.parse(got.body)).toEqual(event);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['x-serval-event']).toBe('alert.raised');
    expect(got.headers['x-serval-delivery']).toBe(deliveryIdOf(event.id, webhook.id));
    const signature = String(got.headers['x-serval-signature']);
    expect(verifySignature(secret, signature, got.body)).toBe(true);
    // Checked independently, as a receiver with only node:crypto would.
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature)!;
    expect(Math.abs(Number(m[1]) - Date.now() / 1000)).toBeLessThan(60);
    expect(createHmac('sha256', secret).update(`${m[1]}.${got.body}`).digest('hex')).toBe(m[2]);
    expect(verifySignature('wrong-secret', signature, got.body)).toBe(false);

    await waitFor(async () => (await deliveries(webhook.id))[0]?.status === 'delivered');
    expect((await deliveries(webhook.id))[0]).toMatchObject({
      deliveryId: deliveryIdOf(event.id, webhook.id),
      eventId: event.id,
      status: 'delivered',
      attempts: 1,
      lastStatusCode: 200,
    });
    expect(workerErrors).toEqual([]);
  });

  it('retries 500, 500 then 200: three attempts, growing delays, one delivery id', async () => {
    scripts.set('/flaky', [500, 500, 200]);
    const { webhook, secret } = await register('/flaky', ['*']);
    const event = alertEvent();
    await webhookService(envOf('monitoring')).dispatch(event);

    await waitFor(() => at('/flaky').length === 3, 20_000);
    const [a, b, c] = at('/flaky') as [Received, Received, Received];
    const gap1 = b.at - a.at;
    const gap2 = c.at - b.at;
    // Scaled schedule: 1 s then 2 s (SQS DelaySeconds), plus polling.
    expect(gap1).toBeGreaterThanOrEqual(900);
    expect(gap2).toBeGreaterThanOrEqual(1900);
    expect(gap2).toBeGreaterThan(gap1);
    for (const r of [a, b, c]) {
      expect(r.headers['x-serval-delivery']).toBe(deliveryIdOf(event.id, webhook.id));
      expect(r.body).toBe(a.body);
      expect(verifySignature(secret, String(r.headers['x-serval-signature']), r.body)).toBe(true);
    }
    await sleep(2500);
    expect(at('/flaky')).toHaveLength(3);
    await waitFor(async () => (await deliveries(webhook.id))[0]?.status === 'delivered');
    expect((await deliveries(webhook.id))[0]).toMatchObject({ status: 'delivered', attempts: 3 });
  });

  it('does not retry a 410: one attempt, recorded as rejected', async () => {
    scripts.set('/gone', [410, 410, 410]);
    const { webhook } = await register('/gone', ['alert']);
    await webhookService(envOf('monitoring')).dispatch(alertEvent());
    await waitFor(() => at('/gone').length === 1);
    await sleep(2500);
    expect(at('/gone')).toHaveLength(1);
    expect((await deliveries(webhook.id))[0]).toMatchObject({
      status: 'failed',
      failure: 'rejected',
      attempts: 1,
      lastStatusCode: 410,
      lastError: 'HTTP 410',
    });
  });

  it('a deleted webhook gets nothing, even for a delivery queued before it was deleted', async () => {
    const { webhook } = await register('/deleted', ['*']);
    const event = alertEvent();
    const service = webhookService(envOf('monitoring'));
    await service.delete(admin, webhook.id);
    expect(await service.dispatch(event)).toEqual([]);
    // A delivery queued before the deletion reaches the worker, which drops it.
    await deliveryQueue(envOf('monitoring')).send([
      {
        message: { deliveryId: deliveryIdOf(event.id, webhook.id), webhookId: webhook.id, event, attempt: 1 },
        delaySeconds: 0,
      },
    ]);
    const handler = createHandler(envOf('webhookWorker'));
    const direct = await handler({ Records: [record({ webhookId: webhook.id, event })] });
    expect(direct.batchItemFailures).toEqual([]);
    await sleep(2500);
    expect(at('/deleted')).toHaveLength(0);
    expect(await deliveries(webhook.id)).toEqual([]);
  });

  it('checks the URL again at delivery time', async () => {
    // Stored around the service (as if the policy had been looser when it was registered).
    const store = webhookStore(envOf('monitoring'));
    const id = ulids.next();
    await store.create(
      {
        id,
        url: 'http://169.254.169.254/latest/meta-data/',
        events: ['*'],
        description: '',
        secret: 'x',
        createdAt: new Date().toISOString(),
        createdBy: 'test',
        status: 'active',
      },
      {
        id: ulids.next(),
        at: new Date().toISOString(),
        actor: 'test',
        actorName: 'test',
        action: 't',
        target: 't',
      },
    );
    created.push(id);
    await webhookService(envOf('monitoring')).dispatch(alertEvent());
    await waitFor(async () => (await deliveries(id))[0]?.status === 'failed');
    expect((await deliveries(id))[0]).toMatchObject({ failure: 'url_refused', attempts: 1 });
  });
});

describe('registration', () => {
  it('refuses link-local and metadata URLs even locally, and http/loopback on AWS', async () => {
    const local = envOf('monitoring');
    expect(allowInsecureUrls(local)).toBe(true);
    const service = webhookService(local);
    for (const url of [
      'http://169.254.169.254/',
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://[fd00:ec2::254]/',
      'http://[::ffff:169.254.169.254]/',
      'http://metadata.google.internal/',
    ]) {
      await expect(
        service.create(admin, { url, events: ['*'] }, { allowInsecure: allowInsecureUrls(local) }),
        url,
      ).rejects.toThrow(domainError('validation_failed'));
    }
    const onAws = { ...local, SERVAL_STAGE: 'prod' };
    expect(allowInsecureUrls(onAws)).toBe(false);
    for (const url of [`${base}/x`, 'http://example.com/hook', 'https://127.0.0.1/hook']) {
      await expect(
        service.create(admin, { url, events: ['*'] }, { allowInsecure: allowInsecureUrls(onAws) }),
        url,
      ).rejects.toThrow(domainError('validation_failed'));
    }
    expect((await service.list({ limit: 100 })).items).toEqual([]);
  });

  it('lists webhooks page by page without secrets; a forged cursor is refused', async () => {
    const a = await register('/list-a');
    const b = await register('/list-b');
    const service = webhookService(envOf('monitoring'));
    const first = await service.list({ limit: 1 });
    expect(first.items.map((w) => w.id)).toEqual([a.webhook.id]);
    expect(first.nextCursor).toBeDefined();
    const second = await service.list({ limit: 1, cursor: first.nextCursor });
    expect(second.items.map((w) => w.id)).toEqual([b.webhook.id]);
    const text = JSON.stringify([first, second]);
    expect(text).not.toContain(a.secret);
    expect(text).not.toContain(b.secret);
    expect(text).not.toContain('"secret"');
    const forged = Buffer.from(
      JSON.stringify({ pk: 'MODEL#x', sk: 'y', gsi1pk: 'ALERTS', gsi1sk: 'z' }),
    ).toString('base64url');
    await expect(service.list({ limit: 1, cursor: forged })).rejects.toThrow(
      domainError('validation_failed'),
    );
  });
});

describe('worker failures', () => {
  it('reports a batch item failure only when the store is unreachable; drops malformed messages', async () => {
    const broken = createHandler({ ...envOf('webhookWorker'), [TABLES.monitoring.env]: 'no-such-table' });
    const ok = record({ webhookId: ulids.next(), event: alertEvent() });
    const malformed = {
      ...record({ webhookId: 'x', event: alertEvent() }),
      messageId: 'm2',
      body: '{"nope":1}',
    };
    const res = await broken({ Records: [ok, malformed] });
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: ok.messageId }]);
  });
});

function record(input: { webhookId: string; event: ServalEvent }): SQSRecord {
  const message = {
    deliveryId: deliveryIdOf(input.event.id, input.webhookId),
    webhookId: input.webhookId,
    event: input.event,
    attempt: 1,
  };
  return {
    messageId: `m-${ulids.next()}`,
    receiptHandle: 'r',
    body: JSON.stringify(message),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: aws.resources.queues.webhooks.arn,
    awsRegion: 'us-east-1',
  };
}
