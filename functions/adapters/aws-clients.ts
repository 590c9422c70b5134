/**
 * SDK v3 clients for every service Serval uses, configured once. On AWS the default endpoints
 * apply; locally the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables point the same clients at
 * the stand-ins, so handler code is identical in both homes.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface ClientOverrides {
  /** Explicit endpoint (tests); otherwise AWS_ENDPOINT_URL_<SERVICE> or the AWS default. */
  readonly endpoint?: string;
  readonly region?: string;
  /** Explicit credentials (the local runtime's own clients); otherwise the default chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

function region(o: ClientOverrides): string | undefined {
  return o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
}

export function dynamoClient(o: ClientOverrides = {}): DynamoDBClient {
  return new DynamoDBClient({ endpoint: o.endpoint, region: region(o), credentials: o.credentials });
}

export function documentClient(o: ClientOverrides = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(dynamoClient(o), {
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

export function sqsClient(o: ClientOverrides = {}): SQSClient {
  return new SQSClient({ endpoint: o.endpoint, region: region(o), credentials: o.credentials });
}
