/** Which webhooks an event goes to. */
import type { EventFilter, ServalEvent, Webhook } from './types.js';

/** The filter category of an event type: alert.* → alert; version.* and model.* → lifecycle. */
export function eventCategory(type: string): Exclude<EventFilter, '*'> | undefined {
  const subject = type.split('.', 1)[0];
  if (subject === 'alert') return 'alert';
  if (subject === 'version' || subject === 'model') return 'lifecycle';
  return undefined;
}

/** Whether a subscription to `filters` receives events of `type` ('*' receives every type). */
export function matchesEvent(filters: readonly EventFilter[], type: string): boolean {
  if (filters.includes('*')) return true;
  const category = eventCategory(type);
  return category !== undefined && filters.includes(category);
}

export function webhookWants(webhook: Webhook, event: ServalEvent): boolean {
  return webhook.status === 'active' && matchesEvent(webhook.events, event.type);
}
