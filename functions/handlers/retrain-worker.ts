/**
 * SQS worker: runs one retraining job per message (RetrainService.run). A redelivered message
 * finds its job running or finished and starts nothing; the job records its own failure, so a
 * message is retried only when the job store itself could not be reached.
 */
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
  return queueEntry({
    logger,
    schema: RetrainMessage,
    name: 'retrain',
    handle: async (message) => {
      const job = await service.run(message.jobId);
      if (!job) logger.warn('retrain message for an unknown job dropped', { jobId: message.jobId });
      else
        logger.info('retraining job handled', {
          jobId: job.id,
          state: job.state,
          resultVersion: job.resultVersion,
        });
    },
  });
}

export const handler = await lambdaHandler(createHandler);
