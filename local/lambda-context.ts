/** The Lambda context object handed to handlers run locally (API routes, workers, schedules). */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export function lambdaContext(
  functionName: string,
  options: { readonly requestId?: string; readonly timeoutSeconds?: number } = {},
): Context {
  const deadline = Date.now() + (options.timeoutSeconds ?? 30) * 1000;
  const unsupported = () => {
    throw new Error('The callback-style context methods are not supported; return a promise instead.');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: options.requestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
