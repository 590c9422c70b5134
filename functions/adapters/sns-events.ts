/**
 * Publishes events to an SNS topic (on AWS: the alerts topic whose ARN arrives in
 * SERVAL_TOPIC_ALERTS), so operators can subscribe e-mail, chat or a queue without Serval
 * knowing. By default the topic gets what an operator must hear of: alerts, and the lifecycle
 * events that change or threaten what production serves (SNS_EVENT_TYPES); the rest of the
 * lifecycle (registrations, approvals, stage moves…) goes to webhooks only, so an e-mail
 * subscription stays worth reading.
 * The message is the event envelope as JSON (the same body webhooks receive), with an
 * `eventType` message attribute for subscription filter policies.
 */
import { PublishCommand, type PublishCommandOutput, SNSClient } from '@aws-sdk/client-sns';
import type { EventSink } from '../core/webhooks/ports.js';
import type { ServalEvent } from '../core/webhooks/types.js';

/** The environment variable carrying the alerts topic ARN (unset locally: no SNS). */
export const ALERTS_TOPIC_ENV = 'SERVAL_TOPIC_ALERTS';

/** What the publisher needs of an SNS client (SNSClient fits; tests pass a fake). */
export interface SnsPublishClient {
  send(command: PublishCommand): Promise<PublishCommandOutput>;
}

/** Lifecycle event types that go to the topic besides alert.* (see docs/webhooks.md). */
export const SNS_EVENT_TYPES: readonly string[] = [
  'version.promoted',
  'version.rolled_back',
  'version.integrity_failed',
  'version.serving_failed',
];

export interface SnsEventsOptions {
  /** Which event types go to the topic; default: alert.* and SNS_EVENT_TYPES. */
  readonly accepts?: (type: string) => boolean;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/**
 * A subject for e-mail subscribers: `Serval alert.raised iris: <alert title>`. The model and
 * title are taken from `data` or `data.alert`, when present. SNS subjects are at most 100
 * printable ASCII characters.
 */
export function snsSubject(event: ServalEvent): string {
  const alert = (event.data.alert ?? {}) as Record<string, unknown>;
  const model = text(event.data.model) ?? text(alert.model);
  const title = text(event.data.title) ?? text(alert.title);
  const subject = `Serval ${event.type}${model ? ` ${model}` : ''}${title ? `: ${title}` : ''}`.replace(
    /[^\x20-\x7e]/g,
    '?',
  );
  return subject.length > 100 ? `${subject.slice(0, 99)}~` : subject;
}

export class SnsEventPublisher implements EventSink {
  private readonly accepts: (type: string) => boolean;

  constructor(
    private readonly sns: SnsPublishClient,
    private readonly topicArn: string,
    options: SnsEventsOptions = {},
  ) {
    this.accepts = options.accepts ?? ((type) => type.startsWith('alert.') || SNS_EVENT_TYPES.includes(type));
  }

  async publish(event: ServalEvent): Promise<void> {
    if (!this.accepts(event.type)) return;
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: snsSubject(event),
        Message: JSON.stringify(event),
        MessageAttributes: { eventType: { DataType: 'String', StringValue: event.type } },
      }),
    );
  }
}

export function snsClient(): SNSClient {
  return new SNSClient({ region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION });
}

/** The alerts topic publisher when SERVAL_TOPIC_ALERTS is set (AWS), otherwise undefined. */
export function snsEventsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  client?: SnsPublishClient,
): SnsEventPublisher | undefined {
  const arn = env[ALERTS_TOPIC_ENV];
  return arn ? new SnsEventPublisher(client ?? snsClient(), arn) : undefined;
}
