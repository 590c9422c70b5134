/**
 * An inference environment that Lambda initialises ahead of traffic (provisioned concurrency:
 * AWS_LAMBDA_INITIALIZATION_TYPE) makes its SDK clients' first calls at init, so its first
 * request does not: one read of the registry and one of the artifacts bucket, both for something
 * that does not exist. An environment initialised on demand makes none (its request is waiting
 * for init). Observed on the real clients, which still make the calls, against the stand-ins.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLambdaHandler } from '../../../functions/handlers/inference-api.js';
import { functionEnv } from '../../../local/runtime.js';
import { churnEvent, churnStandinsForFile } from '../../support/churn-rig.js';
import type { Standins } from '../../support/standins.js';

let aws: Standins;

churnStandinsForFile((standins) => {
  aws = standins;
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** The registry and artifact reads made through the real clients from now on, with their keys. */
function watchReads(): string[] {
  const reads: string[] = [];
  const get = DynamoDBDocumentClient.prototype.send;
  vi.spyOn(DynamoDBDocumentClient.prototype, 'send').mockImplementation(function (
    this: DynamoDBDocumentClient,
    ...args: unknown[]
  ) {
    if (args[0] instanceof GetCommand) reads.push(`GetItem ${String(args[0].input.Key?.pk)}`);
    return (get as (...a: unknown[]) => unknown).apply(this, args) as never;
  });
  const s3 = S3Client.prototype.send;
  vi.spyOn(S3Client.prototype, 'send').mockImplementation(function (this: S3Client, ...args: unknown[]) {
    if (args[0] instanceof GetObjectCommand) reads.push(`GetObject ${args[0].input.Key}`);
    return (s3 as (...a: unknown[]) => unknown).apply(this, args) as never;
  });
  return reads;
}

const lambdaEnv = (initialization: string) => ({
  ...functionEnv('inference', aws.env),
  AWS_LAMBDA_FUNCTION_NAME: 'serval-inference',
  AWS_LAMBDA_INITIALIZATION_TYPE: initialization,
});

describe('init of an inference environment', () => {
  it('ahead of traffic, reads the registry and the artifacts once each, finding nothing', async () => {
    const reads = watchReads();
    const handler = await createLambdaHandler(lambdaEnv('provisioned-concurrency'));
    expect(reads.sort()).toEqual(['GetItem MODEL##warm-up', 'GetObject models/#warm-up']);
    // And serves as any other environment does.
    const res = await handler(churnEvent('req-1', { body: { version: '1.0.0', instances: [[1, 2, 3]] } }), {
      awsRequestId: 'req-1',
    });
    expect(res.statusCode).toBe(200);
  });

  it('on demand, reads nothing until a request comes', async () => {
    const reads = watchReads();
    await createLambdaHandler(lambdaEnv('on-demand'));
    expect(reads).toEqual([]);
  });
});
