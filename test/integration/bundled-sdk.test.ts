/**
 * The AWS SDK as a deployed function runs it. Functions are built by bundleFunction
 * (lib/constructs/function-bundle.ts), which rewrites parts of the SDK's published code as it
 * bundles them so that esbuild can drop what no function uses. The same calls, with their answers
 * and typed errors (test/support/sdk-probe.ts), run from source against the stand-ins, then from
 * such a bundle in a fresh process against the same stand-ins; the results must be the same.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunction, entryFileIn } from '../../lib/constructs/function-bundle.js';
import { probeSdk } from '../support/sdk-probe.js';
import { type Standins, startStandins, useStandinsEnv } from '../support/standins.js';

let aws: Standins;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'serval-bundled-sdk-'));
  [aws] = await Promise.all([
    startStandins(),
    bundleFunction({ entry: 'test/support/sdk-probe.ts', outdir: dir, sourcemap: false }),
  ]);
}, 120_000);

afterAll(async () => {
  await aws?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const targets = (prefix: string) => ({
  table: aws.env.SERVAL_TABLE_REGISTRY as string,
  bucket: aws.env.SERVAL_BUCKET_ARTIFACTS as string,
  queueUrl: aws.env.SERVAL_QUEUE_CAPTURES as string,
  prefix,
});

describe('the AWS SDK bundled as a function is', () => {
  it('answers, fails and primes as it does from source: S3, DynamoDB and SQS', async () => {
    const restore = useStandinsEnv(aws);
    let fromSource: Record<string, unknown>;
    try {
      fromSource = await probeSdk(targets('source'));
    } finally {
      restore();
    }
    // What the probe reads, checked here too, so that "the same" cannot mean "the same nothing".
    expect(fromSource).toMatchObject({
      primed: { getItem: true, getObject: true },
      s3Get: {
        body: '{"x":[1,2,3]}',
        contentType: 'application/json',
        metadata: { sha256: 'abc' },
        length: 13,
      },
      s3List: { keys: ['a.json', 'b.json'], count: 2 },
      s3Missing: { name: 'NoSuchKey', status: 404, instanceOf: ['NoSuchKey'] },
      dbUpdate: { pk: 'model', sk: 'v1', n: 2 },
      dbQuery: { sks: ['v2', 'v1'], count: 2 },
      dbConditionFailed: {
        name: 'ConditionalCheckFailedException',
        instanceOf: ['ConditionalCheckFailedException'],
      },
      dbTransactionCanceled: {
        name: 'TransactionCanceledException',
        instanceOf: ['TransactionCanceledException'],
        reasons: ['None', 'ConditionalCheckFailed'],
      },
      dbNoTable: { name: 'ResourceNotFoundException', instanceOf: ['ResourceNotFoundException'] },
      sqsSent: { ids: ['0', '1'], failed: [] },
      sqsAttributes: ['ApproximateNumberOfMessages'],
      sqsNoQueue: { instanceOf: ['QueueDoesNotExist'] },
    });

    const script = `const { probeSdk } = await import(${JSON.stringify(entryFileIn(dir))});
      const out = await probeSdk(${JSON.stringify(targets('bundle'))});
      process.stdout.write('\\n' + JSON.stringify(out));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH ?? '',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...aws.env,
      },
    });
    const fromBundle = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(fromBundle).toEqual(JSON.parse(JSON.stringify(fromSource)));
  }, 60_000);

  it('built without the schemas of the S3 operations it does not send', () => {
    // S3's schemas module holds every operation of the service; the rewrite lets esbuild drop
    // those no call names. SelectObjectContent is one no Serval function sends.
    const code = readdirSync(dir, { recursive: true })
      .filter((f) => String(f).endsWith('.mjs'))
      .map((f) => readFileSync(join(dir, String(f)), 'utf8'))
      .join('\n');
    expect(code).toContain('PutObjectTagging');
    expect(code).not.toContain('SelectObjectContent');
  });
});
