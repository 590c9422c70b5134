/**
 * The variables through which a function finds its resources, each set to a placeholder: enough
 * for a function to be built (at a Lambda's init, clients and wiring) without AWS or stand-ins,
 * as long as nothing is sent. For tests and benches that build a bundle or a wiring and look at
 * what building it does.
 */
import { BUCKETS, QUEUES, SECRETS, TABLES } from '../../functions/contract/resources.js';

export function placeholderResourceEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const r of [...Object.values(TABLES), ...Object.values(BUCKETS), ...Object.values(SECRETS)])
    env[r.env] = `placeholder-${r.env.toLowerCase().replaceAll('_', '-')}`;
  for (const q of Object.values(QUEUES))
    env[q.env] = `https://sqs.us-east-1.amazonaws.com/000000000000/${q.env}`;
  return env;
}
