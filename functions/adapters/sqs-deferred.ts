/**
 * An SQS client loaded on its first send. Inference sends to SQS only after its answers (capture,
 * through the Lambda extension, and online-learning samples on feedback), so its init need not
 * read the SQS client: about 18 KiB of the code read there (docs/inference.md, round 13).
 */
import type { SqsSend } from './sqs-sender.js';

export function deferredSqsClient(): SqsSend {
  return {
    send: (async (command: Parameters<SqsSend['send']>[0]) =>
      (await import('./sqs-client.js')).sqsClient().send(command)) as SqsSend['send'],
  };
}
