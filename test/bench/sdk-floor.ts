/**
 * The cold bench's floor (inference.bench.ts): the AWS SDK clients predict cannot serve without,
 * built as Serval builds them, with the commands it sends, and nothing else. Serval bundles the
 * SDK (lib/constructs/serval-function.ts says why), so no inference bundle imports faster than
 * this one. SQS is not in it since round 13: inference loads its SQS client on the first capture
 * send, after the answer (functions/adapters/sqs-deferred.ts).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, s3Client } from '../../functions/adapters/aws-clients.js';

export const floor = {
  clients: [documentClient(), s3Client()],
  commands: [GetObjectCommand, GetCommand, QueryCommand],
};
