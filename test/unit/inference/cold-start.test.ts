/**
 * The inference Lambda's cold start: what its bundle evaluates at init. Built as CDK builds it
 * (lib/constructs/function-bundle.ts: ESM, packages' ESM builds first, minified, split,
 * onnxruntime-node from the layer), then the import graph is walked from the entry along the
 * imports that run at init, leaving out dynamic import(): a module reached only that way is in a
 * file of its own, read and evaluated on its first call. Predict must not pay at init for what only feedback, failures,
 * SageMaker endpoints, idempotency keys or registrations need.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunction, loadedAtInit } from '../../../lib/constructs/function-bundle.js';
import { placeholderResourceEnv } from '../../support/placeholder-env.js';

const ENTRY = 'functions/handlers/inference-api.ts';

let meta: Metafile;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'serval-cold-start-'));
  meta = (
    await bundleFunction({
      entry: ENTRY,
      outdir: dir,
      external: ['onnxruntime-node'],
      sourcemap: false,
      metafile: true,
    })
  ).metafile!;
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Bytes each input left in the output files, all of them (the entry and its chunks). */
function keptBytes(): Record<string, number> {
  const kept: Record<string, number> = {};
  for (const output of Object.values(meta.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      kept[path] = (kept[path] ?? 0) + bytesInOutput;
    }
  }
  return kept;
}

/**
 * Inputs evaluated when the bundle is imported: reachable from the entry without import(), and
 * left in the output by tree-shaking.
 */
function evaluatedAtInit(): string[] {
  const kept = keptBytes();
  const seen = new Set<string>();
  const entry = Object.keys(meta.inputs).find((p) => p.endsWith(ENTRY))!;
  const stack = [entry];
  while (stack.length > 0) {
    const path = stack.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    for (const imp of meta.inputs[path]?.imports ?? []) {
      if (imp.kind !== 'dynamic-import' && !imp.external) stack.push(imp.path);
    }
  }
  return [...seen].filter((p) => (kept[p] ?? 0) > 0);
}

describe('inference bundle at init', () => {
  it('serves with the same schemas as the contract the OpenAPI document is built from', async () => {
    const { CONTRACT } = await import('../../../functions/http/contract.js');
    const { INFERENCE_CONTRACT } = await import('../../../functions/http/inference-contract.js');
    for (const [op, schemas] of Object.entries(INFERENCE_CONTRACT)) {
      expect(CONTRACT[op as keyof typeof INFERENCE_CONTRACT]).toBe(schemas);
    }
  });

  it.each([
    ['YAML parser (registry imports)', /node_modules\/yaml\//],
    ['tar archives (registry imports)', /node_modules\/tar-stream\//],
    ["Powertools' idempotency (inference takes no keys)", /@aws-lambda-powertools\/(idempotency|jmespath)\//],
    ['the SageMaker runtime client (only SageMaker-served versions)', /@aws-sdk\/client-sagemaker-runtime\//],
    ['the SNS client (lifecycle events of failures)', /@aws-sdk\/client-sns\//],
    // Capture is sent after the answer (through the Lambda extension), online samples on feedback.
    ['the SQS client (sends after the answer)', /@aws-sdk\/client-sqs\//],
    ["zod's locales", /node_modules\/zod\/v4\/locales\/(?!en\.js|index\.js)/],
    // Its schemas are built with some forty bound methods each; the inference schemas are zod/mini.
    ['classic zod', /node_modules\/zod\/v4\/classic\//],
    // The OpenAPI document's; zod/mini re-exported it (function-bundle.ts, withoutJsonSchemaReexports).
    ["zod's JSON Schema converter", /node_modules\/zod\/v4\/core\/(to-json-schema|json-schema[\w-]*)\.js$/],
    ["the registry's lifecycle events (failure records)", /functions\/handlers\/registry-events\.ts$/],
    ['feedback', /functions\/core\/inference\/feedback\.ts$/],
    // Loaded by the first explanation (closed form, Kernel SHAP) or stats request.
    [
      'explanations and serving statistics',
      /functions\/core\/inference\/(explain|shap-explain|kernel-shap|stats)\.ts$/,
    ],
    // The online-learning policy is read on feedback and capture spills only.
    ["the monitoring table's adapter", /functions\/adapters\/dynamo-monitoring\.ts$/],
    // Only a failing capture queue needs the spill.
    [
      "the capture spill's recorder and capture store",
      /functions\/adapters\/(capture-recorder|s3-captures)\.ts$/,
    ],
    // Only a failing version is recorded in the registry, through its services. The registry
    // store's reads need two predicates of theirs (store-reads.ts), not the services.
    [
      "the registry's services",
      /functions\/core\/registry\/(services|lifecycle|artifacts|validation|models|deletion)\.ts$/,
    ],
    // Serving reads a graph only to expose a ZipMap's tensor (servable.ts); reading its signature
    // is registration's.
    ["the registry's reading of a graph's signature", /functions\/core\/onnx\/signature\.ts$/],
    // Read on feedback and capture spills only.
    [
      "monitoring policies (the online learner's, quality's)",
      /functions\/core\/monitoring\/(policy|quality)\.ts$/,
    ],
    // A Lambda publishes EMF; Prometheus (and OpenTelemetry's API, which prom-client loads) is the
    // local runtime's.
    ['prom-client', /node_modules\/(prom-client|@opentelemetry\/api|tdigest|bintrees)\//],
    // Building every schema of the contract (~100) was zod's largest share of the import.
    [
      "the other functions' request schemas (contract.ts, schemas.ts)",
      /functions\/http\/(contract|schemas)\.ts$/,
    ],
    // Building them cost about 5 ms of CPU at init; predict needs only the serving view.
    ["the queues' message schemas", /functions\/contract\/messages\.ts$/],
    [
      "experiments' definition schemas and statistics",
      /functions\/core\/(experiments\/(definition|results)|stats\/special)\.ts$/,
    ],
  ])('does not evaluate %s', (_what, pattern) => {
    expect(evaluatedAtInit().filter((p) => pattern.test(p))).toEqual([]);
  });

  it("refuses a bad request with classic zod's English messages, though only zod/mini is loaded", async () => {
    // Classic zod sets its English locale as it builds its first schema; zod/mini does not, so
    // inference-schemas.ts sets it. Without that the bundle would answer "Invalid input" alone.
    const env = { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', ...placeholderResourceEnv() };
    const event = {
      resource: '/v1/models/{name}/predict',
      path: '/v1/models/m/predict',
      httpMethod: 'POST',
      headers: { 'content-type': 'application/json' },
      pathParameters: { name: 'm' },
      requestContext: {
        requestId: 'r',
        authorizer: { principalId: 'p', role: 'predictor', name: 'p', via: 'key' },
      },
      body: JSON.stringify({ instances: 'x', subject: '' }),
      isBase64Encoded: false,
    };
    const script = `const { handler } = await import(${JSON.stringify(join(dir, 'index.mjs'))});
      const res = await handler(${JSON.stringify(event)}, {});
      process.stdout.write('\\n' + JSON.stringify({ status: res.statusCode, body: JSON.parse(res.body) }));`;
    // The last line: the function's logger writes to stdout too.
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env });
    const bundled = JSON.parse(String(out).trim().split('\n').pop() as string);
    expect(bundled.status).toBe(400);
    expect(bundled.body.error.details.issues).toEqual([
      { path: 'instances', message: 'Invalid input: expected array, received string' },
      { path: 'subject', message: 'Too small: expected string to have >=1 characters' },
    ]);
    // And the contract, classic zod loaded (as in the local runtime), answers the same.
    const { CONTRACT } = await import('../../../functions/http/contract.js');
    const refused = CONTRACT.predict.body.safeParse(JSON.parse(event.body));
    expect(refused.error?.issues.map((i) => i.message)).toEqual(
      bundled.body.error.details.issues.map((i: { message: string }) => i.message),
    );
  }, 60_000);

  it('keeps the clients predict needs before its answer: DynamoDB and S3 (artifacts)', () => {
    const init = evaluatedAtInit();
    for (const client of ['client-dynamodb', 'client-s3']) {
      expect(init.some((p) => p.includes(`@aws-sdk/${client}/`))).toBe(true);
    }
  });

  it('bundles the SQS client for the sends after the answer, in a file of its own', () => {
    // Capture and online-learning samples (functions/adapters/sqs-deferred.ts).
    expect(Object.keys(keptBytes()).some((p) => p.includes('@aws-sdk/client-sqs/'))).toBe(true);
  });

  it('evaluates at most 560 KiB of itself at init', () => {
    // 938 KiB before every function's schemas and prom-client left init (issue 13, round 2); 857
    // before the registry's services and the online learner's wiring left it (round 3); 811
    // before the inference schemas moved to zod/mini (round 6); about 660 before esbuild could
    // drop the AWS SDK's unused schemas (round 9, function-bundle.ts); 611 before zod's JSON
    // Schema converter left it (round 10); 595 before the SQS client left it (round 13); 577
    // before explanations, statistics and the monitoring adapter left it, 565 before the capture
    // spill did (round 15).
    const kept = keptBytes();
    const init = evaluatedAtInit().reduce((sum, p) => sum + (kept[p] ?? 0), 0);
    expect(init / 1024).toBeLessThan(560);
  });

  it('reads at init only the files its static imports reach, within a budget', () => {
    // 1,316 KiB in one file before the build split off what only import() reaches (issue 13);
    // of what is left, the AWS SDK clients alone are about 340 KiB. 684 KiB before the AWS SDK's
    // unused schemas could be dropped (round 9); 624 before zod's JSON Schema converter left it
    // (round 10); 609 before the SQS client left it (round 13); 590 before init came in one chunk
    // (round 15: each chunk has its own overhead; see the next test); 583 before explanations,
    // statistics and the monitoring adapter left it, 570 before the capture spill did (round 15).
    const { atInit, total } = loadedAtInit(meta);
    expect(atInit / 1024).toBeLessThan(565);
    expect(total - atInit).toBeGreaterThan(300 * 1024);
  });

  it('reads them from two files: the entry and one chunk', () => {
    // 22 files before function-bundle.ts's initInOneChunk (round 15): Node's ES module loader
    // costs about 0.3 ms a file, and the import took 4-7 ms longer.
    expect(loadedAtInit(meta).files).toBe(2);
  });
});
