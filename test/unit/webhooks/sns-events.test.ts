import { type PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import {
  SnsEventPublisher,
  type SnsPublishClient,
  snsEventsFromEnv,
  snsSubject,
} from '../../../functions/adapters/sns-events.js';
import type { ServalEvent } from '../../../functions/core/webhooks/types.js';

const alert: ServalEvent = {
  id: 'a'.repeat(32),
  type: 'alert.raised',
  at: '2026-03-01T11:59:00.000Z',
  data: { model: 'iris', driftShare: 0.75 },
};

function fake() {
  const sent: PublishCommand[] = [];
  const client: SnsPublishClient = {
    send: async (command) => {
      sent.push(command);
      return { MessageId: 'm', $metadata: {} };
    },
  };
  return { client, sent };
}

describe('SNS event publisher', () => {
  it('publishes alert events as the envelope JSON with an eventType attribute', async () => {
    const { client, sent } = fake();
    await new SnsEventPublisher(client, 'arn:aws:sns:us-east-1:123456789012:alerts').publish(alert);
    expect(sent).toHaveLength(1);
    const input = sent[0]!.input;
    expect(input.TopicArn).toBe('arn:aws:sns:us-east-1:123456789012:alerts');
    expect(JSON.parse(input.Message!)).toEqual(alert);
    expect(input.Subject).toBe('Serval alert.raised iris');
    expect(input.MessageAttributes).toEqual({
      eventType: { DataType: 'String', StringValue: 'alert.raised' },
    });
  });

  it('sends production-changing lifecycle events and leaves the rest to webhooks unless told otherwise', async () => {
    const { client, sent } = fake();
    const routine = { ...alert, type: 'version.registered' };
    await new SnsEventPublisher(client, 'arn:x').publish(routine);
    expect(sent).toHaveLength(0);
    await new SnsEventPublisher(client, 'arn:x', { accepts: () => true }).publish(routine);
    expect(sent).toHaveLength(1);
    for (const type of ['version.promoted', 'version.rolled_back', 'version.integrity_failed']) {
      await new SnsEventPublisher(client, 'arn:x').publish({ ...alert, type });
    }
    expect(sent.map((c) => c.input.MessageAttributes?.eventType?.StringValue)).toEqual([
      'version.registered',
      'version.promoted',
      'version.rolled_back',
      'version.integrity_failed',
    ]);
  });

  it('takes the model and title from the alert record when the data nests it', () => {
    const nested = { ...alert, data: { alert: { model: 'iris', title: 'dataset drift (3 of 4 features)' } } };
    expect(snsSubject(nested)).toBe('Serval alert.raised iris: dataset drift (3 of 4 features)');
    expect(snsSubject({ ...alert, data: {} })).toBe('Serval alert.raised');
  });

  it('keeps subjects to 100 printable ASCII characters', () => {
    const s = snsSubject({ ...alert, data: { model: `é\n${'m'.repeat(200)}` } });
    expect(s.length).toBe(100);
    expect(s).toMatch(/^[\x20-\x7e]+$/);
  });

  it('is configured only when SERVAL_TOPIC_ALERTS is set', () => {
    const { client } = fake();
    expect(snsEventsFromEnv({}, client)).toBeUndefined();
    expect(snsEventsFromEnv({ SERVAL_TOPIC_ALERTS: 'arn:x' }, client)).toBeInstanceOf(SnsEventPublisher);
    // The real client fits the interface.
    const real: SnsPublishClient = new SNSClient({ region: 'us-east-1' });
    expect(real).toBeDefined();
    (real as SNSClient).destroy();
  });
});
