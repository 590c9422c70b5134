/**
 * What the init of a function on the predict path does before any request, observed on the real
 * clients against the stand-ins:
 * - every inference environment primes the registry's and the artifacts' first reads, and every
 *   authorizer environment the read of a key: each goes through its SDK client, which answers it
 *   itself, so the client's first-call work is done and no request leaves the process
 *   (functions/adapters/sdk-priming.ts);
 * - an inference environment that Lambda initialises ahead of traffic (provisioned concurrency:
 *   AWS_LAMBDA_INITIALIZATION_TYPE) also makes those reads over the network, for something that
 *   does not exist, so its first request does not open the connections either. One initialised
 *   on demand sends nothing (its request may be waiting for init).
 */
import { execFile } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeBody } from '../../functions/adapters/sqs-capture-queue.js';
import { QUEUES, SECRETS } from '../../functions/contract/resources.js';
import { SYSTEM_PRINCIPAL } from '../../functions/core/auth/principal.js';
import { createLambdaHandler as createAuthorizer } from '../../functions/handlers/authorizer.js';
import { createLambdaHandler } from '../../functions/handlers/inference-api.js';
import { apiKeys } from '../../functions/handlers/shared.js';
import { bundleFunction, entryFileIn } from '../../lib/constructs/function-bundle.js';
import { functionEnv } from '../../local/runtime.js';
import { churnEvent, churnStandinsForFile } from '../support/churn-rig.js';
import type { Standins } from '../support/standins.js';

let aws: Standins;

let sqs: SQSClient;

churnStandinsForFile((standins, client) => {
  aws = standins;
  sqs = client;
});

const stopWatching: (() => void)[] = [];

afterEach(() => {
  vi.restoreAllMocks();
  for (const stop of stopWatching.splice(0)) stop();
});

/** The registry and artifact reads made through the real clients from now on, sent or not, with their keys. */
function watchReads(): string[] {
  const reads: string[] = [];
  const get = DynamoDBDocumentClient.prototype.send;
  vi.spyOn(DynamoDBDocumentClient.prototype, 'send').mockImplementation(function (
    this: DynamoDBDocumentClient,
    ...args: unknown[]
  ) {
    if (args[0] instanceof GetCommand)
      reads.push(`GetItem ${String(args[0].input.Key?.pk ?? args[0].input.Key?.keyId)}`);
    return (get as (...a: unknown[]) => unknown).apply(this, args) as never;
  });
  const s3 = S3Client.prototype.send;
  vi.spyOn(S3Client.prototype, 'send').mockImplementation(function (this: S3Client, ...args: unknown[]) {
    if (args[0] instanceof GetObjectCommand) reads.push(`GetObject ${args[0].input.Key}`);
    return (s3 as (...a: unknown[]) => unknown).apply(this, args) as never;
  });
  return reads;
}

/** The requests that leave the process from now on: DynamoDB's by operation, the others by method and path. */
function watchRequests(): string[] {
  const sent: string[] = [];
  const onStart = (message: unknown) => {
    const { request } = message as { request: ClientRequest };
    const target = request.getHeader('x-amz-target');
    sent.push(
      target
        ? String(target).replace(/^DynamoDB_\d+\./, '')
        : `${request.method} ${decodeURIComponent(request.path)}`,
    );
  };
  subscribe('http.client.request.start', onStart);
  stopWatching.push(() => unsubscribe('http.client.request.start', onStart));
  return sent;
}

// The JWT secret is read only to sign or check a token, which these tests do not do.
const envOf = (fn: 'inference' | 'authorizer' | 'auth') =>
  functionEnv(fn, { ...aws.env, [SECRETS.jwt.env]: 'file:///dev/null' });

const lambdaEnv = (initialization: string, fn: 'inference' | 'authorizer' = 'inference') => ({
  ...envOf(fn),
  AWS_LAMBDA_FUNCTION_NAME: `serval-${fn}`,
  AWS_LAMBDA_INITIALIZATION_TYPE: initialization,
});

describe('init of an inference environment', () => {
  it('ahead of traffic, primes both reads and then makes them, finding nothing', async () => {
    const reads = watchReads();
    const sent = watchRequests();
    const handler = await createLambdaHandler(lambdaEnv('provisioned-concurrency'));
    expect(reads.sort()).toEqual([
      'GetItem MODEL##warm-up',
      'GetItem MODEL##warm-up',
      'GetObject models/#warm-up',
      'GetObject models/#warm-up',
    ]);
    expect(sent.sort()).toEqual([
      `GET /${aws.resources.buckets.artifacts}/models/#warm-up?x-id=GetObject`,
      'GetItem',
    ]);
    // And serves as any other environment does.
    const res = await handler(churnEvent('req-1', { body: { version: '1.0.0', instances: [[1, 2, 3]] } }), {
      awsRequestId: 'req-1',
    });
    expect(res.statusCode).toBe(200);
  });

  it('on demand, primes both reads without sending anything until a request comes', async () => {
    const reads = watchReads();
    const sent = watchRequests();
    const handler = await createLambdaHandler(lambdaEnv('on-demand'));
    expect(reads.sort()).toEqual(['GetItem MODEL##warm-up', 'GetObject models/#warm-up']);
    expect(sent).toEqual([]);
    // The primed clients serve the first request as they would have.
    const res = await handler(churnEvent('req-2', { body: { version: '1.0.0', instances: [[1, 2, 3]] } }), {
      awsRequestId: 'req-2',
    });
    expect(res.statusCode).toBe(200);
    expect(sent).toContain('GetItem');
  });
});

describe('init of an authorizer environment', () => {
  it('primes the read of a key without sending anything, then checks the first key as before', async () => {
    const { key } = await apiKeys(envOf('auth')).create(SYSTEM_PRINCIPAL, {
      name: 'first',
      role: 'predictor',
    });
    const reads = watchReads();
    const sent = watchRequests();
    const authorize = await createAuthorizer(lambdaEnv('on-demand', 'authorizer'));
    expect(reads).toEqual(['GetItem #warm-up']);
    expect(sent).toEqual([]);
    const event = {
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:us-east-1:123456789012:api/v1/POST/v1/models/churn/predict',
      headers: { 'x-api-key': key },
    } as unknown as APIGatewayRequestAuthorizerEvent;
    const result = await authorize(event, { awsRequestId: 'auth-1' } as never);
    expect(result.context).toMatchObject({ role: 'predictor', name: 'first' });
    expect(sent).toEqual(['GetItem']);
  });
});

describe('the inference function, bundled as deployed', () => {
  it('loads the SQS client only to send, and its capture reaches the queue', async () => {
    // Its init reads no SQS client (test/unit/inference/cold-start.test.ts); the capture's send
    // loads it from a file of its own (functions/adapters/sqs-deferred.ts). Without the Lambda
    // extension the capture is sent before the answer, so it is on the queue once the process ends.
    const dir = mkdtempSync(join(tmpdir(), 'serval-bundled-inference-'));
    try {
      await bundleFunction({
        entry: 'functions/handlers/inference-api.ts',
        outdir: dir,
        external: ['onnxruntime-node'],
        sourcemap: false,
      });
      symlinkSync(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'), 'dir');
      const event = churnEvent('bundled-1', { body: { version: '1.0.0', instances: [[7.25, 8.5, 9.75]] } });
      const script = `const { handler } = await import(${JSON.stringify(entryFileIn(dir))});
        const res = await handler(${JSON.stringify(event)}, { awsRequestId: 'bundled-1' });
        process.stdout.write('\\n' + JSON.stringify(res.statusCode));`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        cwd: dir,
        env: { ...aws.env, ...lambdaEnv('on-demand'), PATH: process.env.PATH ?? '' },
      });
      expect(stdout.trim().split('\n').pop()).toBe('200');
      const queueUrl = aws.env[QUEUES.captures.env] as string;
      const bodies: string[] = [];
      for (let i = 0; i < 5 && !bodies.some((b) => b.includes('7.25')); i++) {
        const got = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        for (const m of got.Messages ?? []) bodies.push(decodeBody(m.Body ?? ''));
      }
      const ours = bodies.find((b) => b.includes('7.25'));
      expect(ours).toBeDefined();
      expect(JSON.parse(ours as string)).toEqual(
        expect.arrayContaining([expect.objectContaining({ model: 'churn', version: '1.0.0' })]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
