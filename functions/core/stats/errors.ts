/**
 * Errors raised by the statistics engine. They carry the API error code so a caller (HTTP layer,
 * CLI) can map them without knowing about statistics; the engine itself stays free of any
 * dependency on the rest of the core.
 */
export class StatsInputError extends Error {
  readonly code = 'validation_failed' as const;

  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'StatsInputError';
  }
}
