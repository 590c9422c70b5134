/**
 * DeliveryQueue on SQS: SendMessageBatch, with DelaySeconds carrying each retry's backoff (SQS
 * allows up to 900 s, the backoff's cap). The body is the DeliveryMessage as JSON
 * ({deliveryId, webhookId, event, attempt}); it never holds the webhook's secret or URL.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeliveryQueue } from '../core/webhooks/ports.js';
import type { DeliveryMessage } from '../core/webhooks/types.js';

export class SqsDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(messages: readonly { message: DeliveryMessage; delaySeconds: number }[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      const out = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map(({ message, delaySeconds }, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify(message),
            DelaySeconds: Math.min(900, Math.max(0, Math.round(delaySeconds))),
          })),
        }),
      );
      if (out.Failed?.length) {
        const codes = out.Failed.map((f) => f.Code).join(', ');
        throw new Error(`SQS refused ${out.Failed.length} of ${chunk.length} webhook deliveries (${codes})`);
      }
    }
  }
}
