/**
 * DeliveryQueue on SQS, with DelaySeconds carrying each retry's backoff (SQS allows up to 900 s,
 * the backoff's cap). The body is the DeliveryMessage as JSON ({deliveryId, webhookId, event,
 * attempt}); it never holds the webhook's secret or URL.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DeliveryQueue } from '../core/webhooks/ports.js';
import type { DeliveryMessage } from '../core/webhooks/types.js';
import { QueueSender } from './sqs-sender.js';

export class SqsDeliveryQueue implements DeliveryQueue {
  private readonly sender: QueueSender<'webhooks'>;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.sender = new QueueSender(sqs, queueUrl, 'webhook deliveries');
  }

  async send(messages: readonly { message: DeliveryMessage; delaySeconds: number }[]): Promise<void> {
    await this.sender.sendDelayed(messages);
  }
}
