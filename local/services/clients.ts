/**
 * SDK clients that the local runtime itself uses to talk to the stand-ins (readiness checks,
 * provisioning, the SQS event source): the shared factories with the stand-ins' endpoint and
 * credentials made explicit, so the runtime never depends on whatever AWS credentials happen to
 * be in the environment (a real profile would make s3rver reject every request, and none at all
 * sends the SDK probing instance metadata for seconds).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { dynamoClient, s3Client } from '../../functions/adapters/aws-clients.js';
import { sqsClient } from '../../functions/adapters/sqs-client.js';

/**
 * The one key pair every stand-in accepts. s3rver verifies SigV4 signatures against its built-in
 * account, whose key id and secret are both "S3RVER"; DynamoDB Local (with -sharedDb),
 * local-aws-sqs and the SageMaker runtime stand-in accept any pair, so this one serves them all.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** Region the stand-ins report in ARNs and the one the local runtime signs for. */
export const LOCAL_REGION = 'us-east-1';

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return dynamoClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

export function localS3Client(endpoint: string): S3Client {
  return s3Client({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

export function localSqsClient(endpoint: string): SQSClient {
  return sqsClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}
