/**
 * One SDK client per service and configuration per process (functions/adapters/aws-clients.ts):
 * each client costs its construction at init and opens its own connections on AWS.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { documentClient, dynamoClient, s3Client } from '../../../functions/adapters/aws-clients.js';
import { sqsClient } from '../../../functions/adapters/sqs-client.js';

const saved = { ...process.env };
beforeEach(() => {
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ENDPOINT_URL_SQS = 'http://127.0.0.1:1';
});
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

describe('SDK clients', () => {
  it('are built once per service and shared by every caller', () => {
    expect(dynamoClient()).toBe(dynamoClient());
    expect(documentClient()).toBe(documentClient());
    expect(s3Client()).toBe(s3Client());
    expect(sqsClient()).toBe(sqsClient());
    expect(s3Client()).not.toBe(sqsClient());
    // The document client wraps the shared plain client: the same configuration and connections.
    expect(documentClient().config).toBe(dynamoClient().config);
  });

  it('are built anew for explicit settings, and per endpoint the environment names', () => {
    expect(sqsClient({ endpoint: 'http://127.0.0.1:2' })).not.toBe(
      sqsClient({ endpoint: 'http://127.0.0.1:2' }),
    );
    const first = sqsClient();
    process.env.AWS_ENDPOINT_URL_SQS = 'http://127.0.0.1:3';
    const other = sqsClient();
    expect(other).not.toBe(first);
    process.env.AWS_ENDPOINT_URL_SQS = 'http://127.0.0.1:1';
    expect(sqsClient()).toBe(first);
  });

  it('forgets a client that was destroyed', () => {
    const client = sqsClient();
    client.destroy();
    const next = sqsClient();
    expect(next).not.toBe(client);
    expect(sqsClient()).toBe(next);
  });
});
