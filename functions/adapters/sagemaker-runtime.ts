/**
 * The EndpointInvoker port on SageMaker runtime's InvokeEndpoint (SDK v3). Rows go out as
 * `{"instances": rows}` (application/json); the answer is normalised to EndpointAnswer and checked
 * (one entry per row, finite numbers, one width). Every failure leaves as EndpointModelError,
 * EndpointUnavailable or PayloadTooLarge with a message of its own: raw SDK errors, request ids
 * and anything credential-like never reach the caller.
 *
 * On AWS the client uses SageMaker's regional endpoint; locally AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME
 * points it at the stand-in (local/services/sagemaker.ts).
 */
import {
  InvokeEndpointCommand,
  type InvokeEndpointCommandOutput,
  SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import {
  type EndpointAnswer,
  type EndpointInvoker,
  EndpointModelError,
  EndpointUnavailable,
} from '../core/inference/ports.js';
import { isDomainError, payloadTooLarge } from '../core/kernel/errors.js';
import type { ClientOverrides } from './aws-clients.js';

/** SageMaker's InvokeEndpoint request (and response) payload limit: 6 MB. */
export const SAGEMAKER_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

export const DEFAULT_SAGEMAKER_TIMEOUT_MS = 10_000;
/** One try and one retry: throttling is retried once by the SDK, then surfaces as 'throttled'. */
export const DEFAULT_SAGEMAKER_MAX_ATTEMPTS = 2;
const DEFAULT_THROTTLE_RETRY_SECONDS = 1;
const DEFAULT_NOT_READY_RETRY_SECONDS = 5;
const MESSAGE_CLIP = 500;

export interface SageMakerClientOptions extends ClientOverrides {
  /** SDK attempts per call (first try included). Default 2. */
  readonly maxAttempts?: number;
  /** Socket-level timeout of one attempt, in ms. Default 10 000. */
  readonly requestTimeoutMs?: number;
}

export function sagemakerRuntimeClient(o: SageMakerClientOptions = {}): SageMakerRuntimeClient {
  const timeout = o.requestTimeoutMs ?? DEFAULT_SAGEMAKER_TIMEOUT_MS;
  return new SageMakerRuntimeClient({
    endpoint: o.endpoint,
    region: o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
    credentials: o.credentials,
    maxAttempts: o.maxAttempts ?? DEFAULT_SAGEMAKER_MAX_ATTEMPTS,
    // Options of the SDK's Node http handler. Without throwOnRequestTimeout it only logs a warning
    // when requestTimeout passes.
    requestHandler: { connectionTimeout: timeout, requestTimeout: timeout, throwOnRequestTimeout: true },
  });
}

export interface SageMakerInvokerOptions {
  /**
   * A ready client (tests, or a shared one). Its own retry and socket settings then apply;
   * `maxAttempts` and `aws` below only configure the client built when this is omitted.
   */
  readonly client?: SageMakerRuntimeClient;
  /** Endpoint, region, credentials of the client built when `client` is omitted. */
  readonly aws?: ClientOverrides;
  /** Budget of one invoke() in ms, retries included. Default 10 000. */
  readonly timeoutMs?: number;
  /** SDK attempts per call of the built client. Default 2. */
  readonly maxAttempts?: number;
  /**
   * The only endpoints this invoker may call. Any other name is refused as 'not_found' without a
   * request (on AWS the function's IAM policy allows only these, which would answer AccessDenied).
   */
  readonly allowedEndpoints?: readonly string[];
}

export class SageMakerEndpointInvoker implements EndpointInvoker {
  private readonly client: SageMakerRuntimeClient;
  private readonly timeoutMs: number;
  private readonly allowed: ReadonlySet<string> | undefined;

  constructor(options: SageMakerInvokerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_SAGEMAKER_TIMEOUT_MS;
    if (!(this.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    this.client =
      options.client ??
      sagemakerRuntimeClient({
        ...options.aws,
        maxAttempts: options.maxAttempts ?? DEFAULT_SAGEMAKER_MAX_ATTEMPTS,
        requestTimeoutMs: this.timeoutMs,
      });
    this.allowed = options.allowedEndpoints ? new Set(options.allowedEndpoints) : undefined;
  }

  async invoke(endpointName: string, rows: readonly (readonly number[])[]): Promise<EndpointAnswer> {
    const details = { endpoint: endpointName };
    if (this.allowed && !this.allowed.has(endpointName)) {
      throw new EndpointUnavailable(
        `SageMaker endpoint ${endpointName} is not one this deployment is configured to call`,
        'not_found',
        { ...details, configured: false },
      );
    }
    const body = JSON.stringify({ instances: rows });
    const bytes = Buffer.byteLength(body);
    if (bytes > SAGEMAKER_MAX_PAYLOAD_BYTES) {
      throw payloadTooLarge(
        `the request for SageMaker endpoint ${endpointName} is ${bytes} bytes; InvokeEndpoint accepts at most ${SAGEMAKER_MAX_PAYLOAD_BYTES}`,
        { ...details, limitBytes: SAGEMAKER_MAX_PAYLOAD_BYTES, bytes },
      );
    }

    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(timeoutError(endpointName, this.timeoutMs));
      }, this.timeoutMs);
    });
    let output: InvokeEndpointCommandOutput;
    try {
      const sent = this.client.send(
        new InvokeEndpointCommand({
          EndpointName: endpointName,
          ContentType: 'application/json',
          Accept: 'application/json',
          Body: Buffer.from(body, 'utf8'),
        }),
        { abortSignal: abort.signal },
      );
      // The race bounds the call even where the SDK would not notice the abort (a retry's backoff).
      sent.catch(() => undefined);
      output = await Promise.race([sent, timedOut]);
    } catch (error) {
      if (abort.signal.aborted) throw timeoutError(endpointName, this.timeoutMs);
      throw mapSageMakerError(error, endpointName);
    } finally {
      clearTimeout(timer);
    }
    const text = output.Body ? Buffer.from(output.Body).toString('utf8') : '';
    return parseEndpointAnswer(text, rows.length, endpointName);
  }
}

function timeoutError(endpoint: string, ms: number): EndpointUnavailable {
  return new EndpointUnavailable(`SageMaker endpoint ${endpoint} did not answer within ${ms} ms`, 'timeout', {
    endpoint,
    timeoutMs: ms,
  });
}

// ---------------------------------------------------------------------------------------------
// Errors

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ECONNABORTED',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);
const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);
const AUTH_NAMES = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'ExpiredTokenException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'InvalidClientTokenId',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  OriginalStatusCode?: unknown;
  OriginalMessage?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $response?: { headers?: Record<string, unknown> };
  cause?: unknown;
}

/**
 * Turns whatever the SDK threw into Serval's errors. Exported for tests; never returns the input.
 * Messages quote at most 500 characters of what SageMaker or the model said, with anything that
 * looks like an access key id, secret, session token or signature removed.
 */
export function mapSageMakerError(error: unknown, endpoint: string): Error {
  if (
    error instanceof EndpointModelError ||
    error instanceof EndpointUnavailable ||
    isDomainError(error, 'payload_too_large')
  ) {
    return error;
  }
  const e = (error ?? {}) as SdkErrorShape;
  const name = typeof e.name === 'string' ? e.name : '';
  const code = errorCode(error);
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const said = clip(typeof e.message === 'string' ? e.message : '');
  const details = { endpoint };

  if (name === 'ModelError') {
    const original = typeof e.OriginalStatusCode === 'number' ? e.OriginalStatusCode : undefined;
    const originalMessage = clip(typeof e.OriginalMessage === 'string' ? e.OriginalMessage : said);
    return new EndpointModelError(
      `the model behind SageMaker endpoint ${endpoint} failed on the input` +
        `${original === undefined ? '' : ` (status ${original})`}: ${originalMessage}`,
      { ...details, originalStatusCode: original, originalMessage },
    );
  }
  if (name === 'ModelNotReadyException') {
    return new EndpointUnavailable(
      `the model behind SageMaker endpoint ${endpoint} is not ready yet`,
      'not_ready',
      details,
      retryAfter(e) ?? DEFAULT_NOT_READY_RETRY_SECONDS,
    );
  }
  if (THROTTLING_NAMES.has(name) || status === 429) {
    return new EndpointUnavailable(
      `SageMaker throttled the call to endpoint ${endpoint}`,
      'throttled',
      details,
      retryAfter(e) ?? DEFAULT_THROTTLE_RETRY_SECONDS,
    );
  }
  if (name === 'ValidationError') {
    if (/endpoint\b.*\bnot found/i.test(said)) {
      return new EndpointUnavailable(`SageMaker endpoint ${endpoint} does not exist`, 'not_found', details);
    }
    return new EndpointModelError(`SageMaker refused the request to endpoint ${endpoint}: ${said}`, {
      ...details,
      refusedBy: 'ValidationError',
    });
  }
  if (status === 413) {
    return payloadTooLarge(`SageMaker refused the request to endpoint ${endpoint} as too large`, {
      ...details,
      limitBytes: SAGEMAKER_MAX_PAYLOAD_BYTES,
    });
  }
  if (
    name === 'AbortError' ||
    name === 'TimeoutError' ||
    name === 'RequestTimeout' ||
    name === 'RequestTimeoutException' ||
    code === 'ETIMEDOUT'
  ) {
    return new EndpointUnavailable(
      `SageMaker endpoint ${endpoint} did not answer in time`,
      'timeout',
      details,
    );
  }
  if (code !== undefined && NETWORK_CODES.has(code)) {
    return new EndpointUnavailable(
      `could not reach SageMaker for endpoint ${endpoint} (${code})`,
      'network',
      { ...details, code },
    );
  }
  if (AUTH_NAMES.has(name) || status === 401 || status === 403) {
    // The service's text can quote the signed request; only the error's name is passed on.
    return new EndpointUnavailable(
      `SageMaker refused this deployment's credentials for endpoint ${endpoint} (${name || `HTTP ${status}`}); ` +
        'check the function role allows sagemaker:InvokeEndpoint on it',
      'service_error',
      { ...details, error: name || undefined, status },
    );
  }
  if (
    name === 'ServiceUnavailable' ||
    name === 'InternalFailure' ||
    name === 'InternalDependencyException' ||
    (status !== undefined && status >= 500)
  ) {
    return new EndpointUnavailable(
      `SageMaker could not serve endpoint ${endpoint} (${name || `HTTP ${status}`})`,
      'service_error',
      { ...details, error: name || undefined, status },
    );
  }
  // Anything else: say which kind it was, not what it said.
  const kind = /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(name) ? name : 'unexpected error';
  return new EndpointUnavailable(
    `the call to SageMaker endpoint ${endpoint} failed (${kind}${status ? `, HTTP ${status}` : ''})`,
    'service_error',
    { ...details, error: kind, status },
  );
}

/** A Node system error code on the error or along its cause chain. */
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$|^ERR_[A-Z_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function retryAfter(e: SdkErrorShape): number | undefined {
  const headers = e.$response?.headers ?? {};
  const key = Object.keys(headers).find((k) => k.toLowerCase() === 'retry-after');
  const raw = key ? headers[key] : undefined;
  if (typeof raw !== 'string') return undefined;
  const seconds = /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : (Date.parse(raw) - Date.now()) / 1000;
  if (!Number.isFinite(seconds)) return undefined;
  return Math.max(1, Math.ceil(seconds));
}

const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/\b(AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b/g, '[redacted]'],
  [/(x-amz-security-token|X-Amz-Security-Token)[:=]\s*[^\s&"']+/g, '$1=[redacted]'],
  [/(Credential|Signature|SignedHeaders)=[^\s,&"']+/g, '$1=[redacted]'],
  [/(aws_secret_access_key|secretAccessKey|sessionToken)["':=\s]+[^\s,"'}]+/gi, '$1=[redacted]'],
];

/** At most 500 characters, with credential-like text removed. */
function clip(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out.length > MESSAGE_CLIP ? `${out.slice(0, MESSAGE_CLIP - 1)}…` : out;
}

// ---------------------------------------------------------------------------------------------
// Answers

/**
 * Reads an endpoint's JSON answer into an EndpointAnswer. Accepted shapes:
 *   {"probabilities": number[][]}
 *   {"predictions": number[]}                      values
 *   {"predictions": number[][]}                    probabilities ([[v], …] of width 1: values)
 *   {"predictions": [{"probabilities": number[]}, …]}
 *   number[] or number[][]                         as "predictions"
 * with exactly `rowCount` entries of finite numbers and one width. Anything else is an
 * EndpointModelError ("the endpoint answered something Serval cannot read: …").
 */
export function parseEndpointAnswer(text: string, rowCount: number, endpoint = 'endpoint'): EndpointAnswer {
  const unreadable = (why: string) =>
    new EndpointModelError(`the endpoint answered something Serval cannot read: ${why}`, {
      endpoint,
      reason: 'unreadable_answer',
    });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw unreadable(`not JSON (${text.length === 0 ? 'an empty body' : `${clip(text).slice(0, 80)}`})`);
  }

  let entries: unknown;
  let explicitProbabilities = false;
  if (Array.isArray(body)) {
    entries = body;
  } else if (body && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    if (o.probabilities !== undefined) {
      entries = o.probabilities;
      explicitProbabilities = true;
    } else if (o.predictions !== undefined) {
      entries = o.predictions;
    } else {
      throw unreadable('neither "probabilities" nor "predictions" in the answer');
    }
  } else {
    throw unreadable('not a JSON object or array');
  }
  if (!Array.isArray(entries)) throw unreadable('the predictions are not an array');
  if (entries.length !== rowCount) {
    throw unreadable(`${entries.length} predictions for ${rowCount} rows sent`);
  }
  if (rowCount === 0) return explicitProbabilities ? { probabilities: [] } : { values: [] };

  // [{"probabilities": [...]}, …]
  if (entries.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x))) {
    const rows = entries.map((x, i) => {
      const p = (x as Record<string, unknown>).probabilities;
      if (!Array.isArray(p)) throw unreadable(`prediction ${i} has no "probabilities" array`);
      return p;
    });
    return { probabilities: matrix(rows, unreadable) };
  }
  if (entries.every((x) => Array.isArray(x))) {
    const m = matrix(entries as unknown[][], unreadable);
    if (!explicitProbabilities && (m[0]?.length ?? 0) === 1) return { values: m.map((r) => r[0] as number) };
    return { probabilities: m };
  }
  if (explicitProbabilities) throw unreadable('"probabilities" must hold one array per row');
  const values = entries.map((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw unreadable(`prediction ${i} is not a finite number`);
    return v;
  });
  return { values };
}

function matrix(rows: readonly unknown[][], unreadable: (why: string) => Error): number[][] {
  const width = rows[0]?.length ?? 0;
  if (width === 0) throw unreadable('prediction 0 is empty');
  return rows.map((row, i) => {
    if (row.length !== width)
      throw unreadable(`prediction ${i} has ${row.length} values; prediction 0 has ${width}`);
    return row.map((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw unreadable(`prediction ${i} value ${j} is not a finite number`);
      }
      return v;
    });
  });
}
