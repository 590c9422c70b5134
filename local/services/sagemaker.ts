/**
 * A SageMaker runtime stand-in: `POST /endpoints/{EndpointName}/invocations` on 127.0.0.1, answered
 * in the REST-JSON wire form the AWS SDK v3 client parses (x-amzn-ErrorType, error bodies, the
 * x-Amzn-Invoked-Production-Variant header), so the unchanged SageMakerRuntimeClient can talk to it
 * through AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME.
 *
 * The endpoint named X is the ONNX file `<dir>/X.onnx`, run by onnxruntime through the same
 * OnnxRuntimeRunner Serval uses in Lambda (sessions cached, reloaded when the file's mtime or size
 * changes). Requests are `{"instances": number[][]}`; the answer is `{"probabilities": [[...]]}`
 * when the model has a float output of shape [N, K≥2], otherwise `{"predictions": [...]}`.
 *
 * Faults for tests come from an optional `<dir>/X.json`, read on every request:
 *   {"delayMs": 500}                                         answer late (timeouts)
 *   {"fail": "model_error"|"throttle"|"unavailable"|"not_ready"|"internal"}  the service's error
 *   {"retryAfterSeconds": 3}                                 Retry-After header on throttle/not_ready
 * It signs nothing and checks no signature: like the other stand-ins it accepts any credentials,
 * which is why it listens on 127.0.0.1 only.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { OnnxRuntimeRunner } from '../../functions/adapters/onnx-runner.js';
import type { LoadedModel, ModelOutputs, OutputTensor } from '../../functions/core/kernel/runner.js';
import { LOCAL_HOST } from '../ports.js';
import { LOCAL_REGION } from './clients.js';
import { closeServer, listeningPort, localService } from './server.js';

/** SageMaker's InvokeEndpoint payload limit: 6 MB (6,291,456 bytes). */
export const SAGEMAKER_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** The account id the stand-in reports in messages and ARNs. */
export const LOCAL_SAGEMAKER_ACCOUNT = '000000000000';

/** SageMaker's EndpointName pattern (and length limit): also keeps names inside `dir`. */
const ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const INVOCATIONS = /^\/endpoints\/([^/]+)\/invocations$/;
const VARIANT = 'AllTraffic';

export interface LocalSageMakerOptions {
  /** Directory holding `<EndpointName>.onnx` (and optional `<EndpointName>.json` fault files). */
  readonly dir: string;
  /** Port to listen on; one the OS picks when omitted. */
  readonly port?: number;
}

export interface LocalSageMaker {
  /** `http://127.0.0.1:<port>`, for AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME. */
  readonly endpoint: string;
  readonly port: number;
  readonly directory: string;
  /** Closes the server (dropping open connections) and releases the cached sessions. */
  stop(): Promise<void>;
}

export type LocalSageMakerFault = 'model_error' | 'throttle' | 'unavailable' | 'not_ready' | 'internal';

interface Faults {
  readonly delayMs?: number;
  readonly fail?: LocalSageMakerFault;
  readonly retryAfterSeconds?: number;
}

export async function startLocalSageMaker(options: LocalSageMakerOptions): Promise<LocalSageMaker> {
  const directory = options.dir;
  await mkdir(directory, { recursive: true });
  const models = new ModelCache();
  const server = createServer((req, res) => {
    handle(req, res, directory, models).catch((error: unknown) => {
      // Anything unforeseen is the service's own failure, never a crash of the stand-in.
      if (!res.headersSent && !res.destroyed) {
        sendError(res, 500, 'InternalFailure', { message: `internal failure: ${describe(error)}` });
      } else {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOCAL_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const service = localService(listeningPort(server, 'SageMaker'), async () => {
    // Also drops requests held by delayMs; a server already closed is fine.
    await closeServer(server).catch(() => {});
    await models.releaseAll();
  });
  return { ...service, directory };
}

// ---------------------------------------------------------------------------------------------
// Requests

async function handle(req: IncomingMessage, res: ServerResponse, dir: string, models: ModelCache) {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const route = INVOCATIONS.exec(path);
  if (!route || req.method !== 'POST') {
    req.resume();
    // What API Gateway-fronted AWS services answer for a path/method that maps to no operation.
    sendError(res, 404, 'UnknownOperationException', { message: 'Unknown operation' }, false);
    return;
  }

  const body = await readBody(req, SAGEMAKER_MAX_PAYLOAD_BYTES);
  if (body === 'too_large') {
    // The real front end refuses an oversized body before any endpoint lookup, with a bare 413
    // and no x-amzn-ErrorType (boto reports it as "An error occurred (413)").
    sendError(
      res,
      413,
      undefined,
      { message: `HTTP content length exceeded ${SAGEMAKER_MAX_PAYLOAD_BYTES} bytes.` },
      false,
    );
    return;
  }

  let name: string;
  try {
    name = decodeURIComponent(route[1] ?? '');
  } catch {
    name = route[1] ?? '';
  }
  if (!ENDPOINT_NAME.test(name)) {
    sendError(res, 400, 'ValidationError', {
      message:
        `1 validation error detected: Value '${name}' at 'endpointName' failed to satisfy constraint: ` +
        'Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*',
    });
    return;
  }

  const modelFile = join(dir, `${name}.onnx`);
  const modelStat = await stat(modelFile).catch(() => undefined);
  if (!modelStat?.isFile()) {
    sendError(res, 400, 'ValidationError', {
      message: `Endpoint ${name} of account ${LOCAL_SAGEMAKER_ACCOUNT} not found.`,
    });
    return;
  }

  const faults = await readFaults(join(dir, `${name}.json`));
  if ('invalid' in faults) {
    sendError(res, 500, 'InternalFailure', { message: `fault file ${name}.json: ${faults.invalid}` });
    return;
  }
  if (faults.delayMs && faults.delayMs > 0) {
    const stillOpen = await delay(faults.delayMs, res);
    if (!stillOpen) return;
  }
  if (faults.fail) {
    sendFault(res, name, faults.fail, faults.retryAfterSeconds);
    return;
  }

  // From here on this is the model container's business: its refusals reach the caller as a
  // ModelError (424) carrying the container's own status and message, as on SageMaker.
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/json') {
    sendModelError(
      res,
      name,
      415,
      `unsupported content type ${contentType || '(none)'}; send application/json`,
    );
    return;
  }
  const parsed = parseInstances(body.toString('utf8'));
  if (typeof parsed === 'string') {
    sendModelError(res, name, 400, parsed);
    return;
  }

  let lease: Lease;
  try {
    lease = await models.acquire(name, modelFile, modelStat.mtimeMs, modelStat.size);
  } catch (error) {
    sendModelError(res, name, 500, `the model could not be loaded: ${describe(error)}`);
    return;
  }
  let outputs: ModelOutputs;
  try {
    outputs = await lease.model.run(parsed.batch, parsed.rows, parsed.width);
  } catch (error) {
    sendModelError(res, name, 400, describe(error));
    return;
  } finally {
    lease.done();
  }
  const answer = answerFor(outputs, lease.model, parsed.rows);
  if (typeof answer === 'string') {
    sendModelError(res, name, 500, answer);
    return;
  }
  const text = JSON.stringify(answer);
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'x-Amzn-Invoked-Production-Variant': VARIANT,
    'x-amzn-RequestId': randomUUID(),
  });
  res.end(text);
}

/** The body, or 'too_large' once it passes `limit` (the rest is drained, not kept). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number(req.headers['content-length'] ?? 0) > limit;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? 'too_large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface Instances {
  readonly batch: Float32Array;
  readonly rows: number;
  readonly width: number;
}

/** `{"instances": number[][]}` as a row-major batch, or what a container would say is wrong. */
function parseInstances(text: string): Instances | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return `the request body is not valid JSON: ${describe(error)}`;
  }
  const instances = (body as { instances?: unknown } | null)?.instances;
  if (!Array.isArray(instances) || instances.length === 0) {
    return 'the request body must be {"instances": [[number, ...], ...]} with at least one row';
  }
  const first = instances[0];
  const width = Array.isArray(first) ? first.length : -1;
  if (width <= 0) return 'each instance must be a non-empty array of numbers';
  const batch = new Float32Array(instances.length * width);
  for (let i = 0; i < instances.length; i++) {
    const row: unknown = instances[i];
    if (!Array.isArray(row) || row.length !== width) {
      return `instance ${i} has ${Array.isArray(row) ? row.length : 'no'} values; instance 0 has ${width}`;
    }
    for (let j = 0; j < width; j++) {
      const v: unknown = row[j];
      if (typeof v !== 'number' || !Number.isFinite(v))
        return `instance ${i} value ${j} is not a finite number`;
      batch[i * width + j] = v;
    }
  }
  return { batch, rows: instances.length, width };
}

type Answer = { probabilities: number[][] } | { predictions: number[] | number[][] };

const FLOAT = new Set(['float32', 'float64', 'float16']);
const NUMERIC = new Set([...FLOAT, 'int64', 'int32', 'int16', 'int8', 'uint64', 'uint32', 'uint16', 'uint8']);

/** Probabilities from a float [N, K≥2] output (named like "prob…" first), else the first output as predictions. */
function answerFor(outputs: ModelOutputs, model: LoadedModel, rows: number): Answer | string {
  // The session's declared order, then anything else it returned.
  const names = [
    ...model.outputs.map((o) => o.name).filter((n) => n in outputs),
    ...Object.keys(outputs).filter((n) => !model.outputs.some((o) => o.name === n)),
  ];
  const tensors = names.map((n) => [n, outputs[n] as OutputTensor] as const);
  const matrices = tensors.filter(
    ([, t]) => FLOAT.has(t.type) && t.dims.length === 2 && t.dims[0] === rows && (t.dims[1] ?? 0) >= 2,
  );
  const probs = matrices.find(([n]) => /prob/i.test(n)) ?? matrices[0];
  if (probs) {
    const k = probs[1].dims[1] as number;
    const flat = numbers(probs[1]);
    return { probabilities: Array.from({ length: rows }, (_, i) => flat.slice(i * k, (i + 1) * k)) };
  }
  const first =
    tensors.find(([, t]) => FLOAT.has(t.type) && t.dims[0] === rows) ??
    tensors.find(([, t]) => NUMERIC.has(t.type) && t.dims[0] === rows);
  if (!first) return 'the model has no numeric output with one entry per instance';
  const t = first[1];
  const flat = numbers(t);
  const width = flat.length / rows;
  if (width === 1) return { predictions: flat };
  return { predictions: Array.from({ length: rows }, (_, i) => flat.slice(i * width, (i + 1) * width)) };
}

function numbers(t: OutputTensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

// ---------------------------------------------------------------------------------------------
// Faults

async function readFaults(file: string): Promise<Faults | { invalid: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    return { invalid: describe(error) };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { invalid: `not valid JSON (${describe(error)})` };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { invalid: 'not a JSON object' };
  const { delayMs, fail, retryAfterSeconds } = value as Record<string, unknown>;
  if (delayMs !== undefined && (typeof delayMs !== 'number' || !(delayMs >= 0))) {
    return { invalid: 'delayMs must be a number ≥ 0' };
  }
  const kinds: readonly string[] = ['model_error', 'throttle', 'unavailable', 'not_ready', 'internal'];
  if (fail !== undefined && (typeof fail !== 'string' || !kinds.includes(fail))) {
    return { invalid: `fail must be one of ${kinds.join(', ')}` };
  }
  if (
    retryAfterSeconds !== undefined &&
    (typeof retryAfterSeconds !== 'number' || !(retryAfterSeconds >= 0))
  ) {
    return { invalid: 'retryAfterSeconds must be a number ≥ 0' };
  }
  return {
    delayMs: delayMs as number | undefined,
    fail: fail as LocalSageMakerFault | undefined,
    retryAfterSeconds: retryAfterSeconds as number | undefined,
  };
}

/** Waits ms; false when the client went away meanwhile (nothing more to send). */
function delay(ms: number, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(!res.destroyed);
    }, ms);
    res.once('close', onClose);
  });
}

function sendFault(res: ServerResponse, name: string, fault: LocalSageMakerFault, retryAfter?: number) {
  const retryHeader: Record<string, string> =
    retryAfter === undefined ? {} : { 'Retry-After': String(Math.ceil(retryAfter)) };
  switch (fault) {
    case 'model_error':
      sendModelError(res, name, 500, 'fault injected by the local SageMaker stand-in');
      return;
    case 'throttle':
      // AWS's common ThrottlingException is an HTTP 400 recognised by its error type; the SDK
      // retries it as throttling by that name.
      sendError(res, 400, 'ThrottlingException', { message: 'Rate exceeded' }, false, retryHeader);
      return;
    case 'not_ready':
      sendError(
        res,
        429,
        'ModelNotReadyException',
        { message: `Model for endpoint ${name} is not ready yet. Try again later.` },
        true,
        retryHeader,
      );
      return;
    case 'unavailable':
      sendError(res, 503, 'ServiceUnavailable', { message: 'Service is unavailable. Try your call again.' });
      return;
    case 'internal':
      sendError(res, 500, 'InternalFailure', {
        message: 'An internal failure occurred. Try your call again.',
      });
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Wire form of errors

/**
 * An error as the REST-JSON protocol carries it: the type in x-amzn-ErrorType (SageMaker appends
 * ":<namespace URL>", which the SDK strips), the fields in a JSON body. `typed` false sends the
 * bare name, as AWS's shared front end does for ThrottlingException and unknown operations.
 */
function sendError(
  res: ServerResponse,
  status: number,
  type: string | undefined,
  body: Record<string, unknown>,
  typed = true,
  extraHeaders: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
    ...extraHeaders,
  };
  if (type) {
    headers['x-amzn-ErrorType'] = typed
      ? `${type}:http://internal.amazon.com/coral/com.amazon.sagemaker/`
      : type;
  }
  res.writeHead(status, headers);
  res.end(text);
}

/** SageMaker's ModelError: HTTP 424 with the container's status and message inside. */
function sendModelError(res: ServerResponse, name: string, originalStatus: number, originalMessage: string) {
  const side = originalStatus < 500 ? 'client' : 'server';
  const logGroup = `/aws/sagemaker/Endpoints/${name}`;
  sendError(res, 424, 'ModelError', {
    ErrorCode: `${side.toUpperCase()}_ERROR_FROM_MODEL`,
    LogStreamArn: `arn:aws:logs:${LOCAL_REGION}:${LOCAL_SAGEMAKER_ACCOUNT}:log-group:${logGroup}`,
    Message:
      `Received ${side} error (${originalStatus}) from primary with message "${originalMessage}". ` +
      `See https://${LOCAL_REGION}.console.aws.amazon.com/cloudwatch/home?region=${LOCAL_REGION}` +
      `#logEventViewer:group=${logGroup} in account ${LOCAL_SAGEMAKER_ACCOUNT} for more information.`,
    OriginalMessage: originalMessage,
    OriginalStatusCode: originalStatus,
  });
}

// ---------------------------------------------------------------------------------------------
// Sessions

interface Lease {
  readonly model: LoadedModel;
  done(): void;
}

interface Entry {
  readonly key: string;
  readonly model: Promise<LoadedModel>;
  inFlight: number;
  retired: boolean;
}

/**
 * One onnxruntime session per endpoint, keyed by the file's mtime and size. A replaced session is
 * released once the runs still using it have finished.
 */
class ModelCache {
  private readonly runner = new OnnxRuntimeRunner();
  private readonly entries = new Map<string, Entry>();

  async acquire(name: string, file: string, mtimeMs: number, size: number): Promise<Lease> {
    const key = `${mtimeMs}:${size}`;
    let entry = this.entries.get(name);
    if (!entry || entry.key !== key) {
      if (entry) this.retire(entry);
      const model = readFile(file).then((bytes) => this.runner.load(bytes));
      entry = { key, model, inFlight: 0, retired: false };
      this.entries.set(name, entry);
      const created = entry;
      // A model that fails to load is not cached: the next request tries the file again.
      model.catch(() => {
        if (this.entries.get(name) === created) this.entries.delete(name);
      });
    }
    const current = entry;
    current.inFlight++;
    let model: LoadedModel;
    try {
      model = await current.model;
    } catch (error) {
      current.inFlight--;
      throw error;
    }
    return {
      model,
      done: () => {
        current.inFlight--;
        if (current.retired && current.inFlight === 0) void this.release(current);
      },
    };
  }

  async releaseAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => this.release(e)));
  }

  private retire(entry: Entry) {
    entry.retired = true;
    if (entry.inFlight === 0) void this.release(entry);
  }

  private async release(entry: Entry): Promise<void> {
    try {
      await (await entry.model).release();
    } catch {
      // Failed loads have nothing to release; a double release is harmless here.
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
