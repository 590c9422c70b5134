/**
 * Where the registry's lifecycle events go, for the functions that change the registry: every
 * matching webhook and (on AWS, when the alerts topic is bound) the SNS topic, through the same
 * publisher as alerts. Needs the monitoring table (webhook subscriptions) and the webhooks queue.
 *
 * `alerts`: also raise the alerts some events call for (a corrupt artifact, a fallback) through
 * the monitoring service — for the functions that find those (the integrity worker, inference),
 * which then need the monitoring table read/write.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { LifecycleEvent, LifecycleEventSink } from '../core/registry/events.js';
import type { RegistryDeps } from '../core/registry/records.js';
import { monitoringService } from './monitoring-wiring.js';
import type { Env } from './shared.js';
import { eventPublisher } from './webhooks-wiring.js';

export function lifecycleEvents(
  env: Env,
  logger: Logger,
  options: { alerts?: boolean } = {},
): Pick<RegistryDeps, 'events' | 'log'> {
  const publisher = eventPublisher(env);
  const monitoring = options.alerts ? monitoringService(env) : undefined;
  const events: LifecycleEventSink = {
    publish: async (event: LifecycleEvent) => {
      // The alert is raised even when the event itself could not go out, and the other way round.
      const results = await Promise.allSettled([
        publisher.publish(event),
        monitoring?.raiseForLifecycleEvent(event),
      ]);
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      if (failed.length > 0) throw new AggregateError(failed, `event ${event.id} was not fully handled`);
    },
  };
  return { events, log: { warn: (message, extra) => logger.warn(message, extra ?? {}) } };
}
