/**
 * The cold bench's floor (inference.bench.ts): the AWS SDK clients predict cannot serve without,
 * built as Serval builds them, with the commands it sends, and nothing else. Serval bundles the
 * SDK (lib/constructs/serval-function.ts says why), so no inference bundle imports faster than
 * this one.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, s3Client } from '../../functions/adapters/aws-clients.js';
import { sqsClient } from '../../functions/adapters/sqs-client.js';

export const floor = {
  clients: [documentClient(), s3Client(), sqsClient()],
  commands: [GetObjectCommand, SendMessageBatchCommand, GetCommand, QueryCommand],
};
