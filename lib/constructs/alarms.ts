/**
 * Operational alarms: anything in a dead-letter queue, any function error, a sustained error rate
 * on the serving path and on the API as a whole. They notify one encrypted SNS topic, to which an
 * operator e-mail can be subscribed.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import {
  type Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { type FunctionId, SERVING_METRICS } from '../../functions/contract/resources.js';
import type { ServalFunction } from './serval-function.js';
import type { QueueKey, QueuePair } from './storage.js';

export interface AlarmsProps {
  readonly functions: Readonly<Record<FunctionId, ServalFunction>>;
  readonly queues: Readonly<Record<QueueKey, QueuePair>>;
  readonly alarmEmail?: string;
  /**
   * Functions that also get an error-rate alarm (Errors / Invocations >= 5% in 2 of 3 five-minute
   * periods): where single errors are expected at volume, e.g. the inference path.
   */
  readonly errorRateFunctions?: readonly FunctionId[];
  /** The API stage: alarms when >= 5% of its requests answer 5xx in 2 of 3 five-minute periods. */
  readonly apiStage?: Stage;
}

/** Share of failures (percent) above which a rate alarm fires. */
export const ERROR_RATE_PERCENT = 5;
const RATE_PERIOD = Duration.minutes(5);

export class Alarms extends Construct {
  readonly topic: Topic;
  readonly dlqAlarms: Record<QueueKey, Alarm>;
  readonly errorAlarms: Record<FunctionId, Alarm>;
  readonly errorRateAlarms: Partial<Record<FunctionId, Alarm>> = {};
  readonly apiServerErrorAlarm?: Alarm;
  readonly capturesLostAlarm: Alarm;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);

    // A customer managed key, because CloudWatch alarms cannot publish to a topic encrypted with
    // the AWS managed aws/sns key: its key policy cannot be edited to let CloudWatch use it.
    const key = new Key(this, 'TopicKey', {
      description: 'Serval alarm topic encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new Topic(this, 'Topic', {
      displayName: 'Serval alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.topic);
    // Every alarm tells the topic when it fires and when it clears.
    const notify = (alarm: Alarm) => {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    };
    // Rates: 2 of the last 3 five-minute periods at or over the threshold; no traffic, no alarm.
    const rateRule = {
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    };
    // Counts: anything at all in one period; no data means nothing happened.
    const anyRule = {
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    };

    const dlqAlarms = {} as Record<QueueKey, Alarm>;
    for (const [key, pair] of Object.entries(props.queues) as [QueueKey, QueuePair][]) {
      const alarm = pair.dlq
        .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' })
        .createAlarm(this, `${key}DlqNotEmpty`, {
          alarmDescription: `Messages in the ${key} dead-letter queue: a worker gave up on them.`,
          // SQS publishes no datapoint for an idle queue; no data means nothing arrived.
          ...anyRule,
        });
      notify(alarm);
      dlqAlarms[key] = alarm;
    }
    this.dlqAlarms = dlqAlarms;

    const errorAlarms = {} as Record<FunctionId, Alarm>;
    for (const [fnId, fn] of Object.entries(props.functions) as [FunctionId, ServalFunction][]) {
      const alarm = fn
        .metricErrors({ period: Duration.minutes(5), statistic: 'Sum' })
        .createAlarm(this, `${fnId}Errors`, {
          alarmDescription: `The ${fnId} function failed (an uncaught error, timeout or crash).`,
          ...anyRule,
        });
      notify(alarm);
      errorAlarms[fnId] = alarm;
    }
    this.errorAlarms = errorAlarms;

    for (const fnId of props.errorRateFunctions ?? []) {
      const fn = props.functions[fnId];
      const alarm = new MathExpression({
        // No invocations: no datapoint (not breaching). FILL: a period with invocations but no
        // Errors datapoint counts as 0 errors.
        expression: '100 * FILL(errors, 0) / invocations',
        usingMetrics: {
          errors: fn.metricErrors({ period: RATE_PERIOD, statistic: 'Sum' }),
          invocations: fn.metricInvocations({ period: RATE_PERIOD, statistic: 'Sum' }),
        },
        period: RATE_PERIOD,
        label: `${fnId} errors (% of invocations)`,
      }).createAlarm(this, `${fnId}ErrorRate`, {
        alarmDescription: `At least ${ERROR_RATE_PERCENT}% of ${fnId} invocations failed in 2 of the last 3 five-minute periods.`,
        threshold: ERROR_RATE_PERCENT,
        ...rateRule,
      });
      notify(alarm);
      this.errorRateAlarms[fnId] = alarm;
    }

    // Answered predictions whose capture neither the queue nor the spill took: they are missing
    // from drift windows and feedback joins (the stats count them as lost).
    this.capturesLostAlarm = new Metric({
      namespace: SERVING_METRICS.namespace,
      metricName: SERVING_METRICS.capturesLost,
      dimensionsMap: { service: SERVING_METRICS.service },
      period: Duration.minutes(5),
      statistic: 'Sum',
    }).createAlarm(this, 'CapturesLost', {
      alarmDescription:
        'Captured predictions were lost: neither the capture queue nor the spill to S3 took them.',
      ...anyRule,
    });
    notify(this.capturesLostAlarm);

    if (props.apiStage) {
      // 5XXError is 0 or 1 per request, so its Average is the share of requests that failed.
      const alarm = props.apiStage
        .metricServerError({ period: RATE_PERIOD, statistic: 'Average' })
        .createAlarm(this, 'ApiServerErrorRate', {
          alarmDescription: `At least ${ERROR_RATE_PERCENT}% of API requests answered 5xx in 2 of the last 3 five-minute periods.`,
          threshold: ERROR_RATE_PERCENT / 100,
          ...rateRule,
        });
      notify(alarm);
      this.apiServerErrorAlarm = alarm;
    }
  }
}
