/**
 * SQS worker: runs one retraining job per message (RetrainService.run), or continues one (a
 * message with `attempt`). A redelivered message names an attempt already claimed and starts
 * nothing; the job records its own failure, so a message is retried only when the job store
 * itself could not be reached. The invocation's remaining time (the Lambda context) is the
 * budget: a job that would outrun it checkpoints and continues in a new invocation.
 */
import type { Context, SQSEvent } from 'aws-lambda';
import { RetrainMessage } from '../contract/messages.js';
import type { ModelRunner } from '../core/kernel/runner.js';
import { lambdaHandler, queueEntry } from './entry.js';
import { retrainService } from './retraining-wiring.js';
import { type Env, makeLogger } from './shared.js';

const logger = makeLogger('retrain-worker');

export function createHandler(env: Env = process.env) {
  let runner: ModelRunner | undefined;
  // Loaded on first use, as the registry does: onnxruntime is a Lambda layer of this function.
  const service = retrainService(env, async () => {
    runner ??= new (await import('../adapters/onnx-runner.js')).OnnxRuntimeRunner();
    return runner;
  });
  // batchSize 1: the context of the invocation is the one of the message being handled.
  let context: Context | undefined;
  const entry = queueEntry({
    logger,
    schema: RetrainMessage,
    name: 'retrain',
    handle: async (message) => {
      const ctx = context;
      const job = await service.run(message.jobId, {
        ...(message.attempt ? { attempt: message.attempt } : {}),
        ...(ctx ? { budget: { remainingMs: () => ctx.getRemainingTimeInMillis() } } : {}),
      });
      if (!job) logger.warn('retrain message for an unknown job dropped', { jobId: message.jobId });
      else
        logger.info('retraining job handled', {
          jobId: job.id,
          state: job.state,
          resultVersion: job.resultVersion,
          attempt: job.attempt,
        });
    },
  });
  return (event: SQSEvent, ctx?: Partial<Context>) => {
    context = ctx?.getRemainingTimeInMillis ? (ctx as Context) : undefined;
    return entry(event, ctx);
  };
}

export const handler = await lambdaHandler(createHandler);
