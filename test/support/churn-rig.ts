/**
 * The `churn` model the in-process inference tests and benches serve: a real ONNX logistic
 * regression over features a, b, c, registered as 1.0.0, and the API Gateway proxy events that
 * call it as the gateway would after the authorizer.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { SYSTEM_PRINCIPAL } from '../../functions/core/auth/principal.js';
import type { Role } from '../../functions/core/auth/roles.js';
import { logisticRegressionOnnx } from '../../functions/core/onnx/models.js';
import type { RegistryServices } from '../../functions/core/registry/services.js';
import { registryServices } from '../../functions/handlers/registry-wiring.js';
import { localSqsClient } from '../../local/services/clients.js';
import { standinsForFile } from './lifecycle.js';
import type { Standins } from './standins.js';

export const CHURN_FEATURES = ['a', 'b', 'c'];

/** Creates `churn` and registers its version 1.0.0. */
export async function registerChurn(registry: RegistryServices): Promise<void> {
  await registry.models.create(SYSTEM_PRINCIPAL, { name: 'churn' });
  await registry.artifacts.register(SYSTEM_PRINCIPAL, 'churn', {
    version: '1.0.0',
    artifact: {
      base64: Buffer.from(logisticRegressionOnnx({ weights: [0.5, -0.25, 0.1], bias: 0 })).toString('base64'),
    },
    framework: 'onnx',
    runtime: { type: 'lambda' },
    inputSchema: { features: CHURN_FEATURES.map((name) => ({ name, type: 'float' as const })) },
    outputSchema: { kind: 'binary', classes: ['stay', 'leave'] },
  });
}

/** A proxy event for `/v1/models/churn/<path>`: a POST with `body`, or a GET without one. */
export function churnEvent(
  requestId: string,
  options: { path?: string; body?: unknown; role?: Role } = {},
): APIGatewayProxyEvent {
  const path = options.path ?? 'predict';
  return {
    resource: `/v1/models/{name}/${path}`,
    path: `/v1/models/churn/${path}`,
    httpMethod: options.body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { name: 'churn' },
    stageVariables: null,
    requestContext: {
      requestId,
      authorizer: { principalId: 'key-1', role: options.role ?? 'predictor', name: 'ci', via: 'key' },
    } as unknown as APIGatewayProxyEvent['requestContext'],
    body: options.body === undefined ? null : JSON.stringify(options.body),
    isBase64Encoded: false,
  };
}

/**
 * The file's stand-ins with `churn` registered, and an SQS client on them (closed after the
 * file); `ready` receives both once they exist.
 */
export function churnStandinsForFile(ready: (aws: Standins, sqs: SQSClient) => void): void {
  let sqs: SQSClient | undefined;
  standinsForFile({
    setup: async (aws) => {
      sqs = localSqsClient(aws.endpoints.sqs);
      await registerChurn(registryServices(aws.env));
      ready(aws, sqs);
    },
    teardown: () => sqs?.destroy(),
  });
}
