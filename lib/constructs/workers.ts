/**
 * What drives the background functions: an SQS event source per queue in QUEUES and an
 * EventBridge schedule per entry in SCHEDULES. The local runtime drives the same functions from
 * the same definitions.
 */
import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { type FunctionId, QUEUES, SCHEDULES } from '../../functions/contract/resources.js';
import type { ServalFunction } from './serval-function.js';
import type { QueueKey, QueuePair } from './storage.js';

export interface WorkersProps {
  readonly functions: Readonly<Record<FunctionId, ServalFunction>>;
  readonly queues: Readonly<Record<QueueKey, QueuePair>>;
  /** Reserved concurrency per function (null: none); a worker's poller stays within it. */
  readonly reserved?: Readonly<Partial<Record<FunctionId, number | null>>>;
}

export class Workers extends Construct {
  readonly rules: Rule[] = [];

  constructor(scope: Construct, id: string, props: WorkersProps) {
    super(scope, id);

    for (const key of Object.keys(QUEUES) as QueueKey[]) {
      const def = QUEUES[key];
      const reserved = props.reserved?.[def.worker] ?? undefined;
      props.functions[def.worker].addEventSource(
        new SqsEventSource(props.queues[key].queue, {
          batchSize: def.batchSize,
          maxBatchingWindow:
            'maxBatchingWindowSeconds' in def ? Duration.seconds(def.maxBatchingWindowSeconds) : undefined,
          // Polling with more concurrency than is reserved gets invocations throttled; a
          // throttled batch goes back to the queue with its receive count raised, and so towards
          // the dead-letter queue without the worker ever having seen it.
          maxConcurrency: reserved,
          // A worker reports the messages it failed; only those are retried (and eventually
          // dead-lettered), not the whole batch.
          reportBatchItemFailures: true,
        }),
      );
    }

    for (const def of Object.values(SCHEDULES)) {
      const rule = new Rule(this, def.id, {
        description: `Serval ${def.id}: every ${def.rateMinutes} min → ${def.target}`,
        schedule: Schedule.rate(Duration.minutes(def.rateMinutes)),
      });
      rule.addTarget(
        new LambdaFunction(props.functions[def.target], {
          retryAttempts: 2,
          // A sweep that could not start before the next one is due is superseded by it.
          maxEventAge: Duration.minutes(def.rateMinutes),
        }),
      );
      this.rules.push(rule);
    }
  }
}

/**
 * A worker's timeout derived from its queue: AWS recommends a visibility timeout of at least six
 * times the function timeout, so a batch retried after throttling is not delivered twice at once.
 */
export function workerTimeout(visibilityTimeoutSeconds: number): Duration {
  return Duration.seconds(Math.floor(visibilityTimeoutSeconds / 6));
}
