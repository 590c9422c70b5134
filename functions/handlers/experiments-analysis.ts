/**
 * The analysis loop of experiments, apart from its wiring so tests drive it with in-memory
 * stores: the schedule enqueues one message per running experiment (experiments-scheduler.ts),
 * the worker runs ExperimentService.analyzeRun per message (experiments-worker.ts).
 */
import type { ScheduledEvent } from 'aws-lambda';
import { ExperimentMessage, type QueueMessage } from '../contract/messages.js';
import type { ExperimentStore } from '../core/experiments/ports.js';
import type { ExperimentService } from '../core/experiments/service.js';
import { isDomainError } from '../core/kernel/errors.js';
import { queueEntry } from './entry.js';
import type { makeLogger } from './shared.js';

type Logger = ReturnType<typeof makeLogger>;

export interface AnalysisQueue {
  send(messages: readonly QueueMessage<'experiments'>[]): Promise<number>;
}

/**
 * One run of the schedule: a message per running experiment, stamped with the firing's time, so
 * a retried invocation of the same firing sends the same messages (an analysis is idempotent:
 * a second one finds the step already taken).
 */
export function enqueueRunning(store: Pick<ExperimentStore, 'listRunning'>, queue: AnalysisQueue) {
  return async (event: Pick<ScheduledEvent, 'time'>): Promise<{ enqueued: number }> => {
    const at = Number.isNaN(Date.parse(event.time)) ? new Date() : new Date(event.time);
    const running = await store.listRunning();
    const enqueued = await queue.send(running.map((e) => ({ experimentId: e.id, at: at.toISOString() })));
    return { enqueued };
  };
}

/**
 * Handles one message; throwing means "retry this record". An experiment that is gone needs
 * nothing (the message is done); a failure a retry may cure — the store, the registry, a race
 * lost after the service's own retries — is retried through SQS and ends in the DLQ.
 */
export function analyseMessage(service: Pick<ExperimentService, 'analyzeRun'>, log: Logger) {
  return async (msg: ExperimentMessage): Promise<void> => {
    try {
      const { results, action } = await service.analyzeRun(msg.experimentId);
      log.info('experiment analysed', {
        experimentId: msg.experimentId,
        scheduledAt: msg.at,
        state: results.state,
        decision: results.decision,
        action,
      });
    } catch (err) {
      if (!isDomainError(err) || err.code === 'unavailable' || err.concurrent) {
        log.error('experiment analysis failed; will retry', {
          experimentId: msg.experimentId,
          error: err as Error,
        });
        throw err;
      }
      log.warn('experiment not analysed', {
        experimentId: msg.experimentId,
        code: err.code,
        message: err.message,
      });
    }
  };
}

/** The worker's SQS entry: partial batch failures, malformed bodies dropped (entry.ts). */
export function analysisWorker(service: Pick<ExperimentService, 'analyzeRun'>, logger: Logger) {
  return queueEntry({
    logger,
    schema: ExperimentMessage,
    name: 'experiment',
    handle: analyseMessage(service, logger),
  });
}
