/** WebhookService and WebhookDeliverer against in-memory ports: the rules without a network. */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../../functions/core/auth/principal.js';
import type { AuditEvent } from '../../../functions/core/kernel/audit.js';
import { validationFailed } from '../../../functions/core/kernel/errors.js';
import type { Page, PageRequest } from '../../../functions/core/kernel/paging.js';
import { WebhookDeliverer } from '../../../functions/core/webhooks/delivery.js';
import type {
  DeliveryLog,
  DeliveryQueue,
  EventSink,
  HttpPoster,
  WebhookStore,
} from '../../../functions/core/webhooks/ports.js';
import {
  deliveryIdOf,
  EventPublisher,
  MAX_WEBHOOKS,
  WebhookService,
} from '../../../functions/core/webhooks/service.js';
import { verifySignature } from '../../../functions/core/webhooks/signing.js';
import type {
  DeliveryMessage,
  DeliveryRecord,
  ServalEvent,
  Webhook,
} from '../../../functions/core/webhooks/types.js';
import { domainError } from '../../support/expect-code.js';

class MemoryWebhooks implements WebhookStore {
  readonly items = new Map<string, Webhook>();
  readonly audit: AuditEvent[] = [];
  failing = false;
  async create(w: Webhook, a: AuditEvent) {
    this.items.set(w.id, structuredClone(w));
    this.audit.push(a);
  }
  async get(id: string) {
    if (this.failing) throw new Error('store unreachable');
    const w = this.items.get(id);
    return w && structuredClone(w);
  }
  async list(page: PageRequest): Promise<Page<Webhook>> {
    const all = [...this.items.values()];
    const start = page.cursor ? Number(page.cursor) : 0;
    const next = start + page.limit;
    return { items: all.slice(start, next), nextCursor: next < all.length ? String(next) : undefined };
  }
  async delete(id: string, a: AuditEvent) {
    this.audit.push(a);
    return this.items.delete(id);
  }
}

class MemoryLog implements Pick<DeliveryLog, 'record'> {
  readonly records = new Map<string, DeliveryRecord>();
  async record(d: DeliveryRecord) {
    this.records.set(d.deliveryId, d);
  }
}

class MemoryQueue implements DeliveryQueue {
  readonly sent: { message: DeliveryMessage; delaySeconds: number }[] = [];
  async send(messages: readonly { message: DeliveryMessage; delaySeconds: number }[]) {
    this.sent.push(...structuredClone(messages));
  }
}

const admin: Principal = { id: 'key-admin', name: 'admin', role: 'admin' };
const now = new Date('2026-03-01T12:00:00.000Z');
const clock = { now: () => now };
let n = 0;
const ids = { next: () => `01J${String(++n).padStart(23, '0')}` };

const alert: ServalEvent = {
  id: 'a'.repeat(32),
  type: 'alert.raised',
  at: '2026-03-01T11:59:00.000Z',
  data: { model: 'iris', alertId: 'a'.repeat(32), driftShare: 0.75 },
};

let store: MemoryWebhooks;
let queue: MemoryQueue;
let service: WebhookService;

beforeEach(() => {
  store = new MemoryWebhooks();
  queue = new MemoryQueue();
  service = new WebhookService({ store, queue, clock, ids });
});

describe('WebhookService', () => {
  it('creates a webhook with a 32-byte secret shown once; lists without secrets; audits the host only', async () => {
    const { webhook, secret } = await service.create(admin, {
      url: 'https://hooks.example.com/services/T0/B0/tokenInPath',
      events: ['alert', 'alert'],
      description: 'pager',
    });
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(webhook).not.toHaveProperty('secret');
    expect(webhook).toMatchObject({
      url: 'https://hooks.example.com/services/T0/B0/tokenInPath',
      events: ['alert'],
      description: 'pager',
      createdBy: 'key-admin',
      createdAt: now.toISOString(),
      status: 'active',
    });
    expect(store.items.get(webhook.id)?.secret).toBe(secret);
    const listed = await service.list({ limit: 10 });
    expect(listed.items).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(JSON.stringify(await service.get(webhook.id))).not.toContain(secret);
    expect(store.audit[0]).toMatchObject({
      action: 'webhook.create',
      target: `webhook/${webhook.id}`,
      after: { host: 'hooks.example.com', events: ['alert'] },
    });
    expect(JSON.stringify(store.audit)).not.toContain('tokenInPath');
  });

  it('refuses URLs outside the policy', async () => {
    const refused = [
      'http://example.com/hook',
      'https://169.254.169.254/latest/meta-data/',
      'https://127.0.0.1/hook',
      'https://localhost/hook',
      'https://user:pw@example.com/hook',
      'ftp://example.com/hook',
      'not a url',
      `https://example.com/${'x'.repeat(2100)}`,
    ];
    for (const url of refused) {
      await expect(service.create(admin, { url, events: ['*'] }), url).rejects.toThrow(
        domainError('validation_failed'),
      );
    }
    // Locally http and loopback are fine, link-local and metadata never.
    await expect(
      service.create(admin, { url: 'http://127.0.0.1:9/x', events: ['*'] }, { allowInsecure: true }),
    ).resolves.toBeDefined();
    for (const url of [
      'http://169.254.169.254/',
      'http://[fd00:ec2::254]/',
      'http://metadata.google.internal/',
    ]) {
      await expect(
        service.create(admin, { url, events: ['*'] }, { allowInsecure: true }),
        url,
      ).rejects.toThrow(domainError('validation_failed'));
    }
  });

  it('refuses empty or unknown event filters', async () => {
    await expect(service.create(admin, { url: 'https://e.com/', events: [] })).rejects.toThrow(
      domainError('validation_failed'),
    );
    await expect(
      service.create(admin, { url: 'https://e.com/', events: ['alerts' as never] }),
    ).rejects.toThrow(domainError('validation_failed'));
  });

  it(`bounds the fan-out at ${MAX_WEBHOOKS} webhooks`, async () => {
    for (let i = 0; i < MAX_WEBHOOKS; i++)
      await service.create(admin, { url: `https://e.com/${i}`, events: ['*'] });
    await expect(service.create(admin, { url: 'https://e.com/x', events: ['*'] })).rejects.toThrow(
      domainError('conflict'),
    );
  });

  it('deletes (audited), and a second delete is NotFound', async () => {
    const { webhook } = await service.create(admin, { url: 'https://e.com/h', events: ['*'] });
    await service.delete(admin, webhook.id);
    expect(store.audit.at(-1)).toMatchObject({ action: 'webhook.delete', after: { host: 'e.com' } });
    await expect(service.delete(admin, webhook.id)).rejects.toThrow(domainError('not_found'));
    await expect(service.get(webhook.id)).rejects.toThrow(domainError('not_found'));
  });

  it('dispatches one delivery per matching active webhook, with stable delivery ids', async () => {
    const a = (await service.create(admin, { url: 'https://e.com/a', events: ['alert'] })).webhook;
    const all = (await service.create(admin, { url: 'https://e.com/all', events: ['*'] })).webhook;
    await service.create(admin, { url: 'https://e.com/life', events: ['lifecycle'] });
    const off = (await service.create(admin, { url: 'https://e.com/off', events: ['*'] })).webhook;
    store.items.set(off.id, { ...store.items.get(off.id)!, status: 'disabled' });

    const queued = await service.dispatch(alert);
    expect(queued.map((q) => q.webhookId).sort()).toEqual([a.id, all.id].sort());
    expect(queue.sent).toEqual(
      [a, all].map((w) => ({
        message: { deliveryId: deliveryIdOf(alert.id, w.id), webhookId: w.id, event: alert, attempt: 1 },
        delaySeconds: 0,
      })),
    );
    // Dispatching the same event again gives the same delivery ids (receivers deduplicate).
    expect(await service.dispatch(alert)).toEqual(queued);
    const lifecycle = await service.dispatch({ ...alert, id: 'v1', type: 'version.promoted' });
    expect(lifecycle).toHaveLength(2); // lifecycle + all
  });

  it('pages through many webhooks when dispatching', async () => {
    for (let i = 0; i < 30; i++) await service.create(admin, { url: `https://e.com/${i}`, events: ['*'] });
    const small = new WebhookService({
      store: {
        create: (w, a) => store.create(w, a),
        get: (id) => store.get(id),
        delete: (id, a) => store.delete(id, a),
        list: (p: PageRequest) => store.list({ ...p, limit: 7 }),
      },
      queue,
      clock,
      ids,
    });
    expect(await small.dispatch(alert)).toHaveLength(30);
  });

  it('refuses invalid or oversized events and queues nothing without subscribers', async () => {
    await expect(service.dispatch({ ...alert, type: 'Alert' })).rejects.toThrow(/not a valid Serval event/);
    await expect(service.dispatch({ ...alert, at: 'yesterday' })).rejects.toThrow(/not a valid/);
    await service.create(admin, { url: 'https://e.com/a', events: ['*'] });
    await expect(service.dispatch({ ...alert, data: { big: 'x'.repeat(250_000) } })).rejects.toThrow(
      /larger/,
    );
    store.items.clear();
    expect(await service.dispatch(alert)).toEqual([]);
    expect(queue.sent).toEqual([]);
  });
});

describe('EventPublisher', () => {
  it('publishes to every sink and rejects if any failed', async () => {
    const got: string[] = [];
    const ok: EventSink = { publish: async (e) => void got.push(`ok:${e.id}`) };
    const bad: EventSink = {
      publish: async () => {
        throw new Error('sns down');
      },
    };
    await new EventPublisher([ok, ok]).publish(alert);
    expect(got).toHaveLength(2);
    await expect(new EventPublisher([bad, ok]).publish(alert)).rejects.toBeInstanceOf(AggregateError);
    expect(got).toHaveLength(3);
  });
});

describe('WebhookDeliverer', () => {
  let log: MemoryLog;
  let calls: { url: string; body: string; headers: Record<string, string> }[];
  let webhook: Webhook;
  let secret: string;

  const deliverer = (
    answer: (n: number) => number | Error,
    extra: Partial<ConstructorParameters<typeof WebhookDeliverer>[0]> = {},
  ) => {
    const http: HttpPoster = {
      post: async (url, body, headers) => {
        calls.push({ url, body, headers });
        const a = answer(calls.length);
        if (a instanceof Error) throw a;
        return { status: a };
      },
    };
    return new WebhookDeliverer({ store, log, queue, http, clock, random: () => 0, ...extra });
  };
  const message = (attempt = 1): DeliveryMessage => ({
    deliveryId: deliveryIdOf(alert.id, webhook.id),
    webhookId: webhook.id,
    event: alert,
    attempt,
  });

  beforeEach(async () => {
    log = new MemoryLog();
    calls = [];
    const created = await service.create(admin, { url: 'https://hooks.example.com/x', events: ['*'] });
    secret = created.secret;
    webhook = store.items.get(created.webhook.id)!;
  });

  it('delivers the event JSON with a verifiable signature and records it', async () => {
    const res = await deliverer(() => 204).deliver(message());
    expect(res.outcome).toEqual({ kind: 'delivered', status: 204, attempt: 1 });
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.url).toBe('https://hooks.example.com/x');
    expect(JSON.parse(call.body)).toEqual(alert);
    expect(call.headers['x-serval-event']).toBe('alert.raised');
    expect(call.headers['x-serval-delivery']).toBe(message().deliveryId);
    const nowS = now.getTime() / 1000;
    expect(verifySignature(secret, call.headers['x-serval-signature'], call.body, 300, nowS)).toBe(true);
    expect(queue.sent).toEqual([]);
    expect(log.records.get(message().deliveryId)).toMatchObject({
      status: 'delivered',
      attempts: 1,
      lastStatusCode: 204,
      eventId: alert.id,
      eventType: 'alert.raised',
    });
  });

  it('re-queues retryable failures with the backoff delay and attempt + 1', async () => {
    for (const [answer, error] of [
      [500, 'HTTP 500'],
      [503, 'HTTP 503'],
      [429, 'HTTP 429'],
      [408, 'HTTP 408'],
      [Object.assign(new Error('t'), { name: 'TimeoutError' }), 'timeout'],
      [
        Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }),
        'network error: ECONNREFUSED',
      ],
    ] as const) {
      queue.sent.length = 0;
      const res = await deliverer(() => answer).deliver(message(3));
      expect(res.outcome).toMatchObject({ kind: 'retrying', attempt: 3, delaySeconds: 40, error });
      expect(queue.sent).toEqual([{ message: message(4), delaySeconds: 40 }]);
      expect(log.records.get(message().deliveryId)).toMatchObject({
        status: 'retrying',
        attempts: 3,
        lastError: error,
        nextAttemptAt: new Date(now.getTime() + 40_000).toISOString(),
      });
    }
  });

  it('gives up after the 8th attempt', async () => {
    const res = await deliverer(() => 502).deliver(message(8));
    expect(res.outcome).toMatchObject({ kind: 'failed', failure: 'exhausted', attempt: 8, status: 502 });
    expect(queue.sent).toEqual([]);
    expect(log.records.get(message().deliveryId)).toMatchObject({
      status: 'failed',
      failure: 'exhausted',
      attempts: 8,
    });
  });

  it('does not retry other 4xx (and 3xx: redirects are not followed)', async () => {
    for (const status of [400, 401, 404, 410, 301]) {
      const res = await deliverer(() => status).deliver(message());
      expect(res.outcome).toMatchObject({ kind: 'failed', failure: 'rejected', status });
    }
    expect(queue.sent).toEqual([]);
  });

  it('drops deliveries to deleted or disabled webhooks without calling them', async () => {
    store.items.set(webhook.id, { ...webhook, status: 'disabled' });
    expect((await deliverer(() => 200).deliver(message())).outcome).toEqual({
      kind: 'dropped',
      reason: 'webhook_disabled',
    });
    store.items.delete(webhook.id);
    expect((await deliverer(() => 200).deliver(message())).outcome).toEqual({
      kind: 'dropped',
      reason: 'webhook_gone',
    });
    expect(calls).toEqual([]);
    expect(log.records.size).toBe(0);
  });

  it('re-checks the URL at delivery time', async () => {
    store.items.set(webhook.id, { ...webhook, url: 'http://169.254.169.254/latest/meta-data/' });
    const res = await deliverer(() => 200, { urlPolicy: { allowInsecure: true } }).deliver(message());
    expect(res.outcome).toMatchObject({ kind: 'failed', failure: 'url_refused' });
    // A name resolving to a forbidden address is refused by the address check.
    store.items.set(webhook.id, webhook);
    const check = async () => {
      throw validationFailed('url points at a link-local (metadata) address');
    };
    const res2 = await deliverer(() => 200, { checkAddress: check }).deliver(message());
    expect(res2.outcome).toMatchObject({ kind: 'failed', failure: 'url_refused' });
    expect(calls).toEqual([]);
  });

  it('lets store and queue errors propagate (SQS redelivers), but not a failed record', async () => {
    store.failing = true;
    await expect(deliverer(() => 200).deliver(message())).rejects.toThrow('store unreachable');
    store.failing = false;
    const brokenQueue: DeliveryQueue = {
      send: async () => {
        throw new Error('sqs down');
      },
    };
    await expect(deliverer(() => 500, { queue: brokenQueue }).deliver(message())).rejects.toThrow('sqs down');
    const brokenLog = {
      record: async () => {
        throw new Error('dynamo down');
      },
    };
    const res = await deliverer(() => 200, { log: brokenLog }).deliver(message());
    expect(res.outcome.kind).toBe('delivered');
    expect((res.recordError as Error).message).toBe('dynamo down');
  });
});
