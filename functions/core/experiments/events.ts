/**
 * The events experiments publish (webhooks, and SNS for what changes production): the service
 * sends them with the experiment's id, name, model, kind, state and outcome in `data`.
 */
export const EXPERIMENT_EVENT_TYPES = [
  'experiment.concluded',
  'experiment.rolled_back',
  'experiment.advanced',
] as const;
export type ExperimentEventType = (typeof EXPERIMENT_EVENT_TYPES)[number];
