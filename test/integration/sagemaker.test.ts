/**
 * SageMaker delegation end to end on one machine: real ONNX models written by Serval, served by
 * the local SageMaker runtime stand-in (onnxruntime behind the InvokeEndpoint wire protocol), and
 * called through the real SageMakerEndpointInvoker on the real SDK v3 client. Fault files make
 * the stand-in answer the service's own errors; the invoker must turn each into Serval's.
 */
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OnnxRuntimeRunner } from '../../functions/adapters/onnx-runner.js';
import {
  mapSageMakerError,
  parseEndpointAnswer,
  SAGEMAKER_MAX_PAYLOAD_BYTES,
  SageMakerEndpointInvoker,
  sagemakerRuntimeClient,
} from '../../functions/adapters/sagemaker-runtime.js';
import { EndpointModelError, EndpointUnavailable } from '../../functions/core/inference/ports.js';
import type { DomainError } from '../../functions/core/kernel/errors.js';
import {
  linearRegressionOnnx,
  logisticRegressionOnnx,
  softmaxRegressionOnnx,
} from '../../functions/core/onnx/models.js';
import { type LocalSageMaker, startLocalSageMaker } from '../../local/services/sagemaker.js';
import { domainError } from '../support/expect-code.js';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-secret-not-real' };

const LOGISTIC = { weights: [0.8, -1.5, 0.25], bias: 0.3 };
const LINEAR = { weights: [2, -0.5, 1.25], bias: -3 };
const SOFTMAX = {
  weights: [
    [1, 0, -1],
    [0.5, 0.5, 0.5],
    [-1, 2, 0],
  ],
  bias: [0.1, -0.2, 0.3],
};
const ROWS = [
  [1, 2, 3],
  [-0.5, 0.25, 4],
  [0, 0, 0],
  [3.5, -1, 0.125],
];

const dot = (w: readonly number[], x: readonly number[]) =>
  w.reduce((s, wi, j) => s + wi * (x[j] as number), 0);
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

let dir: string;
let standin: LocalSageMaker;

/** What the invoker throws, for assertions on its type and fields. */
async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

/** A client on the stand-in that counts the HTTP attempts it makes (retries included). */
function countingClient(options: { maxAttempts?: number; endpoint?: string } = {}) {
  const client = sagemakerRuntimeClient({
    endpoint: options.endpoint ?? standin.endpoint,
    region: REGION,
    credentials: CREDENTIALS,
    maxAttempts: options.maxAttempts,
  });
  const counter = { attempts: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      counter.attempts++;
      return next(args);
    },
    { step: 'deserialize', name: 'countAttempts' },
  );
  return { client, counter };
}

function invoker(
  options: { timeoutMs?: number; client?: SageMakerRuntimeClient; allowedEndpoints?: string[] } = {},
) {
  return new SageMakerEndpointInvoker({
    aws: { endpoint: standin.endpoint, region: REGION, credentials: CREDENTIALS },
    timeoutMs: options.timeoutMs ?? 5_000,
    client: options.client,
    allowedEndpoints: options.allowedEndpoints,
  });
}

const fault = (name: string, value: unknown) => writeFile(join(dir, `${name}.json`), JSON.stringify(value));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serval-sagemaker-test-'));
  standin = await startLocalSageMaker({ dir });
  await writeFile(join(dir, 'churn-logistic.onnx'), logisticRegressionOnnx(LOGISTIC));
  await writeFile(join(dir, 'price-linear.onnx'), linearRegressionOnnx(LINEAR));
  await writeFile(join(dir, 'iris-softmax.onnx'), softmaxRegressionOnnx(SOFTMAX));
  // The same healthy model under other names, each with its own fault file.
  for (const name of ['slow', 'throttled', 'not-ready', 'unavailable', 'broken', 'throttled-later']) {
    await writeFile(join(dir, `${name}.onnx`), logisticRegressionOnnx(LOGISTIC));
  }
  await fault('slow', { delayMs: 5_000 });
  await fault('throttled', { fail: 'throttle' });
  await fault('throttled-later', { fail: 'throttle', retryAfterSeconds: 7 });
  await fault('not-ready', { fail: 'not_ready' });
  await fault('unavailable', { fail: 'unavailable' });
  await fault('broken', { fail: 'model_error' });
});

afterAll(async () => {
  await standin?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('SageMakerEndpointInvoker against the local SageMaker runtime', () => {
  it('returns a logistic model’s probabilities, as onnxruntime computes them and as σ(w·x+b) by hand', async () => {
    const answer = await invoker().invoke('churn-logistic', ROWS);
    expect(answer.values).toBeUndefined();
    const probabilities = answer.probabilities as number[][];
    expect(probabilities).toHaveLength(ROWS.length);

    // Straight from onnxruntime, no HTTP in between.
    const model = await new OnnxRuntimeRunner().load(logisticRegressionOnnx(LOGISTIC));
    try {
      const out = await model.run(Float32Array.from(ROWS.flat()), ROWS.length, 3);
      const direct = Array.from(out.probabilities?.data as Float32Array);
      expect(probabilities.flat()).toHaveLength(direct.length);
      probabilities.flat().forEach((p, i) => {
        expect(p).toBeCloseTo(direct[i] as number, 7);
      });
    } finally {
      await model.release();
    }

    // Row 0 by hand: z = 0.8·1 − 1.5·2 + 0.25·3 + 0.3 = −1.15, σ(z) = 0.24048908…
    expect(sigmoid(dot(LOGISTIC.weights, ROWS[0] as number[]) + LOGISTIC.bias)).toBeCloseTo(0.240489, 6);
    expect(probabilities[0]?.[1]).toBeCloseTo(0.240489, 5);
    expect(probabilities[0]?.[0]).toBeCloseTo(1 - 0.240489, 5);
    ROWS.forEach((x, i) => {
      const p = sigmoid(dot(LOGISTIC.weights, x) + LOGISTIC.bias);
      expect(probabilities[i]?.[1]).toBeCloseTo(p, 5);
    });
  });

  it('returns a linear regression’s values (w·x+b per row)', async () => {
    const answer = await invoker().invoke('price-linear', ROWS);
    expect(answer.probabilities).toBeUndefined();
    expect(answer.values).toHaveLength(ROWS.length);
    // Row 1 by hand: 2·(−0.5) − 0.5·0.25 + 1.25·4 − 3 = 0.875
    expect(answer.values?.[1]).toBeCloseTo(0.875, 5);
    ROWS.forEach((x, i) => {
      expect(answer.values?.[i]).toBeCloseTo(dot(LINEAR.weights, x) + LINEAR.bias, 5);
    });
  });

  it('returns all classes of a softmax model, each row summing to 1', async () => {
    const answer = await invoker().invoke('iris-softmax', ROWS);
    const probabilities = answer.probabilities as number[][];
    expect(probabilities.map((r) => r.length)).toEqual([3, 3, 3, 3]);
    for (const row of probabilities) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // Row 2 (all zeros): softmax(b) = softmax([0.1, −0.2, 0.3])
    const e = SOFTMAX.bias.map(Math.exp);
    const s = e.reduce((a, b) => a + b, 0);
    probabilities[2]?.forEach((p, k) => {
      expect(p).toBeCloseTo((e[k] as number) / s, 5);
    });
  });

  it('reloads an endpoint whose model file changed', async () => {
    const file = join(dir, 'swapped.onnx');
    await writeFile(file, linearRegressionOnnx({ weights: [1, 0, 0], bias: 0 }));
    const before = await invoker().invoke('swapped', [[5, 1, 1]]);
    expect(before.values?.[0]).toBeCloseTo(5, 5);
    await writeFile(file, linearRegressionOnnx({ weights: [1, 0, 0], bias: 100 }));
    const later = new Date(Date.now() + 60_000);
    await utimes(file, later, later);
    const after = await invoker().invoke('swapped', [[5, 1, 1]]);
    expect(after.values?.[0]).toBeCloseTo(105, 5);
  });

  it('refuses a missing endpoint as not_found (SageMaker’s ValidationError)', async () => {
    const error = await failure(invoker().invoke('no-such-endpoint', ROWS));
    expect(error).toBeInstanceOf(EndpointUnavailable);
    expect((error as EndpointUnavailable).reason).toBe('not_found');
    expect((error as EndpointUnavailable).details.endpoint).toBe('no-such-endpoint');
    expect(error.message).toContain('no-such-endpoint');
  });

  it('turns a model that fails on the input into EndpointModelError with the container’s status', async () => {
    // The model takes 3 features; 5 makes onnxruntime refuse the run inside the "container".
    const error = await failure(
      invoker().invoke('churn-logistic', [
        [1, 2, 3, 4, 5],
        [1, 2, 3, 4, 5],
      ]),
    );
    expect(error).toBeInstanceOf(EndpointModelError);
    const e = error as EndpointModelError;
    expect(e.details.originalStatusCode).toBe(400);
    expect(e.details.endpoint).toBe('churn-logistic');
    expect(e.message).toMatch(/status 400/);
    expect(e.message.toLowerCase()).toMatch(/dimension|shape|got/);
    expect(String(e.details.originalMessage).length).toBeLessThanOrEqual(500);
  });

  it('turns an injected container failure into EndpointModelError (status 500)', async () => {
    const error = await failure(invoker().invoke('broken', ROWS));
    expect(error).toBeInstanceOf(EndpointModelError);
    expect((error as EndpointModelError).details.originalStatusCode).toBe(500);
  });

  it('retries throttling once, then surfaces it as throttled with a retry hint', async () => {
    const { client, counter } = countingClient();
    const error = await failure(invoker({ client }).invoke('throttled', ROWS));
    expect(error).toBeInstanceOf(EndpointUnavailable);
    expect((error as EndpointUnavailable).reason).toBe('throttled');
    expect((error as EndpointUnavailable).retryAfterSeconds).toBe(1);
    expect(counter.attempts).toBe(2);
  });

  it('passes the service’s Retry-After on as retryAfterSeconds', async () => {
    const { client, counter } = countingClient({ maxAttempts: 1 });
    const error = (await failure(invoker({ client }).invoke('throttled-later', ROWS))) as EndpointUnavailable;
    expect(error.reason).toBe('throttled');
    expect(error.retryAfterSeconds).toBe(7);
    expect(counter.attempts).toBe(1);
  });

  it('reports a model that is still loading as not_ready', async () => {
    const error = (await failure(invoker().invoke('not-ready', ROWS))) as EndpointUnavailable;
    expect(error).toBeInstanceOf(EndpointUnavailable);
    expect(error.reason).toBe('not_ready');
    // No Retry-After from the service: the invoker's default for a model still loading.
    expect(error.retryAfterSeconds).toBe(5);
  });

  it('reports ServiceUnavailable as service_error', async () => {
    const error = (await failure(invoker().invoke('unavailable', ROWS))) as EndpointUnavailable;
    expect(error).toBeInstanceOf(EndpointUnavailable);
    expect(error.reason).toBe('service_error');
  });

  it('gives up on a slow endpoint after its timeout', async () => {
    const started = Date.now();
    const error = (await failure(invoker({ timeoutMs: 400 }).invoke('slow', ROWS))) as EndpointUnavailable;
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(EndpointUnavailable);
    expect(error.reason).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(1_500);
  });

  it('refuses an endpoint outside the allow-list without calling SageMaker', async () => {
    const { client, counter } = countingClient();
    const send = vi.spyOn(client, 'send');
    const limited = invoker({ client, allowedEndpoints: ['churn-logistic'] });
    const error = (await failure(limited.invoke('price-linear', ROWS))) as EndpointUnavailable;
    expect(error).toBeInstanceOf(EndpointUnavailable);
    expect(error.reason).toBe('not_found');
    expect(send).not.toHaveBeenCalled();
    expect(counter.attempts).toBe(0);
    // The configured one goes through the same invoker.
    const ok = await limited.invoke('churn-logistic', [[0, 0, 0]]);
    expect(ok.probabilities?.[0]?.[1]).toBeCloseTo(sigmoid(LOGISTIC.bias), 5);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('reports a stand-in that is gone as network', async () => {
    const gone = await startLocalSageMaker({ dir });
    await gone.stop();
    const { client, counter } = countingClient({ endpoint: gone.endpoint });
    const started = Date.now();
    const error = (await failure(invoker({ client }).invoke('churn-logistic', ROWS))) as EndpointUnavailable;
    expect(error).toBeInstanceOf(EndpointUnavailable);
    expect(error.reason).toBe('network');
    expect(error.details.code).toBe('ECONNREFUSED');
    expect(counter.attempts).toBe(2);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('refuses a request body over 6 MB before sending it', async () => {
    const { client, counter } = countingClient();
    const row = [1.2345678901234567, -2.345678901234567, 3.456789012345678];
    const rows = Array.from({ length: 110_000 }, () => row);
    const bytes = Buffer.byteLength(JSON.stringify({ instances: rows }));
    expect(bytes).toBeGreaterThan(SAGEMAKER_MAX_PAYLOAD_BYTES);
    const error = await failure(invoker({ client }).invoke('churn-logistic', rows));
    expect(error).toEqual(domainError('payload_too_large'));
    expect((error as DomainError).code).toBe('payload_too_large');
    expect((error as DomainError).details).toMatchObject({ limitBytes: 6_291_456, bytes });
    expect(counter.attempts).toBe(0);
  });

  it('reaches the stand-in through AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME', standin.endpoint);
    vi.stubEnv('AWS_REGION', REGION);
    const fromEnv = new SageMakerEndpointInvoker({ aws: { credentials: CREDENTIALS } });
    const answer = await fromEnv.invoke('price-linear', [[0, 0, 0]]);
    expect(answer.values).toEqual([expect.closeTo(LINEAR.bias, 5)]);
  });
});

describe('the stand-in’s wire protocol', () => {
  const post = (name: string, body: string | Buffer, contentType = 'application/json') =>
    fetch(`${standin.endpoint}/endpoints/${name}/invocations`, {
      method: 'POST',
      headers: { 'content-type': contentType, accept: 'application/json' },
      body,
    });

  it('answers as InvokeEndpoint does: JSON body, production variant header', async () => {
    const res = await post('churn-logistic', JSON.stringify({ instances: [[0, 0, 0]] }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-amzn-invoked-production-variant')).toBe('AllTraffic');
    const body = (await res.json()) as { probabilities: number[][] };
    expect(body.probabilities[0]?.[1]).toBeCloseTo(sigmoid(LOGISTIC.bias), 5);
  });

  it('answers a missing endpoint with the service’s ValidationError', async () => {
    const res = await post('nowhere', JSON.stringify({ instances: [[0, 0, 0]] }));
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toMatch(/^ValidationError:/);
    expect(await res.json()).toEqual({ message: 'Endpoint nowhere of account 000000000000 not found.' });
  });

  it('answers invalid JSON with a ModelError (424) carrying the container’s 400', async () => {
    const res = await post('churn-logistic', '{"instances": [[1, 2, 3]');
    expect(res.status).toBe(424);
    expect(res.headers.get('x-amzn-errortype')).toMatch(/^ModelError:/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.OriginalStatusCode).toBe(400);
    expect(String(body.OriginalMessage)).toMatch(/not valid JSON/);
    expect(String(body.Message)).toMatch(/^Received client error \(400\) from primary/);
  });

  it('refuses a body over 6 MB with 413', async () => {
    const res = await post('churn-logistic', Buffer.alloc(SAGEMAKER_MAX_PAYLOAD_BYTES + 1, 0x20));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { message: string }).message).toContain('6291456');
  });

  it('rejects endpoint names SageMaker would not accept (and cannot escape its directory)', async () => {
    const res = await post('..%2Fsecret', JSON.stringify({ instances: [[0, 0, 0]] }));
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toMatch(/^ValidationError:/);
  });
});

describe('parseEndpointAnswer', () => {
  const read = (body: unknown, rows: number) => parseEndpointAnswer(JSON.stringify(body), rows, 'ep');
  const unreadable = (text: string, rows: number) => {
    let error: unknown;
    try {
      parseEndpointAnswer(text, rows, 'ep');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EndpointModelError);
    expect((error as Error).message).toMatch(/^the endpoint answered something Serval cannot read: /);
    expect((error as EndpointModelError).details.endpoint).toBe('ep');
    return (error as Error).message;
  };

  it('reads every accepted shape', () => {
    expect(read({ probabilities: [[0.2, 0.8]] }, 1)).toEqual({ probabilities: [[0.2, 0.8]] });
    expect(read({ predictions: [1.5, -2] }, 2)).toEqual({ values: [1.5, -2] });
    expect(read({ predictions: [[0.1, 0.9]] }, 1)).toEqual({ probabilities: [[0.1, 0.9]] });
    expect(read({ predictions: [[4.75], [1]] }, 2)).toEqual({ values: [4.75, 1] });
    expect(read([3, 4], 2)).toEqual({ values: [3, 4] });
    expect(read([[0.3, 0.7]], 1)).toEqual({ probabilities: [[0.3, 0.7]] });
    expect(read({ predictions: [{ probabilities: [0.6, 0.4] }, { probabilities: [0, 1] }] }, 2)).toEqual({
      probabilities: [
        [0.6, 0.4],
        [0, 1],
      ],
    });
  });

  it('refuses a wrong number of rows', () => {
    expect(unreadable(JSON.stringify({ predictions: [1, 2, 3] }), 2)).toMatch(/3 predictions for 2 rows/);
    expect(unreadable(JSON.stringify({ probabilities: [[0.5, 0.5]] }), 2)).toMatch(
      /1 predictions for 2 rows/,
    );
  });

  it('refuses values that are not finite numbers', () => {
    // 1e999 parses as Infinity; NaN cannot be written in JSON and arrives as null or a string.
    expect(unreadable('{"predictions": [1, 1e999]}', 2)).toMatch(/prediction 1 is not a finite number/);
    expect(unreadable('{"predictions": [null]}', 1)).toMatch(/not a finite number/);
    expect(unreadable('{"predictions": ["NaN"]}', 1)).toMatch(/not a finite number/);
    expect(unreadable('{"probabilities": [[0.5, "x"]]}', 1)).toMatch(/prediction 0 value 1/);
  });

  it('refuses ragged widths and mixed shapes', () => {
    expect(unreadable('{"probabilities": [[0.5, 0.5], [1]]}', 2)).toMatch(/prediction 1 has 1 values/);
    expect(unreadable('{"predictions": [[0.5, 0.5], 1]}', 2)).toMatch(/not a finite number/);
    expect(unreadable('{"probabilities": [0.5, 0.5]}', 2)).toMatch(/one array per row/);
    expect(unreadable('{"predictions": [[]]}', 1)).toMatch(/empty/);
  });

  it('refuses what is not an answer at all', () => {
    expect(unreadable('', 1)).toMatch(/not JSON/);
    expect(unreadable('<html>oops</html>', 1)).toMatch(/not JSON/);
    expect(unreadable('{"result": [1]}', 1)).toMatch(/neither "probabilities" nor "predictions"/);
    expect(unreadable('42', 1)).toMatch(/not a JSON object or array/);
    expect(unreadable('{"predictions": {"a": 1}}', 1)).toMatch(/not an array/);
  });
});

describe('mapSageMakerError', () => {
  it('never passes on credentials, and clips what the model said to 500 characters', () => {
    const modelError = Object.assign(new Error('x'), {
      name: 'ModelError',
      OriginalStatusCode: 400,
      OriginalMessage: `bad input from AKIAABCDEFGHIJKLMNOP ${'z'.repeat(2_000)}`,
      $metadata: { httpStatusCode: 424 },
    });
    const mapped = mapSageMakerError(modelError, 'ep') as EndpointModelError;
    expect(mapped).toBeInstanceOf(EndpointModelError);
    expect(mapped.details.originalStatusCode).toBe(400);
    expect(String(mapped.details.originalMessage)).toHaveLength(500);
    expect(mapped.message).not.toContain('AKIAABCDEFGHIJKLMNOP');

    const denied = Object.assign(
      new Error('The request signature we calculated does not match. Credential=AKIAABCDEFGHIJKLMNOP/2024'),
      { name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } },
    );
    const mappedDenied = mapSageMakerError(denied, 'ep') as EndpointUnavailable;
    expect(mappedDenied.reason).toBe('service_error');
    expect(JSON.stringify({ m: mappedDenied.message, d: mappedDenied.details })).not.toContain('AKIA');

    const odd = Object.assign(new Error('secret stuff: aws_secret_access_key=abc'), {
      name: 'SomethingNew',
      $metadata: { httpStatusCode: 418 },
    });
    const mappedOdd = mapSageMakerError(odd, 'ep');
    expect(mappedOdd).toBeInstanceOf(EndpointUnavailable);
    expect(mappedOdd.message).not.toContain('secret');
  });

  it('classifies timeouts, 5xx, 429 and 413', () => {
    const reason = (e: unknown) => (mapSageMakerError(e, 'ep') as EndpointUnavailable).reason;
    expect(reason(Object.assign(new Error('t'), { name: 'TimeoutError' }))).toBe('timeout');
    expect(reason(Object.assign(new Error('t'), { name: 'AbortError' }))).toBe('timeout');
    expect(
      reason(Object.assign(new Error('x'), { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } })),
    ).toBe('service_error');
    expect(
      reason(
        Object.assign(new Error('x'), {
          name: 'InternalDependencyException',
          $metadata: { httpStatusCode: 530 },
        }),
      ),
    ).toBe('service_error');
    expect(
      reason(Object.assign(new Error('x'), { name: 'Unknown', $metadata: { httpStatusCode: 429 } })),
    ).toBe('throttled');
    expect(reason(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('network');
    expect(
      mapSageMakerError(
        Object.assign(new Error('x'), { name: 'Unknown', $metadata: { httpStatusCode: 413 } }),
        'ep',
      ),
    ).toEqual(domainError('payload_too_large'));
  });
});
