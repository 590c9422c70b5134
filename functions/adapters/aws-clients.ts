/**
 * SDK v3 clients for DynamoDB and S3, configured once (SQS's is in sqs-client.ts, which builds it
 * the same way: see there why it is apart). On AWS the default endpoints
 * apply; locally the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables point the same clients at
 * the stand-ins, so handler code is identical in both homes.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface ClientOverrides {
  /** Explicit endpoint (tests); otherwise AWS_ENDPOINT_URL_<SERVICE> or the AWS default. */
  readonly endpoint?: string;
  readonly region?: string;
  /** Explicit credentials (the local runtime's own clients); otherwise the default chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export function region(o: ClientOverrides): string | undefined {
  return o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
}

/**
 * Clients built without overrides, one per service and configuration, shared by every store of
 * the process. The SDK's clients are made to be shared. A client costs its construction at init
 * (1-3 ms each on a cold start), and each one keeps its own connections, so each opens its own TLS
 * connection on first use on AWS. Before they were shared, the inference function built five
 * DynamoDB clients, two S3 and two SQS at init. The key holds what the SDK reads from the
 * environment when it builds a client, so a process that points at other endpoints (tests, one
 * local platform after another) gets new ones. A shared client that is destroyed is forgotten,
 * and the next call builds a new one.
 */
const shared = new Map<string, { destroy(): void }>();

export function sharedClient<T extends { destroy(): void }>(
  /** As in AWS_ENDPOINT_URL_<service>. */
  service: string,
  o: ClientOverrides,
  make: () => T,
  kind = 'client',
): T {
  if (o.endpoint !== undefined || o.region !== undefined || o.credentials !== undefined) return make();
  const env = process.env;
  const key = [
    service,
    kind,
    region(o),
    env.AWS_ENDPOINT_URL,
    env[`AWS_ENDPOINT_URL_${service}`],
    env.AWS_ACCESS_KEY_ID,
    env.AWS_PROFILE,
  ].join('\u0000');
  const found = shared.get(key) as T | undefined;
  if (found) return found;
  const client = make();
  const destroy = client.destroy.bind(client);
  client.destroy = () => {
    if (shared.get(key) === client) shared.delete(key);
    destroy();
  };
  shared.set(key, client);
  return client;
}

export function dynamoClient(o: ClientOverrides = {}): DynamoDBClient {
  return sharedClient(
    'DYNAMODB',
    o,
    () => new DynamoDBClient({ endpoint: o.endpoint, region: region(o), credentials: o.credentials }),
  );
}

export function documentClient(o: ClientOverrides = {}): DynamoDBDocumentClient {
  // Keyed apart from the plain client it wraps (the shared one). Its destroy() is the SDK's no-op:
  // the plain client owns the connections.
  return sharedClient('DYNAMODB', o, () => documentClientOf(dynamoClient(o)), 'document');
}

function documentClientOf(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    // Values arrive as JSON numbers (doubles) and must be stored and read back as the same doubles;
    // by default the SDK refuses integers beyond 2^53 both ways, turning a client's large number
    // (a seed, a byte count) into a server error.
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false, allowImpreciseNumbers: true },
    unmarshallOptions: { wrapNumbers: (text: string) => Number(text) },
  });
}

/** True when S3 is not AWS itself (an explicit or env endpoint is set). */
function s3IsLocal(o: ClientOverrides): boolean {
  return Boolean(o.endpoint ?? process.env.AWS_ENDPOINT_URL_S3);
}

export function s3Client(o: ClientOverrides = {}): S3Client {
  return sharedClient('S3', o, () => newS3Client(o));
}

function newS3Client(o: ClientOverrides): S3Client {
  const local = s3IsLocal(o);
  return new S3Client({
    endpoint: o.endpoint,
    region: region(o),
    credentials: o.credentials,
    // Path-style addressing: a local server has no per-bucket DNS names.
    forcePathStyle: local || undefined,
    // The SDK's default flexible checksums stream bodies with aws-chunked framing, which local S3
    // servers store verbatim. Serval checks integrity itself with SHA-256 on every read that
    // matters, so asking only where S3 requires it is safe in both homes.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
